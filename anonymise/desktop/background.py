"""The slow work — loading models, finding faces, writing copies — on one background thread.

The window never waits on it: it hands over tasks and polls ``results``, so it stays
responsive while a crowd photo takes seconds. The worker never touches Tk (Tk is not
thread-safe) nor the review model; it only reads files and posts plain results.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

from anonymise.desktop.saving import save_reviewed_photo
from anonymise.errors import AnonymiseError
from anonymise.faces import Faces
from anonymise.imagefile import load_photo
from anonymise.media import anonymise_media_file
from anonymise.models import Models, build_models, with_verifier
from anonymise.pipeline import FileResult, Options
from anonymise.redactors import Redactor
from anonymise.regions import Region
from anonymise.video import VideoSource

# Previews are kept in memory for every open photo: big enough for a full-screen window,
# small enough that a hundred photos fit comfortably.
PREVIEW_LONG_SIDE = 1600


@dataclass(frozen=True)
class FacesFound:
    photo: int
    width: int
    height: int
    candidates: Faces
    preview: Image.Image


@dataclass(frozen=True)
class VideoOpened:
    """A video's first frame, to show: its faces are found as each frame is written."""

    photo: int
    width: int
    height: int
    preview: Image.Image


@dataclass(frozen=True)
class FramesWritten:
    """How far the copy of a video has got (``frames_expected`` may be an estimate)."""

    photo: int
    frames_done: int
    frames_expected: int


@dataclass(frozen=True)
class PhotoSaved:
    photo: int
    result: FileResult


@dataclass(frozen=True)
class PhotoFailed:
    """Finding faces (``while_saving`` False) or saving failed; ``reason`` is one line."""

    photo: int
    reason: str
    while_saving: bool


Result = Union[FacesFound, VideoOpened, FramesWritten, PhotoSaved, PhotoFailed]


@dataclass(frozen=True)
class _FindFaces:
    photo: int
    source: Path


@dataclass(frozen=True)
class _OpenVideo:
    photo: int
    source: Path


@dataclass(frozen=True)
class _Save:
    photo: int
    source: Path
    destination: Path
    regions: Tuple[Region, ...]
    redactor: Redactor
    reviewed_size: Tuple[int, int]


@dataclass(frozen=True)
class _SaveVideo:
    photo: int
    source: Path
    destination: Path
    redactor: Redactor
    options: Options


_Task = Union[_FindFaces, _OpenVideo, _Save, _SaveVideo]
_SAVING = (_Save, _SaveVideo)


class _Stopped(Exception):
    """Raised between two frames of a video being written when the window closes: the
    core then removes the unfinished copy."""


def review_models() -> Models:
    """The models of the review: the detector only, since the user checks what it found."""
    return build_models(verify=False)


class BackgroundWork:
    """Runs tasks one at a time, in the order given, on a daemon thread.

    ``models_factory`` is called once, on that thread, when the first photo needs it: the
    window appears at once instead of after the models have loaded. Each inference may use
    every core: the window works on one photo at a time.
    """

    def __init__(self, models_factory: Callable[[], Models] = review_models) -> None:
        self.results: "queue.Queue[Result]" = queue.Queue()
        self._tasks: "queue.Queue[Optional[_Task]]" = queue.Queue()
        self._models_factory = models_factory
        self._models: Optional[Models] = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anonymise-background", daemon=True)
        self._thread.start()

    def find_faces(self, photo: int, source: Path) -> None:
        self._tasks.put(_FindFaces(photo, source))

    def open_video(self, photo: int, source: Path) -> None:
        self._tasks.put(_OpenVideo(photo, source))

    def save(
        self,
        photo: int,
        source: Path,
        destination: Path,
        regions: Sequence[Region],
        redactor: Redactor,
        reviewed_size: Tuple[int, int],
    ) -> None:
        self._tasks.put(_Save(photo, source, destination, tuple(regions), redactor, reviewed_size))

    def save_video(self, photo: int, source: Path, destination: Path, redactor: Redactor, options: Options) -> None:
        """Write the copy of a video as the command line does, with the same core; its
        frames are reported as ``FramesWritten`` as they are written."""
        self._tasks.put(_SaveVideo(photo, source, destination, redactor, options))

    def stop(self, timeout: Optional[float] = None) -> None:
        """Finish the task under way (a video being written stops at its next frame, and
        its copy is not kept), drop the rest, and end the thread."""
        self._stopping.set()
        try:
            while True:
                self._tasks.get_nowait()
        except queue.Empty:
            pass
        self._tasks.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            try:
                self.results.put(self._do(task))
            except _Stopped:
                return
            except AnonymiseError as error:
                self.results.put(PhotoFailed(task.photo, str(error), isinstance(task, _SAVING)))
            except Exception as error:  # a bug or an odd file must not stop the other photos
                reason = f"unexpected error: {type(error).__name__}: {' '.join(str(error).split())}"
                self.results.put(PhotoFailed(task.photo, reason, isinstance(task, _SAVING)))

    def _do(self, task: _Task) -> Result:
        if isinstance(task, _Save):
            result = save_reviewed_photo(
                task.source, task.destination, task.regions, task.redactor, task.reviewed_size
            )
            return PhotoSaved(task.photo, result)
        if isinstance(task, _SaveVideo):
            return PhotoSaved(task.photo, self._save_video(task))
        if isinstance(task, _OpenVideo):
            with VideoSource(task.source) as clip:
                first = next(clip.frames()).rgb
                return VideoOpened(task.photo, clip.width, clip.height, _preview(first))
        photo = load_photo(task.source)
        candidates = self._loaded_models(verify=False).detector.detect(photo.rgb)
        return FacesFound(task.photo, photo.width, photo.height, candidates, _preview(photo.rgb))

    def _save_video(self, task: _SaveVideo) -> FileResult:
        def frames_written(done: int, expected: int) -> None:
            if self._stopping.is_set():
                raise _Stopped()
            self.results.put(FramesWritten(task.photo, done, expected))

        models = self._loaded_models(verify=task.options.verify)
        return anonymise_media_file(
            task.source, task.destination, models, task.redactor, task.options, progress=frames_written
        )

    def _loaded_models(self, verify: bool) -> Models:
        """The window's models, built on first use; with ``verify``, with the verifier too."""
        if self._models is None:
            self._models = self._models_factory()
        if verify:
            self._models = with_verifier(self._models)
        return self._models


def _preview(rgb: np.ndarray) -> Image.Image:
    preview = Image.fromarray(rgb)
    preview.thumbnail((PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE), Image.Resampling.LANCZOS)
    return preview
