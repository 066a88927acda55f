"""What became of one file of a run, and the counts of a whole run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from anonymise.pipeline import FileResult
from anonymise.video import is_video

# A file's status: written now, already complete from an earlier run (left as it was),
# not a photo to anonymise, or not anonymised (with a one-line reason).
OK, UP_TO_DATE, SKIPPED, FAILED = "ok", "up-to-date", "skipped", "failed"


@dataclass
class ReportEntry:
    """One file, as the report and the console tell it."""

    input: Path
    output: Optional[Path]
    status: str
    reason: Optional[str] = None
    result: Optional[FileResult] = None


@dataclass(frozen=True)
class Outcome:
    entry: ReportEntry
    # The source's fingerprint, for the resume state: set only once the copy is safely in place.
    fingerprint: Optional[bytes] = None
    # Why no later photo can be written either (a full disk), when that is so.
    stop_reason: Optional[str] = None
    # Where an unexpected error came from, kept only with --debug.
    debug_traceback: Optional[str] = None


@dataclass
class Totals:
    written: int = 0
    # Among those, the videos.
    videos_written: int = 0
    faces_covered: int = 0
    # Among those, the faces only the verification pass found.
    faces_found_by_verification: int = 0
    # In videos a face counts once in each frame it is covered in: counted apart.
    video_regions_covered: int = 0
    up_to_date: int = 0
    skipped: int = 0
    failed: int = 0
    not_processed: int = 0
    seconds: float = 0.0

    def add(self, outcome: Outcome) -> None:
        entry = outcome.entry
        if entry.status == OK:
            self.written += 1
            video = is_video(entry.input)
            self.videos_written += video
            if entry.result is not None and video:
                self.video_regions_covered += len(entry.result.regions)
            elif entry.result is not None:
                self.faces_covered += len(entry.result.regions)
                self.faces_found_by_verification += len(entry.result.verification_regions)
        elif entry.status == UP_TO_DATE:
            self.up_to_date += 1
        elif entry.status == SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1

    @property
    def photos_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0
