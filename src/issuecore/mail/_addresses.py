"""Email addresses: normalising, comparing, and text that is safe in a header.

Address identity lives here and nowhere else. Two addresses name the same
mailbox when their domains are equal after IDNA (UTS #46, non-transitional)
conversion to ASCII, lower-cased, and their local parts are equal except
for the case of the ASCII letters A-Z. There is no Unicode case folding:
``kaß@`` is not ``kass@``, a long s (U+017F) is not ``s``, the Kelvin sign
(U+212A) is not ``K``, and ``busineß.example`` is not ``business.example``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import Final

import idna

__all__ = [
    "address_key",
    "ascii_domain",
    "normalize_address",
    "outbound_address",
    "safe_header_text",
    "same_address",
]

_MAX_ADDRESS: Final = 320
# No domain is longer: DNS allows 253 octets, and a Unicode label is no longer than its A-label.
_MAX_DOMAIN: Final = 253
# Anything that would end a header line or confuse a reader: C0/C1 controls,
# line and paragraph separators, and lone surrogates left by undecodable bytes.
_UNSAFE: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
_SPACES: Final = re.compile(r"\s+")
_LABEL: Final = re.compile(r"[^\W_](?:[\w-]{0,61}[^\W_])?")  # a host name label, IDN allowed
# The common case, checked in one step: an ASCII dot-atom local part and a host name
# (labels of at most 63 characters, as _LABEL and DNS allow).
_PLAIN_ADDRESS: Final = re.compile(
    r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)"
)
_FORBIDDEN_IN_ADDRESS: Final = frozenset(' \t\r\n\0"(),:;<>[\\]')
_ASCII_LOWER: Final = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
)  # A-Z only: str.lower() would also map the Kelvin sign to "k"
_LDH_DOMAIN: Final = re.compile(r"[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*")


def normalize_address(value: str) -> str | None:
    """Return ``local@domain`` with the domain lower-cased, or ``None`` if it is no address.

    A domain that IDNA (UTS #46) cannot convert to ASCII is no address. The
    result keeps the form it was written in (a Unicode domain stays
    Unicode); :func:`address_key` is what addresses are compared by.
    """
    if (
        len(value) <= _MAX_ADDRESS
        and (plain := _PLAIN_ADDRESS.fullmatch(value))
        and len(domain := plain.group(2).lower()) <= _MAX_DOMAIN
        and "xn--" not in domain
    ):
        return f"{plain.group(1)}@{domain}"
    candidate = value.strip()
    if candidate.startswith("<") and candidate.endswith(">"):
        candidate = candidate[1:-1].strip()
    if not candidate or len(candidate) > _MAX_ADDRESS:
        return None
    local, at, domain = candidate.rpartition("@")
    if not at or not local or not domain or "@" in local:
        return None
    if any(char in _FORBIDDEN_IN_ADDRESS for char in local + domain):
        return None
    if any(unicodedata.category(char)[0] in "CZ" for char in candidate):
        return None
    if not all(_LABEL.fullmatch(label) for label in domain.split(".")):
        return None
    if ascii_domain(domain) is None or len(address_key(candidate)) > _MAX_ADDRESS:
        return None
    return f"{local}@{domain.lower()}"


def outbound_address(value: str) -> str | None:
    """Return ``value`` as an ASCII address we can send to (IDNA domain), or ``None``.

    A local part outside ASCII needs SMTPUTF8, which outbound mail does not
    assume; such an address is left out rather than mangled.
    """
    address = normalize_address(value)
    if address is None:
        return None
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        return None
    converted = ascii_domain(domain)
    if converted is None:
        return None
    return f"{local}@{converted}"


def ascii_domain(domain: str) -> str | None:
    """Return ``domain`` converted by IDNA (UTS #46) to lower-case ASCII, or ``None``."""
    if len(domain) > _MAX_DOMAIN:
        return None
    return _ascii_domain(domain)


@functools.lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str | None:
    if domain.isascii() and _LDH_DOMAIN.fullmatch(domain) and "xn--" not in domain.lower():
        # UTS #46 maps ASCII letters, digits and hyphens to themselves, lower-cased.
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def address_key(value: str) -> str:
    """Return the form two addresses are compared in: exact local part but ASCII case, IDNA domain.

    Something that is no address (no ``@``, or a domain IDNA refuses) is
    compared in its exact form, except for ASCII case, so it can only ever
    equal itself.
    """
    # Only address-sized values are cached, so hostile header text cannot fill memory.
    return _cached_key(value) if len(value) <= _MAX_ADDRESS else _key(value)


def _key(value: str) -> str:
    stripped = value.strip()
    local, at, domain = stripped.rpartition("@")
    converted = ascii_domain(domain) if at and local else None
    if converted is None:
        return stripped.translate(_ASCII_LOWER)
    return f"{local.translate(_ASCII_LOWER)}@{converted}"


_cached_key: Final = functools.lru_cache(maxsize=8192)(_key)


def same_address(first: str, second: str) -> bool:
    """Return whether two addresses name the same mailbox (see :func:`address_key`)."""
    return address_key(first) == address_key(second)


def safe_header_text(value: str, *, limit: int = 900) -> str:
    """Return ``value`` as one header-safe line: no CR, LF, NUL or other control characters."""
    # printable text has no controls, separators or surrogates, and no space but " "
    if value.isprintable() and len(value) <= limit and "  " not in value and value == value.strip():
        return value
    cleaned = _UNSAFE.sub(" ", value)
    cleaned = _SPACES.sub(" ", cleaned).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def unique_addresses(values: Iterable[str], *, exclude: Iterable[str] = ()) -> tuple[str, ...]:
    """Return the addresses in order without repeats (by :func:`address_key`) or excluded ones."""
    seen = {address_key(value) for value in exclude}
    kept: list[str] = []
    for value in values:
        key = address_key(value)
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return tuple(kept)
