"""Signed Message-IDs: every message we send names its issue and proves we wrote it.

The local part is ``ic1.<number>.<unique>.<mac>``: the issue number as
UTF-8 in hexadecimal, a unique part, and an HMAC-SHA256 over both under the
desk's signing key (its first 128 bits, in hexadecimal). A reply's
In-Reply-To or References then identifies the issue without a lookup, and
an altered or invented ID fails the check.
"""

from __future__ import annotations

import enum
import hmac
import re
import secrets
from typing import Final

import attrs

__all__ = [
    "SignatureStatus",
    "SignedId",
    "make_message_id",
    "verify_message_id",
]

_VERSION: Final = "ic1"
_MAC_LENGTH: Final = 32  # hexadecimal digits: 128 bits of the HMAC
_UNIQUE: Final = re.compile(r"[a-z0-9]{1,64}")
_DOMAIN: Final = re.compile(r"[a-z0-9.-]{1,253}")


class SignatureStatus(enum.StrEnum):
    """What a Message-ID turned out to be."""

    NOT_SIGNED = "not_signed"
    VALID = "valid"
    FORGED = "forged"


@attrs.frozen(kw_only=True)
class SignedId:
    """The result of checking a Message-ID: its status and, when valid, the issue number."""

    status: SignatureStatus
    issue_number: str | None = None

    @property
    def valid(self) -> bool:
        """Return whether we signed this ID."""
        return self.status is SignatureStatus.VALID


_NOT_SIGNED: Final = SignedId(status=SignatureStatus.NOT_SIGNED)
_FORGED: Final = SignedId(status=SignatureStatus.FORGED)


def _mac(key: bytes, number: str, unique: str) -> str:
    message = f"{_VERSION}\0{number}\0{unique}".encode()
    return hmac.digest(key, message, "sha256").hex()[:_MAC_LENGTH]


def make_message_id(number: str, *, key: bytes, domain: str, unique: str | None = None) -> str:
    """Return ``<ic1.…@domain>`` naming issue ``number``, signed with ``key``.

    ``unique`` (lower-case letters and digits) defaults to a random value;
    pass the stored one to give a retried send the same Message-ID.
    """
    part = secrets.token_hex(8) if unique is None else unique
    if not _UNIQUE.fullmatch(part):
        raise ValueError(f"unique part {part!r} must be 1-64 lower-case letters and digits")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"domain {domain!r} must be a lower-case ASCII domain")
    encoded = number.encode().hex()
    return f"<{_VERSION}.{encoded}.{part}.{_mac(key, number, part)}@{domain}>"


def verify_message_id(message_id: str, *, key: bytes) -> SignedId:
    """Return whether ``message_id`` is one we signed (and its issue), forged, or not ours."""
    local = message_id.strip().strip("<>").rpartition("@")[0].lower()
    if not local.startswith(_VERSION + "."):
        return _NOT_SIGNED
    pieces = local.split(".")
    if len(pieces) != 4 or len(local) > 400:
        return _FORGED
    _, encoded, unique, mac = pieces
    try:
        number = bytes.fromhex(encoded).decode()
    except ValueError:  # not hexadecimal, or not UTF-8
        return _FORGED
    if not _UNIQUE.fullmatch(unique) or not hmac.compare_digest(
        mac.encode("utf-8", "replace"), _mac(key, number, unique).encode()
    ):
        return _FORGED
    return SignedId(status=SignatureStatus.VALID, issue_number=number)
