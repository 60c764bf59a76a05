"""Intake: receiving one message or many in batches, and the last-resort quarantine."""

from __future__ import annotations

import email.message
import functools
import itertools
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import attrs

from issuecore import _arguments as check
from issuecore._desk_core import _AfterCommit
from issuecore._evolve import evolve
from issuecore._filing import OutcomeKind, ReceiveOutcome, _Filing
from issuecore._instants import require_aware
from issuecore._model import Attachment
from issuecore._text import all_clean, clean_identifier, clean_optional, clean_text
from issuecore.errors import ConcurrencyConflictError, DuplicateMessageError, StoreUnavailableError
from issuecore.mail._matching import Signal, message_fingerprint, reused_message_id
from issuecore.mail._parse import InboundMessage, Quarantined, parse_message, synthetic_message_id
from issuecore.mail._tokens import TokenFormat
from issuecore.ports import MailSource, PendingMessage, UnitOfWork

logger = logging.getLogger("issuecore.intake")

DEFAULT_BATCH_SIZE = 200
"""How many messages :meth:`HelpDesk.ingest` records per transaction at most."""
DEFAULT_BATCH_SECONDS = 1.0
"""How long :meth:`HelpDesk.ingest` lets a batch gather messages at most."""


@attrs.frozen(kw_only=True)
class IntakeFailure:
    """A message :meth:`HelpDesk.ingest` could not record at all; it was left unacknowledged."""

    message_id: str
    error: str


@attrs.frozen(kw_only=True)
class IntakeReport:
    """What :meth:`HelpDesk.ingest` did with a mail source.

    ``outcomes`` has one outcome per recorded (and acknowledged) message;
    ``failures`` lists the messages that could not be recorded at all (the
    store was unavailable); the source offers those again.
    """

    outcomes: tuple[ReceiveOutcome, ...] = ()
    failures: tuple[IntakeFailure, ...] = ()

    def counts(self) -> dict[str, int]:
        """Return how many messages ended as each kind, every kind listed."""
        return {str(kind): sum(1 for o in self.outcomes if o.kind == kind) for kind in OutcomeKind}


class _Intake(_Filing):
    """Takes inbound messages one at a time or in batches, each recorded exactly once."""

    # --- intake -------------------------------------------------------------------

    def receive(
        self, raw: bytes | email.message.Message, *, use_message_date: bool | None = None
    ) -> ReceiveOutcome:
        """Take one inbound message: thread it, open an issue, or record why not.

        ``use_message_date`` (``DeskSettings.use_message_date`` when omitted)
        counts the message from its own ``Date:`` rather than from now: for
        importing a backlog (see ``docs/sla.md``).

        Never raises for any input. What cannot be read is recorded as
        quarantined with the reason, and its bytes are kept; if handling the
        message fails for any other reason, a last-resort transaction records
        it as quarantined with the error. Only when even that fails (the store
        is unavailable) :class:`~issuecore.errors.StoreUnavailableError` is
        raised: nothing was recorded, so the message must not be acknowledged.
        Mail and your own task board, notifier and event sink are served from
        the outbox after the commit; their failures are retried, never raised
        here.
        """
        data = _raw_bytes(raw)
        message_id = synthetic_message_id(data)
        fingerprint = None
        try:
            fingerprint = message_fingerprint(data)
            parsed = _cleaned(parse_message(raw))
            message_id = parsed.message_id
            use = self._use_message_date(use_message_date)
            result, items = self._attempt(
                lambda work, now, after: self._receive(
                    work, now, after, parsed, data, fingerprint, use
                )
            )
        except Exception as error:  # the last resort: record it rather than stop intake
            return self._quarantine_failed(data, message_id, fingerprint, error)
        self._dispatch(items)
        return result

    def kept_message(self, message_id: str) -> bytes | None:
        """Return the raw bytes kept of a message that went to no issue or lost parts, or ``None``.

        Bytes are kept for quarantined and ignored messages, for messages a
        limit cut (see the intake note on their thread), and for messages
        whose intake failed.
        """
        message_id = check.identifier(message_id, "message_id")
        with self.store.transaction(read_only=True) as work:
            return work.kept_message(clean_identifier(message_id))

    def ingest(
        self,
        source: MailSource,
        *,
        batch_size: int | None = None,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
        use_message_date: bool | None = None,
    ) -> IntakeReport:
        """Receive every message of ``source`` in batches, acknowledging each only after its commit.

        Messages are recorded ``batch_size`` (200 unless given) at a time in
        one transaction, a batch closing early once ``batch_seconds`` passed
        since its first message arrived; the outcomes are those of
        :meth:`receive` one by one. A message is acknowledged only after the
        batch holding it committed, possibly after later messages were read
        and after the reading ended, so batches are used only for a source
        whose ``acks_after_reading`` attribute is true (the Maildir, mbox and
        ``.eml`` sources; an :class:`~issuecore.adapters.imap.ImapSource`
        inside its ``with`` block); any other source is recorded one message
        per transaction. A message the store could not record at all is left
        unacknowledged and listed in
        :attr:`IntakeReport.failures`; the rest are still read.
        ``use_message_date`` is that of :meth:`receive`.
        """
        use = self._use_message_date(use_message_date)
        # Only a source that accepts late acknowledgements is read in batches.
        late = bool(getattr(source, "acks_after_reading", False))
        size = max(1, batch_size if batch_size is not None else DEFAULT_BATCH_SIZE) if late else 1
        outcomes: list[ReceiveOutcome] = []
        failures: list[IntakeFailure] = []
        batch: list[PendingMessage] = []
        began = 0.0

        def flush() -> None:
            results = self._receive_batch([message.raw for message in batch], use)
            for message, result in zip(batch, results, strict=True):
                if isinstance(result, StoreUnavailableError):
                    failures.append(IntakeFailure(message_id=result.message_id, error=str(result)))
                    continue
                outcomes.append(result)
                message.ack()
            batch.clear()

        for message in source.messages():
            if not batch:
                began = time.monotonic()
            batch.append(message)
            if len(batch) >= size or time.monotonic() - began >= batch_seconds:
                flush()
        if batch:
            flush()
        return IntakeReport(outcomes=tuple(outcomes), failures=tuple(failures))

    def receive_many(
        self,
        raws: Iterable[bytes | email.message.Message],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        use_message_date: bool | None = None,
    ) -> IntakeReport:
        """Receive ``raws`` in order, ``batch_size`` per transaction, as :meth:`ingest` does.

        The outcomes equal those of :meth:`receive` called on each message in
        turn; a message that could not be recorded at all is listed in
        :attr:`IntakeReport.failures` instead of raising. ``use_message_date``
        is that of :meth:`receive`.
        """
        use = self._use_message_date(use_message_date)
        size = check.count(batch_size, "batch_size")
        pending = list(raws)
        outcomes: list[ReceiveOutcome] = []
        failures: list[IntakeFailure] = []
        for start in range(0, len(pending), size):
            for result in self._receive_batch(pending[start : start + size], use):
                if isinstance(result, StoreUnavailableError):
                    failures.append(IntakeFailure(message_id=result.message_id, error=str(result)))
                else:
                    outcomes.append(result)
        return IntakeReport(outcomes=tuple(outcomes), failures=tuple(failures))

    def _use_message_date(self, given: bool | None) -> bool:
        return self.settings.use_message_date if given is None else bool(given)

    def _receive_batch(
        self, raws: Sequence[bytes | email.message.Message], use_message_date: bool
    ) -> list[ReceiveOutcome | StoreUnavailableError]:
        """Record ``raws`` in as few transactions as possible, each message exactly once.

        Runs of readable messages share one transaction; later messages see
        the earlier ones. A message that fails inside a run is taken out: the
        run before it commits on its own and the message goes the way of
        :meth:`receive` (its last-resort quarantine included).
        """
        if len(raws) == 1:  # one message: exactly the single-message path
            return [
                self._receive_alone(
                    _Prepared(original=raws[0], raw=b"", fingerprint=None, parsed=None),
                    None,
                    use_message_date,
                )
            ]
        prepared = [_Prepared.of(raw) for raw in raws]
        results: list[ReceiveOutcome | StoreUnavailableError] = []
        position = 0
        while position < len(prepared):
            run = list(itertools.takewhile(lambda p: p.parsed is not None, prepared[position:]))
            errors: dict[int, Exception] = {}
            committed = self._commit_run(run, errors, use_message_date) if run else []
            results.extend(committed)
            position += len(committed)
            if len(committed) < len(run) or not run:
                # The message at ``position`` failed in a batch (or could not be
                # read at all): alone, as :meth:`receive` would have recorded it.
                results.append(
                    self._receive_alone(
                        prepared[position], errors.get(len(committed)), use_message_date
                    )
                )
                position += 1
        return results

    def _receive_alone(
        self, item: _Prepared, error: Exception | None, use_message_date: bool
    ) -> ReceiveOutcome | StoreUnavailableError:
        try:
            if error is not None and item.parsed is not None:
                return self._quarantine_failed(
                    item.raw, item.parsed.message_id, item.fingerprint, error
                )
            if use_message_date == self.settings.use_message_date:
                # The plain call, so a wrapped or overridden receive() keeps working.
                return self.receive(item.original)  # type: ignore[arg-type]
            return self.receive(
                item.original,  # type: ignore[arg-type]
                use_message_date=use_message_date,
            )
        except StoreUnavailableError as failure:
            return failure

    def _commit_run(
        self, run: list[_Prepared], errors: dict[int, Exception], use_message_date: bool
    ) -> list[ReceiveOutcome]:
        """Commit the longest prefix of ``run`` that records without error; return its outcomes.

        ``errors`` receives the error of each message that failed, by position.
        The store holds the batch's writes until commit where it can; when
        sending them fails, the failure names no message, so the batch runs
        again writing as it goes, which finds the message.
        """
        size = len(run)
        conflicts = 0
        hold = True
        while size > 0:
            batch = _Batch(run[:size], use_message_date=use_message_date, hold_writes=hold)
            try:
                outcomes, items = self._attempt_once(functools.partial(self._record_batch, batch))
            except (ConcurrencyConflictError, DuplicateMessageError):
                # Another process wrote first; the next attempt sees its work. After
                # the desk's usual number of attempts, the messages go one by one.
                conflicts += 1
                if conflicts >= max(1, self.settings.max_attempts):
                    return []
                continue
            except Exception as error:
                if batch.failed_at is None and batch.held:
                    hold = False  # the held writes failed: again, writing message by message
                    continue
                if batch.failed_at is None:
                    return []  # the transaction itself failed: each message alone
                errors[batch.failed_at] = error
                size = batch.failed_at  # commit what came before the failing message
                continue
            self._dispatch(items)
            return outcomes
        return []

    def _record_batch(
        self, batch: _Batch, work: UnitOfWork, now: datetime, after: _AfterCommit
    ) -> list[ReceiveOutcome]:
        if batch.hold_writes:
            batch.held = _hold_writes(work, batch.messages, self.mail.tokens)
        done = []
        for index, item in enumerate(batch.messages):
            assert item.parsed is not None
            assert item.fingerprint is not None
            try:
                done.append(
                    self._receive(
                        work,
                        now,
                        after,
                        item.parsed,
                        item.raw,
                        item.fingerprint,
                        batch.use_message_date,
                    )
                )
            except (ConcurrencyConflictError, DuplicateMessageError):
                raise
            except Exception:
                if not getattr(work, "held_writes_failed", False):
                    batch.failed_at = index  # else held writes of earlier messages failed
                raise
        return done

    def _quarantine_failed(
        self, raw: bytes, message_id: str, fingerprint: str | None, error: Exception
    ) -> ReceiveOutcome:
        message_id = clean_identifier(message_id)
        reason = clean_text(f"intake failed: {type(error).__name__}: {error}")[:500]
        logger.error(
            "intake of %s failed; recording it as quarantined: %s",
            message_id,
            reason,
            exc_info=error,
        )
        try:
            now: datetime | None = require_aware("clock.now()", self.clock.now())
        except Exception:  # a clock that fails must not stop the message being recorded
            now = None
        try:
            with self.store.transaction() as work:
                prior = work.lookup_message(message_id)
                if (
                    prior is not None
                    and fingerprint is not None
                    and prior.fingerprint not in (None, fingerprint)
                ):
                    message_id = reused_message_id(message_id, fingerprint)
                    prior = work.lookup_message(message_id)
                if prior is None:
                    work.record_message(
                        message_id,
                        number=None,
                        outcome="quarantined",
                        reason=reason,
                        at=now,
                        fingerprint=fingerprint,
                    )
                    work.keep_message(message_id, raw)
                    work.commit()
        except Exception as failure:
            raise StoreUnavailableError.could_not_record(
                message_id, cause=error, quarantine_error=failure
            ) from error
        if prior is not None:
            return ReceiveOutcome(
                kind="duplicate",
                issue_number=prior.number,
                created=False,
                auto_reply=False,
                reason=f"Message-ID {message_id} was already recorded as {prior.outcome}",
                signal=str(Signal.MESSAGE_ID),
                message_id=message_id,
            )
        return ReceiveOutcome(
            kind="quarantined",
            issue_number=None,
            created=False,
            auto_reply=False,
            reason=reason,
            signal="intake_error",
            message_id=message_id,
        )


@attrs.define
class _Batch:
    """Messages recorded in one transaction, and which of them failed, if one did.

    ``hold_writes`` asks the store to hold the writes until commit; ``held``
    says it did.
    """

    messages: list[_Prepared]
    failed_at: int | None = None
    use_message_date: bool = False
    hold_writes: bool = True
    held: bool = False


def _hold_writes(work: UnitOfWork, messages: Sequence[_Prepared], tokens: TokenFormat) -> bool:
    """Let a store that can (``hold_writes``) hold the batch's writes; return whether it does.

    It is told every Message-ID the batch will look up, every issue its
    subject tokens name and every address whose automatic replies it may
    count, to read them ahead in a few statements instead of one per message.
    """
    hold = getattr(work, "hold_writes", None)
    if hold is None:
        return False
    message_ids: list[str] = []
    numbers: list[str] = []
    addresses: list[str] = []
    for item in messages:
        parsed = item.parsed
        if parsed is None:
            continue
        message_ids.append(parsed.message_id)
        if isinstance(parsed, InboundMessage):
            message_ids.extend(parsed.references)
            for reference in (parsed.in_reply_to, parsed.returned_message_id):
                if reference is not None:
                    message_ids.append(reference)
            numbers.extend(tokens.numbers(parsed.subject))
            addresses.extend(a for a in (parsed.from_address, *parsed.reply_to) if a)
    hold(message_ids=message_ids, issue_numbers=numbers, addresses=addresses)
    return True


@attrs.frozen(kw_only=True)
class _Prepared:
    """A message read before any transaction: bytes, fingerprint, parse (``None``: failed)."""

    original: object
    raw: bytes
    fingerprint: str | None
    parsed: InboundMessage | Quarantined | None

    @classmethod
    def of(cls, raw: object) -> _Prepared:
        data = _raw_bytes(raw)
        try:
            fingerprint = message_fingerprint(data)
            parsed = _cleaned(parse_message(raw))  # type: ignore[arg-type]
        except Exception:  # the single-message path records why
            return cls(original=raw, raw=data, fingerprint=None, parsed=None)
        return cls(original=raw, raw=data, fingerprint=fingerprint, parsed=parsed)


def _raw_bytes(raw: object) -> bytes:
    """Return the bytes to keep of ``raw``, whatever an untyped caller passed."""
    if isinstance(raw, bytes | bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, email.message.Message):
        try:
            return raw.as_bytes()
        except Exception:
            try:
                return str(raw).encode("utf-8", "surrogateescape")
            except Exception:
                return repr(raw).encode("utf-8", "backslashreplace")
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    try:
        return repr(raw).encode("utf-8", "backslashreplace")
    except Exception:  # an object whose repr fails is still recorded
        return f"<unrepresentable {type(raw).__name__}>".encode("utf-8", "backslashreplace")


def _cleaned(parsed: InboundMessage | Quarantined) -> InboundMessage | Quarantined:
    """Return ``parsed`` with every text valid Unicode without NUL, as every store needs."""
    if isinstance(parsed, Quarantined):
        return evolve(
            parsed,
            reason=clean_text(parsed.reason),
            message_id=clean_identifier(parsed.message_id),
        )
    if all_clean(_texts(parsed)):
        return parsed  # the usual case: nothing to clean, decided in one search
    cleaned: dict[str, object] = {
        "message_id": clean_identifier(parsed.message_id),
        "in_reply_to": None if parsed.in_reply_to is None else clean_identifier(parsed.in_reply_to),
        "references": tuple(clean_identifier(reference) for reference in parsed.references),
        "returned_message_id": (
            None
            if parsed.returned_message_id is None
            else clean_identifier(parsed.returned_message_id)
        ),
        "from_address": clean_optional(parsed.from_address),
        "from_name": clean_text(parsed.from_name),
        "reply_to": tuple(clean_text(address) for address in parsed.reply_to),
        "to": tuple(clean_text(address) for address in parsed.to),
        "cc": tuple(clean_text(address) for address in parsed.cc),
        "subject": clean_text(parsed.subject),
        "text": clean_text(parsed.text),
        "html": clean_optional(parsed.html),
        "attachments": tuple(_cleaned_attachment(attachment) for attachment in parsed.attachments),
        "headers": tuple((clean_text(name), clean_text(value)) for name, value in parsed.headers),
        "content_type": clean_text(parsed.content_type),
        "report_type": clean_optional(parsed.report_type),
        "defects": tuple(clean_text(defect) for defect in parsed.defects),
        "omissions": tuple(clean_text(omission) for omission in parsed.omissions),
    }
    if all(_same(value, getattr(parsed, name)) for name, value in cleaned.items()):
        return parsed  # every text was clean already (cleaning returns clean text itself)
    return evolve(parsed, **cleaned)


def _texts(parsed: InboundMessage) -> Iterator[str | None]:
    """Yield every text of ``parsed`` that :func:`_cleaned` cleans."""
    yield parsed.message_id
    yield parsed.in_reply_to
    yield from parsed.references
    yield parsed.returned_message_id
    yield parsed.from_address
    yield parsed.from_name
    yield from parsed.reply_to
    yield from parsed.to
    yield from parsed.cc
    yield parsed.subject
    yield parsed.text
    yield parsed.html
    for attachment in parsed.attachments:
        yield attachment.filename
        yield attachment.content_type
        yield attachment.content_id
    for name, value in parsed.headers:
        yield name
        yield value
    yield parsed.content_type
    yield parsed.report_type
    yield from parsed.defects
    yield from parsed.omissions


def _same(cleaned: object, original: object) -> bool:
    """Return whether ``cleaned`` holds the very objects of ``original`` (a tuple item by item)."""
    if isinstance(cleaned, tuple) and isinstance(original, tuple):
        return len(cleaned) == len(original) and all(
            _same(a, b) for a, b in zip(cleaned, original, strict=True)
        )
    return cleaned is original


def _cleaned_attachment(attachment: Attachment) -> Attachment:
    filename = clean_text(attachment.filename)
    content_type = clean_text(attachment.content_type)
    content_id = None if attachment.content_id is None else clean_identifier(attachment.content_id)
    if (
        filename is attachment.filename
        and content_type is attachment.content_type
        and content_id is attachment.content_id
    ):
        return attachment
    return evolve(attachment, filename=filename, content_type=content_type, content_id=content_id)
