"""The one path every photo takes: load -> detect -> regions -> redact -> save.

The core is given the models it uses (``Models``: the detector and the verifier) and
never loads one itself. Only the convenience calls for people's own scripts —
``anonymise_image(image)`` with no models, or a bare ``Detector`` where ``Models`` go —
complete what they were not given from one set of models kept for the process
(``convenience_models``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

from anonymise.detectors import Detector
from anonymise.faces import Faces
from anonymise.imagefile import (
    Frame, Photo, format_named_by, frame_from_image, image_from_frame, load_photo, output_format,
    refuse_size, save_photo,
)
from anonymise.models import Models, build_models
from anonymise.redactors import DEFAULT_STYLE, Redactor, build_redactor
from anonymise.regions import (
    DEFAULT_MASK_SCALE, DEFAULT_SHAPE, Region, coverage_mask, regions_from_faces,
)
from anonymise.stereo import faces_in_every_view

# Faces scored below this are not covered. Low on purpose: a missed face is a leak, a
# blurred lamppost a small cost. Chosen on the WIDER FACE development split
# (docs/implementation-notes.md).
DEFAULT_THRESHOLD = 0.08
# A face this tall (px) or taller needs LARGE_FACE_SCORE_FACTOR times the threshold. Faces
# that large are plain to CenterFace, which scores nearly all of them far higher; what it
# scores at the threshold's edge are mostly false regions as large as such a face — on the
# development split 67 regions, 0.27 % of the image area, for 3 faces (heavily occluded
# profiles) that the verification pass does not find again (docs/implementation-notes.md).
LARGE_FACE_HEIGHT = 256
LARGE_FACE_SCORE_FACTOR = 1.25
# The verifier covers what it is sure of: on 60 development photos its finds scored 0.5-0.7
# were all false, large boxes that added 1 % of the image to the covered area for no
# measured recall.
VERIFIER_THRESHOLD = 0.7
# A face the verification pass finds mostly on pixels already covered is the cover itself
# seen as a face (an emoji is drawn as one; a blur keeps a face's coarse colours): it is
# not a missed face. One with more than this share of its box still uncovered is.
_UNCOVERED_SHARE_OF_A_MISSED_FACE = 0.5


@dataclass(frozen=True)
class Options:
    """How faces become covered regions."""

    threshold: float = DEFAULT_THRESHOLD
    mask_scale: float = DEFAULT_MASK_SCALE
    shape: str = DEFAULT_SHAPE
    # Run the verifier on the covered pixels and cover whatever it still finds.
    verify: bool = True

    def confident(self, faces: Faces) -> np.ndarray:
        """Which of the detector's ``faces`` are covered: those scored at least the
        threshold, and at least ``LARGE_FACE_SCORE_FACTOR`` times it when they are
        ``LARGE_FACE_HEIGHT`` px tall or more."""
        large = faces.heights >= LARGE_FACE_HEIGHT
        return faces.scores >= np.where(large, self.threshold * LARGE_FACE_SCORE_FACTOR, self.threshold)


@dataclass(frozen=True)
class FrameResult:
    """The regions covered in one frame: found at first, found by the verification pass,
    and (in a video) filled in where a tracked face was missed."""

    regions: List[Region] = field(default_factory=list)
    verification_regions: List[Region] = field(default_factory=list)
    track_regions: List[Region] = field(default_factory=list)

    @property
    def all_regions(self) -> List[Region]:
        return self.regions + self.verification_regions + self.track_regions


@dataclass(frozen=True)
class FileResult:
    """What happened to one photo: where it went and which regions were covered in each frame."""

    input: Path
    output: Path
    width: int
    height: int
    frames: List[FrameResult] = field(default_factory=lambda: [FrameResult()])

    @property
    def regions(self) -> List[Region]:
        """Every region covered, in every frame and by both passes."""
        return [r for f in self.frames for r in f.all_regions]

    @property
    def verification_regions(self) -> List[Region]:
        """The regions only the verification pass found."""
        return [r for f in self.frames for r in f.verification_regions]


class AnonymisedImage(NamedTuple):
    image: Image.Image
    faces: Faces
    regions: List[Region]


ModelsOrDetector = Union[Models, Detector]


def anonymise_pixels(
    rgb: np.ndarray, models: ModelsOrDetector, redactor: Redactor, options: Options = Options()
) -> Tuple[np.ndarray, Faces, List[Region]]:
    """Detect faces in upright RGB pixels and return covered pixels, faces and regions.

    With ``options.verify`` the faces the verification pass finds are among those returned.
    """
    covered, faces, result = _covered_pixels(rgb, _completed(models, options), redactor, options)
    return covered, faces, result.all_regions


def _covered_pixels(
    rgb: np.ndarray, models: Models, redactor: Redactor, options: Options, views: int = 1
) -> Tuple[np.ndarray, Faces, FrameResult]:
    """The covered pixels, the faces found by both passes, and the regions of each pass.

    ``views`` is how many views of a stereo photo sit side by side in ``rgb``.
    """
    faces, regions = first_pass(rgb, models, options, views)
    covered = redactor.redact(rgb, regions)
    if not options.verify:
        return covered, faces, FrameResult(regions)
    missed, extra = verification_pass(covered, regions, models, options, views)
    if extra:
        covered = redactor.redact(covered, extra)
    return covered, Faces.concatenate([faces, missed]), FrameResult(regions, extra)


def first_pass(rgb: np.ndarray, models: Models, options: Options, views: int = 1) -> Tuple[Faces, List[Region]]:
    """The faces the detector finds in upright pixels, and the regions that cover them."""
    height, width = rgb.shape[:2]
    found = models.detector.detect(rgb)
    faces = faces_in_every_view(found[options.confident(found)], width, views)
    return faces, regions_from_faces(faces, width, height, options.mask_scale, options.shape)


def verification_pass(
    covered: np.ndarray, regions: Sequence[Region], models: Models, options: Options, views: int = 1
) -> Tuple[Faces, List[Region]]:
    """The faces the verifier still finds in ``covered`` (pixels with ``regions`` covered)
    that are not mostly under a cover already, and the regions that cover them."""
    height, width = covered.shape[:2]
    again = models.verifier.detect(covered).above(max(options.threshold, VERIFIER_THRESHOLD))
    already_covered = coverage_mask(list(regions), width, height)
    uncovered = np.array([uncovered_share(box, already_covered) for box in again.xyxy], dtype=float)
    missed = faces_in_every_view(again[uncovered > _UNCOVERED_SHARE_OF_A_MISSED_FACE], width, views)
    return missed, regions_from_faces(missed, width, height, options.mask_scale, options.shape)


def uncovered_share(box: np.ndarray, covered: np.ndarray) -> float:
    height, width = covered.shape
    x1, y1 = max(0, int(np.floor(box[0]))), max(0, int(np.floor(box[1])))
    x2, y2 = min(width, int(np.ceil(box[2]))), min(height, int(np.ceil(box[3])))
    if x2 <= x1 or y2 <= y1:
        return 0.0
    return 1.0 - float(covered[y1:y2, x1:x2].mean())


def anonymise_frame(
    frame: Frame, models: ModelsOrDetector, redactor: Redactor, options: Options = Options(), views: int = 1
) -> Tuple[Frame, Faces, FrameResult]:
    """One frame covered: its pixels, and its alpha made opaque wherever it is covered."""
    rgb, faces, result = _covered_pixels(frame.rgb, _completed(models, options), redactor, options, views)
    return Frame(rgb, opaque_where_covered(frame.alpha, result.all_regions), frame.duration_ms), faces, result


def cover_frame(frame: Frame, regions: Sequence[Region], redactor: Redactor) -> Frame:
    """``frame`` with exactly ``regions`` covered (the review window's save)."""
    return Frame(redactor.redact(frame.rgb, regions), opaque_where_covered(frame.alpha, regions), frame.duration_ms)


def opaque_where_covered(alpha: Optional[np.ndarray], regions: Sequence[Region]) -> Optional[np.ndarray]:
    """``alpha`` with every covered pixel made opaque: a cover under transparent pixels
    would be invisible, and the viewer could be shown the original beneath it."""
    if alpha is None or not regions:
        return alpha
    alpha = alpha.copy()
    alpha[coverage_mask(list(regions), alpha.shape[1], alpha.shape[0])] = 255
    return alpha


def anonymise_image(
    image: Image.Image,
    models: Optional[ModelsOrDetector] = None,
    redactor: Optional[Redactor] = None,
    options: Options = Options(),
) -> AnonymisedImage:
    """Cover every face in a PIL image (its current frame).

    Returns a new upright RGB (or RGBA) image carrying no metadata, the faces found and the
    regions covered. The input image is not modified. Pass ``models`` built once with
    ``build_models()`` (or a detector from ``build_detector()``) when anonymising many
    images; without, the default models are loaded on first use and kept for the process.
    Raises ``TooSmallError`` for an image too small to check for faces, as every door does.

    >>> from PIL import Image
    >>> from anonymise import anonymise_image
    >>> result = anonymise_image(Image.open("crowd.jpg"))  # doctest: +SKIP
    >>> result.image.save("crowd-anonymised.jpg"); len(result.faces)  # doctest: +SKIP
    """
    refuse_size(*image.size)
    covered, faces, result = anonymise_frame(
        frame_from_image(image), models or convenience_models(), redactor or build_redactor(), options,
    )
    return AnonymisedImage(image_from_frame(covered), faces, result.all_regions)


def anonymise_file(
    source: Path,
    destination: Path,
    models: ModelsOrDetector,
    redactor: Redactor,
    options: Options = Options(),
) -> FileResult:
    """Write an anonymised, metadata-free copy of ``source`` to ``destination``.

    Every frame of an animation is covered. The copy is written in the format its
    extension names (``photo.heic`` -> ``out/photo.jpg`` writes JPEG), or the source's
    default if it names none. Raises an ``AnonymiseError`` with a one-line reason when the
    photo cannot be read or written, or when the written file fails the clean check (it is
    deleted then); ``source`` is only ever opened for reading and ``destination`` appears
    only complete.
    """
    photo = load_photo(source)
    frames, results = [], []
    for frame in photo.frames:
        covered, _, result = anonymise_frame(frame, models, redactor, options, photo.views)
        frames.append(covered)
        results.append(result)
    written = format_named_by(destination) or output_format(source)
    save_photo(Photo(tuple(frames), photo.loop), destination, written)
    return FileResult(source, destination, photo.width, photo.height, results)


def _completed(models: ModelsOrDetector, options: Options) -> Models:
    """``Models`` as given, or a bare detector with the convenience verifier beside it."""
    if isinstance(models, Detector):
        models = Models(models, convenience_models().verifier if options.verify else None)
    if options.verify and models.verifier is None:
        raise ValueError("the verification pass needs a verifier: build the models with verify=True")
    return models


@lru_cache(maxsize=1)
def convenience_models() -> Models:
    """The default models, loaded on first use and kept for the process: only for the
    convenience calls of people's own scripts (the command line, the window and the
    cluster engine build theirs once per worker and pass them)."""
    return build_models()


__all__ = [
    "DEFAULT_STYLE",
    "DEFAULT_THRESHOLD",
    "AnonymisedImage",
    "FileResult",
    "FrameResult",
    "Options",
    "anonymise_file",
    "anonymise_frame",
    "anonymise_image",
    "anonymise_pixels",
    "cover_frame",
    "first_pass",
    "verification_pass",
]
