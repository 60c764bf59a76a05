"""What every store does before it writes outbox rows: check them and drop repeated ids."""

from __future__ import annotations

from collections.abc import Iterable

from issuecore._text import refuse_unstorable
from issuecore.ports import OutboxItem

__all__ = ["new_outbox_items"]


def new_outbox_items(items: Iterable[OutboxItem]) -> dict[str, OutboxItem]:
    """Return ``items`` by id, the first of each id kept, once every one is storable.

    Raises :class:`~issuecore.errors.UnstorableValueError` for the first item
    with a text no store can keep, before anything is written.
    """
    fresh: dict[str, OutboxItem] = {}
    for item in items:
        refuse_unstorable("id", item.id)
        refuse_unstorable("number", item.number, required=False)
        refuse_unstorable("message_id", item.message_id, required=False)
        refuse_unstorable("last_error", item.last_error, required=False)
        fresh.setdefault(item.id, item)
    return fresh
