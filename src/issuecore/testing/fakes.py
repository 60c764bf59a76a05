"""Recording fakes for the outbound ports; they keep what they were given, in order."""

from __future__ import annotations

from email.message import EmailMessage

__all__ = ["RecordingMailer"]


class RecordingMailer:
    """A mailer that keeps every message it is asked to send in :attr:`sent`."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        """Record ``message`` as sent."""
        self.sent.append(message)

    def __repr__(self) -> str:
        return f"RecordingMailer(sent={len(self.sent)})"
