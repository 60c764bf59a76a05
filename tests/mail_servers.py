"""Real mail servers for the transport tests: Dovecot (IMAP), aiosmtpd (SMTP), certificates.

:class:`Dovecot` starts a private Dovecot as a child of the test process from
a configuration generated in a temporary folder: it listens on 127.0.0.1 on
free ports (IMAP with STARTTLS, and IMAPS when a certificate could be made),
accepts any user name with the password :data:`IMAP_PASSWORD` (and, when
built with ``oauth2_token``, XOAUTH2 with that bearer token), and keeps
each user's mail in ``<folder>/mail/<user>`` as a Maildir. It runs in the
foreground (``dovecot -F``) and is stopped by terminating that process.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import attrs
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

IMAP_PASSWORD = "imap-secret"
OAUTH2_TOKEN = "ya29.valid-access-token"
SUPPORT = "support@example.com"
# Mail clients write long Message-IDs as they are (lines may reach 998 characters).
CLIENT_POLICY = default_policy.clone(max_line_length=998)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def customer_mail(
    subject: str,
    *,
    message_id: str,
    sender: str = "ana@customer.test",
    body: str = "Hello",
) -> bytes:
    """Return the bytes of a plain customer message to the support address."""
    message = EmailMessage(policy=CLIENT_POLICY)
    message["From"] = f"Ana Silva <{sender}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = "Mon, 02 Mar 2026 09:00:00 +0000"
    message.set_content(body)
    return message.as_bytes()


# --- SMTP -----------------------------------------------------------------------------

SMTP_USER = "desk"
SMTP_PASSWORD = "smtp-secret-password"


class RecordingHandler:
    """An aiosmtpd handler that keeps every envelope, or refuses with ``reply`` when set."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.reply: str | None = None
        self.refuse_recipients: set[str] = set()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse_recipients:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reply is not None:
            return self.reply
        self.envelopes.append(envelope)
        return "250 2.0.0 accepted"


class XOAuth2Handler(RecordingHandler):
    """A handler that also takes SMTP ``AUTH XOAUTH2`` with one of ``valid_tokens``.

    A refused token gets Gmail's answer: a 334 challenge holding a JSON
    error, then 535 once the client answers with an empty line. ``attempts``
    keeps every ``(user, token)`` tried.
    """

    def __init__(self, user: str, valid_tokens: set[str]) -> None:
        super().__init__()
        self.user = user
        self.valid_tokens = valid_tokens
        self.attempts: list[tuple[str, str]] = []

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) > 1:
            import base64

            response: bytes | object = base64.b64decode(args[1])
        else:
            response = await server.challenge_auth("")
        if not isinstance(response, bytes):
            return AuthResult(success=False, handled=True)
        fields = dict(part.split("=", 1) for part in response.decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        self.attempts.append((user, token))
        if user == self.user and token in self.valid_tokens:
            return AuthResult(success=True)
        answer = await server.challenge_auth(
            '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
        )
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    if (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == SMTP_USER.encode()
        and auth_data.password == SMTP_PASSWORD.encode()
    ):
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)


# --- certificates ---------------------------------------------------------------------


@attrs.frozen
class Certificate:
    """A self-signed certificate for localhost and 127.0.0.1, with its key, as PEM files."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """Return a TLS server context presenting this certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Return a TLS client context that trusts this certificate and checks host names."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(folder: Path) -> Certificate | str:
    """Make a certificate in ``folder``, or return why none could be made.

    Uses the ``cryptography`` package when it is installed, else the
    ``openssl`` command.
    """
    folder.mkdir(parents=True, exist_ok=True)
    certificate = Certificate(folder / "cert.pem", folder / "key.pem")
    try:
        _make_with_cryptography(certificate)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            return "neither the cryptography package nor the openssl command is installed"
        subprocess.run(
            [
                openssl,
                *("req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost"),
                *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
                *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
                *("-keyout", str(certificate.key), "-out", str(certificate.cert)),
            ],
            check=True,
            capture_output=True,
        )
    return certificate


def _make_with_cryptography(certificate: Certificate) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    certificate.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


# --- Dovecot --------------------------------------------------------------------------


def dovecot_binary() -> str | None:
    """Return the path of the ``dovecot`` program, or ``None`` when it is not installed."""
    found = shutil.which("dovecot")
    if found is None and os.access("/usr/sbin/dovecot", os.X_OK):
        found = "/usr/sbin/dovecot"
    return found


def _wait_for_port(process: subprocess.Popen[bytes], port: int, *, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.05)  # doubles as the pause between connection attempts
            raise RuntimeError(f"dovecot exited with {process.returncode}:\n{_tail(log)}")
    raise RuntimeError(f"dovecot did not listen on 127.0.0.1:{port} within 30 s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    except FileNotFoundError:
        return "(no log written)"


class Dovecot:
    """A private Dovecot IMAP server for tests; use as a context manager."""

    def __init__(
        self, binary: str, certificate: Certificate | None, *, oauth2_token: str | None = None
    ) -> None:
        self.binary = binary
        self.oauth2_token = oauth2_token
        self.certificate = certificate
        self.host = "127.0.0.1"
        self.port = free_port()
        self.ssl_port = free_port() if certificate is not None else None
        self.password = IMAP_PASSWORD
        # Dovecot's mail processes must not run as root; as root they run as nobody,
        # which needs a folder it can reach (pytest's own temporary folders are private).
        self.folder = Path(tempfile.mkdtemp(prefix="issuecore-dovecot-"))
        self.folder.chmod(0o755)
        self.log = self.folder / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Dovecot:
        config = self._write_config()
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(self._process, self.port, log=self.log)
            if self.ssl_port is not None:
                _wait_for_port(self._process, self.ssl_port, log=self.log)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _write_config(self) -> Path:
        folder = self.folder
        for name in ("run", "state", "mail", "home"):
            (folder / name).mkdir()
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("nobody")
            uid, gid = mail_user.pw_uid, mail_user.pw_gid
            for name in ("mail", "home"):
                os.chown(folder / name, uid, gid)
            users = ""  # Dovecot's own dovenull and dovecot users run the login processes
            chroot = ""
        else:
            uid, gid = os.getuid(), os.getgid()
            user, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name
            users = (
                f"default_login_user = {user}\n"
                f"default_internal_user = {user}\n"
                f"default_internal_group = {group}\n"
            )
            chroot = "  chroot =\n"
        tls = "ssl = no\n"
        imaps = "  inet_listener imaps {\n    port = 0\n  }\n"
        if self.certificate is not None:
            tls = (
                "ssl = yes\n"
                f"ssl_cert = <{self.certificate.cert}\n"
                f"ssl_key = <{self.certificate.key}\n"
            )
            imaps = (
                "  inet_listener imaps {\n"
                f"    address = 127.0.0.1\n    port = {self.ssl_port}\n    ssl = yes\n  }}\n"
            )
        config = folder / "dovecot.conf"
        config.write_text(
            f"base_dir = {folder}/run\n"
            f"state_dir = {folder}/state\n"
            f"log_path = {self.log}\n"
            "protocols = imap\n"
            "listen = 127.0.0.1\n"
            f"{users}"
            f"{tls}"
            "disable_plaintext_auth = no\n"
            f"auth_mechanisms = plain login{' xoauth2' if self.oauth2_token else ''}\n"
            "auth_failure_delay = 0\n"
            "first_valid_uid = 1\n"
            f"mail_location = maildir:{folder}/mail/%u\n"
            f"{self._oauth2_passdb()}"
            "passdb {\n"
            "  driver = static\n"
            f"  args = password={self.password}\n"
            f"{'  mechanisms = plain login' + chr(10) if self.oauth2_token else ''}"
            "}\n"
            "userdb {\n"
            "  driver = static\n"
            f"  args = uid={uid} gid={gid} home={folder}/home/%u\n"
            "}\n"
            "service imap-login {\n"
            "  inet_listener imap {\n"
            f"    address = 127.0.0.1\n    port = {self.port}\n"
            "  }\n"
            f"{imaps}"
            f"{chroot}"
            "}\n"
            "service anvil {\n"
            f"{chroot}"
            "}\n"
        )
        return config

    def _oauth2_passdb(self) -> str:
        # XOAUTH2 hands the bearer token to the passdb as the password: this one takes one token.
        if self.oauth2_token is None:
            return ""
        return (
            "passdb {\n"
            "  driver = static\n"
            f"  args = password={self.oauth2_token}\n"
            "  mechanisms = xoauth2\n"
            "}\n"
        )

    def client(self, user: str) -> imaplib.IMAP4:
        """Return a plain IMAP connection logged in as ``user`` (close it with ``logout``)."""
        connection = imaplib.IMAP4(self.host, self.port, timeout=30)
        try:
            connection.login(user, self.password)
        except BaseException:
            connection.shutdown()
            raise
        return connection

    def append(self, user: str, *messages: bytes, mailbox: str = "INBOX") -> None:
        """Put ``messages`` into ``user``'s ``mailbox`` with IMAP APPEND."""
        connection = self.client(user)
        try:
            if mailbox != "INBOX":
                connection.create(mailbox)  # answers NO when it exists, which is fine
            for raw in messages:
                kind, data = connection.append(mailbox, None, None, raw)
                assert kind == "OK", data
        finally:
            connection.logout()

    def search(self, user: str, criteria: str, *, mailbox: str = "INBOX") -> list[int]:
        """Return the UIDs in ``user``'s ``mailbox`` that match ``criteria``."""
        connection = self.client(user)
        try:
            kind, data = connection.select(mailbox, readonly=True)
            assert kind == "OK", data
            kind, data = connection.uid("SEARCH", criteria)
            assert kind == "OK", data
            return [int(word) for word in data[0].split()]
        finally:
            connection.logout()
