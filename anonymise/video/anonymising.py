"""A video through the same core as a photo, frame by frame, with tracking between frames.

Each frame as it is read: the detector's first pass, then the verifier on the frame with
those faces covered (exactly as for a photo); every face either finds is added to the
tracks. Each frame is written ``reach`` frames later — half a second — once the tracks
have had the chance to fill in a face the detectors missed in it, from sightings before
and after. The frame is covered from its own pixels once, with every region at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Deque, List, Optional

import av
import numpy as np

from anonymise.faces import Faces
from anonymise.models import Models
from anonymise.pipeline import FileResult, FrameResult, Options, first_pass, uncovered_share, verification_pass
from anonymise.redactors import Redactor
from anonymise.regions import Region, coverage_mask, regions_from_faces
from anonymise.video.reading import ClipFrame, VideoSource
from anonymise.video.tracking import FaceTracks, pending_reach
from anonymise.video.writing import VideoWriter

# How far (in seconds) a tracked face's cover reaches over frames where it was missed,
# forwards and backwards; frames are written this far behind the one being read.
TRACK_REACH_SECONDS = 0.5
# A filled-in box that lies mostly under covers the detectors gave that frame adds nothing.
_UNCOVERED_SHARE_WORTH_A_FILL = 0.3

# Told (frames done, frames expected; 0 when not known) as a video goes.
FrameProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class VideoOptions:
    """What only a video's copy has: whether its audio is kept (voices identify people,
    so it is dropped unless asked for)."""

    keep_audio: bool = False


@dataclass
class _PendingFrame:
    index: int
    frame: ClipFrame
    result: FrameResult


def anonymise_video_file(
    source: Path,
    destination: Path,
    models: Models,
    redactor: Redactor,
    options: Options = Options(),
    video: VideoOptions = VideoOptions(),
    progress: Optional[FrameProgress] = None,
) -> FileResult:
    """Write an anonymised, clean copy of the video ``source`` to ``destination`` (MP4).

    Every frame is covered as a photo is, and faces the detectors miss for up to half a
    second are covered from their tracks. Raises an ``AnonymiseError`` with a one-line
    reason when the video cannot be read or written, or when the written file fails the
    clean check; ``destination`` appears only complete.
    """
    with VideoSource(source) as clip:
        reach = pending_reach(float(clip.frame_rate), TRACK_REACH_SECONDS)
        audio = clip.audio if video.keep_audio else None
        writer = VideoWriter(destination, clip.frame_rate, clip.time_base,
                             audio.rate if audio is not None else None,
                             audio.layout.name if audio is not None else None)
        try:
            results = _anonymise_frames(clip, writer, models, redactor, options, reach, audio, progress)
            writer.finish()
        except BaseException:
            writer.discard()
            raise
        return FileResult(source, destination, clip.width, clip.height, results)


def _anonymise_frames(clip: VideoSource, writer: VideoWriter, models: Models, redactor: Redactor,
                      options: Options, reach: int, audio, progress: Optional[FrameProgress]) -> List[FrameResult]:
    tracks = FaceTracks(reach)
    pending: Deque[_PendingFrame] = deque()
    results: List[FrameResult] = []
    expected = clip.estimated_frames
    audio_start = clip.start_seconds

    def write_oldest() -> None:
        oldest = pending.popleft()
        fills = tracks.fills_until(oldest.index).get(oldest.index, Faces.empty())
        result = _with_track_regions(oldest.result, fills, oldest.frame.rgb, options)
        writer.add_frame(redactor.redact(oldest.frame.rgb, result.all_regions), oldest.frame.pts)
        results.append(result)
        if progress is not None:
            progress(len(results), max(expected, len(results)))

    def keep_audio(frame: av.AudioFrame) -> None:
        if frame.time is None:
            return
        start = round((frame.time - audio_start) * frame.sample_rate)
        if start >= 0:
            writer.add_audio(frame, start)

    for index, frame in enumerate(clip.frames(keep_audio if audio is not None else None)):
        faces, result = _covered_in(frame.rgb, models, redactor, options)
        tracks.add(index, faces)
        pending.append(_PendingFrame(index, frame, result))
        if len(pending) > reach:
            write_oldest()
    while pending:
        write_oldest()
    return results


def _covered_in(rgb: np.ndarray, models: Models, redactor: Redactor, options: Options):
    """A frame's faces and regions, found as a photo's are (both passes)."""
    faces, regions = first_pass(rgb, models, options)
    if not options.verify:
        return faces, FrameResult(regions)
    missed, extra = verification_pass(redactor.redact(rgb, regions), regions, models, options)
    return Faces.concatenate([faces, missed]), FrameResult(regions, extra)


def _with_track_regions(result: FrameResult, fills: Faces, rgb: np.ndarray, options: Options) -> FrameResult:
    """``result`` with a region for each filled-in face not already under a cover."""
    if len(fills) == 0:
        return result
    height, width = rgb.shape[:2]
    covered = coverage_mask(result.all_regions, width, height)
    new = np.array([uncovered_share(box, covered) > _UNCOVERED_SHARE_WORTH_A_FILL for box in fills.xyxy])
    regions: List[Region] = regions_from_faces(fills[new], width, height, options.mask_scale, options.shape)
    return FrameResult(result.regions, result.verification_regions, regions)
