"""Recognising automated mail: auto-replies, bounces, lists and robots.

Automated mail never receives an automatic reply and never changes an
issue's status. :func:`classify_automated` returns every signal that fired,
so the reason is recorded, not guessed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Final

import attrs

from issuecore.mail._addresses import address_key, outbound_address
from issuecore.mail._parse import InboundMessage

__all__ = ["Automation", "classify_automated", "is_robot_address", "reply_to_person"]

_PRECEDENCE: Final = frozenset({"bulk", "junk", "list", "auto_reply"})
_AUTOREPLY_HEADERS: Final = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponse",
    "x-autoreply-from",
    "x-mail-autoreply",
)
# RFC 2369 and RFC 2919: mail from a list (RFC 3834 section 2: never answer it).
_LIST_HEADERS: Final = (
    "list-id",
    "list-unsubscribe",
    "list-post",
    "list-help",
    "list-subscribe",
    "list-owner",
    "list-archive",
)
# the same names, each looked for once in the headers before their order is asked for
_AUTOREPLY_SET: Final = frozenset(_AUTOREPLY_HEADERS)
_LIST_SET: Final = frozenset(_LIST_HEADERS)
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
    squeezed = _squeezed_local(address)
    return squeezed in _ROBOT_LOCAL_PARTS or squeezed.startswith(_ROBOT_PREFIXES)


def _squeezed_local(address: str) -> str:
    local = address.rpartition("@")[0].lower().split("+", 1)[0]
    return local.replace("-", "").replace("_", "").replace(".", "")


def reply_to_person(message: InboundMessage, *, own_addresses: Iterable[str] = ()) -> str | None:
    """Return the person a no-reply sender names in ``Reply-To``, or ``None``.

    Only a ``noreply``/``no-reply``/``donotreply`` sender qualifies (never a
    mailer-daemon or postmaster), and only the first ``Reply-To`` address,
    when it is one we can send to, not a robot and not one of
    ``own_addresses``.
    """
    sender = message.from_address
    if sender is None or not _squeezed_local(sender).startswith(_ROBOT_PREFIXES):
        return None
    own = {address_key(address) for address in own_addresses}
    for address in message.reply_to[:1]:
        if (
            outbound_address(address) is not None
            and not is_robot_address(address)
            and address_key(address) not in own
        ):
            return address
    return None


def classify_automated(message: InboundMessage, *, own_addresses: Iterable[str] = ()) -> Automation:
    """Return the automated-mail signals that fire for ``message``.

    A no-reply sender whose ``Reply-To`` names a person (see
    :func:`reply_to_person`) is not by itself a signal: such mail is sent
    by a system on a person's behalf (an order from an ERP).
    """
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
    if not _AUTOREPLY_SET.isdisjoint(headers):
        signals.extend(f"{name} present" for name in _AUTOREPLY_HEADERS if name in headers)
    suppress = headers.get("x-auto-response-suppress")
    if suppress is not None:
        named = sorted(
            {item.strip().lower() for item in suppress.replace(";", ",").split(",")} & _SUPPRESS
        )
        if named:
            signals.append(f"X-Auto-Response-Suppress: {', '.join(named)}")
    if not _LIST_SET.isdisjoint(headers):
        signals.extend(f"{name} present" for name in _LIST_HEADERS if name in headers)
    return_path = headers.get("return-path")
    if return_path is not None and "".join(return_path.split()) in ("<>", ""):
        signals.append("empty Return-Path")
    if is_robot_address(message.from_address) and (
        reply_to_person(message, own_addresses=own_addresses) is None
    ):
        signals.append(f"robot sender {message.from_address}")
    if "x-failed-recipients" in headers:
        signals.append("x-failed-recipients present")
    if message.report_type in _REPORTS:
        signals.append(f"{message.report_type} report")
    elif message.content_type in ("message/delivery-status", "message/disposition-notification"):
        signals.append(f"{message.content_type} body")
    return Automation(signals=tuple(signals))
