"""The console's settings: the ``[web]`` table of ``issuecore.toml``, checked.

Every key is optional::

    [web]
    host = "127.0.0.1"              # where `issuecore serve` listens
    port = 8080
    accounts = "agents.json"        # agent accounts (argon2 hashes), relative to the file
    proxy_user_header = "X-Remote-User"   # or trust a reverse proxy's authenticated user
    trusted_proxies = ["127.0.0.1", "::1"]
    session_lifetime = "8h"
    secure_cookies = false          # true behind HTTPS
    secret_key_env = "ISSUECORE_WEB_SECRET"   # or secret_key = "<64 hex digits>"
    contact_form = false            # the public contact page, /contact
    contact_max_bytes = 1000000     # message and files together
    contact_limit = 5               # submissions per sender address and per client ...
    contact_window = "1h"           # ... in this window
    contact_frame_ancestors = ["https://www.example.com"]   # who may frame /contact/embed
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import attrs

from issuecore.config import Config, parse_duration
from issuecore.errors import ConfigError

__all__ = ["WebSettings", "is_loopback", "web_settings"]

_KEYS: Final = (
    "host",
    "port",
    "accounts",
    "proxy_user_header",
    "trusted_proxies",
    "session_lifetime",
    "secure_cookies",
    "secret_key",
    "secret_key_env",
    "contact_form",
    "contact_max_bytes",
    "contact_limit",
    "contact_window",
    "contact_frame_ancestors",
)
_ORIGIN: Final = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Return whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@attrs.frozen(kw_only=True)
class WebSettings:
    """How the console listens, who may sign in, and how long a session lasts.

    ``accounts`` is the JSON file of agent accounts (see
    :mod:`issuecore.web._accounts`); ``proxy_user_header`` names the header
    a reverse proxy sets to the user it authenticated, trusted only from
    ``trusted_proxies``. ``secret_key`` signs the session cookies.
    """

    secret_key: bytes = attrs.field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    accounts: Path | None = None
    proxy_user_header: str | None = None
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    session_lifetime: timedelta = timedelta(hours=8)
    secure_cookies: bool = False
    contact_form: bool = False
    contact_max_bytes: int = 1_000_000
    contact_limit: int = 5
    contact_window: timedelta = timedelta(hours=1)
    contact_frame_ancestors: tuple[str, ...] = ()

    @property
    def authenticated(self) -> bool:
        """Return whether agents must prove who they are (accounts or a trusted proxy)."""
        return self.accounts is not None or self.proxy_user_header is not None


def web_settings(config: Config) -> WebSettings:
    """Return the console's settings from ``config``'s ``[web]`` table."""
    table = config.web
    source = config.source

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError.for_key(source, f"web.{key}" if key else "web", problem)

    for name in table:
        if name not in _KEYS:
            raise fail(name, f"unknown key; known here: {', '.join(_KEYS)}")

    def text(name: str) -> str | None:
        value = table.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise fail(name, "must be a non-empty string")
        return value.strip()

    def whole(name: str, default: int, low: int, high: int) -> int:
        value = table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise fail(name, f"must be a whole number from {low} to {high}, got {value!r}")
        return value

    def flag(name: str) -> bool:
        value = table.get(name, False)
        if not isinstance(value, bool):
            raise fail(name, "must be true or false")
        return value

    def duration(name: str, default: timedelta) -> timedelta:
        raw = text(name)
        if raw is None:
            return default
        try:
            value = parse_duration(raw)
        except ValueError as error:
            raise fail(name, str(error)) from None
        if value <= timedelta(0):
            raise fail(name, "must be longer than zero")
        return value

    fields: dict[str, Any] = {
        "host": text("host") or "127.0.0.1",
        "port": whole("port", 8080, 1, 65535),
        "session_lifetime": duration("session_lifetime", timedelta(hours=8)),
        "secure_cookies": flag("secure_cookies"),
        "contact_form": flag("contact_form"),
        "contact_max_bytes": whole("contact_max_bytes", 1_000_000, 1_000, 50_000_000),
        "contact_limit": whole("contact_limit", 5, 1, 10_000),
        "contact_window": duration("contact_window", timedelta(hours=1)),
        "secret_key": _secret_key(table, config, fail),
    }
    accounts = text("accounts")
    if accounts is not None:
        fields["accounts"] = config.base / Path(accounts).expanduser()
    header = text("proxy_user_header")
    if header is not None:
        fields["proxy_user_header"] = header
    if "trusted_proxies" in table:
        proxies = table["trusted_proxies"]
        if not isinstance(proxies, list) or not all(isinstance(p, str) for p in proxies):
            raise fail("trusted_proxies", "must be a list of IP addresses")
        for proxy in proxies:
            try:
                ipaddress.ip_address(proxy)
            except ValueError:
                raise fail("trusted_proxies", f"{proxy!r} is not an IP address") from None
        fields["trusted_proxies"] = tuple(proxies)
    if "contact_frame_ancestors" in table:
        origins = table["contact_frame_ancestors"]
        if not isinstance(origins, list) or not all(
            isinstance(o, str) and _ORIGIN.fullmatch(o) for o in origins
        ):
            raise fail(
                "contact_frame_ancestors",
                'must be a list of origins like "https://www.example.com"',
            )
        fields["contact_frame_ancestors"] = tuple(origins)
    return WebSettings(**fields)


def _secret_key(table: Mapping[str, Any], config: Config, fail: Any) -> bytes:
    raw: object = table.get("secret_key")
    if "secret_key_env" in table:
        name = table["secret_key_env"]
        if not isinstance(name, str):
            raise fail("secret_key_env", "must name an environment variable")
        raw = os.environ.get(name)
        if raw is None:
            raise fail("secret_key_env", f"the environment variable {name} is not set")
    if raw is not None:
        try:
            key = bytes.fromhex(str(raw))
        except ValueError:
            key = b""
        if len(key) < 16:
            raise fail("secret_key", "must hold at least 32 hexadecimal digits")
        return key
    if config.signing_key is not None:
        # One secret in the file is enough: the session key is derived from it, never equal.
        return hmac.new(config.signing_key, b"issuecore web session", hashlib.sha256).digest()
    # Without any secret, sessions last as long as the process.
    return secrets.token_bytes(32)
