"""Recognising automated mail: auto-replies, bounces, lists and robots.

Automated mail never receives an automatic reply and never changes an
issue's status. :func:`classify_automated` returns every signal that fired,
so the reason is recorded, not guessed.
"""

from __future__ import annotations

import functools
from typing import Final

import attrs

from issuecore.mail.parse import InboundMessage

__all__ = ["Automation", "classify_automated", "is_robot_address"]

_PRECEDENCE: Final = frozenset({"bulk", "junk", "list", "auto_reply"})
_AUTOREPLY_HEADERS: Final = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponse",
    "x-autoreply-from",
    "x-mail-autoreply",
)
_SUPPRESS: Final = frozenset({"dr", "oof", "autoreply", "all"})
_REPORTS: Final = frozenset({"delivery-status", "disposition-notification"})
_ROBOT_LOCAL_PARTS: Final = frozenset({"mailerdaemon", "postmaster"})
_ROBOT_PREFIXES: Final = ("noreply", "donotreply")


@attrs.frozen(kw_only=True)
class Automation:
    """Which automated-mail signals fired for a message (empty: written by a person)."""

    signals: tuple[str, ...] = ()

    @property
    def automated(self) -> bool:
        """Return whether any signal fired."""
        return bool(self.signals)


def is_robot_address(address: str | None) -> bool:
    """Return whether ``address`` is a mailer-daemon, postmaster or no-reply sender."""
    return _is_robot(address) if address else False


@functools.lru_cache(maxsize=4096)
def _is_robot(address: str) -> bool:
    local = address.rpartition("@")[0].lower().split("+", 1)[0]
    squeezed = local.replace("-", "").replace("_", "").replace(".", "")
    return squeezed in _ROBOT_LOCAL_PARTS or squeezed.startswith(_ROBOT_PREFIXES)


def classify_automated(message: InboundMessage) -> Automation:
    """Return the automated-mail signals that fire for ``message``."""
    signals: list[str] = []
    headers = message.first_headers
    auto_submitted = headers.get("auto-submitted")
    if auto_submitted is not None:
        value = auto_submitted.split(";", 1)[0].strip().lower()
        if value != "no":
            signals.append(f"Auto-Submitted: {value or '(empty)'}")
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _PRECEDENCE:
        signals.append(f"Precedence: {precedence}")
    signals.extend(f"{name} present" for name in _AUTOREPLY_HEADERS if name in headers)
    suppress = headers.get("x-auto-response-suppress")
    if suppress is not None:
        named = sorted(
            {item.strip().lower() for item in suppress.replace(";", ",").split(",")} & _SUPPRESS
        )
        if named:
            signals.append(f"X-Auto-Response-Suppress: {', '.join(named)}")
    signals.extend(f"{name} present" for name in ("list-id", "list-unsubscribe") if name in headers)
    return_path = headers.get("return-path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        signals.append("empty Return-Path")
    if is_robot_address(message.from_address):
        signals.append(f"robot sender {message.from_address}")
    if "x-failed-recipients" in headers:
        signals.append("x-failed-recipients present")
    if message.report_type in _REPORTS:
        signals.append(f"{message.report_type} report")
    elif message.content_type in ("message/delivery-status", "message/disposition-notification"):
        signals.append(f"{message.content_type} body")
    return Automation(signals=tuple(signals))
