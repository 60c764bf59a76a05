"""Ports that deliver to nothing: the desk's defaults for to-dos, notices and events.

A desk built without ``tasks=``, ``notifier=`` or ``events=`` stores each
effect in its outbox as usual and hands it to one of these, which drops it,
so a long-running desk keeps nothing in memory (an event for the
:class:`NullEventSink` is marked delivered without being read back at all).
Pass your own objects with the same methods (see :mod:`issuecore.ports`) to
act on them; the recording ports for tests are in :mod:`issuecore.testing`.
"""

from __future__ import annotations

from issuecore._model import Event

__all__ = ["NullEventSink", "NullNotifier", "NullTaskBoard"]


class NullTaskBoard:
    """A task board that keeps no to-dos."""

    def open_todo(self, number: str, user: str, text: str, *, effect_id: str = "") -> None:
        """Do nothing."""

    def close_todos(self, number: str, user: str | None = None, *, effect_id: str = "") -> None:
        """Do nothing."""


class NullNotifier:
    """A notifier that tells no one."""

    def notify(self, user: str, text: str, *, effect_id: str = "") -> None:
        """Do nothing."""


class NullEventSink:
    """An event sink that drops every event."""

    def publish(self, event: Event, *, effect_id: str = "") -> None:
        """Do nothing."""
