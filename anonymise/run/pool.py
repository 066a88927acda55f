"""Where the jobs of a local run are done: in this process, or spread over worker processes.

Both executors take the run's jobs in the plan's order, each paired with its outcome when
that is known without a worker (refused, not a photo, already complete), and give back
every outcome in the same order, while at most a small window of jobs is in flight.
Worker processes each load the models once (``start_worker_process``). When one dies
(killed for memory, or a decoder crashed) it takes the pool with it: the photos it had are
run again one at a time in a fresh pool, so only the photo that kills a worker again fails.
``Stopping`` says when to start no more photos; the ones in progress still finish.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Deque, Iterable, Iterator, Optional, Tuple

import cv2

from anonymise.run.outcome import FAILED, Outcome, ReportEntry
from anonymise.run.plan import Job
from anonymise.run.progress import VideoFrames
from anonymise.run.settings import CopySettings
from anonymise.run.worker import PhotoWorker

# A job and its outcome if known without a worker.
Work = Tuple[Job, Optional[Outcome]]

# Jobs handed to the pool ahead of the one awaited, per worker: enough to keep every
# worker busy, few enough that a stop is quick and the results waiting stay small.
_JOBS_AHEAD_PER_WORKER = 4
# Time terminated workers get to remove their temporary files before they are killed.
_SECONDS_TO_UNWIND = 5.0
# Spawn, not fork: a fork copies the locks of the main process's other threads (progress
# display, executor) mid-use, and spawn behaves the same on every system.
_SPAWN = multiprocessing.get_context("spawn")


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def workers_for(jobs: Optional[int], photos: int) -> int:
    """How many workers a run of ``photos`` gets: as asked (one per CPU by default), but no
    idle workers loading models for nothing."""
    return min(jobs or default_jobs(), max(1, photos))


class Stopping:
    """Whether a run is to start no more photos, and why; seen by the worker processes too.

    ``request`` is the first Ctrl-C; ``because`` a reason no photo can be written any
    more (a full disk). Setting it is safe in a signal handler.
    """

    def __init__(self) -> None:
        self.requested = False
        self.reason: Optional[str] = None
        # A plain shared byte, so workers drop the jobs already queued for them.
        self.shared = _SPAWN.RawValue("b", 0)

    def request(self) -> None:
        self.requested = True
        self.shared.value = 1

    def because(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self.shared.value = 1

    @property
    def now(self) -> bool:
        return self.requested or self.reason is not None


class InThisProcess:
    """Every job in this process, one after another; the models load with the first photo."""

    def __init__(self, settings: CopySettings, debug: bool, stopping: Stopping,
                 video_frames: Optional[VideoFrames] = None) -> None:
        self.settings, self.debug, self.stopping = settings, debug, stopping
        self.video_frames = video_frames
        self._worker: Optional[PhotoWorker] = None

    def outcomes(self, work: Iterable[Work]) -> Iterator[Tuple[Job, Outcome]]:
        for job, known in work:
            if self.stopping.now:
                return
            if known is None:
                self._worker = self._worker or PhotoWorker.loading_models(
                    self.settings, self.debug, frames=self.video_frames.claim() if self.video_frames else None)
                known = self._worker.process(job)
            yield job, known


@dataclass
class _Slot:
    """A job in the window: its outcome once known, or the future that will hold it."""

    job: Job
    outcome: Optional[Outcome] = None
    future: Optional[Future] = None


class WorkerProcesses:
    """Jobs spread over ``workers`` processes, each inference using its share of the cores."""

    def __init__(self, settings: CopySettings, debug: bool, stopping: Stopping, workers: int,
                 video_frames: Optional[VideoFrames] = None) -> None:
        self.settings, self.debug, self.stopping, self.workers = settings, debug, stopping, workers
        self.video_frames = video_frames
        self._pool: Optional[ProcessPoolExecutor] = None

    def outcomes(self, work: Iterable[Work]) -> Iterator[Tuple[Job, Outcome]]:
        window: Deque[_Slot] = deque()
        work = iter(work)
        cancelled = False
        finished = False
        try:
            while True:
                while not self.stopping.now and len(window) < self.workers * _JOBS_AHEAD_PER_WORKER:
                    job, known = next(work, (None, None))
                    if job is None:
                        break
                    window.append(_Slot(job, known) if known is not None else _Slot(job, future=self._submit(job)))
                if self.stopping.now and not cancelled:
                    # Jobs not yet started are dropped; the ones in progress finish.
                    window = deque(slot for slot in window if not (slot.future and slot.future.cancel()))
                    cancelled = True
                if not window:
                    break
                slot = window.popleft()
                if slot.outcome is None:
                    self._await(slot, window)
                if slot.outcome is not None:
                    yield slot.job, slot.outcome
            finished = True
        finally:
            if finished:
                self._discard_pool()
            else:  # a second Ctrl-C, an error, or the caller stopped reading
                self._stop_worker_processes()

    def _submit(self, job: Job) -> Future:
        try:
            return self._worker_pool().submit(process_in_worker_process, job)
        except BrokenProcessPool as error:  # a worker died since the last result: see _await
            lost: Future = Future()
            lost.set_exception(error)
            return lost

    def _await(self, slot: _Slot, window: Deque[_Slot]) -> None:
        """Fill in ``slot.outcome``; after a worker crash, find which photo caused it."""
        try:
            slot.outcome = self._noted(slot.future.result())
            return
        except BrokenProcessPool:
            pass
        # Every job in flight was lost with the pool. Each runs again alone in a fresh
        # pool, so only the photo that kills a worker again is failed; stopping, they are
        # not run again.
        self._discard_pool()
        for lost in [slot, *window]:
            if lost.outcome is not None:
                continue
            future = lost.future
            if future.done() and not future.cancelled() and future.exception() is None:
                lost.outcome = self._noted(future.result())  # finished before the crash
            elif not self.stopping.now:
                lost.outcome = self._run_alone(lost.job)
        kept = [other for other in window if other.outcome is not None]
        window.clear()
        window.extend(kept)

    def _noted(self, outcome: Optional[Outcome]) -> Optional[Outcome]:
        """``outcome``, its reason to stop the run taken at once (None: dropped unstarted)."""
        if outcome is not None and outcome.stop_reason is not None:
            self.stopping.because(outcome.stop_reason)
        return outcome

    def _run_alone(self, job: Job) -> Optional[Outcome]:
        try:
            return self._noted(self._submit(job).result())
        except BrokenProcessPool:
            self._discard_pool()
            reason = "the worker process died while anonymising it (out of memory, or a crash in an image decoder)"
            return Outcome(ReportEntry(job.source, None, FAILED, reason))

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _worker_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_SPAWN,
                initializer=start_worker_process,
                initargs=(self.settings, self.debug, max(1, default_jobs() // self.workers), self.stopping.shared,
                          self.video_frames),
            )
        return self._pool

    def _stop_worker_processes(self) -> None:
        """Stop at once: each worker unwinds on SIGTERM, removing its temporary file."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API before 3.14
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + _SECONDS_TO_UNWIND
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
            if process.is_alive():  # stuck in native code: its temporary file is removed next run
                process.kill()


# In each worker process: its one PhotoWorker, or why it could not be made.

_process_worker: Optional[PhotoWorker] = None
_process_start_error: Optional[str] = None
_run_stopping = None


def start_worker_process(settings: CopySettings, debug: bool, threads: int, run_stopping,
                         video_frames: Optional[VideoFrames] = None) -> None:
    """Pool initializer: load the models once for every job this process will run, each
    inference using at most ``threads`` threads (the worker's share of the cores).

    ``run_stopping`` is the shared byte ``Stopping`` sets when no more jobs may start;
    ``video_frames`` where this worker counts a video's frames for the progress display.
    """
    global _process_worker, _process_start_error, _run_stopping
    _run_stopping = run_stopping
    # Ctrl-C reaches every process on the terminal; the main process decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Terminated (a second Ctrl-C, or the main process died): unwind, so the temporary
    # file of the photo being written is removed.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    _terminate_with_parent()
    cv2.setNumThreads(threads)
    try:
        frames = video_frames.claim() if video_frames is not None else None
        _process_worker = PhotoWorker.loading_models(settings, debug, threads, frames)
    except Exception as error:  # reported by every job, and the run stops
        _process_start_error = f"cannot load the face detector: {type(error).__name__}: {error}"


def process_in_worker_process(job: Job) -> Optional[Outcome]:
    """The job's outcome, or None when the run stopped before it started."""
    if _run_stopping is not None and _run_stopping.value:
        return None
    if _process_worker is None:
        entry = ReportEntry(job.source, None, FAILED, _process_start_error)
        return Outcome(entry, stop_reason=_process_start_error)
    try:
        return _process_worker.process(job)
    except SystemExit:
        # Terminated mid-photo: the unwinding has removed the temporary file. Leave now;
        # the pool would otherwise catch this and start the next job.
        os._exit(1)


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _terminate_with_parent() -> None:
    """Linux: have the kernel send SIGTERM to this worker if the main process is killed,
    so an orphan never goes on writing beside the next run."""
    if not sys.platform.startswith("linux"):
        return
    try:
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
