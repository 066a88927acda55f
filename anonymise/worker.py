"""What happens to one job of a run: check the file, anonymise it, say what happened.

``PhotoWorker.process`` never raises for a photo: every problem becomes an ``Outcome``
with a one-line reason. A parallel run has one ``PhotoWorker`` per worker process, made
by ``start_worker_process`` so the models load once per process; ``--jobs 1`` uses one in
the main process.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import hashlib
import json
import os
import shutil
import signal
import stat
import sys
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterator, Optional, Tuple

import cv2
from PIL import Image

from anonymise import __version__
from anonymise.batch import Job
from anonymise.detectors import DEFAULT_DETECTOR, build_detector
from anonymise.detectors.centerface import set_inference_threads
from anonymise.errors import (
    AnonymiseError, NotAnImageError, UncleanOutputError, UnreadableImageError, WriteError,
)
from anonymise.imagefile import Photo, is_supported, load_photo
from anonymise.pipeline import FileResult, Options, anonymise_file
from anonymise.redactors import DEFAULT_STYLE, Redactor, build_redactor
from anonymise.report import FAILED, OK, SKIPPED, ReportEntry
from anonymise.resume import DISK_FULL_ERRNOS, source_fingerprint

# Photos with a side shorter than this are not anonymised: a face that fills the whole
# picture would be too small for the detector to find (CenterFace scores a face 20 px wide
# at 0.5, one 16 px wide at 0.2 and one 12 px wide at 0.11; see docs/folders.md), yet
# could still be recognised.
MIN_SIDE = 20


class TooLargeError(UnreadableImageError):
    """More pixels than Pillow's decompression-bomb limit."""


class TooSmallError(NotAnImageError):
    """Too small for a face in it to be found."""


# Less free space than this after a copy failed its check: the disk is full, not failing.
_NEARLY_FULL_BYTES = 64 * 2**20


@dataclass(frozen=True)
class RunSettings:
    """Everything that makes a copy what it is; a copy made with other settings is redone."""

    detector: str = DEFAULT_DETECTOR
    style: str = DEFAULT_STYLE
    # With the emoji style: one of our drawn emoji, or the user's picture.
    emoji: Optional[str] = None
    emoji_file: Optional[Path] = None
    options: Options = field(default_factory=Options)
    # --format and --neutral-names: they name the copies (see batch.Plan).
    file_format: Optional[str] = None
    neutral_names: bool = False

    def build_redactor(self) -> Redactor:
        """The style chosen; raises ``ValueError`` for an emoji file that cannot be read."""
        if self.style == "emoji":
            return build_redactor("emoji", emoji=self.emoji, emoji_file=self.emoji_file)
        return build_redactor(self.style)

    @cached_property
    def key(self) -> str:
        """The settings as text, for the fingerprints of the copies made with them.

        An emoji file counts by its contents, not its name: a picture edited since the last
        run gives other copies. Worked out once, in the main process, before the workers get
        these settings.
        """
        settings = dataclasses.asdict(self)
        if self.emoji_file is not None:
            settings["emoji_file"] = hashlib.sha256(Path(self.emoji_file).read_bytes()).hexdigest()
        return json.dumps({"version": __version__, **settings}, sort_keys=True)


@dataclass(frozen=True)
class Outcome:
    entry: ReportEntry
    # The source's fingerprint, for the resume state: set only once the copy is safely in place.
    fingerprint: Optional[bytes] = None
    # Why no later photo can be written either (a full disk), when that is so.
    stop_reason: Optional[str] = None
    # Where an unexpected error came from, kept only with --debug.
    debug_traceback: Optional[str] = None


class PhotoWorker:
    """Loads the models once, then anonymises one job after another."""

    def __init__(self, settings: RunSettings, debug: bool = False) -> None:
        self.settings = settings
        self.debug = debug
        self.detector = build_detector(settings.detector)
        self.redactor = settings.build_redactor()

    def anonymise(self, job: Job) -> Tuple[bytes, FileResult]:
        """Check and anonymise the job's photo; the source's fingerprint and what was covered.

        Raises ``AnonymiseError`` (and nothing else, whatever the file holds) when it cannot.
        """
        fingerprint = check_source(job.source, self.settings.key)
        with _decompression_bombs_refused():
            check_dimensions(job.source)
            result = anonymise_file(job.source, job.destination, self.detector, self.redactor, self.settings.options)
        return fingerprint, result

    def process(self, job: Job) -> Outcome:
        failed = ReportEntry(job.source, None, FAILED)
        if job.conflict:
            return Outcome(dataclasses.replace(failed, reason=job.conflict))
        try:
            fingerprint, result = self.anonymise(job)
        except NotAnImageError as error:
            return Outcome(ReportEntry(job.source, None, SKIPPED, str(error)))
        except AnonymiseError as error:
            return Outcome(dataclasses.replace(failed, reason=str(error)), stop_reason=_why_no_write_can_work(error, job.destination))
        except Exception as error:  # a bug or an odd file must not stop the other photos
            reason = f"unexpected error: {type(error).__name__}: {' '.join(str(error).split())}"
            return Outcome(
                dataclasses.replace(failed, reason=reason),
                debug_traceback=traceback.format_exc() if self.debug else None,
            )
        # The resume state may only say "complete" once the rename is on disk, not just in cache.
        synced = _sync_folder(job.destination.parent)
        return Outcome(ReportEntry(job.source, job.destination, OK, None, result), fingerprint if synced else None)


def refuse_what_is_not_a_photo(source: Path) -> None:
    """Raise ``NotAnImageError`` unless the name says it is a photo type anonymise reads.

    Plans list links to folders among the files, since they are not followed: say so.
    """
    if os.path.isdir(source):
        raise NotAnImageError("a link to a folder (links to folders are not followed)")
    if not is_supported(source):
        raise NotAnImageError(f"not a supported photo type ({source.suffix or 'no extension'})")


def check_source(source: Path, settings_key: str) -> bytes:
    """Refuse what cannot be a readable photo file; return the source's fingerprint.

    Raises ``NotAnImageError`` (skipped) for other kinds of file and ``UnreadableImageError``
    with a plain reason for files that cannot be read.
    """
    refuse_what_is_not_a_photo(source)
    try:
        status = os.stat(source)
    except OSError as error:
        raise UnreadableImageError(why_unreadable(source, error)) from None
    if not stat.S_ISREG(status.st_mode):
        raise NotAnImageError("not a regular file (a device, pipe or socket)")
    if status.st_size == 0:
        raise UnreadableImageError("empty file (0 bytes)")
    try:
        return source_fingerprint(source, settings_key)
    except OSError as error:
        raise UnreadableImageError(why_unreadable(source, error)) from None


def check_dimensions(source: Path) -> None:
    """Refuse decompression bombs and photos too small to check, from the header alone.

    Call within ``_decompression_bombs_refused``.
    """
    try:
        with Image.open(source) as image:
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLargeError(
            f"too large to open safely: more than {Image.MAX_IMAGE_PIXELS:,} pixels "
            "(Pillow's limit against decompression bombs)"
        ) from None
    except Exception:
        return  # not decodable: load_photo says why, in the same words as everywhere else
    if min(width, height) < MIN_SIDE:
        raise TooSmallError(
            f"too small to check for faces ({width}×{height} pixels; "
            f"anonymise needs at least {MIN_SIDE} on each side)"
        )


def load_checked_photo(source: Path) -> Photo:
    """The photo at ``source``, refused as a run refuses it (too large, too small, unreadable)."""
    with _decompression_bombs_refused():
        check_dimensions(source)
        return load_photo(source)


@contextmanager
def _decompression_bombs_refused() -> Iterator[None]:
    """Pillow only warns between its limit and twice it: make that an error too.

    Decoders' other warnings (odd EXIF and the like) would only be noise on the terminal.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except Image.DecompressionBombWarning:
            raise TooLargeError(
                f"too large to open safely: more than {Image.MAX_IMAGE_PIXELS:,} pixels "
                "(Pillow's limit against decompression bombs)"
            ) from None


def why_unreadable(source: Path, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        if os.path.islink(source):
            return "broken symbolic link: its target does not exist"
        return "the file disappeared before it could be read"
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(error, PermissionError):
        return "cannot read the file: permission denied"
    return f"cannot read the file: {error.strerror or error}"


def _why_no_write_can_work(error: AnonymiseError, destination: Path) -> Optional[str]:
    """The reason to stop the whole run, when ``error`` will recur for every photo."""
    cause = error.__context__  # imagefile raises WriteError "from None": the cause is kept here
    if not isinstance(error, WriteError) or isinstance(error, UncleanOutputError) or cause is None:
        return None
    code = getattr(cause, "errno", None)
    if code in DISK_FULL_ERRNOS:
        return f"the disk is full ({cause.strerror})"
    if code == errno.EROFS:
        return "the output folder is on a read-only disk"
    # Pillow's encoders ignore a short write, so a disk that fills up mid-file gives a copy
    # cut short with no error, which save_photo's decode check then refuses: tell a full
    # disk from a failing one by the space left.
    try:
        if shutil.disk_usage(destination.parent).free < _NEARLY_FULL_BYTES:
            return "the disk is full"
    except OSError:
        pass
    return None


def _sync_folder(folder: Path) -> bool:
    if os.name == "nt":
        return True  # folders cannot be opened there; NTFS journals renames itself
    try:
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return True
    except OSError:
        return False


# The worker processes of a parallel run.

_process_worker: Optional[PhotoWorker] = None
_process_start_error: Optional[str] = None
_run_stopping = None


def start_worker_process(settings: RunSettings, debug: bool, threads: int, run_stopping) -> None:
    """Pool initializer: load the models once for every job this process will run, each
    inference using at most ``threads`` threads (the worker's share of the cores).

    ``run_stopping`` is a shared byte the main process sets when no more jobs may start.
    """
    global _process_worker, _process_start_error, _run_stopping
    _run_stopping = run_stopping
    # Ctrl-C reaches every process on the terminal; the main process decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Terminated (a second Ctrl-C, or the main process died): unwind, so the temporary
    # file of the photo being written is removed.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    _terminate_with_parent()
    set_inference_threads(threads)
    cv2.setNumThreads(threads)
    try:
        _process_worker = PhotoWorker(settings, debug)
    except Exception as error:  # reported by every job, and the run stops
        _process_start_error = f"cannot load the face detector: {type(error).__name__}: {error}"


def process_in_worker_process(job: Job) -> Optional[Outcome]:
    """The job's outcome, or None when the run stopped before it started."""
    if _run_stopping is not None and _run_stopping.value:
        return None
    if _process_worker is None:
        entry = ReportEntry(job.source, None, FAILED, _process_start_error)
        return Outcome(entry, stop_reason=_process_start_error)
    try:
        return _process_worker.process(job)
    except SystemExit:
        # Terminated mid-photo: the unwinding has removed the temporary file. Leave now;
        # the pool would otherwise catch this and start the next job.
        os._exit(1)


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _terminate_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this worker if the main process is killed,
    so an orphan never goes on writing beside the next run."""
    if not sys.platform.startswith("linux"):
        return
    try:
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
