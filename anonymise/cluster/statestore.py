"""Resume records kept in object storage (``--state s3://bucket/prefix``), for a driver
that keeps nothing of its own: a job on a cluster whose head node is replaced, a pipeline
run from a container.

The records are the local run's (``run.resume``): a key and one SQLite file per output
folder, holding only keyed hashes. For the length of a run they are worked on in a private
temporary folder of the driver (mode 0700, removed at the end), copied in from the store
first, and put back: every ``SYNC_SECONDS`` while the run goes on (so a driver killed
outright loses at most that much progress: those copies are redone, never trusted
blindly) and once more at the end. A SQLite file is put back from a consistent snapshot
(SQLite's backup), never as it is on disk mid-commit.

The prefix holds the key beside the records, so it must be private: never the bucket
people publish from. One run at a time per state prefix: two runs putting their records
back to the same prefix would each keep only their own.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path, PurePosixPath
from typing import Dict, Iterator, Optional, Union

from anonymise.cluster.storage import ObjectUrl, Storage, is_url

# How often the records go back to the store while a run goes on.
SYNC_SECONDS = 60.0
# Files SQLite makes beside a database while it writes; the snapshot stands for them.
_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")


class StoredState:
    """The resume records under ``url``, mirrored in a private ``folder`` of this computer."""

    def __init__(self, url: str, folder: Path, storage: Optional[Storage] = None) -> None:
        self.url, self.folder = ObjectUrl(url), folder
        self.storage = storage or Storage()
        # What the store holds, as this mirror last saw it: name -> digest of its bytes.
        self._stored: Dict[str, bytes] = {}
        self._lock = threading.Lock()

    def pull(self) -> None:
        """Copy every record under the URL into the folder. Raises ``OSError``."""
        if self.storage.kind(self.url) == "file":
            raise OSError(f"{self.url} is an object, not a prefix to keep records under")
        for relative, names in self.storage.walk(self.url):
            for name in names:
                path = PurePosixPath(relative, name).as_posix()
                data = self.storage.read(self.url / path)
                local = self.folder / path
                local.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                local.write_bytes(data)
                local.chmod(0o600)
                self._stored[path] = _digest(data)

    def push(self) -> None:
        """Put back what changed since the last push, and delete from the store what is gone
        here (records forgotten). Raises ``OSError``, ``sqlite3.Error``."""
        with self._lock:
            present = {}
            for local in sorted(self.folder.rglob("*")):
                name = local.relative_to(self.folder).as_posix()
                if not local.is_file() or name.endswith(_SQLITE_SIDE_FILES) or local.name.startswith("."):
                    continue  # SQLite's side files and temporary files are in the snapshot or nowhere
                data = _sqlite_snapshot(local) if local.suffix == ".sqlite3" else local.read_bytes()
                present[name] = digest = _digest(data)
                if self._stored.get(name) != digest:
                    self.storage.write(self.url / name, data)
                    self._stored[name] = digest
            for name in sorted(set(self._stored) - set(present)):
                self.storage.delete(self.url / name)
                del self._stored[name]


@contextlib.contextmanager
def state_in_store(url: str, storage: Optional[Storage] = None, sync_seconds: float = SYNC_SECONDS,
                   warn=lambda message: None) -> Iterator[Path]:
    """The folder a run keeps its records in, mirroring ``url`` (see the module notes).

    Raises ``OSError`` when the store cannot be read at the start. A put-back that fails
    is told to ``warn``: while the run goes on it is tried again later; at the end, a
    re-run redoes the copies whose records were lost, as when the local records cannot be
    written.
    """
    folder = Path(tempfile.mkdtemp(prefix="anonymise-state-"))  # private: mode 0700
    try:
        state = StoredState(url, folder, storage)
        state.pull()
        stopped = threading.Event()

        def sync_now_and_then() -> None:
            while not stopped.wait(sync_seconds):
                try:
                    state.push()
                except (OSError, sqlite3.Error) as error:
                    warn(f"cannot put the resume records back in {url} yet: {error}")

        syncing = threading.Thread(target=sync_now_and_then, name="anonymise-state-sync", daemon=True)
        syncing.start()
        try:
            yield folder
        finally:
            stopped.set()
            syncing.join()
        try:
            state.push()
        except (OSError, sqlite3.Error) as error:
            warn(f"cannot put the resume records back in {url}: {error}; a re-run will redo the copies "
                 "written since they were last put back")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def state_refusal(plan, state: Union[str, Path, None]) -> Optional[str]:
    """Why ``state`` cannot keep the records of a run over ``plan`` (records in the output
    would be published with it, and the key beside them for a URL); None when it can."""
    if state is None or not plan.holds(str(state) if is_url(str(state)) else Path(state)):
        return None
    return (f"refusing to keep the resume records in {state}: it is inside a folder the run reads or writes, "
            "which is what gets published; name a private place with --state")


@contextlib.contextmanager
def run_state(state: Union[str, Path, None], warn=lambda message: None) -> Iterator[Optional[Path]]:
    """The folder a run's records are kept in: ``state`` itself, a mirror of it when it is
    an object-storage URL (``state_in_store``), or None for the user's state folder.
    Raises ``OSError`` when stored records cannot be read."""
    if state is not None and is_url(str(state)):
        with state_in_store(str(state), warn=warn) as folder:
            yield folder
    else:
        yield Path(state) if state is not None else None


def _sqlite_snapshot(path: Path) -> bytes:
    """The database's bytes as of its last commit, read through SQLite (a consistent copy
    even while another connection commits)."""
    snapshot = path.with_name(f".{path.name}.snapshot")
    try:
        source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        target = sqlite3.connect(snapshot)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return snapshot.read_bytes()
    finally:
        snapshot.unlink(missing_ok=True)


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
