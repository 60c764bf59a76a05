"""Fetching inbound mail from an IMAP mailbox with the standard library's :mod:`imaplib`.

:class:`ImapSource` works on UIDs. It asks the server which messages are
still waiting (``UID SEARCH UNSEEN UNDELETED``, or ``UID SEARCH UNDELETED``
when handled messages are moved away), fetches them in batches with
``UID FETCH (BODY.PEEK[])`` — which never sets the ``\\Seen`` flag — and
marks or moves a message only when :meth:`ImapMessage.ack` is called, which
:meth:`HelpDesk.ingest <issuecore.HelpDesk.ingest>` does after the
desk committed it. A crash between the commit and the acknowledgement
leaves the message waiting on the server; the next run fetches it again
and the desk records it as a duplicate. Nothing is lost, nothing is
recorded twice.

The source keeps no UIDs from one run to the next: what is waiting is
whatever the server holds unseen (or still in the mailbox). A change of
``UIDVALIDITY`` (the mailbox was re-created, or the server rebuilt its
index) therefore cannot make it skip messages; at worst every message is
fetched again and the desk reports the ones it already has as duplicates.
Within one run, the UIDVALIDITY reported when the mailbox was selected is
checked again before each batch; if it changed, the UIDs in hand may name
other messages, so the run stops with
:class:`~issuecore.errors.MailTransportError` and nothing more is
acknowledged.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import attrs

from issuecore.adapters.oauth2 import token_from, xoauth2_response
from issuecore.errors import AccessTokenError, MailSettingsError, MailTransportError
from issuecore.ports import TokenProvider

__all__ = ["ImapMessage", "ImapSource"]


_SECURITY_CHOICES = ("ssl", "starttls", "none")
_UID = re.compile(rb"\bUID (\d+)")


def _quoted(mailbox: str) -> str:
    """Return ``mailbox`` as an IMAP quoted string."""
    if not mailbox.isascii() or "\r" in mailbox or "\n" in mailbox:
        raise MailSettingsError.invalid(
            "mailbox", mailbox, "a mailbox name in ASCII without line breaks"
        )
    escaped = mailbox.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@attrs.frozen(kw_only=True)
class ImapMessage:
    """One message fetched from an IMAP mailbox; :meth:`ack` marks it seen or moves it."""

    raw: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    uid: int
    uidvalidity: int
    mailbox: str
    _session: _Session = attrs.field(alias="session", repr=False, eq=False)

    @property
    def key(self) -> str:
        """Return ``UIDVALIDITY/UID``, which names this message on this server."""
        return f"{self.uidvalidity}/{self.uid}"

    def ack(self) -> None:
        """Mark the message ``\\Seen``, or move it to the processed mailbox; raise on failure."""
        self._session.acknowledge(self.uid, self.uidvalidity)


class _Session:
    """One logged-in connection with the mailbox selected."""

    def __init__(self, source: ImapSource, connection: imaplib.IMAP4) -> None:
        self.source = source
        self.connection = connection
        self.uidvalidity = 0
        self.capabilities: frozenset[str] = frozenset()
        self.open = True

    def run(self, operation: str, command: Callable[[], tuple[str, list[Any]]]) -> list[Any]:
        """Run ``command`` and return its data; raise on NO, BAD or a broken connection."""
        try:
            kind, data = command()
        except (imaplib.IMAP4.error, OSError) as error:
            raise self.source.error(operation, error) from error
        if kind != "OK":
            raise self.source.error(operation, f"the server answered {kind} {_text(data)}")
        return list(data)

    def uid(self, operation: str, command: str, *args: str) -> list[Any]:
        """Run ``UID command args`` and return its data."""
        return self.run(operation, lambda: self.connection.uid(command, *args))

    def select(self) -> None:
        source, connection = self.source, self.connection
        capabilities = _text(self.run("capability", connection.capability))
        self.capabilities = frozenset(word.upper() for word in capabilities.split())
        mailbox = _quoted(source.mailbox)
        self.run(f"select {source.mailbox!r}", lambda: connection.select(mailbox))
        self.uidvalidity = self.current_uidvalidity()
        if source.processed_mailbox is not None:
            processed = _quoted(source.processed_mailbox)
            listed = self.run("list", lambda: connection.list('""', processed))
            if not [item for item in listed if item]:
                self.run(
                    f"create {source.processed_mailbox!r}", lambda: connection.create(processed)
                )

    def current_uidvalidity(self) -> int:
        numbers = self.announced_uidvalidity()
        if not numbers:
            raise self.source.error("select", "the server reported no UIDVALIDITY")
        return numbers[-1]

    def announced_uidvalidity(self) -> list[int]:
        """Return the UIDVALIDITY values the server announced since last asked."""
        _kind, values = self.connection.response("UIDVALIDITY")
        return [int(value) for value in values if isinstance(value, bytes) and value.isdigit()]

    def waiting(self) -> list[int]:
        # NOOP lets the server report what arrived since the mailbox was selected.
        self.run("noop", self.connection.noop)
        criteria = "UNDELETED" if self.source.processed_mailbox is not None else "UNSEEN UNDELETED"
        found = self.uid("search", "SEARCH", criteria)
        uids = sorted({int(word) for item in found if item for word in _text([item]).split()})
        return uids

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """Return the bytes of those of ``uids`` that still exist, by UID."""
        self.check_uidvalidity()
        data = self.uid("fetch", "FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
        self.check_uidvalidity()
        bodies: dict[int, bytes] = {}
        for position, item in enumerate(data):
            if not isinstance(item, tuple) or len(item) != 2:
                continue
            head, body = item
            match = _UID.search(head)
            if match is None and position + 1 < len(data):
                following = data[position + 1]
                if isinstance(following, bytes):
                    match = _UID.search(following)
            if match is not None and isinstance(body, bytes):
                bodies[int(match.group(1))] = body
        return bodies

    def check_uidvalidity(self) -> None:
        for announced in self.announced_uidvalidity():
            if announced != self.uidvalidity:
                self.open = False
                raise self.source.error(
                    "fetch",
                    f"UIDVALIDITY of {self.source.mailbox!r} changed from {self.uidvalidity} "
                    f"to {announced}: the mailbox was re-created; the UIDs in hand are void, "
                    "nothing more is acknowledged in this run, and the next run fetches "
                    "every waiting message again",
                )

    def acknowledge(self, uid: int, uidvalidity: int) -> None:
        source = self.source
        if not self.open:
            raise source.error(
                "ack",
                f"this run's connection is closed or failed; message UID {uid} stays waiting "
                "and is fetched again next run",
            )
        if uidvalidity != self.uidvalidity:
            raise source.error("ack", f"UID {uid} belongs to UIDVALIDITY {uidvalidity}")
        if source.processed_mailbox is None:
            self.uid("store \\Seen", "STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")
            return
        target = _quoted(source.processed_mailbox)
        if "MOVE" in self.capabilities:
            self.uid("move", "MOVE", str(uid), target)
            return
        self.uid("copy", "COPY", str(uid), target)
        self.uid("store \\Deleted", "STORE", str(uid), "+FLAGS.SILENT", r"(\Seen \Deleted)")
        if "UIDPLUS" in self.capabilities:
            self.uid("expunge", "EXPUNGE", str(uid))

    def close(self) -> None:
        """Log out (which never expunges) and close the socket, whatever the server says."""
        self.open = False
        try:
            self.connection.logout()  # closes the socket when the server answers
        except (imaplib.IMAP4.error, OSError):
            with contextlib.suppress(OSError):
                self.connection.shutdown()


def _check_xoauth2_user(username: str) -> None:
    try:
        xoauth2_response(username, "token")
    except ValueError:
        raise MailSettingsError.invalid(
            "username", username, "a mailbox address without control characters"
        ) from None


def _responder(user: str, token: str) -> Callable[[bytes], bytes]:
    """Return the AUTHENTICATE callback: the XOAUTH2 response, then an empty answer to an error."""
    answers = [xoauth2_response(user, token).encode()]

    def respond(_challenge: bytes) -> bytes:
        # After a refusal the server sends its error as a challenge; an empty line ends it.
        return answers.pop() if answers else b""

    return respond


def _text(data: list[Any]) -> str:
    parts = []
    for item in data:
        if isinstance(item, bytes):
            parts.append(item.decode("utf-8", "replace"))
        elif isinstance(item, tuple):
            parts.extend(p.decode("utf-8", "replace") for p in item if isinstance(p, bytes))
    return " ".join(parts)


class ImapSource:
    """A :class:`~issuecore.ports.MailSource` reading one mailbox of an IMAP server.

    - ``security``: ``"ssl"`` (port 993, TLS from the first byte),
      ``"starttls"`` (port 143 upgraded with STARTTLS) or ``"none"`` (no
      encryption: only for a server on the same host or in tests).
    - ``processed_mailbox``: when given, an acknowledged message is moved
      there (``UID MOVE``, or ``UID COPY`` then ``\\Deleted`` and, with
      UIDPLUS, ``UID EXPUNGE`` of that message only) instead of being flagged
      ``\\Seen``; the mailbox is created if missing. Without it, messages that
      someone already read in a mail client (flagged seen) are not fetched:
      give the desk its own mailbox, or use ``processed_mailbox``.
    - ``batch``: how many messages one ``UID FETCH`` asks for.
    - ``ssl_context``: the TLS settings; :func:`ssl.create_default_context`
      when omitted. ``timeout``: seconds each network operation may take.

    - ``token_provider``: log in with XOAUTH2 (Microsoft 365, Google) with
      the access token it returns, instead of ``password`` (see
      :mod:`issuecore.adapters.oauth2`). A refused token is refreshed once
      and tried again; a token that cannot be had raises
      :class:`~issuecore.errors.AccessTokenError`.

    Used as a context manager, the source keeps one connection open for
    every :meth:`messages` call inside the ``with`` block and logs out at its
    end; otherwise each :meth:`messages` call opens a connection and logs out
    when the iteration ends. Failures raise
    :class:`~issuecore.errors.MailTransportError` naming the server and the
    step; the password never appears in them.
    """

    def __init__(
        self,
        host: str,
        port: int = 993,
        *,
        username: str,
        password: str | None = None,
        token_provider: TokenProvider | None = None,
        mailbox: str = "INBOX",
        security: str = "ssl",
        processed_mailbox: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        batch: int = 100,
    ) -> None:
        if security not in _SECURITY_CHOICES:
            raise MailSettingsError.invalid("security", security, "'ssl', 'starttls' or 'none'")
        if batch < 1:
            raise MailSettingsError.invalid("batch", batch, "a whole number of at least 1")
        if (password is None) == (token_provider is None):
            raise MailSettingsError.invalid(
                "password" if password is None else "token_provider",
                None if password is None else "<hidden>",
                "a password or a token_provider, exactly one of them",
            )
        if token_provider is not None:
            _check_xoauth2_user(username)
        _quoted(mailbox)
        if processed_mailbox is not None:
            _quoted(processed_mailbox)
            if processed_mailbox == mailbox:
                raise MailSettingsError.invalid(
                    "processed_mailbox", processed_mailbox, f"a mailbox other than {mailbox!r}"
                )
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self._token_provider = token_provider
        self.mailbox = mailbox
        self.security = security
        self.processed_mailbox = processed_mailbox
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.batch = batch
        self._session: _Session | None = None

    def __repr__(self) -> str:
        return (
            f"ImapSource({self.host!r}, {self.port}, username={self.username!r}, "
            f"mailbox={self.mailbox!r}, security={self.security!r}"
            f"{', XOAUTH2' if self._token_provider is not None else ''})"
        )

    def __enter__(self) -> ImapSource:
        if self._session is None:
            self._session = self._open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def acks_after_reading(self) -> bool:
        """Whether a message may be acknowledged after later ones were read (inside ``with``)."""
        # Without the ``with`` block the connection closes when the reading ends.
        return self._session is not None

    def close(self) -> None:
        """Log out and close the connection kept by the ``with`` block, if any."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def messages(self) -> Iterator[ImapMessage]:
        """Yield the waiting messages in UID order, fetched ``batch`` at a time."""
        if self._session is not None:
            if not self._session.open:  # the last run stopped on a failure
                self.close()
                self._session = self._open()
            yield from self._messages(self._session)
            return
        session = self._open()
        try:
            yield from self._messages(session)
        finally:
            session.close()

    def _messages(self, session: _Session) -> Iterator[ImapMessage]:
        try:
            uids = session.waiting()
        except MailTransportError:
            session.open = False  # its state is unknown: acknowledge nothing more through it
            raise
        for start in range(0, len(uids), self.batch):
            chunk = uids[start : start + self.batch]
            try:
                bodies = session.fetch(chunk)
            except MailTransportError:
                session.open = False
                raise
            for uid in chunk:
                body = bodies.get(uid)
                if body is None:  # expunged by another client since the search
                    continue
                yield ImapMessage(
                    raw=body,
                    uid=uid,
                    uidvalidity=session.uidvalidity,
                    mailbox=self.mailbox,
                    session=session,
                )

    def _open(self) -> _Session:
        connection = self._connect()
        session = _Session(self, connection)
        try:
            if self.security == "starttls":
                try:
                    connection.starttls(ssl_context=self._context())
                except (imaplib.IMAP4.error, OSError) as error:
                    raise self.error("STARTTLS", error) from error
            if self._token_provider is not None:
                self._xoauth2(connection, self._token_provider)
            else:
                try:
                    connection.login(self.username, self._password or "")
                except (imaplib.IMAP4.error, OSError) as error:
                    raise self.error("login", error) from error
            session.select()
        except BaseException:
            session.close()
            raise
        return session

    def _xoauth2(self, connection: imaplib.IMAP4, provider: TokenProvider) -> None:
        """Log in with XOAUTH2; a refused token is refreshed once and tried again."""
        step = "XOAUTH2 login"
        if "AUTH=XOAUTH2" not in {word.upper() for word in connection.capabilities}:
            raise self.error(step, "the server does not offer AUTH=XOAUTH2")
        token = token_from(provider)
        for attempt in (1, 2):
            try:
                connection.authenticate("XOAUTH2", _responder(self.username, token))
                return
            except imaplib.IMAP4.error as error:
                # NO or BAD: the token was refused. A broken connection is not retried.
                if attempt == 2:
                    raise self.error(step, error) from error
            except OSError as error:
                if isinstance(error, AccessTokenError):
                    raise
                raise self.error(step, error) from error
            token = token_from(provider, refresh=True)

    def _connect(self) -> imaplib.IMAP4:
        try:
            if self.security == "ssl":
                return imaplib.IMAP4_SSL(
                    self.host, self.port, ssl_context=self._context(), timeout=self.timeout
                )
            return imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        except (imaplib.IMAP4.error, OSError) as error:
            raise self.error("connect", error) from error

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context if self.ssl_context is not None else ssl.create_default_context()

    def error(self, operation: str, cause: BaseException | str) -> MailTransportError:
        """Build the error for ``operation`` on this server that failed with ``cause``."""
        return MailTransportError.failed(
            protocol="IMAP", host=self.host, port=self.port, operation=operation, cause=cause
        )
