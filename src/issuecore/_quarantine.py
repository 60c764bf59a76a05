"""Quarantined mail: what intake kept aside, read back and filed again."""

from __future__ import annotations

from issuecore._desk_core import _DeskCore
from issuecore._text import clean_identifier
from issuecore.ports import MessageRecord


class _Quarantine(_DeskCore):
    """Listing, reading and re-filing quarantined messages."""

    def quarantined(self, *, limit: int = 100) -> list[MessageRecord]:
        """Return up to ``limit`` records of quarantined messages, newest first, with the reason."""
        with self.store.transaction(read_only=True) as work:
            return work.quarantined_messages(limit=limit)

    def message_record(self, message_id: str) -> MessageRecord | None:
        """Return what became of ``message_id``, or ``None`` if it was never recorded."""
        with self.store.transaction(read_only=True) as work:
            return work.lookup_message(clean_identifier(message_id))

    def quarantined_message(self, message_id: str) -> bytes | None:
        """Return the bytes of the quarantined message ``message_id``, or ``None``."""
        identifier = clean_identifier(message_id)
        with self.store.transaction(read_only=True) as work:
            record = work.lookup_message(identifier)
            if record is None or record.outcome != "quarantined":
                return None
            return work.kept_message(identifier)

    def _release_quarantined(self, message_id: str) -> bytes:
        """Release the quarantine record of ``message_id``; return its kept bytes."""
        identifier = clean_identifier(message_id)
        with self.store.transaction() as work:
            record = work.lookup_message(identifier)
            raw = work.kept_message(identifier)
            if record is None or record.outcome != "quarantined" or raw is None:
                raise LookupError(f"no quarantined message {message_id!r} with its bytes kept")
            work.release_message(identifier)
            work.commit()
        return raw
