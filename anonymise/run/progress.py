"""How far the videos in progress are, in frames, across the worker processes of a run.

A video takes minutes where a photo takes a second, so the terminal shows its frames, not
only the files done. Each worker process claims a slot of a small shared array once and
writes its video's (frames done, frames expected) there; the console adds them up.
"""

from __future__ import annotations

import multiprocessing
from typing import Tuple

_SPAWN = multiprocessing.get_context("spawn")


class VideoFrames:
    """One slot per worker: the frames of the video each is writing (0, 0 when none)."""

    def __init__(self, workers: int) -> None:
        self.slots = max(1, workers)
        self._counts = _SPAWN.RawArray("q", 2 * self.slots)
        self._claimed = _SPAWN.Value("i", 0)

    def claim(self) -> "FrameSlot":
        """The slot of the calling worker (a worker beyond the slots shares the last one)."""
        with self._claimed.get_lock():
            slot = min(self._claimed.value, self.slots - 1)
            self._claimed.value += 1
        return FrameSlot(self._counts, slot)

    def in_progress(self) -> Tuple[int, int]:
        """Frames done and frames expected, over every video being written now."""
        counts = list(self._counts)
        return sum(counts[0::2]), sum(counts[1::2])


class FrameSlot:
    """A worker's slot: call it with (frames done, frames expected); ``clear`` when the video is done."""

    def __init__(self, counts, slot: int) -> None:
        self._counts, self._slot = counts, slot

    def __call__(self, done: int, expected: int) -> None:
        self._counts[2 * self._slot] = done
        self._counts[2 * self._slot + 1] = expected

    def clear(self) -> None:
        self(0, 0)
