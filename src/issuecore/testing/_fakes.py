"""Recording fakes for the outbound ports; they keep what they were given, in order.

Pass them to a desk in tests (``tasks=RecordingTaskBoard()`` and so on). They
are not the desk's defaults: those are the null ports of
:mod:`issuecore.adapters.null`, which keep nothing, so a long-running desk
does not fill its memory.
"""

from __future__ import annotations

from email.message import EmailMessage

import attrs

from issuecore._model import Event

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
    effect_id: str | None = None


class RecordingTaskBoard:
    """A task board that keeps its to-dos in :attr:`todos`."""

    def __init__(self) -> None:
        self.todos: list[Todo] = []

    def open_todo(self, number: str, user: str, text: str, *, effect_id: str | None = None) -> None:
        """Open a to-do for ``user`` about issue ``number``."""
        self.todos.append(Todo(number=number, user=user, text=text, effect_id=effect_id))

    def close_todos(
        self, number: str, user: str | None = None, *, effect_id: str | None = None
    ) -> None:
        """Close the open to-dos of issue ``number``, only ``user``'s when given."""
        for todo in self.todos:
            if todo.number == number and (user is None or todo.user == user):
                todo.done = True

    def open_todos(self, user: str | None = None) -> list[Todo]:
        """Return the to-dos not yet done, only ``user``'s when given."""
        return [t for t in self.todos if not t.done and (user is None or t.user == user)]


class RecordingNotifier:
    """A notifier that keeps ``(user, text)`` pairs in :attr:`messages`, ids in :attr:`ids`."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.ids: list[str | None] = []

    def notify(self, user: str, text: str, *, effect_id: str | None = None) -> None:
        """Record that ``user`` was told ``text``."""
        self.messages.append((user, text))
        self.ids.append(effect_id)


class RecordingEventSink:
    """An event sink that keeps every published event in :attr:`events`, ids in :attr:`ids`."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.ids: list[str | None] = []

    def publish(self, event: Event, *, effect_id: str | None = None) -> None:
        """Record ``event``."""
        self.events.append(event)
        self.ids.append(effect_id)

    def of_type(self, kind: type[Event]) -> list[Event]:
        """Return the recorded events of ``kind``."""
        return [event for event in self.events if isinstance(event, kind)]
