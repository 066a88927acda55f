"""Encoding a video at the edge: a new file from covered frames only, checked, then moved
into place.

Every copy is 8-bit H.264 (4:2:0, BT.709) in MP4 with its index first (``faststart``), so
it plays in every browser, phone and upload form. Nothing of the source's container
reaches it: no tags (creation time, place, device, encoder), no display matrix (frames
are already upright), no data, subtitle, timecode or chapter track, no cover art; its
audio only when asked for, re-encoded, without tags. x264 writes its version and settings
into the stream (an SEI message): those units are removed. The file is written beside its
destination, decoded to its last frame, walked box by box (``structure``), and only then
renamed into place; on any failure nothing is left behind.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import List, Optional

import av
import numpy as np

from anonymise.errors import UncleanOutputError, WriteError, one_line
from anonymise.tempfiles import temporary_beside
from anonymise.video.structure import disallowed_video_parts

# Quality: x264's constant-rate factor 20 keeps a crowd's texture with no visible blocking;
# "faster" encodes 720p at a few times real time on two cores.
_ENCODER_OPTIONS = {
    "crf": "20",
    "preset": "faster",
    "color_primaries": "bt709",
    "color_trc": "bt709",
    "colorspace": "bt709",
    "color_range": "tv",
}
# The muxer's own identity (the "Lavf" encoder tag) is left out in bit-exact mode.
_CONTAINER_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}
# Supplemental enhancement information: x264's version and settings string.
_REMOVE_SEI = "filter_units=remove_types=6"
_AUDIO_CODEC = "aac"


class VideoWriter:
    """Writes one copy: ``add_frame`` each covered frame in order (and ``add_audio`` each
    audio frame, when audio is kept), then ``finish``; ``discard`` on failure."""

    def __init__(self, destination: Path, frame_rate: Fraction, time_base: Fraction,
                 audio_rate: Optional[int] = None, audio_layout: Optional[str] = None) -> None:
        self.destination = destination
        self.frames_written = 0
        self._frame_rate, self._time_base = frame_rate, time_base
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            handle, self._temporary = temporary_beside(destination)
            os.close(handle)
            self._container = av.open(self._temporary, "w", format="mp4", options=_CONTAINER_OPTIONS)
        except (OSError, av.FFmpegError) as error:
            self._remove_temporary()
            raise WriteError(f"cannot write {destination}: {one_line(error)}") from None
        self._video: Optional[av.video.stream.VideoStream] = None
        self._sei_filter: Optional[av.BitStreamFilterContext] = None
        self._audio = None
        self._audio_before_video: List[av.AudioFrame] = []
        if audio_rate:
            self._audio = self._container.add_stream(_AUDIO_CODEC, rate=audio_rate, layout=audio_layout or "stereo")
            self._audio.codec_context.flags |= av.codec.context.Flags.bitexact
            self._audio.codec_context.time_base = Fraction(1, audio_rate)

    def add_frame(self, rgb: np.ndarray, pts: int) -> None:
        """One covered frame, shown at ``pts`` (in the source's time base)."""
        if self._video is None:
            self._start_video(rgb.shape[1], rgb.shape[0])
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format="yuv420p", dst_colorspace="ITU709"
        )
        frame.pts = pts
        frame.time_base = self._time_base
        self._mux_video(self._video.encode(frame))
        self.frames_written += 1

    def add_audio(self, frame: av.AudioFrame, pts: Optional[int]) -> None:
        """One audio frame, its samples only, at ``pts`` (in 1/sample-rate), if audio is kept."""
        if self._audio is None:
            return
        frame.pts = pts
        frame.time_base = Fraction(1, self._audio.rate)
        if self._video is None:  # the file's header, written with the first packet, names every stream
            self._audio_before_video.append(frame)
            return
        for packet in self._audio.encode(frame):
            self._container.mux(packet)

    def _start_video(self, width: int, height: int) -> None:
        stream = self._container.add_stream("libx264", rate=self._frame_rate)
        context = stream.codec_context
        context.width, context.height = width, height
        context.pix_fmt = "yuv420p"
        context.time_base = self._time_base
        context.flags |= av.codec.context.Flags.bitexact
        stream.options = dict(_ENCODER_OPTIONS)
        self._video = stream
        # Named by codec, not stream: given the stream, the filter resets its parameters.
        self._sei_filter = av.BitStreamFilterContext(_REMOVE_SEI, "h264")
        waiting, self._audio_before_video = self._audio_before_video, []
        for frame in waiting:
            self.add_audio(frame, frame.pts)

    def _mux_video(self, packets) -> None:
        for packet in packets:
            for filtered in self._sei_filter.filter(packet):
                filtered.stream, filtered.time_base = self._video, self._time_base
                self._container.mux(filtered)

    def finish(self) -> None:
        """Flush, check and move the copy into place; raises ``WriteError`` (the temporary
        file removed) if it cannot be written or is not clean."""
        try:
            if self._video is not None:
                self._mux_video(self._video.encode(None))
                self._mux_video(self._sei_filter.filter(None))
            if self._audio is not None:
                for packet in self._audio.encode(None):
                    self._container.mux(packet)
            self._container.close()
            with open(self._temporary, "rb") as written:
                os.fsync(written.fileno())
            _check_decodes_whole(Path(self._temporary), self.frames_written, self._audio is not None)
            leaks = disallowed_video_parts(Path(self._temporary), audio_allowed=self._audio is not None)
            if leaks:
                raise UncleanOutputError(f"the written file carried {'; '.join(leaks)}, so it was deleted")
            os.replace(self._temporary, self.destination)
        except BaseException as error:
            self.discard()
            if isinstance(error, (OSError, av.FFmpegError, ValueError)):
                raise WriteError(f"cannot write {self.destination}: {one_line(error)}") from None
            raise

    def discard(self) -> None:
        """Stop writing and remove the temporary file (nothing of it is left)."""
        try:
            self._container.close()
        except Exception:  # closing half-written output can fail in any number of ways
            pass
        self._remove_temporary()

    def _remove_temporary(self) -> None:
        temporary = getattr(self, "_temporary", None)
        if temporary is not None:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass


def _check_decodes_whole(path: Path, frames: int, with_audio: bool) -> None:
    """The copy holds one video stream (and an audio stream only when one was kept) and
    decodes to exactly the frames written: a disk that filled up can cut a file short
    without an error, and such a copy is never kept."""
    with av.open(str(path)) as container:
        kinds = sorted(stream.type for stream in container.streams)
        expected = ["audio", "video"] if with_audio else ["video"]
        if kinds != expected:
            raise WriteError(f"the written file holds {', '.join(kinds) or 'no'} streams, not only {' and '.join(expected)}")
        decoded = sum(1 for _ in container.decode(video=0))
    if decoded != frames:
        raise WriteError(f"the written file decodes to {decoded} of its {frames} frames (is the disk full?)")
