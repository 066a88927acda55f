"""Photos in object storage, named by URLs: ``s3://bucket/prefix``, and what pyarrow reads
besides (``gs://``, ``abfs://``).

Credentials and endpoints come from the standard environment of each process that opens a
store — the driver and every node: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` (an S3-compatible
store: MinIO, Ceph, a test server) or an instance role; ``GOOGLE_APPLICATION_CREDENTIALS``
for ``gs://``; ``AZURE_STORAGE_ACCOUNT_KEY`` and the like for ``abfs://``. They are never
passed through Ray: a store is opened where it is used, from its URL.

An object appears only whole: a copy is uploaded in one request, or in parts that the
store puts together only once the upload completes, and its size is checked afterwards.
"""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath
from typing import Dict, Iterator, List, Tuple

from anonymise.run.resume import HEAD_BYTES, CopyFiles, fingerprint_of

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(text: str) -> bool:
    """Whether ``text`` names object storage rather than a path on this computer."""
    return bool(_URL.match(text)) and not text.lower().startswith("file://")


class ObjectUrl(str):
    """The URL of an object, or of a prefix (a "folder"), as the console and report show it."""

    def __new__(cls, url: str) -> "ObjectUrl":
        return super().__new__(cls, url.rstrip("/") if not url.endswith("://") else url)

    @property
    def name(self) -> str:
        return self.rsplit("/", 1)[-1]

    @property
    def parent(self) -> "ObjectUrl":
        return ObjectUrl(self.rsplit("/", 1)[0])

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix

    def __truediv__(self, name: str) -> "ObjectUrl":
        return ObjectUrl(f"{self}/{name}")

    def inside(self, folder: "ObjectUrl") -> bool:
        """Whether this is ``folder`` or lies under it."""
        return self == folder or self.startswith(f"{folder}/")


class Storage:
    """The object stores of a run, each opened once from the standard environment."""

    def __init__(self) -> None:
        self._filesystems: Dict[str, object] = {}

    def locate(self, url: str) -> Tuple[object, str]:
        """The pyarrow file system that holds ``url``, and the object's path in it."""
        import pyarrow.fs

        scheme, rest = url.split("://", 1)
        authority = rest.split("/", 1)[0]
        if scheme.lower() == "s3":
            if "s3" not in self._filesystems:
                # pyarrow reads the keys, the region and the session token itself.
                endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                self._filesystems["s3"] = pyarrow.fs.S3FileSystem(endpoint_override=endpoint or None)
            return self._filesystems["s3"], rest.rstrip("/")
        filesystem, path = pyarrow.fs.FileSystem.from_uri(url)
        return self._filesystems.setdefault(f"{scheme}://{authority}", filesystem), path

    def kind(self, url: str) -> str:
        """``file``, ``folder`` or ``missing``. Raises ``OSError``."""
        import pyarrow.fs

        filesystem, path = self.locate(url)
        kind = filesystem.get_file_info(path).type
        if kind == pyarrow.fs.FileType.File:
            return "file"
        return "folder" if kind == pyarrow.fs.FileType.Directory else "missing"

    def listing(self, folder: ObjectUrl) -> Tuple[List[str], List[str]]:
        """The names of the objects directly under ``folder``, and of its subfolders, sorted.
        Raises ``OSError``."""
        import pyarrow.fs

        filesystem, path = self.locate(folder)
        files, folders = [], []
        for entry in filesystem.get_file_info(pyarrow.fs.FileSelector(path, recursive=False, allow_not_found=True)):
            name = entry.path.rstrip("/").rsplit("/", 1)[-1]
            if entry.type == pyarrow.fs.FileType.File:
                files.append(name)
            elif entry.type == pyarrow.fs.FileType.Directory:
                folders.append(name)
        return sorted(files), sorted(folders)

    def walk(self, folder: ObjectUrl, relative: PurePosixPath = PurePosixPath()) -> Iterator[Tuple[PurePosixPath, List[str]]]:
        """Each folder under ``folder`` (itself first), as its path relative to ``folder``
        and the names of its objects, in the order a local folder is read."""
        files, folders = self.listing(folder)
        yield relative, files
        for name in folders:
            yield from self.walk(folder / name, relative / name)

    def status(self, url: str) -> Tuple[int, int]:
        """The object's size and modification time (ns). Raises ``OSError``, and
        ``FileNotFoundError`` when it is not there."""
        import pyarrow.fs

        filesystem, path = self.locate(url)
        info = filesystem.get_file_info(path)
        if info.type != pyarrow.fs.FileType.File:
            raise FileNotFoundError(f"{url} is not there")
        return info.size, info.mtime_ns or 0

    def read(self, url: str, limit: int = -1) -> bytes:
        """The object's bytes (its first ``limit`` ones). Raises ``OSError``."""
        filesystem, path = self.locate(url)
        with filesystem.open_input_stream(path) as stream:
            return stream.read(limit) if limit >= 0 else stream.readall()

    def write(self, url: str, data: bytes) -> None:
        """Put ``data`` at ``url``, whole or not at all. Raises ``OSError``."""
        filesystem, path = self.locate(url)
        with filesystem.open_output_stream(path) as stream:
            stream.write(data)
        size, _ = self.status(url)
        if size != len(data):
            filesystem.delete_file(path)
            raise OSError(f"the store kept {size} of {len(data)} bytes")


    def delete(self, url: str) -> None:
        """Remove the object at ``url``. Raises ``OSError``."""
        filesystem, path = self.locate(url)
        filesystem.delete_file(path)


class StoredCopyFiles(CopyFiles):
    """How the resume records read copies and sources in object storage."""

    on_this_computer = False

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def folder_id(self, root) -> bytes:
        return str(root).encode("utf-8")

    def copy_id(self, destination, root) -> bytes:
        return str(destination)[len(str(root)):].lstrip("/").encode("utf-8")

    def fingerprint(self, source, settings_key: str) -> bytes:
        size, mtime_ns = self.storage.status(source)
        return fingerprint_of(settings_key, size, mtime_ns, self.storage.read(source, HEAD_BYTES))

    def size(self, destination) -> int:
        return self.storage.status(destination)[0]
