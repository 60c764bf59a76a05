"""Delivering the outbox: every effect of a committed change, from a claimed row, to its port.

An operation of the desk writes one outbox row per effect (outbound mail, a
domain event, a to-do opened or closed, a notice) in its own transaction,
already claimed by the desk that wrote it. Once committed, that desk hands
each effect to its port and marks the row done. Any other deliverer
(:meth:`HelpDesk.tick <issuecore.HelpDesk.tick>`, a worker process)
claims only rows whose lease ran out, in a transaction of its own, so no two
deliverers hold one row at once. A port that raises is retried with
back-off and finally dead-lettered; it never raises into the caller.

Each row's id is stable. The mailer sees it as the message's own
Message-ID; the task board, notifier and event sink get it as the keyword
argument ``effect_id`` when their method takes one (looked up once, when
the deliverer is built), so they can drop repeats.

A test-only hook: the environment variable ``ISSUECORE_CRASH_AT`` set to
``POINT``, ``POINT:N`` or ``POINT:N:KIND`` makes the process kill itself
with SIGKILL the N-th time (the first when omitted) it passes ``POINT`` of
a delivery of an effect of ``KIND`` (any when omitted; ``mail``, ``event``
...): ``before-claim``, ``after-claim`` (a batch holding that kind),
``after-accept`` (the port returned) or ``after-done`` (the row is marked
done). Tests use it to show which crash windows repeat an effect; it does
nothing when the variable is unset.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs

from issuecore._codec import decode, encode, json_text
from issuecore._evolve import evolve
from issuecore._instants import require_aware
from issuecore._model import Event
from issuecore.adapters.null import NullEventSink
from issuecore.errors import ConcurrencyConflictError
from issuecore.ports import (
    Clock,
    EffectKind,
    EventSink,
    Mailer,
    Notifier,
    OutboxItem,
    Store,
    TaskBoard,
    UnitOfWork,
    new_effect_id,
)

__all__ = ["Deliverer", "DeliveryPolicy", "effect_items"]

logger = logging.getLogger("issuecore.delivery")

_T = TypeVar("_T")

CRASH_VARIABLE = "ISSUECORE_CRASH_AT"
_BATCH = 25
_PRUNE_BATCH = 1000
_MARK_ATTEMPTS = 5


class _CrashPoint:
    """The test-only kill switch read from ``ISSUECORE_CRASH_AT`` (see the module docstring)."""

    def __init__(self, spec: str | None) -> None:
        point, _, rest = (spec or "").partition(":")
        count, _, kind = rest.partition(":")
        self.point = point or None
        self.remaining = int(count) if count else 1
        self.kind = kind or None

    def passing(self, point: str, kinds: Iterable[str] = ()) -> None:
        if point != self.point:
            return
        if self.kind is not None and point != "before-claim" and self.kind not in kinds:
            return
        self.remaining -= 1
        if self.remaining == 0:
            os.kill(os.getpid(), signal.SIGKILL)


_crash = _CrashPoint(os.environ.get(CRASH_VARIABLE))


@attrs.frozen(kw_only=True)
class DeliveryPolicy:
    """How often and how long: attempts, back-off, the lease, and how long done rows stay."""

    attempts: int
    retry_after: timedelta
    lease: timedelta
    keep_delivered: timedelta | None


def effect_items(
    *,
    mail: Iterable[OutboxItem],
    todos_opened: Iterable[tuple[str, str, str]],
    todos_closed: Iterable[tuple[str, str | None]],
    notices: Iterable[tuple[str, str]],
    events: Iterable[Event],
    now: datetime,
    owner: str,
    until: datetime,
) -> list[OutboxItem]:
    """Return one outbox row per effect, in delivery order, each already claimed by ``owner``."""

    def row(kind: EffectKind, number: str | None, payload: dict[str, Any]) -> OutboxItem:
        return OutboxItem(
            id=new_effect_id(),
            kind=kind,
            number=number,
            payload=json_text(payload).encode(),
            created_at=now,
            next_attempt_at=now,
            claimed_by=owner,
            lease_until=until,
            attempts=1,
        )

    items = [
        evolve(item, claimed_by=owner, lease_until=until, attempts=item.attempts + 1)
        for item in mail
    ]
    items += [
        row(EffectKind.TODO_OPENED, number, {"number": number, "user": user, "text": text})
        for number, user, text in todos_opened
    ]
    items += [
        row(EffectKind.TODOS_CLOSED, number, {"number": number, "user": user})
        for number, user in todos_closed
    ]
    items += [row(EffectKind.NOTICE, None, {"user": user, "text": text}) for user, text in notices]
    items += [row(EffectKind.EVENT, event.number, encode(event, Event)) for event in events]
    return items


def _takes_keyword(method: Callable[..., Any], name: str, *, any_keyword: bool = True) -> bool:
    """Return whether ``method`` takes the keyword argument ``name`` (or, if told, any keyword)."""
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # no signature to read: call it the plain way
        return False
    return any(
        (any_keyword and parameter.kind is inspect.Parameter.VAR_KEYWORD)
        or (
            parameter.name == name
            and parameter.kind
            in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        )
        for parameter in parameters
    )


class _Port:
    """One port method, called with ``effect_id=`` when it takes it."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self._method = method
        self._with_id = _takes_keyword(method, "effect_id")

    def __call__(self, *arguments: Any, effect_id: str) -> None:
        if self._with_id:
            self._method(*arguments, effect_id=effect_id)
        else:
            self._method(*arguments)


def new_owner() -> str:
    """Return a name for one deliverer: host, process and a random part."""
    return f"{socket.gethostname()[:180]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class Deliverer:
    """Hands claimed outbox rows to the ports and records what became of each."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        policy: DeliveryPolicy,
        ports: Callable[[], tuple[Mailer, TaskBoard, Notifier, EventSink]],
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy
        self.owner = new_owner()
        self._ports = ports
        # A lost mark only delivers a row again; a store that can commit such a
        # change without waiting for the disk is asked to.
        self._repeatable = _takes_keyword(store.transaction, "durable", any_keyword=False)
        self._bound: tuple[object, ...] = ()
        self._bind()

    def _bind(self) -> None:
        # The desk's ports may be replaced after it was built; look each one up once.
        ports = self._ports()
        if len(self._bound) == len(ports) and all(
            a is b for a, b in zip(self._bound, ports, strict=True)
        ):
            return
        mailer, tasks, notifier, events = ports
        self._bound = ports
        self._mailer = mailer
        self._open_todo = _Port(tasks.open_todo)
        self._close_todos = _Port(tasks.close_todos)
        self._notify = _Port(notifier.notify)
        self._publish = _Port(events.publish)
        # Events to the desk's default sink are dropped unread: decoding them changes nothing.
        self._events_heard = type(events) is not NullEventSink

    def lease_until(self, now: datetime) -> datetime:
        """Return the end of a lease taken at ``now``."""
        return now + self.policy.lease

    def deliver(self, items: Sequence[OutboxItem]) -> tuple[int, int]:
        """Deliver rows this deliverer holds, in order; return (delivered, failed)."""
        _crash.passing("after-claim", {str(item.kind) for item in items})
        delivered = failed = 0
        # Events, to-dos and notices handed over in a row are marked done together,
        # in one transaction (their ports get the effect id to drop a repeat); a
        # mail message is marked done in the transaction right after its transport
        # took it, with the effects handed over before it.
        handed: list[OutboxItem] = []
        for item in items:
            if not self._hand_over_or_fail(item):
                failed += 1
                continue
            delivered += 1
            handed.append(item)
            if item.kind is EffectKind.MAIL:
                self._complete(handed)
                handed = []
        self._complete(handed)
        return delivered, failed

    def flush(self) -> tuple[int, int]:
        """Claim and deliver every due row whose lease ran out; return (delivered, failed)."""
        delivered = failed = 0
        while True:
            _crash.passing("before-claim")
            items = self._mark(self._claim)
            if not items:
                return delivered, failed
            live = []
            for item in items:
                if item.attempts > self.policy.attempts:
                    # Claimed this often, never reported back: its deliverers died on it.
                    reason = f"gave up after {item.attempts - 1} claims that never reported back"
                    self._fail(item, reason)
                    failed += 1
                else:
                    live.append(item)
            done, not_done = self.deliver(live)
            delivered += done
            failed += not_done

    def _claim(self, work: UnitOfWork) -> list[OutboxItem]:
        now = require_aware("clock.now()", self.clock.now())
        return work.outbox.claim(now, owner=self.owner, until=self.lease_until(now), limit=_BATCH)

    def prune(self) -> int:
        """Delete rows delivered longer ago than the policy keeps them; return how many."""
        keep = self.policy.keep_delivered
        if keep is None:
            return 0
        before = require_aware("clock.now()", self.clock.now()) - keep
        total = 0
        while True:
            count = self._mark(lambda work: work.outbox.prune(before, limit=_PRUNE_BATCH))
            total += count
            if count < _PRUNE_BATCH:
                return total

    def _hand_over_or_fail(self, item: OutboxItem) -> bool:
        try:
            self._hand_over(item)
        except Exception as error:  # any failure of a port leaves the row for a retry
            logger.warning(
                "delivering %s %s failed (attempt %d): %s: %s",
                item.kind,
                item.id,
                item.attempts,
                type(error).__name__,
                error,
            )
            self._fail(item, f"{type(error).__name__}: {error}"[:500])
            return False
        _crash.passing("after-accept", (item.kind,))
        return True

    def _complete(self, items: Sequence[OutboxItem]) -> None:
        if not items:
            return
        at = self.clock.now()
        mark_delivered = getattr(self.store, "mark_delivered", None)
        if mark_delivered is not None:
            # A store that commits the marks itself, in fewer round trips than a unit of work.
            self._retrying(lambda: mark_delivered([item.id for item in items], at=at))
        else:

            def complete(work: UnitOfWork) -> None:
                complete_all = getattr(work.outbox, "complete_all", None)
                if complete_all is not None and len(items) > 1:  # one statement where offered
                    complete_all([item.id for item in items], at=at)
                    return
                for item in items:
                    work.outbox.complete(item.id, at=at)

            self._mark(complete)
        for item in items:
            _crash.passing("after-done", (item.kind,))

    def _hand_over(self, item: OutboxItem) -> None:
        self._bind()
        if item.kind is EffectKind.MAIL:
            self._mailer.send(item.email())
            return
        if item.kind is EffectKind.EVENT and not self._events_heard:
            return
        payload = json.loads(item.payload)
        if item.kind is EffectKind.EVENT:
            event: Event = decode(payload, Event)
            self._publish(event, effect_id=item.id)
        elif item.kind is EffectKind.TODO_OPENED:
            self._open_todo(payload["number"], payload["user"], payload["text"], effect_id=item.id)
        elif item.kind is EffectKind.TODOS_CLOSED:
            self._close_todos(payload["number"], payload["user"], effect_id=item.id)
        else:
            self._notify(payload["user"], payload["text"], effect_id=item.id)

    def _fail(self, item: OutboxItem, error: str) -> None:
        now = self.clock.now()
        retry_at = None
        if item.attempts < self.policy.attempts:
            retry_at = now + self.policy.retry_after * (2 ** (max(item.attempts, 1) - 1))
        self._mark(
            lambda work: work.outbox.fail(
                item.id, owner=self.owner, error=error, retry_at=retry_at, at=now
            )
        )

    def _mark(self, change: Callable[[UnitOfWork], _T]) -> _T:
        def once() -> _T:
            marks = (
                self.store.transaction(durable=False)  # type: ignore[call-arg]
                if self._repeatable
                else self.store.transaction()
            )
            with marks as work:
                result = change(work)
                work.commit()
            return result

        return self._retrying(once)

    def _retrying(self, change: Callable[[], _T]) -> _T:
        for attempt in range(1, _MARK_ATTEMPTS + 1):
            try:
                return change()
            except ConcurrencyConflictError:
                # A deadlock or lock timeout chosen by the server; the change is safe to repeat.
                if attempt == _MARK_ATTEMPTS:
                    raise
        raise AssertionError("unreachable: the loop returns or raises")
