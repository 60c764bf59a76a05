"""Mail from and to files: Maildir, mbox and ``.eml`` sources, and the Maildir outbox.

Every source yields :class:`SourceMessage` items and follows the
:class:`~issuecore.ports.MailSource` contract: :meth:`HelpDesk.ingest
<issuecore._desk.HelpDesk.ingest>` calls :meth:`SourceMessage.ack` only after
the desk committed the message, so a crash before that leaves the message
to be offered again, and the desk's Message-ID index turns the second
delivery into a recorded duplicate. At-least-once intake plus de-duplication
is exactly-once.

- :class:`MaildirSource` reads ``new/`` (and ``cur/`` messages without the
  seen flag) and acknowledges by moving to ``cur/`` with the ``S`` flag.
- :class:`MboxSource` reads an mbox file and never writes to it.
- :class:`EmlDirectorySource` reads ``*.eml`` files, optionally moving each
  acknowledged file to a ``processed`` folder.
- :class:`MaildirOutbox` is a :class:`~issuecore.ports.Mailer` that writes each
  message into a Maildir atomically, once per Message-ID however often it
  is sent.
"""

from __future__ import annotations

import errno
import hashlib
import mailbox
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import attrs

from issuecore.adapters._wire import wire_bytes

__all__ = [
    "EmlDirectorySource",
    "MaildirOutbox",
    "MaildirSource",
    "MboxSource",
    "SourceMessage",
]

_SUBDIRECTORIES = ("tmp", "new", "cur")
_INFO_SEPARATOR = ":2,"


def _nothing() -> None:
    return None


@attrs.frozen(kw_only=True)
class SourceMessage:
    """One message from a file source: its bytes, a key naming it, and how to acknowledge it.

    ``key`` is the Maildir unique name, the position in an mbox file
    (``"0"``, ``"1"``, ...) or the path of an ``.eml`` file relative to its
    directory.
    """

    raw: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")
    key: str
    on_ack: Callable[[], None] = attrs.field(default=_nothing, repr=False, eq=False)

    def ack(self) -> None:
        """Mark the message handled at its source (what that means depends on the source)."""
        self.on_ack()


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:  # another process took it between listing and reading
        return None


def _ensure_maildir(root: Path, *, create: bool) -> None:
    missing = [name for name in _SUBDIRECTORIES if not (root / name).is_dir()]
    if not missing:
        return
    if not create:
        raise FileNotFoundError(
            f"{root} is not a Maildir: it lacks {', '.join(name + '/' for name in missing)}; "
            "give the folder that holds tmp/, new/ and cur/, or pass create=True"
        )
    for name in _SUBDIRECTORIES:
        (root / name).mkdir(mode=0o700, parents=True, exist_ok=True)


def _split_name(name: str) -> tuple[str, str]:
    """Return a Maildir file name's unique part and its flags (``""`` when it has no info)."""
    unique, separator, flags = name.partition(_INFO_SEPARATOR)
    if not separator:
        return name.partition(":")[0], ""
    return unique, flags


class MaildirSource:
    """Reads a Maildir: messages in ``new/``, and those in ``cur/`` not flagged seen.

    :meth:`SourceMessage.ack` moves the message to ``cur/`` and adds the ``S``
    (seen) flag, keeping any flags it had (``name:2,FS``). A message that
    is never acknowledged stays where it was and is offered again on the
    next call of :meth:`messages`. A file that another process moved or
    deleted between listing and reading is skipped; acknowledging a message
    whose file has gone meanwhile does nothing.
    """

    acks_after_reading = True
    """A message may be acknowledged after later ones were read (``HelpDesk.ingest`` batches)."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        _ensure_maildir(self.path, create=create)

    def __repr__(self) -> str:
        return f"MaildirSource({str(self.path)!r})"

    def messages(self) -> Iterator[SourceMessage]:
        """Yield the unseen messages, those in ``new/`` first, each folder in name order."""
        for folder in ("new", "cur"):
            directory = self.path / folder
            names = sorted(
                entry.name
                for entry in os.scandir(directory)
                if not entry.name.startswith(".") and entry.is_file()
            )
            for name in names:
                unique, flags = _split_name(name)
                if "S" in flags:
                    continue
                path = directory / name
                raw = _read_or_none(path)
                if raw is None:
                    continue
                yield SourceMessage(raw=raw, key=unique, on_ack=self._acknowledger(path))

    def _acknowledger(self, path: Path) -> Callable[[], None]:
        def ack() -> None:
            unique, flags = _split_name(path.name)
            seen = "".join(sorted(set(flags) | {"S"}))
            try:
                os.rename(path, self.path / "cur" / f"{unique}{_INFO_SEPARATOR}{seen}")
            except FileNotFoundError:  # another process handled it already
                return

        return ack


class MboxSource:
    """Reads every message of an mbox file; the file is only read, never written.

    :meth:`SourceMessage.ack` does nothing: an mbox cannot mark one message
    handled without rewriting the user's file. Reading the same file again
    is safe because the desk recognises every Message-ID it already
    recorded (and gives a message without one a Message-ID derived from its
    bytes), so each message becomes a recorded duplicate the second time.
    """

    acks_after_reading = True
    """A message may be acknowledged after later ones were read (``HelpDesk.ingest`` batches)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"MboxSource({str(self.path)!r})"

    def messages(self) -> Iterator[SourceMessage]:
        """Yield each message of the file in order, without its ``From`` separator line."""
        if not self.path.is_file():
            raise FileNotFoundError(f"no mbox file at {self.path}")
        box = mailbox.mbox(self.path, create=False)
        try:
            for position, key in enumerate(box.keys()):
                yield SourceMessage(raw=box.get_bytes(key), key=str(position))
        finally:
            box.close()  # nothing is pending, so this only closes the file


class EmlDirectorySource:
    """Reads the ``.eml`` files of a folder (and its subfolders when ``recursive``), sorted.

    :meth:`SourceMessage.ack` does nothing unless ``processed`` names a
    folder: then the acknowledged file is moved there, keeping its path
    relative to ``path`` (a name already taken gets a numeric suffix). A
    ``processed`` folder inside ``path`` is never read as input. A file that
    vanished between listing and reading is skipped.
    """

    acks_after_reading = True
    """A message may be acknowledged after later ones were read (``HelpDesk.ingest`` batches)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        recursive: bool = False,
        processed: str | os.PathLike[str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.recursive = recursive
        self.processed = Path(processed) if processed is not None else None
        if not self.path.is_dir():
            raise FileNotFoundError(f"no folder at {self.path} to read .eml files from")

    def __repr__(self) -> str:
        return (
            f"EmlDirectorySource({str(self.path)!r}, recursive={self.recursive}, "
            f"processed={None if self.processed is None else str(self.processed)!r})"
        )

    def messages(self) -> Iterator[SourceMessage]:
        """Yield each ``.eml`` file (any case of the suffix) in order of its relative path."""
        for path in self._files():
            raw = _read_or_none(path)
            if raw is None:
                continue
            relative = path.relative_to(self.path)
            yield SourceMessage(
                raw=raw, key=relative.as_posix(), on_ack=self._acknowledger(path, relative)
            )

    def _files(self) -> list[Path]:
        pattern = self.path.rglob("*") if self.recursive else self.path.glob("*")
        skipped = self.processed.resolve() if self.processed is not None else None
        found = []
        for path in pattern:
            if path.suffix.lower() != ".eml" or not path.is_file():
                continue
            if skipped is not None and path.resolve().is_relative_to(skipped):
                continue
            found.append(path)
        return sorted(found, key=lambda path: path.relative_to(self.path).as_posix())

    def _acknowledger(self, path: Path, relative: Path) -> Callable[[], None]:
        processed = self.processed
        if processed is None:
            return _nothing

        def ack() -> None:
            target = processed / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            counter = 1
            while target.exists():
                target = target.with_name(f"{relative.stem}.{counter}{relative.suffix}")
                counter += 1
            try:
                os.replace(path, target)
            except FileNotFoundError:  # another process handled it already
                return

        return ack


class MaildirOutbox:
    """The embedded default :class:`~issuecore.ports.Mailer`: writes each message into a Maildir.

    The file's name is derived from the message's Message-ID, so sending one
    message again writes nothing: a message already in ``new/`` or ``cur/``
    (where a mail reader moves it, adding flags to the name) counts as
    delivered, and two processes sending it at once leave one file. Each
    message is written to ``tmp/``, flushed to disk, then linked into
    ``new/`` (a link never replaces a file), so a reader never sees half a
    message. A message without a Message-ID gets a name of its own each
    time. Lines end in ``\\n`` as on any local mailbox; headers may reach 998
    characters, so long Message-ID, In-Reply-To and References values are
    written as they are, never RFC 2047-encoded. The Maildir is created on
    first use.

    A message deleted from the Maildir is no longer known to have been
    written, so sending it again writes it again.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._counter = 0

    def __repr__(self) -> str:
        return f"MaildirOutbox({str(self.path)!r})"

    def send(self, message: EmailMessage) -> None:
        """Write ``message`` into ``new/`` unless it is there already; raise :class:`OSError`."""
        _ensure_maildir(self.path, create=True)
        message_id = message["Message-ID"]
        name = _name_for(str(message_id)) if message_id else self._unique_name()
        if message_id and self._holds(name):
            return
        data = wire_bytes(message, linesep="\n")
        temporary = self.path / "tmp" / f"{name}.{self._unique_name()}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(data)
                stream.flush()
                # A fine-grained time, which :meth:`messages` orders by (names do not tell).
                written = time.time_ns()
                os.utime(stream.fileno(), ns=(written, written))
                os.fsync(stream.fileno())
            _publish(temporary, self.path / "new" / name)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_directory(self.path / "new")

    def _holds(self, name: str) -> bool:
        if (self.path / "new" / name).exists():
            return True
        # A reader moves a message from new/ to cur/, adding ":2,FLAGS" to its name.
        prefix = name + ":"
        with os.scandir(self.path / "cur") as entries:
            return any(entry.name == name or entry.name.startswith(prefix) for entry in entries)

    def _unique_name(self) -> str:
        # The Maildir convention: time, then what makes it unique on this host, then the host.
        with self._lock:
            self._counter += 1
            counter = self._counter
        seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
        host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
        return f"{seconds}.M{nanoseconds // 1000:06d}P{os.getpid()}Q{counter}.{host}"

    def messages(self) -> list[bytes]:
        """Return the bytes of every message in ``new/`` and ``cur/``, the oldest written first."""
        if not self.path.is_dir():
            return []
        found = []
        for folder in ("new", "cur"):
            if not (self.path / folder).is_dir():
                continue
            for entry in os.scandir(self.path / folder):
                try:
                    found.append((entry.stat().st_mtime_ns, entry.name, Path(entry.path)))
                except FileNotFoundError:  # moved or deleted meanwhile
                    continue
        found.sort()
        return [data for data in (_read_or_none(path) for *_, path in found) if data is not None]


def _name_for(message_id: str) -> str:
    """Return the Maildir file name of the message with ``message_id``: the same every time."""
    digest = hashlib.sha256(message_id.strip().encode("utf-8", "surrogatepass")).hexdigest()
    return f"issuecore-{digest[:40]}"


def _publish(temporary: Path, final: Path) -> None:
    try:
        os.link(temporary, final)
    except FileExistsError:  # another process wrote the same message first
        return
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # No hard links on this file system: a rename, which may replace the same message.
        os.rename(temporary, final)


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
