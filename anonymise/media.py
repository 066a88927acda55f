"""What a run reads — photos and videos — and which room decodes and encodes each.

Photos and videos share the core (detect -> regions -> redact, and the verification
pass); what differs is how they are read and written (``imagefile``, ``video``), and, for
a video, tracking between frames. This is the one place that tells them apart, by name,
so every door (the command line, the window, a cluster) treats the same files alike.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Optional

from anonymise.errors import NotAnImageError
from anonymise.imagefile import check_photo_file, is_supported, output_format, output_name
from anonymise.models import Models
from anonymise.pipeline import FileResult, Options, anonymise_file
from anonymise.redactors import Redactor
from anonymise.video import VideoOptions, anonymise_video_file, check_video_file, is_video, video_copy_name
from anonymise.video.anonymising import FrameProgress
from anonymise.video.formats import VIDEO_COPY_EXTENSION


def is_media(path: PurePath) -> bool:
    """Whether ``path`` names a photo or a video anonymise reads."""
    return is_supported(path) or is_video(path)


def refuse_what_is_not_media(source: Path) -> None:
    """Raise ``NotAnImageError`` unless ``source`` is named as a photo or video anonymise
    reads. Plans list links to folders among the files, since they are not followed: say so."""
    if os.path.isdir(source):
        raise NotAnImageError("a link to a folder (links to folders are not followed)")
    refuse_what_is_not_a_media_type(source)


def refuse_what_is_not_a_media_type(name: PurePath) -> None:
    """As ``refuse_what_is_not_media``, from the name alone (for files on other machines)."""
    if not is_media(name):
        raise NotAnImageError(f"not a supported photo or video type ({name.suffix or 'no extension'})")


def check_media_file(path: Path) -> None:
    """The checks on the file itself before it is opened (type, regular, readable, not empty)."""
    if is_video(path):
        check_video_file(path)
    else:
        refuse_what_is_not_media(path)
        check_photo_file(path)


def copy_name(source: PurePath, requested_format: Optional[str] = None) -> str:
    """The name of the copy of ``source``: its own unless its format changes. A photo's
    ``requested_format`` (``--format``) does not apply to videos, which are always MP4."""
    return video_copy_name(source) if is_video(source) else output_name(Path(source), requested_format)


def copy_extension(source: PurePath, requested_format: Optional[str] = None) -> str:
    """The extension a copy of ``source`` is written with (``.jpg``, ``.mp4``, ...)."""
    return VIDEO_COPY_EXTENSION if is_video(source) else output_format(Path(source), requested_format).extension


def media_kind(source: PurePath) -> str:
    """``"photo"`` or ``"video"``: what ``--neutral-names`` calls it, and numbers it among."""
    return "video" if is_video(source) else "photo"


def neutral_name(source: PurePath, number: int, width: int, requested_format: Optional[str] = None) -> str:
    """``photo-0001.jpg`` or ``video-0001.mp4``: a name that tells nothing of the file."""
    return f"{media_kind(source)}-{number:0{width}d}{copy_extension(source, requested_format)}"


def anonymise_media_file(
    source: Path,
    destination: Path,
    models: Models,
    redactor: Redactor,
    options: Options = Options(),
    video: VideoOptions = VideoOptions(),
    progress: Optional[FrameProgress] = None,
) -> FileResult:
    """The anonymised copy of a photo or a video, written to ``destination``; ``progress``
    is told a video's frames as they are written."""
    if is_video(source):
        return anonymise_video_file(source, destination, models, redactor, options, video, progress)
    return anonymise_file(source, destination, models, redactor, options)
