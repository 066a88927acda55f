"""The one path every photo takes: load -> detect -> regions -> redact -> save."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import List, NamedTuple, Optional, Tuple

import numpy as np
from PIL import Image

from anonymise.detectors import DEFAULT_DETECTOR, Detector, build_detector
from anonymise.faces import Faces
from anonymise.imagefile import Photo, image_from_photo, load_photo, photo_from_image, save_photo
from anonymise.redactors import DEFAULT_STYLE, Redactor, build_redactor
from anonymise.regions import DEFAULT_MASK_SCALE, DEFAULT_SHAPE, Region, regions_from_faces

# Faces scored below this are not covered. Low on purpose: a missed face is a leak, a
# blurred lamppost a small cost.
DEFAULT_THRESHOLD = 0.2


@dataclass(frozen=True)
class Options:
    """How faces become covered regions."""

    threshold: float = DEFAULT_THRESHOLD
    mask_scale: float = DEFAULT_MASK_SCALE
    shape: str = DEFAULT_SHAPE


@dataclass(frozen=True)
class FileResult:
    """What happened to one photo: where it went and which regions were covered."""

    input: Path
    output: Path
    width: int
    height: int
    regions: List[Region] = field(default_factory=list)


class AnonymisedImage(NamedTuple):
    image: Image.Image
    faces: Faces
    regions: List[Region]


def anonymise_pixels(
    rgb: np.ndarray, detector: Detector, redactor: Redactor, options: Options = Options()
) -> Tuple[np.ndarray, Faces, List[Region]]:
    """Detect faces in upright RGB pixels and return covered pixels, faces and regions."""
    faces = detector.detect(rgb).above(options.threshold)
    height, width = rgb.shape[:2]
    regions = regions_from_faces(faces, width, height, options.mask_scale, options.shape)
    return redactor.redact(rgb, regions), faces, regions


def anonymise_image(
    image: Image.Image,
    detector: Optional[Detector] = None,
    redactor: Optional[Redactor] = None,
    options: Options = Options(),
) -> AnonymisedImage:
    """Cover every face in a PIL image.

    Returns a new upright RGB (or RGBA) image carrying no metadata, the faces found and the
    regions covered. The input image is not modified. Pass a ``detector`` built once with
    ``build_detector()`` when anonymising many images; by default one is loaded on first
    use and kept for the process.

    >>> from PIL import Image
    >>> from anonymise import anonymise_image
    >>> result = anonymise_image(Image.open("crowd.jpg"))  # doctest: +SKIP
    >>> result.image.save("crowd-anonymised.jpg"); len(result.faces)  # doctest: +SKIP
    """
    photo = photo_from_image(image, format=image.format or "PNG")
    covered, faces, regions = _anonymise_photo(
        photo, detector or _shared_default_detector(), redactor or build_redactor(), options
    )
    return AnonymisedImage(image_from_photo(covered), faces, regions)


def anonymise_file(
    source: Path,
    destination: Path,
    detector: Detector,
    redactor: Redactor,
    options: Options = Options(),
) -> FileResult:
    """Write an anonymised, metadata-free copy of ``source`` to ``destination``.

    Raises an ``AnonymiseError`` with a one-line reason when the photo cannot be read or
    written; ``source`` is only ever opened for reading and ``destination`` appears only
    complete.
    """
    photo = load_photo(source)
    covered, _, regions = _anonymise_photo(photo, detector, redactor, options)
    save_photo(covered, destination)
    return FileResult(source, destination, photo.width, photo.height, regions)


def _anonymise_photo(
    photo: Photo, detector: Detector, redactor: Redactor, options: Options
) -> Tuple[Photo, Faces, List[Region]]:
    rgb, faces, regions = anonymise_pixels(photo.rgb, detector, redactor, options)
    alpha = photo.alpha
    if alpha is not None and regions:
        # A cover under transparent pixels would be invisible: make covered pixels opaque.
        alpha = alpha.copy()
        for region in regions:
            alpha[region.y1 : region.y2, region.x1 : region.x2][region.mask()] = 255
    return Photo(rgb, alpha, photo.format), faces, regions


@lru_cache(maxsize=1)
def _shared_default_detector() -> Detector:
    return build_detector(DEFAULT_DETECTOR)


__all__ = [
    "DEFAULT_STYLE",
    "DEFAULT_THRESHOLD",
    "AnonymisedImage",
    "FileResult",
    "Options",
    "anonymise_file",
    "anonymise_image",
    "anonymise_pixels",
]
