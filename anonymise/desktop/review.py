"""The review: which photos and videos are open, what will cover each, and what became of them.

No Tk here. The window draws this model and turns clicks into calls on it, so everything
but the drawing is tested without a display.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import List, Optional, Sequence, Set, Tuple

import numpy as np
from PIL import Image

from anonymise.run.plan import default_output_root, plan_jobs
from anonymise.faces import Faces
from anonymise.media import is_media
from anonymise.names import tells_when_or_what
from anonymise.pipeline import Options
from anonymise.redactors import DEFAULT_STYLE, Redactor, build_redactor
from anonymise.regions import Region, regions_from_faces
from anonymise.video import is_video

# The detector name recorded for regions the user drew (it shows in reports).
DRAWN = "drawn"
# A drag shorter than this many image pixels on either side is a slip, not a box.
SMALLEST_DRAWN_BOX = 3


class Status(str, Enum):
    FINDING_FACES = "finding faces"
    READY = "ready"
    FAILED = "failed"


class Origin(str, Enum):
    DETECTED = "detected"
    DRAWN = "drawn"


@dataclass(frozen=True)
class ShownRegion:
    """A region as the review shows it; ``covered`` is False for a detection the user removed."""

    region: Region
    origin: Origin
    index: int
    covered: bool


@dataclass(eq=False)
class ReviewedPhoto:
    """One photo under review.

    ``candidates`` holds every face the detector reported above its floor, so changing the
    threshold needs no new detection; ``removed`` holds indices into it. ``drawn`` holds
    the boxes the user added, treated like detected face boxes (grown and shaped the same).

    A video is held the same way, with its first frame as ``preview`` and nothing to
    review: on saving, the core covers every face in every frame with the review's settings.
    """

    source: Path
    destination: Optional[Path]
    status: Status = Status.FINDING_FACES
    problem: Optional[str] = None
    width: int = 0
    height: int = 0
    candidates: Faces = field(default_factory=Faces.empty)
    removed: Set[int] = field(default_factory=set)
    drawn: List[Tuple[float, float, float, float]] = field(default_factory=list)
    preview: Optional[Image.Image] = None
    saved_to: Optional[Path] = None

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def is_video(self) -> bool:
        return is_video(self.source)

    @property
    def can_be_saved(self) -> bool:
        return self.status is Status.READY and self.destination is not None

    @property
    def can_be_reviewed(self) -> bool:
        """Whether clicks and drags change what is covered: never in a video, whose frames
        are covered as they are written."""
        return self.status is Status.READY and not self.is_video

    def opened(self, width: int, height: int, preview: Image.Image) -> None:
        """Ready to be shown and saved: a video once its first frame is read."""
        self.status, self.problem = Status.READY, None
        self.width, self.height, self.preview = width, height, preview

    def detected(self, width: int, height: int, candidates: Faces, preview: Image.Image) -> None:
        self.opened(width, height, preview)
        self.candidates = candidates

    def failed(self, reason: str) -> None:
        self.status, self.problem = Status.FAILED, reason

    def saved(self, destination: Path) -> None:
        self.saved_to, self.problem = destination, None

    def not_saved(self, reason: str) -> None:
        self.saved_to, self.problem = None, f"not saved: {reason}"

    def shown_regions(self, options: Options, scale: float = 1.0) -> List[ShownRegion]:
        """Every region drawn on the photo: detections above the threshold, then drawn boxes.

        With ``scale``, the regions of the photo resized to ``round(width * scale)`` by
        ``round(height * scale)``, to show a style on a smaller copy.
        """
        def regions(faces: Faces) -> List[Region]:
            return regions_from_faces(
                faces.transformed(scale), round(self.width * scale), round(self.height * scale),
                options.mask_scale, options.shape,
            )

        shown = []
        for index in np.flatnonzero(options.confident(self.candidates)):
            for region in regions(self.candidates[int(index)]):
                shown.append(ShownRegion(region, Origin.DETECTED, int(index), index not in self.removed))
        for index, box in enumerate(self.drawn):
            for region in regions(Faces.from_detector(np.array([box]), np.ones(1), DRAWN)):
                shown.append(ShownRegion(region, Origin.DRAWN, index, True))
        return shown

    def covered_regions(self, options: Options, scale: float = 1.0) -> List[Region]:
        return [shown.region for shown in self.shown_regions(options, scale) if shown.covered]

    def toggle_region_at(self, x: float, y: float, options: Options) -> bool:
        """Remove (or bring back) the detection under a click, or delete a drawn box.

        Where regions overlap, the one whose centre is nearest the click is meant. Returns
        whether anything changed.
        """
        hits = [s for s in self.shown_regions(options) if _contains(s.region, x, y)]
        if not hits:
            return False
        chosen = min(hits, key=lambda s: _distance_to_centre(s.region, x, y))
        if chosen.origin is Origin.DETECTED:
            self.removed ^= {chosen.index}
        else:
            del self.drawn[chosen.index]
        self.saved_to = None
        return True

    def draw_box(self, x1: float, y1: float, x2: float, y2: float) -> bool:
        """Add a box the user dragged (any corner order), clipped to the photo.

        Returns False, adding nothing, for a box too small to be meant.
        """
        left, right = sorted((min(max(x, 0.0), self.width) for x in (x1, x2)))
        top, bottom = sorted((min(max(y, 0.0), self.height) for y in (y1, y2)))
        if right - left < SMALLEST_DRAWN_BOX or bottom - top < SMALLEST_DRAWN_BOX:
            return False
        self.drawn.append((left, top, right, bottom))
        self.saved_to = None
        return True


@dataclass
class Review:
    """The photos and videos in the window, in the order they were added, and how they
    will be saved.

    ``output`` of None means what the command line does without ``-o``: each input's copies
    go to a sibling folder named after it with ``-anonymised``. ``neutral_names`` names the
    copies ``photo-0001.jpg``, ... and ``video-0001.mp4``, ... as ``--neutral-names`` does.
    """

    inputs: List[Path] = field(default_factory=list)
    photos: List[ReviewedPhoto] = field(default_factory=list)
    output: Optional[Path] = None
    neutral_names: bool = False
    options: Options = field(default_factory=Options)
    style: str = DEFAULT_STYLE
    redactor: Redactor = field(default_factory=build_redactor)
    current: int = 0

    def add(self, paths: Sequence[Path]) -> Tuple[List[ReviewedPhoto], int]:
        """Add photos, videos and folders of them; returns the new ones and how many files
        were skipped for being neither.

        Raises ``UnsafeOutputError`` (adding nothing) when their copies would land inside or
        over an input, exactly as the command line refuses.
        """
        inputs = list(self.inputs)
        for path in paths:
            if path.absolute() not in {known.absolute() for known in inputs}:
                inputs.append(path)
        jobs = plan_jobs(inputs, self.output, neutral_names=self.neutral_names)
        self.inputs = inputs
        known = {photo.source.absolute(): photo for photo in self.photos}
        added, skipped = [], 0
        for job in jobs:
            key = job.source.absolute()
            if key in known:
                if not job.conflict:
                    known[key].destination = job.destination
                continue
            if not is_media(job.source):
                skipped += 1
                continue
            photo = ReviewedPhoto(job.source, None if job.conflict else job.destination)
            if job.conflict:
                photo.failed(job.conflict)
            known[key] = photo
            added.append(photo)
        self.photos.extend(added)
        return added, skipped

    def change_output(self, output: Path) -> None:
        """Save to ``output`` instead; raises ``UnsafeOutputError`` and changes nothing if the
        copies would land inside or over an input."""
        self._replan(output, self.neutral_names)

    def change_neutral_names(self, neutral_names: bool) -> None:
        """Name the copies photo-0001.jpg, ... and video-0001.mp4, ... (or by their own names again)."""
        self._replan(self.output, neutral_names)

    def telling_names(self) -> List[ReviewedPhoto]:
        """The photos to save whose copies' names tell when or with what they were taken."""
        return [photo for photo in self.photos_to_save() if tells_when_or_what(photo.destination.name)]

    def _replan(self, output: Optional[Path], neutral_names: bool) -> None:
        jobs = plan_jobs(self.inputs, output, neutral_names=neutral_names)
        self.output, self.neutral_names = output, neutral_names
        destinations = {job.source.absolute(): job for job in jobs}
        for photo in self.photos:
            job = destinations.get(photo.source.absolute())
            if job is not None and not job.conflict:
                photo.destination, photo.saved_to = job.destination, None

    def save_folders(self) -> List[Path]:
        if self.output is not None:
            return [self.output]
        return list(dict.fromkeys(default_output_root(path) for path in self.inputs))

    def change_threshold(self, threshold: float) -> None:
        self.options = replace(self.options, threshold=threshold)
        self._forget_saves()

    def change_style(self, style: str) -> None:
        """Cover with ``style`` from now on; raises ``ValueError`` for a style there is not."""
        self.redactor = build_redactor(style)
        self.style = style
        self._forget_saves()

    @property
    def current_photo(self) -> Optional[ReviewedPhoto]:
        return self.photos[self.current] if self.photos else None

    def go_to(self, index: int) -> None:
        if self.photos:
            self.current = min(max(index, 0), len(self.photos) - 1)

    @property
    def finding_faces(self) -> int:
        return sum(1 for photo in self.photos if photo.status is Status.FINDING_FACES)

    def photos_to_save(self) -> List[ReviewedPhoto]:
        return [photo for photo in self.photos if photo.can_be_saved]

    def unsaved(self) -> List[ReviewedPhoto]:
        return [p for p in self.photos_to_save() if p.saved_to is None]

    def _forget_saves(self) -> None:
        # A saved copy no longer matches what the window shows once the settings change.
        for photo in self.photos:
            photo.saved_to = None


def _contains(region: Region, x: float, y: float) -> bool:
    return region.x1 <= x < region.x2 and region.y1 <= y < region.y2


def _distance_to_centre(region: Region, x: float, y: float) -> float:
    left, top, right, bottom = region.outline
    return math.hypot(x - (left + right) / 2, y - (top + bottom) / 2)
