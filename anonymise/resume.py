"""Re-running a command: which copies are already complete, and what a killed run left.

Every copy appears under its own name only complete and checked (``save_photo`` writes a
temporary ``.NAME.*.part`` file and renames it), so a kill at any moment leaves either the
whole copy or nothing but a stale temporary file. A copy on disk may still be out of date:
its source may have changed since, or the command may differ (a lower ``--threshold``
must cover the faces the first run missed). So each output folder keeps a manifest,
``.anonymise-done.sqlite3``, with one row per copy written: a hash of its path in the
folder, a fingerprint of the source and the settings it was made from, and its size. A copy is
complete when it exists with that size and the fingerprint still matches. The row is
committed only after the copy is renamed into place and its folder synced, so a record
never runs ahead of the disk. SQLite makes each commit atomic, keeps lookups on disk (a
million photos cost no memory) and recovers by itself from a kill during a commit.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import stat
from pathlib import Path
from typing import Optional

MANIFEST_NAME = ".anonymise-done.sqlite3"
# Enough of the file to make the fingerprint unguessable without the original (below).
_HEAD_BYTES = 64 * 1024
# No space left, or over quota: every later write would fail the same way.
DISK_FULL_ERRNOS = {errno.ENOSPC} | ({errno.EDQUOT} if hasattr(errno, "EDQUOT") else set())


class ManifestError(Exception):
    """The manifest cannot be read or written; ``disk_full`` when that is the reason."""

    def __init__(self, message: str, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


def source_fingerprint(source: Path, settings_key: str) -> str:
    """A hash that changes when the source file or the settings change.

    Size and modification time catch almost every change, as they do for make and rsync.
    The manifest sits in the folder that gets published, and a file's modification time
    is often the moment the photo was taken, so the hash also takes in the first 64 KiB
    of the original: without the original itself, nobody can test guesses against it.
    Raises ``OSError`` if the source cannot be read or is not a regular file.
    """
    descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(f"{source} is not a regular file")
        head = stream.read(_HEAD_BYTES)
    digest = hashlib.sha256()
    for part in (settings_key, str(status.st_size), str(status.st_mtime_ns)):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(head)
    return digest.hexdigest()


class Manifest:
    """The copies under one output folder known to be complete (see the module notes).

    The file is created with the first record, so a run that writes nothing leaves
    nothing; read-only (for a dry run) it is never created. Raises ``ManifestError`` when
    it cannot be opened, read or written.
    """

    def __init__(self, root: Path, read_only: bool = False) -> None:
        self.root = root
        self.path = root / MANIFEST_NAME
        self.read_only = read_only
        self._connection: Optional[sqlite3.Connection] = None
        if self.path.is_file():
            self._connect()

    def _connect(self) -> None:
        try:
            if self.read_only:
                self._connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
                return
            self.root.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(self.path)
            with self._connection:
                self._connection.execute(
                    "CREATE TABLE IF NOT EXISTS copies "
                    "(output BLOB PRIMARY KEY, fingerprint TEXT NOT NULL, size INTEGER NOT NULL)"
                )
        except (sqlite3.Error, OSError, ValueError) as error:
            self.close()
            raise _manifest_error(self.path, error) from None

    def is_complete(self, destination: Path, source: Path, settings_key: str) -> bool:
        """Whether ``destination`` holds the copy of this very ``source`` with these settings."""
        if self._connection is None:
            return False
        try:
            row = self._connection.execute(
                "SELECT fingerprint, size FROM copies WHERE output = ?", (self._key(destination),)
            ).fetchone()
        except sqlite3.Error as error:
            raise _manifest_error(self.path, error) from None
        if row is None:
            return False  # the usual case on a first run: no need to read the source
        try:
            return row[0] == source_fingerprint(source, settings_key) and os.stat(destination).st_size == row[1]
        except OSError:
            return False

    def record(self, destination: Path, fingerprint: str) -> None:
        """Note ``destination`` as complete; call only once it is renamed into place and synced."""
        if self.read_only:
            raise ManifestError(f"cannot record progress in {self.path}: it is open read-only")
        if self._connection is None:
            self._connect()
        try:
            size = os.stat(destination).st_size
            with self._connection:  # one atomic commit per copy
                self._connection.execute(
                    "INSERT OR REPLACE INTO copies (output, fingerprint, size) VALUES (?, ?, ?)",
                    (self._key(destination), fingerprint, size),
                )
        except (sqlite3.Error, OSError) as error:
            raise _manifest_error(self.path, error) from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _key(self, destination: Path) -> bytes:
        # Hashed: a photo deleted from the folder before it is published must not leave
        # its name behind here. From bytes, so names that are not valid UTF-8 work too.
        return hashlib.sha256(os.fsencode(destination.relative_to(self.root).as_posix())).digest()


def _manifest_error(path: Path, error: BaseException) -> ManifestError:
    disk_full = (
        getattr(error, "errno", None) in DISK_FULL_ERRNOS
        or getattr(error, "sqlite_errorcode", None) == getattr(sqlite3, "SQLITE_FULL", 13)
        or "disk is full" in str(error)
    )
    return ManifestError(f"cannot record progress in {path}: {error}", disk_full=disk_full)

