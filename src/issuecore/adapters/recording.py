"""Ports that keep what they are given, in order: the defaults for to-dos, notices and events.

A desk built without ``tasks=``, ``notifier=`` or ``events=`` uses these, so
nothing fails for lack of an integration; an ERP passes its own objects with
the same methods (see :mod:`issuecore.ports`).
"""

from __future__ import annotations

from email.message import EmailMessage

import attrs

from issuecore.model import Event

__all__ = [
    "RecordingEventSink",
    "RecordingMailer",
    "RecordingNotifier",
    "RecordingTaskBoard",
    "Todo",
]


class RecordingMailer:
    """A mailer that keeps every message it is asked to send in :attr:`sent`."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        """Record ``message`` as sent."""
        self.sent.append(message)

    def __repr__(self) -> str:
        return f"RecordingMailer(sent={len(self.sent)})"


@attrs.define(kw_only=True)
class Todo:
    """A to-do for ``user`` about issue ``number``; ``done`` once closed."""

    number: str
    user: str
    text: str
    done: bool = False


class RecordingTaskBoard:
    """A task board that keeps its to-dos in :attr:`todos`."""

    def __init__(self) -> None:
        self.todos: list[Todo] = []

    def open_todo(self, number: str, user: str, text: str) -> None:
        """Open a to-do for ``user`` about issue ``number``."""
        self.todos.append(Todo(number=number, user=user, text=text))

    def close_todos(self, number: str, user: str | None = None) -> None:
        """Close the open to-dos of issue ``number``, only ``user``'s when given."""
        for todo in self.todos:
            if todo.number == number and (user is None or todo.user == user):
                todo.done = True

    def open_todos(self, user: str | None = None) -> list[Todo]:
        """Return the to-dos not yet done, only ``user``'s when given."""
        return [t for t in self.todos if not t.done and (user is None or t.user == user)]


class RecordingNotifier:
    """A notifier that keeps ``(user, text)`` pairs in :attr:`messages`."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def notify(self, user: str, text: str) -> None:
        """Record that ``user`` was told ``text``."""
        self.messages.append((user, text))


class RecordingEventSink:
    """An event sink that keeps every published event in :attr:`events`."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        """Record ``event``."""
        self.events.append(event)

    def of_type(self, kind: type[Event]) -> list[Event]:
        """Return the recorded events of ``kind``."""
        return [event for event in self.events if isinstance(event, kind)]
