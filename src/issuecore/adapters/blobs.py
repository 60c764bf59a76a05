"""Content-addressed bytes (:class:`~issuecore.ports.BlobStore`): in memory and in files.

The stores keep attachments and the raw bytes of kept messages as blobs and
reference them by digest (the SHA-256 of the content, in lower-case hex), so
identical content is kept once. By default each store keeps its blobs itself,
inside its own transactions: :class:`MemoryBlobStore` for the memory store,
rows of at most :data:`CHUNK_SIZE` bytes in a ``blob_chunks`` table for the
databases. Give a store a :class:`FileBlobStore` to keep the bytes in files
instead. The database stores also keep a long thread-entry document as a
blob (:func:`store_document`), so no row holds more than a chunk.

A :class:`FileBlobStore` writes a blob before the transaction that references
it commits: to a temporary file, flushed to disk, then renamed into place, so
a blob file is whole or absent. A transaction that rolls back (or a process
that dies before its commit) leaves a file nothing references: harmless, and
removed by :meth:`FileBlobStore.sweep`.

When a committed transaction leaves a blob that no row references any more
(an erasure, a purge, a replaced thread), the store discards it after the
commit through the blob store's ``discard`` method
(:class:`~issuecore.ports.DiscardingBlobStore`, see :func:`discard_released`).
A file touched within the store's ``grace`` (a concurrent transaction keeping
the same content) is spared; a later sweep removes it if it stays orphaned.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, MutableMapping
from datetime import timedelta
from pathlib import Path
from typing import IO, Final

from issuecore.errors import BlobNotFoundError
from issuecore.ports import BlobStore, DiscardingBlobStore

__all__ = [
    "CHUNK_SIZE",
    "DISCARD_GRACE",
    "DOCUMENT_BLOB",
    "BlobContent",
    "FallbackBlobStore",
    "FileBlobStore",
    "MemoryBlobStore",
    "check_digest",
    "discard_released",
    "joined",
    "load_document",
    "store_document",
]

CHUNK_SIZE: Final = 1024 * 1024
"""The size of the pieces blobs are written and read in (a database row holds one piece)."""

_DIGEST: Final = re.compile(r"[0-9a-f]{64}")

DISCARD_GRACE: Final = timedelta(minutes=10)
"""How long after its last ``put`` a blob is spared by ``discard``: a transaction keeping
the same content may be about to reference it. Keep it above the longest transaction."""

logger = logging.getLogger("issuecore.adapters.blobs")


DOCUMENT_BLOB: Final = "blob:"
"""How a stored thread-entry document that lives in a blob starts (a JSON one starts ``{``)."""

_INLINE_DOCUMENT: Final = CHUNK_SIZE // 4  # characters: at most 1 MiB in UTF-8


def store_document(document: str, blobs: BlobStore) -> str:
    """Return ``document`` to store in its row, or a reference to the blob it went to if large.

    A long pasted log makes an entry's text, and so its document, as large as
    the message: no row holds more than a chunk.
    """
    if stays_inline(document):
        return document
    return DOCUMENT_BLOB + blobs.put(document.encode("utf-8", "surrogatepass"))


def stays_inline(document: str) -> bool:
    """Return whether :func:`store_document` keeps ``document`` in its row rather than in a blob."""
    return len(document) <= _INLINE_DOCUMENT


def load_document(stored: str, blobs: BlobStore) -> str:
    """Return the document :func:`store_document` kept as ``stored``."""
    if not stored.startswith(DOCUMENT_BLOB):
        return stored
    return blobs.get(stored.removeprefix(DOCUMENT_BLOB)).decode("utf-8", "surrogatepass")


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a lower-case hexadecimal SHA-256; raise ``ValueError`` if not."""
    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        raise ValueError(
            f"a blob digest is the SHA-256 of the content in 64 lower-case hex digits, "
            f"not {digest!r}"
        )
    return digest


class BlobContent:
    """Content about to be kept: its digest, its size and its bytes in pieces.

    Bytes-like content is read where it lies (no copy); an iterable of chunks
    is spooled to a temporary file while it is hashed, so it is never held in
    memory whole. Anything else is refused with ``TypeError``.
    """

    def __init__(self, content: bytes | bytearray | memoryview | Iterable[bytes]) -> None:
        self._view: memoryview | None = None
        self._spool: IO[bytes] | None = None
        if isinstance(content, bytes | bytearray | memoryview):
            self._view = memoryview(content).cast("B")
            self.digest = hashlib.sha256(self._view).hexdigest()
            self.size = self._view.nbytes
            return
        given: object = content  # callers without type checking may pass anything
        if isinstance(given, str) or not isinstance(given, Iterable):
            raise TypeError(
                f"blob content must be bytes or an iterable of bytes, not {type(given).__name__}"
            )
        hasher = hashlib.sha256()
        spool = tempfile.SpooledTemporaryFile(max_size=CHUNK_SIZE)  # noqa: SIM115 - closed in close()
        size = 0
        try:
            for chunk in content:
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise TypeError(
                        f"blob content chunks must be bytes, not {type(chunk).__name__}"
                    )
                hasher.update(chunk)
                size += spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        self._spool = spool
        self.digest = hasher.hexdigest()
        self.size = size

    def pieces(self, size: int = CHUNK_SIZE) -> Iterator[bytes | memoryview]:
        """Yield the content in pieces of ``size`` bytes, the last one shorter."""
        if self._view is not None:
            for start in range(0, self.size, size):
                yield self._view[start : start + size]
            return
        assert self._spool is not None
        self._spool.seek(0)
        while piece := self._spool.read(size):
            yield piece

    def close(self) -> None:
        """Let go of the content (remove the spooled file)."""
        if self._view is not None:
            self._view.release()
        if self._spool is not None:
            self._spool.close()

    def __enter__(self) -> BlobContent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def joined(pieces: Iterable[bytes | memoryview], size: int) -> bytes:
    """Return ``pieces`` as one bytes object of ``size`` bytes, without a second whole copy."""
    buffer = io.BytesIO()
    # Writing the last byte first sizes the buffer once; getvalue() then hands it over.
    if size:
        buffer.seek(size - 1)
        buffer.write(b"\0")
        buffer.seek(0)
    written = 0
    for piece in pieces:
        written += buffer.write(piece)
    if written != size:
        raise RuntimeError(f"a blob of {size} bytes read back as {written} bytes; it is damaged")
    return buffer.getvalue()


class MemoryBlobStore:
    """Blobs in a dictionary (the in-memory store keeps its blobs in one per transaction).

    :meth:`discard` spares content kept again within ``grace``, as
    :class:`FileBlobStore` does.
    """

    def __init__(
        self, blobs: MutableMapping[str, bytes] | None = None, *, grace: timedelta = DISCARD_GRACE
    ) -> None:
        self._blobs: MutableMapping[str, bytes] = {} if blobs is None else blobs
        self.grace = grace
        # When each content was last kept (time.monotonic()), for discard's grace.
        self._kept_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def put(self, content: bytes | Iterable[bytes]) -> str:
        """Keep ``content`` and return its digest."""
        with BlobContent(content) as described, self._lock:
            if described.digest not in self._blobs:
                if isinstance(content, bytes):
                    data = content if type(content) is bytes else bytes(content)
                else:
                    data = joined(described.pieces(), described.size)
                self._blobs[described.digest] = data
            self._kept_at[described.digest] = time.monotonic()
            return described.digest

    def discard(self, digest: str) -> bool:
        """Remove ``digest`` unless kept within ``grace``; return whether it was removed."""
        check_digest(digest)
        with self._lock:
            kept_at = self._kept_at.get(digest)
            if kept_at is not None and time.monotonic() - kept_at < self.grace.total_seconds():
                return False
            self._kept_at.pop(digest, None)
            return self._blobs.pop(digest, None) is not None

    def sweep(
        self, in_use: Collection[str], *, older_than: timedelta = timedelta(hours=1)
    ) -> list[str]:
        """Remove content not in ``in_use`` and not kept for ``older_than``; return its digests.

        As :meth:`FileBlobStore.sweep`: what :meth:`discard` spared goes here.
        """
        cutoff = time.monotonic() - older_than.total_seconds()
        with self._lock:
            removed = sorted(
                digest
                for digest in self._blobs
                if digest not in in_use and self._kept_at.get(digest, cutoff) <= cutoff
            )
            for digest in removed:
                del self._blobs[digest]
                self._kept_at.pop(digest, None)
        return removed

    def get(self, digest: str) -> bytes:
        """Return the content kept under ``digest``."""
        try:
            return self._blobs[check_digest(digest)]
        except KeyError:
            raise BlobNotFoundError.for_digest(digest) from None

    def chunks(self, digest: str) -> Iterator[bytes]:
        """Yield the content kept under ``digest`` in pieces."""
        data = self.get(digest)
        return iter([data[start : start + CHUNK_SIZE] for start in range(0, len(data), CHUNK_SIZE)])

    def has(self, digest: str) -> bool:
        """Return whether content is kept under ``digest``."""
        return check_digest(digest) in self._blobs


class FileBlobStore:
    """Blobs as files under ``root``, one file per content, named by its digest.

    ``root/ab/abcd...`` holds the content whose digest starts with ``ab``;
    ``root/tmp`` holds files being written. A file is written to ``tmp``,
    flushed to disk, and renamed into place, so it is whole or absent.
    ``grace`` is how long :meth:`discard` spares a file since it was last
    kept (its modification time; :meth:`put` refreshes it).
    """

    def __init__(self, root: str | os.PathLike[str], *, grace: timedelta = DISCARD_GRACE) -> None:
        self.root = Path(root)
        self.grace = grace
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        """Return the path of the file that holds (or would hold) ``digest``."""
        check_digest(digest)
        return self.root / digest[:2] / digest

    def put(self, content: bytes | Iterable[bytes]) -> str:
        """Keep ``content`` in a file of its own (unless it is kept already); return its digest."""
        if isinstance(content, bytes | bytearray | memoryview):
            with BlobContent(content) as described:
                if self._refresh(described.digest):
                    return described.digest
                return self._write(described.pieces(), expected=described.digest)
        given: object = content  # callers without type checking may pass anything
        if isinstance(given, str) or not isinstance(given, Iterable):
            raise TypeError(
                f"blob content must be bytes or an iterable of bytes, not {type(given).__name__}"
            )
        return self._write(content, expected=None)

    def _refresh(self, digest: str) -> bool:
        # A kept file is touched so a sweep running now sees it as new and leaves it
        # to the transaction that is about to reference it.
        try:
            os.utime(self.path(digest))
        except FileNotFoundError:
            return False
        return True

    def _write(self, pieces: Iterable[bytes | memoryview], *, expected: str | None) -> str:
        hasher = hashlib.sha256()
        descriptor, temporary = tempfile.mkstemp(dir=self._tmp, prefix="blob-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                for piece in pieces:
                    if not isinstance(piece, bytes | bytearray | memoryview):
                        raise TypeError(
                            f"blob content chunks must be bytes, not {type(piece).__name__}"
                        )
                    hasher.update(piece)
                    file.write(piece)
                file.flush()
                os.fsync(file.fileno())
            digest = hasher.hexdigest()
            if expected is not None and digest != expected:
                raise RuntimeError("blob content changed while it was being written")
            if self._refresh(digest):
                os.unlink(temporary)
                return digest
            final = self.path(digest)
            final.parent.mkdir(exist_ok=True)
            os.replace(temporary, final)
            _sync_directory(final.parent)
            return digest
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, digest: str) -> bytes:
        """Return the content kept under ``digest``."""
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError.for_digest(digest) from None

    def chunks(self, digest: str) -> Iterator[bytes]:
        """Yield the content kept under ``digest`` in pieces of :data:`CHUNK_SIZE` bytes."""
        try:
            file = self.path(digest).open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError.for_digest(digest) from None
        return _read_pieces(file)

    def has(self, digest: str) -> bool:
        """Return whether a file holds ``digest``."""
        return self.path(digest).is_file()

    def discard(self, digest: str) -> bool:
        """Delete the file of ``digest`` unless kept within ``grace``; return whether it went.

        An old file is renamed out of place and its time read again there, so
        a concurrent :meth:`put` either touched it first (the file is recent
        and goes back) or finds it gone and writes it anew: content a
        transaction keeps is never lost. Call it only for content nothing
        references.
        """
        final = self.path(digest)
        try:
            if self._recent(final):
                return False
        except FileNotFoundError:
            return False
        descriptor, aside = tempfile.mkstemp(dir=self._tmp, prefix="discard-")
        os.close(descriptor)
        try:
            os.replace(final, aside)
        except FileNotFoundError:  # discarded meanwhile
            os.unlink(aside)
            return False
        except BaseException:
            os.unlink(aside)
            raise
        try:
            recent = self._recent(Path(aside))
        except BaseException:
            os.replace(aside, final)
            raise
        if recent:
            # Identical content: putting it back over a copy written meanwhile loses nothing.
            os.replace(aside, final)
            return False
        os.unlink(aside)
        _sync_directory(final.parent)
        return True

    def _recent(self, path: Path) -> bool:
        return path.stat().st_mtime > time.time() - self.grace.total_seconds()

    def sweep(
        self, in_use: Collection[str], *, older_than: timedelta = timedelta(hours=1)
    ) -> list[str]:
        """Remove blob files not in ``in_use``, untouched for ``older_than``; return their digests.

        Leftover temporary files of that age go too. Pass the digests the
        store references (``store.referenced_blobs()``); the age spares blobs of
        transactions still running.
        """
        cutoff = time.time() - older_than.total_seconds()
        removed = []
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                is_blob = folder != self._tmp and _DIGEST.fullmatch(path.name) is not None
                if (is_blob and path.name in in_use) or (folder != self._tmp and not is_blob):
                    continue
                try:
                    if path.stat().st_mtime >= cutoff:
                        continue
                    path.unlink()
                except FileNotFoundError:
                    continue
                if is_blob:
                    removed.append(path.name)
        return removed


class FallbackBlobStore:
    """Writes to ``primary``; reads from ``primary``, else from ``fallback``.

    A store given a :class:`FileBlobStore` reads through to its own blob
    tables, so content kept there before (by an earlier configuration, or
    moved there by a schema migration) stays readable.
    """

    def __init__(self, primary: BlobStore, fallback: BlobStore) -> None:
        self.primary = primary
        self.fallback = fallback

    def put(self, content: bytes | Iterable[bytes]) -> str:
        """Keep ``content`` in the primary store and return its digest."""
        return self.primary.put(content)

    def get(self, digest: str) -> bytes:
        """Return the content kept under ``digest`` in either store."""
        try:
            return self.primary.get(digest)
        except BlobNotFoundError:
            return self.fallback.get(digest)

    def chunks(self, digest: str) -> Iterator[bytes]:
        """Yield the content kept under ``digest`` in either store, in pieces."""
        try:
            return self.primary.chunks(digest)
        except BlobNotFoundError:
            return self.fallback.chunks(digest)

    def has(self, digest: str) -> bool:
        """Return whether either store keeps content under ``digest``."""
        return self.primary.has(digest) or self.fallback.has(digest)

    def discard(self, digest: str) -> bool:
        """Discard ``digest`` from each store that can discard; return whether any removed it."""
        removed = False
        for store in (self.primary, self.fallback):
            if isinstance(store, DiscardingBlobStore):
                removed = store.discard(digest) or removed
        return removed


def discard_released(
    blobs: BlobStore | None,
    released: Collection[str],
    referenced: Callable[[], Collection[str]],
) -> list[str]:
    """After a commit, discard from ``blobs`` the ``released`` digests not ``referenced()``.

    ``released`` are the digests the committed transaction stopped
    referencing; ``referenced`` reads, after that commit, the digests rows
    reference now. A blob store without ``discard`` is left as it is (its
    owner sweeps it). The transaction has committed, so a failure here is
    logged, not raised: what was not discarded stays until a sweep. Returns
    the digests removed.
    """
    if not released or not isinstance(blobs, DiscardingBlobStore):
        return []
    removed = []
    try:
        candidates = sorted(set(released).difference(referenced()))
        for digest in candidates:
            if blobs.discard(digest):
                removed.append(digest)
    except Exception:  # the transaction has committed; the sweep removes what stays
        logger.warning(
            "discarding %d released blob(s) after a commit failed; a sweep removes them",
            len(released),
            exc_info=True,
        )
    else:
        logger.debug(
            "discarded %d of %d released blob(s); the rest were kept again meanwhile",
            len(removed),
            len(candidates),
        )
    return removed


def _read_pieces(file: IO[bytes]) -> Iterator[bytes]:
    with file:
        while piece := file.read(CHUNK_SIZE):
            yield piece


def _sync_directory(directory: Path) -> None:
    # The rename reaches the disk only once the directory itself is flushed (POSIX).
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
