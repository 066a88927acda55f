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

from PIL import Image

from anonymise.desktop.saving import save_reviewed_photo
from anonymise.errors import AnonymiseError
from anonymise.faces import Faces
from anonymise.imagefile import load_photo
from anonymise.models import Models, build_models
from anonymise.pipeline import FileResult
from anonymise.redactors import Redactor
from anonymise.regions import Region

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
class PhotoSaved:
    photo: int
    result: FileResult


@dataclass(frozen=True)
class PhotoFailed:
    """Finding faces (``while_saving`` False) or saving failed; ``reason`` is one line."""

    photo: int
    reason: str
    while_saving: bool


Result = Union[FacesFound, PhotoSaved, PhotoFailed]


@dataclass(frozen=True)
class _FindFaces:
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
        self._tasks: "queue.Queue[Optional[Union[_FindFaces, _Save]]]" = queue.Queue()
        self._models_factory = models_factory
        self._models: Optional[Models] = None
        self._thread = threading.Thread(target=self._run, name="anonymise-background", daemon=True)
        self._thread.start()

    def find_faces(self, photo: int, source: Path) -> None:
        self._tasks.put(_FindFaces(photo, source))

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

    def stop(self, timeout: Optional[float] = None) -> None:
        """Finish the task under way, drop the rest, and end the thread."""
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
            except AnonymiseError as error:
                self.results.put(PhotoFailed(task.photo, str(error), isinstance(task, _Save)))
            except Exception as error:  # a bug or an odd file must not stop the other photos
                reason = f"unexpected error: {type(error).__name__}: {' '.join(str(error).split())}"
                self.results.put(PhotoFailed(task.photo, reason, isinstance(task, _Save)))

    def _do(self, task: Union[_FindFaces, _Save]) -> Result:
        if isinstance(task, _Save):
            result = save_reviewed_photo(
                task.source, task.destination, task.regions, task.redactor, task.reviewed_size
            )
            return PhotoSaved(task.photo, result)
        photo = load_photo(task.source)
        if self._models is None:
            self._models = self._models_factory()
        candidates = self._models.detector.detect(photo.rgb)
        preview = Image.fromarray(photo.rgb)
        preview.thumbnail((PREVIEW_LONG_SIDE, PREVIEW_LONG_SIDE), Image.Resampling.LANCZOS)
        return FacesFound(task.photo, photo.width, photo.height, candidates, preview)
