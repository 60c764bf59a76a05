"""Agent accounts of the console, kept by the desk's store (argon2id password hashes).

The accounts live in the desk's database (schema version 8), so every web
worker and every machine on one database signs in the same agents. Manage
them with ``issuecore accounts add ADDRESS`` (the password is read from the
terminal, or from standard input when it is not one), ``remove ADDRESS``,
``list``, and ``import FILE`` for an accounts file of earlier versions::

    {"agents": {"ben@example.com": "$argon2id$v=19$m=65536,t=3,p=4$..."}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import attrs
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from issuecore.errors import ConfigError, InvalidArgumentError
from issuecore.mail import address_key, normalize_address
from issuecore.ports import AgentAccount, Clock, Store

__all__ = ["AccountBook", "ImportReport", "read_account_file"]

MIN_PASSWORD: Final = 10
_HASH_PREFIX: Final = "$argon2"


@attrs.frozen(kw_only=True)
class ImportReport:
    """What importing an accounts file did: the addresses added and those already stored."""

    added: tuple[str, ...]
    kept: tuple[str, ...]


class AccountBook:
    """The agent accounts in ``store``: set a password, check one, list and remove accounts."""

    def __init__(self, store: Store, clock: Clock, *, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.clock = clock
        self._hasher = hasher if hasher is not None else PasswordHasher()
        self._decoy: str | None = None

    def addresses(self) -> list[str]:
        """Return the addresses that have an account, sorted."""
        with self.store.transaction(read_only=True) as work:
            return work.accounts.addresses()

    def __bool__(self) -> bool:
        return bool(self.addresses())

    def set_password(self, address: str, password: str) -> str:
        """Create the account of ``address`` or change its password; return the address kept.

        Raise :class:`~issuecore.errors.InvalidArgumentError` for something
        that is no address, or a password that is no text of at least ten
        characters (the message never shows the password).
        """
        normal = normalize_address(address.strip()) if isinstance(address, str) else None
        if normal is None:
            raise InvalidArgumentError.for_argument(
                "address", address, "it is no e-mail address", "an address like ben@example.com"
            )
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            problem = (
                f"it has {len(password)} characters"
                if isinstance(password, str)
                else f"it is {type(password).__name__}, not text"
            )
            raise InvalidArgumentError(
                f"password is not usable: {problem}; a password needs at least "
                f"{MIN_PASSWORD} characters",
                argument="password",
                problem=problem,
            )
        account = AgentAccount(
            address=normal, password_hash=self._hasher.hash(password), changed_at=self.clock.now()
        )
        with self.store.transaction() as work:
            work.accounts.save(account)
            stored = work.accounts.get(normal)
            work.commit()
        assert stored is not None
        return stored.address

    def remove(self, address: str) -> bool:
        """Delete the account of ``address``; return whether there was one."""
        normal = normalize_address(address.strip())
        if normal is None:
            return False
        with self.store.transaction() as work:
            found = work.accounts.remove(normal)
            work.commit()
        return found

    def verify(self, address: str, password: str) -> str | None:
        """Return the account's address when ``password`` is its password, else ``None``.

        Anything that is no address is answered like an unknown address, and
        both cost as much time as a wrong password.
        """
        normal = normalize_address(address.strip())
        account = None
        if normal is not None:
            with self.store.transaction(read_only=True) as work:
                account = work.accounts.get(normal)
        if account is None and self._decoy is None:
            self._decoy = self._hasher.hash("not the password of anyone")
        stored = account.password_hash if account is not None else str(self._decoy)
        try:
            self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return account.address if account is not None else None

    def import_file(self, path: Path) -> ImportReport:
        """Add the accounts of an accounts file; an address already stored keeps its password.

        Nothing is added unless every account of the file can be (one transaction).
        """
        agents = read_account_file(path)
        added: list[str] = []
        kept: list[str] = []
        at = self.clock.now()
        with self.store.transaction() as work:
            for address, password_hash in sorted(agents.items()):
                if work.accounts.get(address) is not None:
                    kept.append(address)
                    continue
                work.accounts.save(
                    AgentAccount(address=address, password_hash=password_hash, changed_at=at)
                )
                added.append(address)
            work.commit()
        return ImportReport(added=tuple(added), kept=tuple(kept))


def read_account_file(path: Path) -> dict[str, str]:
    """Return the address and argon2 hash of every account in an accounts file.

    Raise :class:`~issuecore.errors.ConfigError` naming the file for anything
    else: no such file, no JSON, no ``agents`` object, an address that is
    none, or a value that is no argon2 hash.
    """
    source = str(path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError.for_key(source, "", f"is not an accounts file: {error}") from None
    agents = data.get("agents") if isinstance(data, dict) else None
    if not isinstance(agents, dict):
        raise ConfigError.for_key(source, "agents", 'must be an object {"address": "argon2 hash"}')
    accounts: dict[str, str] = {}
    for address, password_hash in agents.items():
        normal = normalize_address(address.strip())
        if normal is None:
            raise ConfigError.for_key(
                source, "agents", f"{address[:80]!r} is not an address like ben@example.com"
            )
        if not isinstance(password_hash, str) or not password_hash.startswith(_HASH_PREFIX):
            raise ConfigError.for_key(
                source, f"agents.{normal}", "must be an argon2 hash ($argon2id$...)"
            )
        accounts[address_key(normal)] = password_hash
    return accounts
