"""The ``issuecore.toml`` configuration of the command line, read into one frozen value.

:func:`parse_config` reads TOML text, :func:`load_config` a file (or the
embedded defaults when the file does not exist). Every value is checked
while reading, and a wrong one raises :class:`~issuecore.errors.ConfigError`
naming the file and the key, e.g. ``issuecore.toml:
agreements[0].targets.High.response: "4 hours" is not a duration; write
e.g. "4h", "30m", "2d"``.

With no file at all the desk keeps its issues in ``issuecore.db``, writes
outbound mail into the Maildir ``outbox/``, answers as ``support@localhost``
and measures SLAs with the agreement :data:`DEFAULT_AGREEMENT`.

The composition root: :func:`build_desk` turns a :class:`Config` into a
:class:`~issuecore.HelpDesk` (store, mailer, agreements, signing key),
the way the ``issuecore`` command builds its own; :func:`open_store`,
:func:`build_mailer` and :func:`build_mail_source` build the parts one at a
time, and :func:`redact` hides the passwords a text could show.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import tomllib
import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, cast

import attrs

from issuecore._desk import DeskSettings, HelpDesk
from issuecore._sla.agreement import (
    AtRisk,
    Condition,
    ServiceLevelAgreement,
    SlaTarget,
    check_agreements,
)
from issuecore._sla.calendar import BusinessCalendar
from issuecore.errors import ConfigError, IssueCoreError
from issuecore.mail._settings import MailSettings

if TYPE_CHECKING:
    from issuecore.adapters.imap import ImapSource
    from issuecore.adapters.smtp import SmtpMailer
    from issuecore.ports import Clock, Mailer, MailSource, Store, TokenProvider

__all__ = [
    "DEFAULT_AGREEMENT",
    "DEFAULT_SOURCE",
    "Config",
    "ImapConfig",
    "OAuth2Config",
    "SmtpConfig",
    "build_desk",
    "build_mail_source",
    "build_mailer",
    "config_template",
    "format_duration",
    "load_config",
    "open_store",
    "parse_config",
    "parse_duration",
    "redact",
]

DEFAULT_SOURCE: Final = "issuecore.toml"
_DURATION_HINT: Final = 'write e.g. "4h", "30m", "2d"'
_DURATION: Final = re.compile(r"(?:(\d+)\s*([wdhms])\s*)+")
_DURATION_PART: Final = re.compile(r"(\d+)\s*([wdhms])")
_UNITS: Final = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
    "s": timedelta(seconds=1),
}
_LONGEST: Final = timedelta(days=36_525)  # a hundred years
_LONGEST_SECONDS: Final = _LONGEST.total_seconds()
_HOLIDAY_YEARS: Final = range(2000, 2061)
_DEEPEST: Final = 64  # TOML nesting the reader accepts; tomllib itself recurses without a bound
_URL_PASSWORD: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@/]*@")
_SERVER_SCHEMES: Final = ("postgresql", "mysql", "mariadb")
_SECURITY_SMTP: Final = ("starttls", "ssl", "none")
_SECURITY_IMAP: Final = ("ssl", "starttls", "none")
_T = TypeVar("_T")
SmtpSecurity = Literal["starttls", "ssl", "none"]
ImapSecurity = Literal["ssl", "starttls", "none"]
OAuth2Provider = Literal["microsoft", "google", "command"]
_OAUTH2_PROVIDERS: Final = ("microsoft", "google", "command")

DEFAULT_AGREEMENT: Final = ServiceLevelAgreement(
    name="Standard",
    targets={
        "Urgent": SlaTarget(response=timedelta(hours=1), resolution=timedelta(hours=4)),
        "High": SlaTarget(response=timedelta(hours=4), resolution=timedelta(days=1)),
        "Medium": SlaTarget(response=timedelta(hours=8), resolution=timedelta(days=3)),
        "Low": SlaTarget(response=timedelta(days=1), resolution=timedelta(days=7)),
    },
    default_priority="Medium",
    default=True,
)
"""The agreement used when the file has no ``agreements`` key: elapsed time, four priorities."""


def parse_duration(text: str) -> timedelta:
    """Return the duration written as ``"4h"``, ``"30m"``, ``"2d"``, ``"1w"`` or ``"1h30m"``."""
    cleaned = text.strip().lower()
    if not cleaned or len(cleaned) > 100 or _DURATION.fullmatch(cleaned) is None:
        raise ValueError(f"{text!r} is not a duration; {_DURATION_HINT}")
    total = timedelta(0)
    for amount, unit in _DURATION_PART.findall(cleaned):
        # Checked piece by piece, before timedelta overflows at 999,999,999 days.
        if len(amount) > 12 or int(amount) * _UNITS[unit].total_seconds() > _LONGEST_SECONDS:
            raise ValueError(f'"{text}" is longer than a hundred years; {_DURATION_HINT}')
        total += int(amount) * _UNITS[unit]
        if total > _LONGEST:
            raise ValueError(f'"{text}" is longer than a hundred years; {_DURATION_HINT}')
    return total


def format_duration(delta: timedelta, *, days: bool = True) -> str:
    """Return ``delta`` as ``"2d 3h 20m"`` (``"51h 20m"`` with ``days=False``; ``-`` if negative).

    Business time reads best in hours (a "day" of it is not 24 hours of
    work), so pass ``days=False`` for it.
    """
    sign = "-" if delta < timedelta(0) else ""
    seconds = int(abs(delta).total_seconds())
    whole_days, rest = divmod(seconds, 86_400) if days else (0, seconds)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{whole_days}d"] if whole_days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if not parts:
        parts.append(f"{seconds}s")
    return sign + " ".join(parts)


@attrs.frozen(kw_only=True)
class OAuth2Config:
    """An ``[imap.oauth2]`` or ``[smtp.oauth2]`` table: how the mailbox gets its access tokens.

    ``provider`` is ``"microsoft"`` (``tenant``, ``client_id`` and
    ``client_secret``), ``"google"`` (``service_account_file``, acting as the
    section's ``username``; or ``client_id``, ``client_secret`` and
    ``refresh_token``) or ``"command"`` (``command``, a program printing a
    token). Each secret may be given as ``*_env``, the name of an environment
    variable holding it. Secrets are never part of a ``repr`` or a message.
    ``section`` names the table in messages (``"imap.oauth2"``).
    """

    section: str
    provider: OAuth2Provider
    tenant: str | None = None
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    client_secret_env: str | None = None
    refresh_token: str | None = attrs.field(default=None, repr=False)
    refresh_token_env: str | None = None
    service_account_file: Path | None = None
    command: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()

    def token_provider(
        self, *, user: str, source: str, environ: Mapping[str, str] | None = None
    ) -> TokenProvider:
        """Return the token provider this table describes, for the mailbox ``user``.

        ``*_env`` names are read from ``environ`` (:data:`os.environ` when
        omitted); ``source`` names the file in errors. Raises
        :class:`~issuecore.errors.ConfigError` for a missing variable or an
        unreadable key file, :class:`~issuecore.errors.MissingExtraError`
        when the provider's extra is not installed.
        """
        from issuecore.adapters import oauth2

        env = os.environ if environ is None else environ
        if self.provider == "command":
            return oauth2.CommandTokens(self.command)
        if self.provider == "microsoft":
            assert self.tenant is not None
            assert self.client_id is not None
            return oauth2.Microsoft365Tokens(
                tenant=self.tenant,
                client_id=self.client_id,
                client_secret=self._secret("client_secret", env, source),
                scopes=self.scopes or (oauth2.MICROSOFT_365_SCOPE,),
            )
        scopes = self.scopes or (oauth2.GOOGLE_MAIL_SCOPE,)
        if self.service_account_file is not None:
            return oauth2.GoogleTokens.service_account(
                self._key_file(source), subject=user, scopes=scopes
            )
        assert self.client_id is not None
        return oauth2.GoogleTokens.authorized_user(
            client_id=self.client_id,
            client_secret=self._secret("client_secret", env, source),
            refresh_token=self._secret("refresh_token", env, source),
            scopes=scopes,
        )

    def _secret(self, name: str, environ: Mapping[str, str], source: str) -> str:
        given = cast(str | None, getattr(self, name))
        if given is not None:
            return given
        variable = cast(str, getattr(self, f"{name}_env"))
        value = environ.get(variable)
        if not value:
            raise ConfigError.for_key(
                source,
                f"{self.section}.{name}_env",
                f"the environment variable {variable} is not set",
            )
        return value

    def _key_file(self, source: str) -> dict[str, Any]:
        assert self.service_account_file is not None
        key = f"{self.section}.service_account_file"
        try:
            info = json.loads(self.service_account_file.read_bytes())
        except OSError as error:
            raise ConfigError.for_key(source, key, f"cannot be read: {error.strerror}") from None
        except ValueError:
            raise ConfigError.for_key(
                source, key, "is not a service account key (JSON, as Google downloads it)"
            ) from None
        if not isinstance(info, dict):
            raise ConfigError.for_key(
                source, key, "is not a service account key (JSON, as Google downloads it)"
            )
        return info


@attrs.frozen(kw_only=True)
class SmtpConfig:
    """The ``[smtp]`` section: where outbound mail is handed over.

    ``oauth2`` (``[smtp.oauth2]``) logs in with XOAUTH2 as ``username``
    instead of a password.
    """

    host: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    password_env: str | None = None
    oauth2: OAuth2Config | None = None


@attrs.frozen(kw_only=True)
class ImapConfig:
    """The ``[imap]`` section: the mailbox ``issuecore fetch`` reads.

    ``oauth2`` (``[imap.oauth2]``) logs in with XOAUTH2 as ``username``
    instead of a password.
    """

    host: str
    port: int = 993
    username: str
    password: str | None = attrs.field(default=None, repr=False)
    password_env: str | None = None
    mailbox: str = "INBOX"
    security: ImapSecurity = "ssl"
    processed_mailbox: str | None = None
    oauth2: OAuth2Config | None = None


@attrs.frozen(kw_only=True)
class Config:
    """Everything ``issuecore.toml`` says, checked, with the defaults filled in.

    ``source`` names the file in messages; relative paths (``database``,
    ``outbox_maildir``) are taken relative to ``base``, the file's folder.
    ``mail`` holds the ``[mail]`` keys as :class:`~issuecore.MailSettings`
    arguments; :meth:`desk_settings` builds the desk's settings from them.
    """

    source: str = DEFAULT_SOURCE
    base: Path = Path()
    found: bool = False
    support_address: str = "support@localhost"
    database: str = "issuecore.db"
    outbox_maildir: str = "outbox"
    smtp: SmtpConfig | None = None
    imap: ImapConfig | None = None
    auto_close_after: timedelta | None = timedelta(days=7)
    agents: tuple[str, ...] = ()
    agent_domains: tuple[str, ...] = ()
    use_message_date: bool = False
    timezone: str | None = None
    signing_key: bytes | None = attrs.field(default=None, repr=False)
    busy_timeout: timedelta = timedelta(seconds=30)
    mail: Mapping[str, Any] = attrs.field(factory=dict)
    agreements: tuple[ServiceLevelAgreement, ...] = (DEFAULT_AGREEMENT,)
    web: Mapping[str, Any] = attrs.field(factory=dict)
    """The ``[web]`` table as written; ``issuecore.web`` checks its keys when the console starts."""

    @property
    def server_database(self) -> bool:
        """Return whether ``database`` is a server URL rather than a SQLite file."""
        return _is_server_url(self.database)

    def database_path(self) -> Path:
        """Return the SQLite file, relative paths taken from the configuration's folder."""
        return self.base / Path(self.database).expanduser()

    def outbox_path(self) -> Path:
        """Return the Maildir outbound mail is written into."""
        return self.base / Path(self.outbox_maildir).expanduser()

    def display_timezone(self) -> str:
        """Return the zone instants are shown in: ``timezone``, the default calendar's, or UTC."""
        if self.timezone is not None:
            return self.timezone
        for agreement in self.agreements:
            zone = getattr(agreement.calendar, "timezone", None)
            if agreement.default and isinstance(zone, str):
                return zone
        return "UTC"

    def agreement(self, name: str) -> ServiceLevelAgreement | None:
        """Return the agreement called ``name``, or ``None``."""
        return next((a for a in self.agreements if a.name == name), None)

    def secrets(self, *, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """Return every secret value this configuration knows, to hide them from messages.

        The ``[smtp]`` and ``[imap]`` passwords and OAuth2 client secrets and
        refresh tokens, given in the file or through their ``*_env``
        variables (read from ``environ``, :data:`os.environ` when omitted),
        and the signing key as hexadecimal digits.
        """
        env = os.environ if environ is None else environ
        found: list[str] = []
        for section in (self.smtp, self.imap):
            if section is None:
                continue
            pairs = [(section.password, section.password_env)]
            if section.oauth2 is not None:
                pairs += [
                    (section.oauth2.client_secret, section.oauth2.client_secret_env),
                    (section.oauth2.refresh_token, section.oauth2.refresh_token_env),
                ]
            for given, variable in pairs:
                if given:
                    found.append(given)
                if variable and env.get(variable):
                    found.append(env[variable])
        if self.signing_key is not None:
            found.append(self.signing_key.hex())
        return tuple(dict.fromkeys(found))

    def smtp_mailer(self, *, environ: Mapping[str, str] | None = None) -> SmtpMailer:
        """Return the mailer of the ``[smtp]`` section, its password or tokens resolved.

        Raises :class:`~issuecore.errors.ConfigError` when there is no
        ``[smtp]`` section or a ``*_env`` variable is not set.
        """
        from issuecore.adapters.smtp import SmtpMailer

        smtp = self.smtp
        if smtp is None:
            raise ConfigError.for_key(self.source, "smtp", "missing; give [smtp] with a host")
        provider = self._tokens("smtp", smtp.oauth2, smtp.username, environ)
        password = None
        if provider is None:
            password = self._password("smtp", smtp.password, smtp.password_env, environ)
        return SmtpMailer(
            smtp.host,
            smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=password,
            token_provider=provider,
        )

    def imap_source(
        self, *, mailbox: str | None = None, environ: Mapping[str, str] | None = None
    ) -> ImapSource:
        """Return the source reading the ``[imap]`` mailbox (or ``mailbox``), login resolved.

        Raises :class:`~issuecore.errors.ConfigError` when there is no
        ``[imap]`` section or a ``*_env`` variable is not set.
        """
        from issuecore.adapters.imap import ImapSource

        imap = self.imap
        if imap is None:
            raise ConfigError.for_key(
                self.source, "imap", "missing; give [imap] with host and username"
            )
        provider = self._tokens("imap", imap.oauth2, imap.username, environ)
        password = None
        if provider is None:
            password = self._password("imap", imap.password, imap.password_env, environ)
        return ImapSource(
            imap.host,
            imap.port,
            username=imap.username,
            password=password,
            token_provider=provider,
            mailbox=mailbox or imap.mailbox,
            security=imap.security,
            processed_mailbox=imap.processed_mailbox,
        )

    def _tokens(
        self,
        section: str,
        oauth2: OAuth2Config | None,
        user: str | None,
        environ: Mapping[str, str] | None,
    ) -> TokenProvider | None:
        if oauth2 is None:
            return None
        if user is None:
            raise ConfigError.for_key(self.source, f"{section}.username", "is required with oauth2")
        return oauth2.token_provider(user=user, source=self.source, environ=environ)

    def _password(
        self,
        section: str,
        password: str | None,
        variable: str | None,
        environ: Mapping[str, str] | None,
    ) -> str | None:
        if password is not None or variable is None:
            return password
        value = (os.environ if environ is None else environ).get(variable)
        if value is None:
            raise ConfigError.for_key(
                self.source,
                f"{section}.password_env",
                f"the environment variable {variable} is not set",
            )
        return value

    def desk_settings(self, signing_key: bytes) -> DeskSettings:
        """Return the desk's settings, signing Message-IDs with ``signing_key``."""
        mail = MailSettings(
            support_address=self.support_address, signing_key=signing_key, **self.mail
        )
        return DeskSettings(
            support_address=self.support_address,
            auto_close_after=self.auto_close_after,
            agents=frozenset(self.agents),
            agent_domains=frozenset(self.agent_domains),
            use_message_date=self.use_message_date,
            mail=mail,
        )


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    source: str | None = None,
    required: bool = False,
) -> Config:
    """Return the configuration in the file ``path``, or the defaults if it does not exist.

    With ``required=True`` a missing file is an error instead (a file named
    on purpose, as ``issuecore --config PATH`` does, must be there).
    """
    file = Path(path) if path is not None else Path(DEFAULT_SOURCE)
    name = source if source is not None else os.fspath(path if path is not None else file)
    base = file.parent
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError.for_key(
                name, "", "does not exist; create it with `issuecore init` or name another file"
            ) from None
        return Config(source=name, base=base)
    except IsADirectoryError:
        raise ConfigError.for_key(name, "", "is a folder, not a configuration file") from None
    except OSError as error:
        raise ConfigError.for_key(name, "", f"cannot be read: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError.for_key(name, "", "is not UTF-8 text") from None
    return parse_config(text, source=name, base=base)


def parse_config(text: str, *, source: str = DEFAULT_SOURCE, base: Path | None = None) -> Config:
    """Return the configuration written as TOML in ``text``; ``source`` names it in errors."""
    if _nesting(text) > _DEEPEST:
        raise ConfigError.for_key(
            source, "", f"nests arrays or tables more than {_DEEPEST} deep; no setting needs that"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError.for_key(source, "", f"is not valid TOML: {error}") from None
    except RecursionError:  # nesting hidden from the count above, e.g. in inline tables
        raise ConfigError.for_key(source, "", "nests too deeply to be read") from None
    return _Reader(source).config(data, base if base is not None else Path())


def _nesting(text: str) -> int:
    """Return the deepest run of open brackets and braces outside strings and comments."""
    depth = deepest = 0
    quote = ""
    comment = False
    escaped = False
    for character in text:
        if comment:
            comment = character != "\n"
        elif quote:
            if escaped:
                escaped = False
            elif character == "\\" and quote == '"':
                escaped = True
            elif character == quote:
                quote = ""
        elif character in "\"'":
            quote = character
        elif character == "#":
            comment = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth = max(0, depth - 1)
    return deepest


def redact(text: str, also: Sequence[str] = ()) -> str:
    """Return ``text`` with the password of every URL in it, and each value of ``also``, hidden.

    ``postgresql://desk:hunter2@db/issues`` becomes ``postgresql://desk:***@db/issues``.
    """
    hidden = _URL_PASSWORD.sub(lambda found: f"{found['head']}***@", text)
    for secret in sorted((value for value in also if value), key=len, reverse=True):
        if len(secret) >= 3:
            hidden = hidden.replace(secret, "***")
    return hidden


def open_store(config: Config, *, database: str | None = None, origin: str | None = None) -> Store:
    """Return the store of ``config`` (or of ``database``, a SQLite path or a server URL).

    A SQLite file that does not exist yet is created readable by its owner
    only (``0600``). A database that cannot be opened raises
    :class:`~issuecore.errors.ConfigError` naming ``origin`` (default: the
    file's ``database`` key), with any password in the URL hidden.
    """
    if database is None:
        database = config.database if config.server_database else str(config.database_path())
    source, key = (origin, "") if origin is not None else (config.source, "database")
    if "://" in database:
        try:
            from issuecore.adapters.sql import SqlStore
        except ImportError:
            raise ConfigError.for_key(
                source, key, "a server database needs the sql extra: pip install 'issuecore[sql]'"
            ) from None
        try:
            return SqlStore(database)
        except Exception as error:  # the driver's own errors: unreachable server, bad login
            problem = redact(f"cannot open {database}: {_first_line(error)}")
            raise ConfigError.for_key(source, key, problem) from None
    from issuecore.adapters.sqlite import SQLiteStore

    path = Path(database)
    if not path.parent.is_dir():
        raise ConfigError.for_key(source, key, f"the folder of {database} does not exist")
    if path.is_dir():
        raise ConfigError.for_key(source, key, f"{database} is a folder, not a database file")
    _create_private(path)
    try:
        return SQLiteStore(path, busy_timeout=config.busy_timeout)
    except sqlite3.Error as error:
        text = _first_line(error)
        if "locked" in text or "busy" in text:
            raise  # another process holds it: a reason to try again, not a wrong setting
        hint = ""
        if "readonly" in text or "read-only" in text:
            hint = "; give the user running issuecore write access to the file and its folder"
        elif "not a database" in text or "malformed" in text:
            hint = "; name a SQLite database, or restore the file from a backup"
        raise ConfigError.for_key(
            source, key, f"cannot open {database} as SQLite: {text}{hint}"
        ) from None


def _create_private(path: Path) -> None:
    """Create the empty file ``path`` with mode ``0600`` unless it exists already."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError:
        return  # SQLite reports what is wrong with the path in words of its own
    os.close(descriptor)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def build_mailer(config: Config) -> Mailer:
    """Return the mailer of ``config``: its ``[smtp]`` server, else its Maildir outbox."""
    if config.smtp is not None:
        return config.smtp_mailer()
    from issuecore.adapters.maildir import MaildirOutbox

    return MaildirOutbox(config.outbox_path())


def build_mail_source(config: Config, *, mailbox: str | None = None) -> MailSource:
    """Return the IMAP mailbox of the ``[imap]`` section (or its folder ``mailbox``).

    It logs in with a password, or with OAuth2 tokens when ``[imap.oauth2]`` is given.
    """
    if config.imap is None:
        raise ConfigError.for_key(
            config.source, "imap", "missing; fetch needs an [imap] section with host and username"
        )
    return config.imap_source(mailbox=mailbox)


def signing_key(config: Config, *, database: str | None = None) -> bytes:
    """Return the configured key, or the one kept in ``<database>.key`` (created ``0600``)."""
    if config.signing_key is not None:
        return config.signing_key
    if database is None:
        database = config.database if config.server_database else str(config.database_path())
    if "://" in database:
        raise ConfigError.for_key(
            config.source,
            "signing_key",
            "is required when the database is a server URL (every machine must sign alike)",
        )
    path = Path(database + ".key")
    for _ in range(2):
        try:
            text = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # another process created it first: read theirs
            with os.fdopen(descriptor, "w", encoding="ascii") as stream:
                stream.write(secrets.token_hex(32) + "\n")
            continue
        except (OSError, UnicodeDecodeError) as error:
            problem = getattr(error, "strerror", None) or "is not a text file"
            raise ConfigError.for_key(str(path), "", f"cannot be read: {problem}") from None
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) < 16:
            raise ConfigError.for_key(
                str(path), "", "does not hold a signing key of at least 32 hexadecimal digits"
            )
        return key
    raise ConfigError.for_key(str(path), "", "could not be created or read")


def build_desk(
    config: Config,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    mailer: Mailer | None = None,
    database: str | None = None,
) -> HelpDesk:
    """Return the desk ``config`` describes: its store, mailer, agreements and signing key.

    ``clock`` defaults to the system clock; ``store`` and ``mailer``, when
    given, replace the ones the file names; ``database`` replaces the file's
    ``database``. Close the store (``desk.store.close()``) when done.
    """
    if database is None:
        database = config.database if config.server_database else str(config.database_path())
    key = signing_key(config, database=database)
    if clock is None:
        from issuecore.adapters.clock import SystemClock

        clock = SystemClock()
    return HelpDesk(
        store=store if store is not None else open_store(config, database=database),
        mailer=mailer if mailer is not None else build_mailer(config),
        clock=clock,
        agreements=config.agreements,
        settings=config.desk_settings(key),
    )


def config_template(*, signing_key: bytes, support_address: str = "support@localhost") -> str:
    """Return the commented ``issuecore.toml`` that ``issuecore init`` writes."""
    return _TEMPLATE.format(signing_key=signing_key.hex(), support_address=support_address)


def _is_server_url(database: str) -> bool:
    scheme = database.partition("://")[0].partition("+")[0].lower()
    return "://" in database and scheme in _SERVER_SCHEMES


class _Reader:
    """Reads the parsed TOML, one checked key at a time, naming the key when it is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError.for_key(self.source, key, problem)

    def known(self, table: Mapping[str, Any], prefix: str, allowed: Sequence[str]) -> None:
        for name in table:
            if name not in allowed:
                raise self.fail(
                    _join(prefix, name), f"unknown key; known here: {', '.join(allowed)}"
                )

    def table(self, value: object, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a table, got {_shown(value)}")
        return value

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_shown(value)}")
        return value

    def text(self, table: Mapping[str, Any], prefix: str, name: str, default: _T) -> str | _T:
        if name not in table:
            return default
        return self.string(table[name], _join(prefix, name))

    def integer(self, value: object, key: str, *, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(
                key, f"must be a whole number from {low} to {high}, got {_shown(value)}"
            )
        return value

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_shown(value)}")
        return value

    def duration(self, value: object, key: str, *, allow_off: bool = False) -> timedelta | None:
        if allow_off and value is False:
            return None
        if not isinstance(value, str):
            off = ", or false to turn it off" if allow_off else ""
            raise self.fail(key, f'must be a duration string like "2d"{off}, got {_shown(value)}')
        try:
            parsed = parse_duration(value)
        except ValueError as error:
            if "longer than" in str(error):
                raise self.fail(key, str(error)) from None
            raise self.fail(key, f'"{value}" is not a duration; {_DURATION_HINT}') from None
        if parsed <= timedelta(0):
            raise self.fail(key, f'"{value}" must be longer than zero')
        return parsed

    def choice(self, value: object, key: str, allowed: Sequence[str]) -> str:
        text = self.string(value, key)
        if text not in allowed:
            listed = ", ".join(f'"{a}"' for a in allowed)
            raise self.fail(key, f'"{text}" is not one of {listed}')
        return text

    def strings(self, value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of strings, got {_shown(value)}")
        return tuple(self.string(item, f"{key}[{index}]") for index, item in enumerate(value))

    def zone(self, value: object, key: str) -> str:
        name = self.string(value, key)
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                key, f'"{name}" is not a known time zone; give an IANA name like "Europe/Berlin"'
            ) from None
        return name

    # --- the sections ---------------------------------------------------------

    def config(self, data: Mapping[str, Any], base: Path) -> Config:
        self.known(data, "", _TOP_KEYS)
        fields: dict[str, Any] = {"source": self.source, "base": base, "found": True}
        if "support_address" in data:
            fields["support_address"] = self.address(data["support_address"], "support_address")
        if "database" in data:
            database = self.string(data["database"], "database")
            if not database.strip():
                raise self.fail("database", "must name a SQLite file or a database URL")
            if "://" in database and not _is_server_url(database):
                raise self.fail(
                    "database",
                    f'"{database}" is not a supported URL; use a SQLite file path, '
                    '"postgresql+psycopg://..." or "mysql+pymysql://..."',
                )
            fields["database"] = database
        if "outbox" in data:
            outbox = self.table(data["outbox"], "outbox")
            self.known(outbox, "outbox", ("maildir",))
            fields["outbox_maildir"] = self.text(outbox, "outbox", "maildir", "outbox")
        if "smtp" in data:
            if "outbox" in data:
                raise self.fail("smtp", "give either [outbox] or [smtp], not both")
            fields["smtp"] = self.smtp(self.table(data["smtp"], "smtp"), base)
        if "imap" in data:
            fields["imap"] = self.imap(self.table(data["imap"], "imap"), base)
        if "auto_close_after" in data:
            fields["auto_close_after"] = self.duration(
                data["auto_close_after"], "auto_close_after", allow_off=True
            )
        if "agents" in data:
            agents = self.strings(data["agents"], "agents")
            fields["agents"] = tuple(
                self.address(agent, f"agents[{index}]") for index, agent in enumerate(agents)
            )
        if "agent_domains" in data:
            domains = self.strings(data["agent_domains"], "agent_domains")
            for index, domain in enumerate(domains):
                try:
                    DeskSettings(support_address="x@example.com", agent_domains=(domain,))
                except IssueCoreError:
                    raise self.fail(
                        f"agent_domains[{index}]", f'"{domain}" is not a domain like "example.com"'
                    ) from None
            fields["agent_domains"] = domains
        if "use_message_date" in data:
            fields["use_message_date"] = self.boolean(data["use_message_date"], "use_message_date")
        if "timezone" in data:
            fields["timezone"] = self.zone(data["timezone"], "timezone")
        if "signing_key" in data:
            fields["signing_key"] = self.signing_key(data["signing_key"])
        if "busy_timeout" in data:
            fields["busy_timeout"] = self.duration(data["busy_timeout"], "busy_timeout")
        support = fields.get("support_address", "support@localhost")
        if "mail" in data:
            fields["mail"] = self.mail(self.table(data["mail"], "mail"), support)
        if "agreements" in data:
            fields["agreements"] = self.agreements(data["agreements"])
        if "web" in data:
            fields["web"] = dict(self.table(data["web"], "web"))
        return Config(**fields)

    def address(self, value: object, key: str) -> str:
        text = self.string(value, key)
        try:
            MailSettings(support_address=text, signing_key=b"\0" * 16)
        except IssueCoreError:
            raise self.fail(key, f'"{text}" is not an address like "help@example.com"') from None
        return text

    def signing_key(self, value: object) -> bytes:
        text = self.string(value, "signing_key").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) < 16:
            raise self.fail(
                "signing_key",
                "must be at least 32 hexadecimal digits (16 bytes); "
                'generate one with python -c "import secrets; print(secrets.token_hex(32))"',
            )
        return key

    def password(self, table: Mapping[str, Any], prefix: str) -> tuple[str | None, str | None]:
        password = table.get("password")
        if password is not None and not isinstance(password, str):
            raise self.fail(f"{prefix}.password", "must be a string (value not shown)")
        password_env = self.text(table, prefix, "password_env", None)
        if password is not None and password_env is not None:
            raise self.fail(f"{prefix}.password_env", "give password or password_env, not both")
        return password, password_env

    def smtp(self, table: Mapping[str, Any], base: Path) -> SmtpConfig:
        keys = ("host", "port", "security", "username", "password", "password_env", "oauth2")
        self.known(table, "smtp", keys)
        if "host" not in table:
            raise self.fail("smtp.host", "is required in [smtp]")
        password, password_env = self.password(table, "smtp")
        oauth2 = None
        if "oauth2" in table:
            oauth2 = self.oauth2(self.table(table["oauth2"], "smtp.oauth2"), "smtp.oauth2", base)
            if password is not None or password_env is not None:
                raise self.fail("smtp.oauth2", "give a password or [smtp.oauth2], not both")
            if "username" not in table:
                raise self.fail("smtp.username", "is required with [smtp.oauth2]: the mailbox")
        return SmtpConfig(
            oauth2=oauth2,
            host=self.string(table["host"], "smtp.host"),
            port=self.integer(table.get("port", 587), "smtp.port", low=1, high=65535),
            security=cast(
                SmtpSecurity,
                self.choice(table.get("security", "starttls"), "smtp.security", _SECURITY_SMTP),
            ),
            username=self.text(table, "smtp", "username", None),
            password=password,
            password_env=password_env,
        )

    def imap(self, table: Mapping[str, Any], base: Path) -> ImapConfig:
        keys = (
            "oauth2",
            "host",
            "port",
            "username",
            "password",
            "password_env",
            "mailbox",
            "security",
            "processed_mailbox",
        )
        self.known(table, "imap", keys)
        for required in ("host", "username"):
            if required not in table:
                raise self.fail(f"imap.{required}", "is required in [imap]")
        password, password_env = self.password(table, "imap")
        oauth2 = None
        if "oauth2" in table:
            oauth2 = self.oauth2(self.table(table["oauth2"], "imap.oauth2"), "imap.oauth2", base)
            if password is not None or password_env is not None:
                raise self.fail("imap.oauth2", "give a password or [imap.oauth2], not both")
        elif password is None and password_env is None:
            raise self.fail(
                "imap.password", "is required in [imap] (or password_env, or [imap.oauth2])"
            )
        return ImapConfig(
            oauth2=oauth2,
            host=self.string(table["host"], "imap.host"),
            port=self.integer(table.get("port", 993), "imap.port", low=1, high=65535),
            username=self.string(table["username"], "imap.username"),
            password=password,
            password_env=password_env,
            mailbox=self.text(table, "imap", "mailbox", "INBOX"),
            security=cast(
                ImapSecurity,
                self.choice(table.get("security", "ssl"), "imap.security", _SECURITY_IMAP),
            ),
            processed_mailbox=self.text(table, "imap", "processed_mailbox", None),
        )

    def secret(self, table: Mapping[str, Any], prefix: str, name: str) -> str | None:
        """Return the secret ``name`` of ``table``; a wrong one is named, never shown."""
        if name not in table:
            return None
        value = table[name]
        if not isinstance(value, str) or not value:
            raise self.fail(_join(prefix, name), "must be a non-empty string (value not shown)")
        return value

    def oauth2(self, table: Mapping[str, Any], prefix: str, base: Path) -> OAuth2Config:
        if "provider" not in table:
            raise self.fail(f"{prefix}.provider", 'is required: "microsoft", "google" or "command"')
        provider = cast(
            OAuth2Provider, self.choice(table["provider"], f"{prefix}.provider", _OAUTH2_PROVIDERS)
        )
        self.known(table, prefix, _OAUTH2_KEYS[provider])
        fields: dict[str, Any] = {"section": prefix, "provider": provider}
        for name in ("tenant", "client_id", "client_secret_env", "refresh_token_env"):
            if name in table:
                fields[name] = self.string(table[name], f"{prefix}.{name}")
        for name in ("client_secret", "refresh_token"):
            fields[name] = self.secret(table, prefix, name)
        if "scopes" in table:
            fields["scopes"] = self.strings(table["scopes"], f"{prefix}.scopes")
        for name in ("client_secret", "refresh_token"):
            if fields.get(name) is not None and fields.get(f"{name}_env") is not None:
                raise self.fail(f"{prefix}.{name}_env", f"give {name} or {name}_env, not both")

        def need(*names: str) -> None:
            for name in names:
                if fields.get(name) is None and fields.get(f"{name}_env") is None:
                    raise self.fail(
                        f"{prefix}.{name}",
                        f'is required with provider = "{provider}" (or {name}_env)'
                        if name in ("client_secret", "refresh_token")
                        else f'is required with provider = "{provider}"',
                    )

        if provider == "command":
            if "command" not in table:
                raise self.fail(f"{prefix}.command", 'is required, e.g. ["oama", "access", "me"]')
            command = self.strings(table["command"], f"{prefix}.command")
            if not command or not all(command):
                raise self.fail(f"{prefix}.command", "must list a program and its arguments")
            fields["command"] = command
        elif provider == "microsoft":
            need("tenant", "client_id", "client_secret")
        elif "service_account_file" in table:
            if any(name in table for name in _GOOGLE_USER_KEYS):
                raise self.fail(
                    f"{prefix}.service_account_file",
                    "give a service account key or client_id, client_secret and refresh_token, "
                    "not both",
                )
            file = self.string(table["service_account_file"], f"{prefix}.service_account_file")
            fields["service_account_file"] = base / Path(file).expanduser()
        else:
            need("client_id", "client_secret", "refresh_token")
        return OAuth2Config(**fields)

    def mail(self, table: Mapping[str, Any], support_address: str) -> dict[str, Any]:
        self.known(table, "mail", tuple(_MAIL_KEYS))
        options: dict[str, Any] = {}
        for name, value in table.items():
            key = f"mail.{name}"
            kind = _MAIL_KEYS[name]
            if kind == "duration":
                options[name] = self.duration(value, key)
            elif kind == "bool":
                options[name] = self.boolean(value, key)
            elif kind == "int":
                options[name] = self.integer(value, key, low=0, high=1_000_000)
            elif kind == "strings":
                options[name] = self.strings(value, key)
            else:
                options[name] = self.string(value, key)
            try:
                MailSettings(
                    support_address=support_address, signing_key=b"\0" * 16, **{name: options[name]}
                )
            except IssueCoreError as error:
                problem = str(error).partition(" is not usable: ")[2] or str(error)
                raise self.fail(key, f"{_shown(value)} is not usable: {problem}") from None
        return options

    def agreements(self, value: object) -> tuple[ServiceLevelAgreement, ...]:
        if not isinstance(value, list):
            raise self.fail("agreements", "must be an array of tables, written [[agreements]]")
        built = tuple(
            self.agreement(self.table(item, f"agreements[{index}]"), f"agreements[{index}]")
            for index, item in enumerate(value)
        )
        try:
            return check_agreements(built)
        except IssueCoreError as error:
            raise self.fail("agreements", str(error)) from None

    def agreement(self, table: Mapping[str, Any], prefix: str) -> ServiceLevelAgreement:
        self.known(table, prefix, _AGREEMENT_KEYS)
        for required in ("name", "targets"):
            if required not in table:
                raise self.fail(f"{prefix}.{required}", "is required in an agreement")
        name = self.string(table["name"], f"{prefix}.name")
        targets_table = self.table(table["targets"], f"{prefix}.targets")
        if not targets_table:
            raise self.fail(f"{prefix}.targets", "must name at least one priority")
        targets = {
            priority: self.target(
                self.table(target, f"{prefix}.targets.{priority}"), f"{prefix}.targets.{priority}"
            )
            for priority, target in targets_table.items()
        }
        default_priority = self.text(table, prefix, "default_priority", next(iter(targets)))
        if default_priority not in targets:
            raise self.fail(
                f"{prefix}.default_priority",
                f'"{default_priority}" has no target; known: {", ".join(targets)}',
            )
        fields: dict[str, Any] = {
            "name": name,
            "targets": targets,
            "default_priority": default_priority,
            "default": self.boolean(table.get("default", False), f"{prefix}.default"),
        }
        if "calendar" in table:
            fields["calendar"] = self.calendar(
                self.table(table["calendar"], f"{prefix}.calendar"), f"{prefix}.calendar"
            )
        if "at_risk" in table:
            fields["at_risk"] = self.at_risk(table["at_risk"], f"{prefix}.at_risk")
        for bound in ("valid_from", "valid_until"):
            if bound in table:
                fields[bound] = self.calendar_date(table[bound], f"{prefix}.{bound}")
        if ("pause_on" in table) != ("fulfilled_on" in table):
            raise self.fail(f"{prefix}.pause_on", "give pause_on and fulfilled_on together")
        if "pause_on" in table:
            fields["pause_on"] = self.strings(table["pause_on"], f"{prefix}.pause_on")
            fields["fulfilled_on"] = self.strings(table["fulfilled_on"], f"{prefix}.fulfilled_on")
        if "condition" in table:
            fields["condition"] = self.condition(table["condition"], f"{prefix}.condition")
        try:
            return ServiceLevelAgreement(**fields)
        except (IssueCoreError, ValueError) as error:
            raise self.fail(prefix, str(error)) from None

    def condition(self, value: object, key: str) -> Condition:
        table = self.table(value, key)
        self.known(table, key, _CONDITION_KEYS)
        parts: dict[str, Any] = {}
        for name in ("priorities", "issue_types"):
            if name in table:
                parts[name] = self.strings(table[name], f"{key}.{name}")
        for name in ("references", "fields"):
            if name in table:
                accepted: dict[str, list[Any]] = {}
                for item, wanted in self.table(table[name], f"{key}.{name}").items():
                    where = f"{key}.{name}.{item}"
                    options = wanted if isinstance(wanted, list) else [wanted]
                    for option in options:
                        if not isinstance(option, str | int | float | bool):
                            raise self.fail(
                                where, f"must be a value or a list of values, got {_shown(option)}"
                            )
                    accepted[str(item)] = options
                parts[name] = accepted
        return Condition(**parts)

    def target(self, table: Mapping[str, Any], prefix: str) -> SlaTarget:
        self.known(table, prefix, ("response", "resolution"))
        if "response" not in table:
            raise self.fail(f"{prefix}.response", "is required in a target")
        response = self.duration(table["response"], f"{prefix}.response")
        resolution = None
        if "resolution" in table:
            resolution = self.duration(table["resolution"], f"{prefix}.resolution", allow_off=True)
        assert response is not None
        return SlaTarget(response=response, resolution=resolution)

    def at_risk(self, value: object, key: str) -> AtRisk:
        table = self.table(value, key)
        self.known(table, key, ("fraction", "remaining"))
        fraction = table.get("fraction")
        if fraction is not None and (
            isinstance(fraction, bool)
            or not isinstance(fraction, int | float)
            or not 0 < fraction < 1
        ):
            raise self.fail(f"{key}.fraction", f"must lie between 0 and 1, got {_shown(fraction)}")
        remaining = None
        if "remaining" in table:
            remaining = self.duration(table["remaining"], f"{key}.remaining")
        if fraction is None and remaining is None:
            raise self.fail(key, 'give fraction (e.g. 0.2) or remaining (e.g. "1h")')
        return AtRisk(fraction=None if fraction is None else float(fraction), remaining=remaining)

    def calendar_date(self, value: object, key: str) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise self.fail(key, f'{_shown(value)} is not a date; write e.g. "2026-12-25"')

    def intervals(self, value: object, key: str) -> list[tuple[str, str]]:
        if not isinstance(value, list):
            raise self.fail(key, f'must be a list of ["HH:MM", "HH:MM"] pairs, got {_shown(value)}')
        pairs: list[tuple[str, str]] = []
        for index, pair in enumerate(value):
            item_key = f"{key}[{index}]"
            if isinstance(pair, list) and len(pair) == 2:
                start, end = pair
                if isinstance(start, time):
                    start = start.strftime("%H:%M:%S")
                if isinstance(end, time):
                    end = end.strftime("%H:%M:%S")
                if isinstance(start, str) and isinstance(end, str):
                    pairs.append((start, end))
                    continue
            raise self.fail(item_key, f'must be a pair like ["09:00", "17:00"], got {_shown(pair)}')
        return pairs

    def calendar(self, table: Mapping[str, Any], prefix: str) -> BusinessCalendar:
        self.known(table, prefix, ("timezone", "hours", "holidays", "overrides"))
        if "timezone" not in table:
            raise self.fail(f"{prefix}.timezone", 'is required in a calendar, e.g. "Europe/Berlin"')
        zone = self.zone(table["timezone"], f"{prefix}.timezone")
        if "hours" not in table:
            raise self.fail(f"{prefix}.hours", 'is required, e.g. { mon = [["09:00", "17:00"]] }')
        hours_table = self.table(table["hours"], f"{prefix}.hours")
        hours: dict[str, list[tuple[str, str]]] = {}
        for day, value in hours_table.items():
            key = f"{prefix}.hours.{day}"
            hours[day] = self.intervals(value, key)
            if hours[day]:
                self.check_calendar(key, zone, hours={day: hours[day]})
            elif day.lower() not in _WEEKDAYS:
                raise self.fail(key, f"unknown weekday; use {', '.join(_WEEKDAYS)}")
        holidays: list[date] = []
        if "holidays" in table:
            holidays = self.holidays(table["holidays"], f"{prefix}.holidays")
        overrides: dict[date, list[tuple[str, str]]] = {}
        if "overrides" in table:
            for day_key, value in self.table(table["overrides"], f"{prefix}.overrides").items():
                key = f"{prefix}.overrides.{day_key}"
                when = self.calendar_date(day_key, key)
                overrides[when] = self.intervals(value, key)
                if overrides[when]:
                    self.check_calendar(key, zone, hours={}, overrides={when: overrides[when]})
        return self.check_calendar(
            prefix, zone, hours=hours, holidays=holidays, overrides=overrides
        )

    def holidays(self, value: object, key: str) -> list[date]:
        if isinstance(value, list):
            return [self.calendar_date(item, f"{key}[{index}]") for index, item in enumerate(value)]
        if not isinstance(value, Mapping):
            raise self.fail(
                key,
                'must be a list of dates or a table like { country = "DE", subdivision = "BY" }, '
                f"got {_shown(value)}",
            )
        self.known(value, key, ("country", "subdivision", "dates"))
        if "country" not in value:
            raise self.fail(f"{key}.country", 'is required, an ISO 3166 code like "DE"')
        country = self.string(value["country"], f"{key}.country")
        subdivision = self.text(value, key, "subdivision", None)
        extra = self.holidays(value.get("dates", []), f"{key}.dates")
        from issuecore._sla.holidays import public_holidays

        try:
            listed = public_holidays(country, years=_HOLIDAY_YEARS, subdivision=subdivision)
        except IssueCoreError as error:
            raise self.fail(key, str(error)) from None
        return [*listed, *extra]

    def check_calendar(
        self,
        key: str,
        zone: str,
        *,
        hours: dict[str, list[tuple[str, str]]],
        holidays: Sequence[date] = (),
        overrides: dict[date, list[tuple[str, str]]] | None = None,
    ) -> BusinessCalendar:
        try:
            return BusinessCalendar(zone, hours, holidays=holidays, overrides=overrides)
        except (IssueCoreError, ValueError, TypeError) as error:
            raise self.fail(key, str(error)) from None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _shown(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TOP_KEYS: Final = (
    "support_address",
    "database",
    "outbox",
    "smtp",
    "imap",
    "auto_close_after",
    "agents",
    "agent_domains",
    "use_message_date",
    "timezone",
    "signing_key",
    "busy_timeout",
    "mail",
    "agreements",
    "web",
)
_AGREEMENT_KEYS: Final = (
    "name",
    "default",
    "default_priority",
    "targets",
    "calendar",
    "at_risk",
    "valid_from",
    "valid_until",
    "pause_on",
    "fulfilled_on",
    "condition",
)
_CONDITION_KEYS: Final = ("priorities", "issue_types", "references", "fields")
_GOOGLE_USER_KEYS: Final = (
    "client_id",
    "client_secret",
    "client_secret_env",
    "refresh_token",
    "refresh_token_env",
)
_OAUTH2_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "microsoft": (
        "provider",
        "tenant",
        "client_id",
        "client_secret",
        "client_secret_env",
        "scopes",
    ),
    "google": ("provider", "service_account_file", *_GOOGLE_USER_KEYS, "scopes"),
    "command": ("provider", "command"),
}
_MAIL_KEYS: Final = {
    "aliases": "strings",
    "agent_mail_policy": "str",
    "agent_mail_authserv_id": "str",
    "stranger_policy": "str",
    "follow_up_policy": "str",
    "reopen_within": "duration",
    "automated_policy": "str",
    "auto_reply": "bool",
    "auto_reply_limit": "int",
    "auto_reply_window": "duration",
    "auto_reply_template": "str",
    "max_new_participants": "int",
    "token_format": "str",
    "loop_header": "str",
    "message_id_domain": "str",
}

_TEMPLATE: Final = """\
# issuecore.toml: the configuration of the issuecore command.
# Every key is optional. A key commented out shows its default value, except in
# the [smtp], [imap] and [[agreements]] examples, which show values to adapt.
# Durations are written like "30m", "4h", "2d", "1w" or "1h30m".
# Reference: docs/cli.md.

# The address customers write to; replies and automatic answers come from it.
support_address = "{support_address}"

# A SQLite file (relative to this file), or a server URL such as
# "postgresql+psycopg://user:secret@db/issuecore" or "mysql+pymysql://user:secret@db/issuecore".
# database = "issuecore.db"

# Signs the Message-IDs of outbound mail so replies find their issue and
# forged references are recognised. Keep it secret and keep it stable.
# Without it, a key is kept in "<database>.key" next to the SQLite file.
signing_key = "{signing_key}"

# Issues waiting for the customer close after this much silence; false turns it off.
# auto_close_after = "7d"

# Addresses of the people answering; they may write into any thread. Their mail
# naming an issue is relayed to the customer ([mail] agent_mail_policy).
# agents = ["ben@example.com"]
# Every address at these domains is an agent's (customers never write from them).
# agent_domains = ["example.com"]

# Count inbound mail from its own Date: header instead of when it was received
# (for importing a backlog): issues, threads and SLA clocks start then, so old
# mail arrives with its targets already breached. See docs/sla.md.
# use_message_date = false

# The zone dates and times are shown in (default: the default agreement's calendar zone, else UTC).
# timezone = "Europe/Berlin"

# Outbound mail goes into a Maildir ...
[outbox]
# maildir = "outbox"

# ... or, instead of [outbox], to an SMTP server:
# [smtp]
# host = "smtp.example.com"
# port = 587
# security = "starttls"        # "starttls", "ssl" or "none"
# username = "support@example.com"
# password_env = "ISSUECORE_SMTP_PASSWORD"   # or password = "..."

# The mailbox "issuecore fetch" reads:
# [imap]
# host = "imap.example.com"
# port = 993
# security = "ssl"             # "ssl", "starttls" or "none"
# username = "support@example.com"
# password_env = "ISSUECORE_IMAP_PASSWORD"   # or password = "...", or [imap.oauth2]
# mailbox = "INBOX"
# processed_mailbox = "Processed"            # move handled mail there (default: flag it)

# Microsoft 365 and Google turned password login off: sign in with OAuth2 instead
# (pip install 'issuecore[m365]' or 'issuecore[google]'; see docs/mail-transports.md).
# The same table works as [smtp.oauth2].
# [imap.oauth2]
# provider = "microsoft"                     # "microsoft", "google" or "command"
# tenant = "contoso.onmicrosoft.com"
# client_id = "00000000-0000-0000-0000-000000000000"
# client_secret_env = "ISSUECORE_OAUTH2_SECRET"

[mail]
# stranger_policy = "new_issue"      # "new_issue", "attach_unverified" or "reject"
# follow_up_policy = "reopen_within" # "reopen_within", "new_issue" or "reopen"
# reopen_within = "14d"
# automated_policy = "ignore"        # "ignore" or "create"
# agent_mail_policy = "relay"        # agents' mail naming an issue: "relay" it to the
#                                    # customer, or "record_only" as an internal note
# agent_mail_authserv_id = "mx.google.com"  # relay agent mail only when this receiving
#                                    # server's Authentication-Results says dmarc=pass
# auto_reply = true
# auto_reply_limit = 10              # automatic replies per sender and recipient ...
# auto_reply_window = "24h"          # ... in this window
# max_new_participants = 20          # addresses one message may copy in
# aliases = []                       # other addresses that reach the desk

# The agent console of "issuecore serve" (pip install 'issuecore[web]'; docs/web.md).
# [web]
# host = "127.0.0.1"                 # listening elsewhere needs accounts or a proxy's header
# port = 8080
# accounts = "agents.json"           # python -m issuecore.web._accounts agents.json add ADDR
# proxy_user_header = "X-Remote-User"   # or trust a reverse proxy's signed-in user
# session_lifetime = "8h"
# secure_cookies = false             # true when served over HTTPS
# contact_form = false               # the public contact page /contact

# Service-level agreements. Without any [[agreements]], one agreement called
# "Standard" counts elapsed time: Urgent 1h/4h, High 4h/1d, Medium 8h/3d, Low 1d/7d.
# An example with business hours: its targets count business time on its own
# calendar, so "16h" is two working days of eight hours and "40h" a working week
# (a "2d" there would be 48 business hours: six working days).
# [[agreements]]
# name = "Standard"
# default = true
# default_priority = "Medium"
# at_risk = {{ fraction = 0.2 }}
# [agreements.calendar]
# timezone = "Europe/Berlin"
# holidays = ["2026-12-25", "2026-12-26"]   # or {{ country = "DE", subdivision = "BY" }}
# overrides = {{ "2026-12-24" = [["09:00", "12:00"]] }}
# [agreements.calendar.hours]
# mon = [["09:00", "17:00"]]
# tue = [["09:00", "17:00"]]
# wed = [["09:00", "17:00"]]
# thu = [["09:00", "17:00"]]
# fri = [["09:00", "17:00"]]
# [agreements.targets.High]
# response = "4h"
# resolution = "16h"
# [agreements.targets.Medium]
# response = "8h"
# resolution = "40h"
"""
