"""Which video files anonymise reads, and what their copies are called.

Every copy is written as H.264 in MP4, the one pairing every player, phone and upload form
takes, whatever the source's container (``clip.mov`` -> ``clip.mp4``).
"""

from __future__ import annotations

from pathlib import PurePath

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})
VIDEO_COPY_EXTENSION = ".mp4"


def is_video(path: PurePath) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


def video_copy_name(source: PurePath) -> str:
    """``a.mp4`` and ``A.MP4`` keep their names; ``a.mov`` becomes ``a.mp4``."""
    if source.suffix.lower() == VIDEO_COPY_EXTENSION:
        return source.name
    return source.stem + VIDEO_COPY_EXTENSION
