"""Writing a reviewed photo: the regions the user approved, not a fresh detection.

The core's ``anonymise_file`` detects faces itself; after a review the regions are already
decided, so this runs the same steps with them: ``load_photo``, ``redactor.redact``,
``save_photo``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Tuple

from anonymise.errors import AnonymiseError
from anonymise.imagefile import Photo, load_photo, save_photo
from anonymise.pipeline import FileResult, FrameResult, cover_frame
from anonymise.redactors import Redactor
from anonymise.regions import Region


class PhotoChangedError(AnonymiseError):
    """The file on disk is not the photo that was reviewed."""


def save_reviewed_photo(
    source: Path,
    destination: Path,
    regions: Sequence[Region],
    redactor: Redactor,
    reviewed_size: Tuple[int, int],
) -> FileResult:
    """Write a clean copy of ``source`` with exactly ``regions`` covered.

    ``reviewed_size`` is the (width, height) the regions were drawn on: if the file now
    decodes to another size it was replaced since the review, and the regions would land
    in the wrong place, so nothing is written.
    """
    photo = load_photo(source)
    if (photo.width, photo.height) != tuple(reviewed_size):
        raise PhotoChangedError("the photo changed on disk since it was reviewed: add it again")
    # The review shows the first frame, so only it is written: later frames of an
    # animation were never reviewed and must not go out uncovered.
    save_photo(Photo((cover_frame(photo.frames[0], regions, redactor),)), destination)
    return FileResult(source, destination, photo.width, photo.height, [FrameResult(list(regions))])
