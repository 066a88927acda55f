"""Decoding a video at the edge: upright RGB frames with their timestamps, and nothing else.

Phones store portrait video sideways with a display matrix that tells players to turn it;
frames are turned here, before a detector sees them, and no matrix is written. A file
that cannot be decoded to its last frame — cut short, an unknown codec, no frames — is
refused with a one-line reason: a copy is never made of part of a video.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator, Optional

import av
import numpy as np

from anonymise.errors import NotAnImageError, UnreadableImageError, one_line
from anonymise.imagefile import MIN_SIDE, TooSmallError
from anonymise.video.formats import is_video

# Frames larger than 8K UHD are refused, as photos past Pillow's bomb limit are: a
# crafted header could otherwise ask for gigabytes per frame.
MAX_FRAME_PIXELS = 7680 * 4320
# A video whose container promises more frames than decode is cut short; a few frames
# may legitimately be dropped by an edit list at the start.
_FRAMES_AN_EDIT_LIST_MAY_DROP = 2
# Used when a stream states no frame rate at all (rare: some AVI and raw streams).
_FALLBACK_RATE = Fraction(25)


class VideoError(UnreadableImageError):
    """A video that cannot be read to its last frame."""


@dataclass(frozen=True)
class ClipFrame:
    """One upright frame: RGB ``uint8`` pixels ``(H, W, 3)``, and when it is shown (in the
    source's time base, counted from the first frame)."""

    rgb: np.ndarray
    pts: int


AudioSink = Callable[[av.AudioFrame], None]


def check_video_file(path: Path) -> None:
    """The checks on the file itself before it is opened, as ``check_photo_file`` makes
    them for photos: a regular, readable, non-empty file."""
    if not is_video(path):
        raise NotAnImageError(f"not a supported video type ({path.suffix or 'no extension'})")
    try:
        status = os.stat(path)
    except OSError as error:
        raise VideoError(f"cannot read video: {one_line(error)}") from None
    if not stat.S_ISREG(status.st_mode):
        raise NotAnImageError("not a regular file (a device, pipe or socket)")
    if status.st_size == 0:
        raise VideoError("empty file (0 bytes)")


class VideoSource:
    """An open video: its size upright, its timing, and its frames one by one.

    Use it as a context manager. Raises ``VideoError`` (or ``TooSmallError``) on opening
    for a file that is no readable video, and from ``frames()`` for one that breaks off.
    """

    def __init__(self, path: Path) -> None:
        check_video_file(path)
        self.path = path
        try:
            self._container = av.open(str(path), metadata_errors="ignore")
        except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as error:
            raise VideoError(f"cannot read video: {_reason(error)}") from None
        try:
            self._open_streams()
        except BaseException:
            self._container.close()
            raise

    def _open_streams(self) -> None:
        if not self._container.streams.video:
            raise VideoError("no video stream in this file")
        self._video = self._container.streams.video[0]
        context = self._video.codec_context
        if context is None or not self._video.codec_context.name:
            raise VideoError("unknown video codec: it cannot be decoded")
        # Decoding threads: FFmpeg picks a count from the cores; frames come out in order.
        self._video.thread_type = "AUTO"
        stored_width, stored_height = context.width, context.height
        if stored_width * stored_height > MAX_FRAME_PIXELS:
            raise VideoError(f"frames too large to anonymise safely ({stored_width}×{stored_height})")
        self.time_base: Fraction = self._video.time_base or Fraction(1, 90000)
        self.frame_rate: Fraction = self._video.average_rate or self._video.guessed_rate or _FALLBACK_RATE
        self.declared_frames = int(self._video.frames or 0)
        self.audio = self._container.streams.audio[0] if self._container.streams.audio else None
        self.width = self.height = 0  # known from the first frame: the display matrix is per frame
        if min(stored_width, stored_height) and min(stored_width, stored_height) < MIN_SIDE:
            raise TooSmallError(f"too small to check for faces ({stored_width}×{stored_height} pixels)")

    @property
    def estimated_frames(self) -> int:
        """How many frames there are, as the container says or as its duration suggests."""
        if self.declared_frames:
            return self.declared_frames
        duration = self._video.duration
        if duration and self.time_base:
            return max(1, round(float(duration * self.time_base * self.frame_rate)))
        if self._container.duration:
            return max(1, round(self._container.duration / av.time_base * float(self.frame_rate)))
        return 0

    @property
    def start_seconds(self) -> float:
        """When the first frame is shown, in the source's clock: audio is kept in step
        with the frames, which the copy counts from zero."""
        start = self._video.start_time
        return float(start * self.time_base) if start is not None else 0.0

    def frames(self, audio_sink: Optional[AudioSink] = None) -> Iterator[ClipFrame]:
        """Every frame upright, in order; with ``audio_sink``, the audio frames are handed
        to it as they are read. Frames are cropped to even sides (what H.264 in 4:2:0 can
        hold). Raises ``VideoError`` when the video breaks off or holds no frame."""
        streams = [self._video] + ([self.audio] if audio_sink is not None and self.audio is not None else [])
        decoded = 0
        origin = self._video.start_time  # timestamps are counted from it
        last_pts = -1
        try:
            for packet in self._container.demux(streams):
                if packet.stream.type == "audio":
                    for audio_frame in packet.decode():
                        audio_sink(audio_frame)
                    continue
                for frame in packet.decode():
                    rgb = _upright(frame)
                    if decoded == 0:
                        self._first_frame(rgb)
                    elif rgb.shape[0] < self.height or rgb.shape[1] < self.width:
                        raise VideoError(f"the frame size changes after {decoded} frames, which is not supported")
                    pts = frame.pts
                    if pts is None:  # some AVI streams: the frame's place at the stated rate
                        pts = round(decoded / (self.frame_rate * self.time_base))
                    origin = pts if origin is None else origin
                    # Timestamps must rise for the encoder; a repeated one is nudged on.
                    pts = max(pts - origin, last_pts + 1)
                    last_pts = pts
                    decoded += 1
                    yield ClipFrame(rgb[: self.height, : self.width], pts)
        except av.FFmpegError as error:
            raise VideoError(f"cannot read video: broke off after {decoded} frames ({_reason(error)})") from None
        if decoded == 0:
            raise VideoError("no frame of this video could be decoded")
        if self.declared_frames and decoded < self.declared_frames - _FRAMES_AN_EDIT_LIST_MAY_DROP:
            raise VideoError(f"cut short: only {decoded} of its {self.declared_frames} frames could be decoded")

    def _first_frame(self, rgb: np.ndarray) -> None:
        height, width = rgb.shape[:2]
        if min(width, height) < MIN_SIDE:
            raise TooSmallError(f"too small to check for faces ({width}×{height} pixels)")
        self.width, self.height = width - width % 2, height - height % 2

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _upright(frame: av.VideoFrame) -> np.ndarray:
    """The frame's pixels as RGB, turned as its display matrix says (counter-clockwise
    degrees, as FFmpeg's players turn it)."""
    rgb = frame.to_ndarray(format="rgb24")
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, quarter_turns)) if quarter_turns else rgb


def _reason(error: BaseException) -> str:
    """FFmpeg's message without the errno and the C function it came from."""
    message = getattr(error, "strerror", None) or one_line(error)
    return one_line(message)
