"""One job of a run: the photo's checks, the core, and a one-line outcome.

``PhotoWorker.process`` never raises for a photo: every problem becomes an ``Outcome``
with a one-line reason. Every engine runs its jobs through it — a local run in this
process or in worker processes (``pool``), a cluster run in its actors — with models it
built once.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import traceback
from pathlib import Path
from typing import Optional, Tuple

from anonymise.errors import AnonymiseError, NotAnImageError, UncleanOutputError, UnreadableImageError, WriteError
from anonymise.imagefile import why_unreadable
from anonymise.media import anonymise_media_file, check_media_file
from anonymise.models import Models, build_models
from anonymise.pipeline import FileResult
from anonymise.run.outcome import FAILED, OK, SKIPPED, Outcome, ReportEntry
from anonymise.run.plan import Job
from anonymise.run.progress import FrameSlot
from anonymise.run.resume import DISK_FULL_ERRNOS, source_fingerprint
from anonymise.run.settings import CopySettings

# Less free space than this after a copy failed its check: the disk is full, not failing.
_NEARLY_FULL_BYTES = 64 * 2**20


class PhotoWorker:
    """Anonymises one job after another with the models it was given."""

    def __init__(self, settings: CopySettings, models: Models, debug: bool = False,
                 frames: Optional[FrameSlot] = None) -> None:
        self.settings = settings
        self.models = models
        self.debug = debug
        # Where a video's frames are counted as it goes, for the progress display.
        self.frames = frames

    @classmethod
    def loading_models(cls, settings: CopySettings, debug: bool = False, threads: int = 0,
                       frames: Optional[FrameSlot] = None) -> "PhotoWorker":
        """A worker with its own models, each inference using at most ``threads`` threads."""
        return cls(settings, build_models(settings.detector, settings.options.verify, threads), debug, frames)

    def anonymise(self, job: Job) -> Tuple[bytes, FileResult]:
        """Check and anonymise the job's photo or video; the source's fingerprint and what
        was covered.

        Raises ``AnonymiseError`` (and nothing else, whatever the file holds) when it cannot.
        """
        check_media_file(job.source)
        try:
            fingerprint = source_fingerprint(job.source, self.settings.key)
        except OSError as error:
            raise UnreadableImageError(why_unreadable(job.source, error)) from None
        settings = self.settings
        try:
            result = anonymise_media_file(job.source, job.destination, self.models, settings.redactor,
                                          settings.options, settings.video, self.frames)
        finally:
            if self.frames is not None:
                self.frames.clear()
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
