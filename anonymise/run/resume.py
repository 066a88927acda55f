"""Re-running a command: which copies are already complete, kept where it is never published.

Every copy appears under its own name only complete and checked (``save_photo`` writes a
temporary ``.NAME.*.part`` file and renames it), so a kill at any moment leaves either the
whole copy or nothing but a stale temporary file. A copy on disk may still be out of date:
its source may have changed since, or the command may differ (a lower ``--threshold``
must cover the faces the first run missed). So a run records each copy it writes, and a
re-run keeps a copy only if the record still matches its source, the settings and the copy.

Where, and what. The output folder is what people publish or hand on, so nothing is kept
there: it holds exactly the photos. The records live in the user's state folder
(``platformdirs.user_state_path("anonymise")``: ``$XDG_STATE_HOME/anonymise`` on Linux),
one SQLite file per output folder, and hold only keyed hashes (HMAC-SHA256) under a random
key made once per user and kept beside them (``key``, readable by its owner only):

- the file's name is the hash of the output folder's path;
- each row is the hash of the copy's path in that folder, and the hash of what it was made
  from — the settings, the source's size, modification time and first 64 KiB — and of the
  copy's size.

No names, dates or settings appear in clear. Whoever holds the originals and the published
photos but not this computer cannot test a guess against a record, since they lack the
key: the records cannot tie a published photo to a seized memory card. ``forget`` removes
what is kept for an output folder, ``forget_everything`` the key and every record.

A row is committed only after the copy is renamed into place and its folder synced, so a
record never runs ahead of the disk. SQLite makes each commit atomic, keeps lookups on disk
(a million photos cost no memory) and recovers by itself from a kill during a commit.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import secrets
import sqlite3
import stat
from pathlib import Path
from typing import Callable, Dict, Optional

import platformdirs

from anonymise.run.plan import Job

# Where earlier versions kept their records: in the output folder itself.
LEGACY_MANIFEST_NAME = ".anonymise-done.sqlite3"
_KEY_NAME = "key"
_KEY_BYTES = 32
_RECORDS_FOLDER = "resume"
# Enough of the source that a change to the photo itself changes the fingerprint.
HEAD_BYTES = 64 * 1024
# No space left, or over quota: every later write would fail the same way.
DISK_FULL_ERRNOS = {errno.ENOSPC} | ({errno.EDQUOT} if hasattr(errno, "EDQUOT") else set())


class ResumeStateError(Exception):
    """The records cannot be read or written; ``disk_full`` when that is the reason."""

    def __init__(self, message: str, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


def state_folder() -> Path:
    """The folder anonymise keeps its resume state in (read from the environment each time)."""
    return platformdirs.user_state_path("anonymise", appauthor=False)


def source_fingerprint(source: Path, settings_key: str) -> bytes:
    """A digest that changes when the source file or the settings change.

    Size and modification time catch almost every change, as they do for make and rsync;
    the first 64 KiB catch a photo replaced by another of the same size and time. It is
    never stored as it is: the records keep only a keyed hash of it. Raises ``OSError``
    if the source cannot be read or is not a regular file.
    """
    descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block
    with os.fdopen(descriptor, "rb") as stream:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise OSError(f"{source} is not a regular file")
        head = stream.read(HEAD_BYTES)
    return fingerprint_of(settings_key, status.st_size, status.st_mtime_ns, head)


def fingerprint_of(settings_key: str, size: int, mtime_ns: int, head: bytes) -> bytes:
    """``source_fingerprint`` from what it reads: for files that are not on this disk."""
    digest = hashlib.sha256()
    for part in (settings_key, str(size), str(mtime_ns)):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(head)
    return digest.digest()


class CopyFiles:
    """Where the copies and their sources are, as the records see them: on this computer's
    disks here; an engine whose files are elsewhere (object storage) gives its own."""

    # Whether the output folders are on this computer (where earlier versions left records).
    on_this_computer = True

    def folder_id(self, root: Path) -> bytes:
        """What names the output folder ``root``, whatever the current folder."""
        return os.fsencode(str(root.resolve()))

    def copy_id(self, destination: Path, root: Path) -> bytes:
        # From bytes, so names that are not valid UTF-8 work too.
        return os.fsencode(destination.relative_to(root).as_posix())

    def fingerprint(self, source: Path, settings_key: str) -> bytes:
        """Raises ``OSError`` when the source cannot be read."""
        return source_fingerprint(source, settings_key)

    def size(self, destination: Path) -> int:
        """Raises ``OSError`` when the copy is not there."""
        return os.stat(destination).st_size


LOCAL_FILES = CopyFiles()


class ResumeState:
    """The copies under one output folder known to be complete (see the module notes).

    Nothing is created until the first record, so a run that writes nothing leaves
    nothing; read-only (for a dry run) nothing is ever created. Raises
    ``ResumeStateError`` when the records cannot be opened, read or written.
    """

    def __init__(
        self, root: Path, read_only: bool = False, folder: Optional[Path] = None, files: CopyFiles = LOCAL_FILES
    ) -> None:
        self.root = root
        self.read_only = read_only
        self.files = files
        self._folder = folder or state_folder()
        self._key = _read_key(self._folder)
        self._connection: Optional[sqlite3.Connection] = None
        if self._key is not None and self.path.is_file():
            self._connect()

    @property
    def path(self) -> Path:
        """The records' file (meaningful only once the key exists)."""
        return _records_path(self._folder, self._key or b"", self.files.folder_id(self.root))

    def _connect(self) -> None:
        try:
            if self.read_only:
                self._connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            else:
                _private_folder(self.path.parent)
                self._connection = sqlite3.connect(self.path)
                with self._connection:
                    self._connection.execute(
                        "CREATE TABLE IF NOT EXISTS copies (copy BLOB PRIMARY KEY, record BLOB NOT NULL)"
                    )
            # Sorting and temporary tables in memory: nothing in the temporary folder.
            self._connection.execute("PRAGMA temp_store = MEMORY")
        except (sqlite3.Error, OSError, ValueError) as error:
            self.close()
            raise _state_error(self.path, error) from None

    def is_complete(self, destination: Path, source: Path, settings_key: str) -> bool:
        """Whether ``destination`` holds the copy of this very ``source`` with these settings."""
        if self._connection is None:
            return False
        try:
            row = self._connection.execute(
                "SELECT record FROM copies WHERE copy = ?", (self._copy_key(destination),)
            ).fetchone()
        except sqlite3.Error as error:
            raise _state_error(self.path, error) from None
        if row is None:
            return False  # the usual case on a first run: no need to read the source
        try:
            fingerprint = self.files.fingerprint(source, settings_key)
            size = self.files.size(destination)
        except OSError:
            return False
        return hmac.compare_digest(row[0], self._record(fingerprint, size))

    def record(self, destination: Path, fingerprint: bytes) -> None:
        """Note ``destination`` as complete; call only once it is renamed into place and synced."""
        if self.read_only:
            raise ResumeStateError(f"cannot record progress in {self._folder}: it is open read-only")
        try:
            if self._key is None:
                self._key = _make_key(self._folder)
            if self._connection is None:
                self._connect()
            size = self.files.size(destination)
            with self._connection:  # one atomic commit per copy
                self._connection.execute(
                    "INSERT OR REPLACE INTO copies (copy, record) VALUES (?, ?)",
                    (self._copy_key(destination), self._record(fingerprint, size)),
                )
        except (sqlite3.Error, OSError) as error:
            raise _state_error(self._folder, error) from None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _copy_key(self, destination: Path) -> bytes:
        return _keyed(self._key, b"copy", self.files.copy_id(destination, self.root))

    def _record(self, fingerprint: bytes, copy_size: int) -> bytes:
        return _keyed(self._key, b"record", fingerprint, str(copy_size).encode("ascii"))


def forget(root: Path, folder: Optional[Path] = None, files: CopyFiles = LOCAL_FILES) -> bool:
    """Remove what is kept for the output folder ``root`` (in ``folder``, by default the
    user's state folder); whether there was anything."""
    folder = folder or state_folder()
    key = _read_key(folder)
    if key is None:
        return False
    path = _records_path(folder, key, files.folder_id(root))
    removed = False
    for name in (path.name, f"{path.name}-journal", f"{path.name}-wal", f"{path.name}-shm"):
        try:
            (path.parent / name).unlink()
            removed = True
        except FileNotFoundError:
            pass
    return removed


def forget_everything(folder: Optional[Path] = None) -> bool:
    """Remove the key and every record (in ``folder``, by default the user's state
    folder); whether there was anything."""
    folder = folder or state_folder()
    removed = False
    records = folder / _RECORDS_FOLDER
    if records.is_dir():
        for entry in records.iterdir():
            entry.unlink()
            removed = True
        records.rmdir()
    try:
        (folder / _KEY_NAME).unlink()
        removed = True
    except FileNotFoundError:
        pass
    try:
        folder.rmdir()
    except OSError:  # not there, or holds something that is not ours
        pass
    return removed


def remove_legacy_manifest(root: Path) -> bool:
    """Delete the records an earlier version kept inside the output folder; whether it did.

    They held hashes of each source's size, modification time and first bytes, which
    whoever holds the originals can recompute: they tie the published copies to the
    original files. The copies they covered are simply redone.
    """
    removed = False
    for name in (LEGACY_MANIFEST_NAME, f"{LEGACY_MANIFEST_NAME}-journal"):
        try:
            (root / name).unlink()
            removed = True
        except FileNotFoundError:
            pass
    return removed


def _keyed(key: Optional[bytes], purpose: bytes, *parts: bytes) -> bytes:
    message = purpose + b"".join(b"\0" + part for part in parts)
    return hmac.new(key or b"", message, hashlib.sha256).digest()


def _records_path(folder: Path, key: bytes, root_id: bytes) -> Path:
    folder_id = _keyed(key, b"output folder", root_id).hex()[:32]
    return folder / _RECORDS_FOLDER / f"{folder_id}.sqlite3"


def _read_key(folder: Path) -> Optional[bytes]:
    try:
        key = (folder / _KEY_NAME).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _state_error(folder / _KEY_NAME, error) from None
    if len(key) != _KEY_BYTES:
        raise ResumeStateError(f"cannot use the resume key {folder / _KEY_NAME}: it is damaged")
    return key


def _make_key(folder: Path) -> bytes:
    """Create the user's key, or read the one another run created at the same moment."""
    _private_folder(folder)
    temporary = folder / f".{_KEY_NAME}.{secrets.token_hex(4)}.part"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(secrets.token_bytes(_KEY_BYTES))
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(temporary, folder / _KEY_NAME)  # never replaces a key already in use
        except FileExistsError:
            pass
    finally:
        temporary.unlink()
    return _read_key(folder)


def _private_folder(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _state_error(path: Path, error: BaseException) -> ResumeStateError:
    disk_full = (
        getattr(error, "errno", None) in DISK_FULL_ERRNOS
        or getattr(error, "sqlite_errorcode", None) == getattr(sqlite3, "SQLITE_FULL", 13)
        or "disk is full" in str(error)
    )
    return ResumeStateError(f"cannot record progress in {path}: {error}", disk_full=disk_full)


class ResumeRecords:
    """The resume state of every output folder of a run, opened as the run reaches each.

    Told problems that do not fail a photo through ``warn`` (records that cannot be
    kept: the run goes on, and a re-run redoes those photos), and a full disk through
    ``disk_full``, which stops the run.
    """

    def __init__(
        self,
        read_only: bool,
        warn: Callable[[str], None],
        disk_full: Callable[[str], None],
        folder: Optional[Path] = None,
        files: CopyFiles = LOCAL_FILES,
    ) -> None:
        self.read_only = read_only
        # Where the records are kept (the user's state folder unless named), and how the
        # copies they are about are read.
        self.folder, self.files = folder, files
        self._warn, self._disk_full = warn, disk_full
        self._states: Dict[Path, Optional[ResumeState]] = {}

    def complete(self, job: Job, settings_key: str) -> bool:
        """Whether the job's copy is complete from an earlier run, as these settings make it."""
        state = self._state(job.root)
        if state is None:
            return False
        try:
            return state.is_complete(job.destination, job.source, settings_key)
        except ResumeStateError as error:
            self._give_up(job.root, error)
            return False

    def record(self, job: Job, fingerprint: bytes) -> None:
        """Note the job's copy as complete; only once it is renamed into place and synced."""
        state = self._state(job.root)
        if state is None:
            return
        try:
            state.record(job.destination, fingerprint)
        except ResumeStateError as error:
            self._give_up(job.root, error)

    def close(self) -> None:
        for state in self._states.values():
            if state is not None:
                state.close()

    def _state(self, root: Path) -> Optional[ResumeState]:
        if root not in self._states:
            if self.files.on_this_computer:
                self._remove_legacy_manifest(root)
            try:
                self._states[root] = ResumeState(root, self.read_only, self.folder, self.files)
            except ResumeStateError as error:
                self._states[root] = None
                self._give_up(root, error)
        return self._states[root]

    def _remove_legacy_manifest(self, root: Path) -> None:
        """Earlier versions kept their records in the output folder, where they could tie
        the published copies to the originals: delete them (their copies are redone)."""
        if not (root / LEGACY_MANIFEST_NAME).exists():
            return
        why = "it ties the copies to the original files, and resume state is now kept outside the output folder"
        if self.read_only:
            self._warn(f"{root / LEGACY_MANIFEST_NAME} will be deleted by a run: {why}")
            return
        try:
            remove_legacy_manifest(root)
        except OSError as error:
            self._warn(f"cannot delete {root / LEGACY_MANIFEST_NAME} ({error.strerror or error}): delete it "
                       f"before publishing the folder, {why}")
            return
        self._warn(f"deleted {root / LEGACY_MANIFEST_NAME} left by an earlier version: {why}; the copies "
                   "it covered are redone")

    def _give_up(self, root: Path, error: ResumeStateError) -> None:
        state = self._states.get(root)
        if state is not None:
            state.close()
        self._states[root] = None
        if error.disk_full:
            self._disk_full("the disk is full")
        else:
            self._warn(f"{error}; a re-run will redo the photos written to {root}")
