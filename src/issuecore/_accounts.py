"""What every store checks of an agent account and of a counted attempt, so all refuse alike."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from issuecore._instants import require_aware
from issuecore._text import refuse_unstorable_key
from issuecore.mail._addresses import address_key
from issuecore.ports import AgentAccount

__all__ = [
    "ADDRESS_WIDTH",
    "HASH_WIDTH",
    "KEY_WIDTH",
    "SCOPE_WIDTH",
    "account_key",
    "check_account",
    "check_attempt",
]

ADDRESS_WIDTH: Final = 320
HASH_WIDTH: Final = 512
SCOPE_WIDTH: Final = 64
KEY_WIDTH: Final = 255


def account_key(address: str) -> str:
    """Return the key an account of ``address`` is kept under, refusing what no store keeps."""
    refuse_unstorable_key("address", address, limit=ADDRESS_WIDTH)
    key = address_key(address)
    refuse_unstorable_key("address", key, limit=ADDRESS_WIDTH)
    return key


def check_account(account: AgentAccount) -> str:
    """Return the key of ``account``'s address once every value of it is storable."""
    key = account_key(account.address)
    refuse_unstorable_key("password_hash", account.password_hash, limit=HASH_WIDTH)
    require_aware("changed_at", account.changed_at)
    return key


def check_attempt(scope: str, key: str, at: datetime | None = None) -> None:
    """Refuse a scope, key or instant of an attempt that no store keeps."""
    refuse_unstorable_key("scope", scope, limit=SCOPE_WIDTH)
    refuse_unstorable_key("key", key, limit=KEY_WIDTH)
    if at is not None:
        require_aware("at", at)
