"""Agent accounts of the console: a small JSON file of argon2 password hashes.

The desk's store has no table for people, and only a schema migration may add
one, so the console keeps its accounts in a file of their own, named by
``accounts`` in the ``[web]`` table::

    {"agents": {"ben@example.com": "$argon2id$v=19$m=65536,t=3,p=4$..."}}

Manage it with ``python -m issuecore.web._accounts FILE add ADDRESS`` (the
password is read from the terminal, or from standard input when it is not
one), ``remove ADDRESS`` and ``list``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from issuecore.errors import ConfigError

__all__ = ["AccountFile", "main"]

_MIN_PASSWORD = 10


class AccountFile:
    """The accounts in one JSON file; every read sees the file as it is now."""

    def __init__(self, path: Path, *, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self._hasher = hasher if hasher is not None else PasswordHasher()
        self._decoy: str | None = None

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise ConfigError.for_key(
                str(self.path), "", f"is not an accounts file: {error}"
            ) from None
        agents = data.get("agents") if isinstance(data, dict) else None
        if not isinstance(agents, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in agents.items()
        ):
            raise ConfigError.for_key(
                str(self.path), "agents", 'must be an object {"address": "argon2 hash"}'
            )
        return dict(agents)

    def _write(self, agents: dict[str, str]) -> None:
        text = json.dumps({"agents": dict(sorted(agents.items()))}, indent=2) + "\n"
        folder = self.path.parent
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".accounts-")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def addresses(self) -> list[str]:
        """Return the addresses that have an account, sorted."""
        return sorted(self._read())

    def __bool__(self) -> bool:
        return bool(self._read())

    def set_password(self, address: str, password: str) -> None:
        """Create the account ``address`` or change its password."""
        address = address.strip().lower()
        if "@" not in address or any(c.isspace() for c in address):
            raise ValueError(f"{address!r} is not an address like ben@example.com")
        if len(password) < _MIN_PASSWORD:
            raise ValueError(f"a password needs at least {_MIN_PASSWORD} characters")
        agents = self._read()
        agents[address] = self._hasher.hash(password)
        self._write(agents)

    def remove(self, address: str) -> bool:
        """Delete the account ``address``; return whether there was one."""
        agents = self._read()
        found = agents.pop(address.strip().lower(), None) is not None
        if found:
            self._write(agents)
        return found

    def verify(self, address: str, password: str) -> str | None:
        """Return the account's address when ``password`` is its password, else ``None``."""
        key = address.strip().lower()
        stored = self._read().get(key)
        if stored is None and self._decoy is None:
            # Checked for unknown addresses, so a wrong address costs what a wrong password does.
            self._decoy = self._hasher.hash("not the password of anyone")
        try:
            self._hasher.verify(stored if stored is not None else str(self._decoy), password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return key if stored is not None else None


def main(argv: Sequence[str] | None = None) -> int:
    """Manage an accounts file from the command line; return the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m issuecore.web._accounts", description="Manage the console's agent accounts."
    )
    parser.add_argument("file", type=Path)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the accounts")
    add = commands.add_parser("add", help="create an account or change its password")
    add.add_argument("address")
    remove = commands.add_parser("remove", help="delete an account")
    remove.add_argument("address")
    args = parser.parse_args(argv)
    accounts = AccountFile(args.file)
    try:
        if args.command == "list":
            for address in accounts.addresses():
                print(address)
        elif args.command == "add":
            if sys.stdin.isatty():
                password = getpass.getpass(f"password for {args.address}: ")
            else:
                password = sys.stdin.readline().rstrip("\r\n")
            accounts.set_password(args.address, password)
            print(f"account {args.address.strip().lower()} saved in {args.file}")
        elif not accounts.remove(args.address):
            print(f"no account {args.address} in {args.file}", file=sys.stderr)
            return 1
    except (ValueError, ConfigError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
