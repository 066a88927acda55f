"""A run over a plan of jobs: in parallel, resumable, stoppable, with bounded memory.

``Run.outcomes()`` yields one ``Outcome`` per job, in the plan's order, while at most a
small window of jobs is in flight; nothing else about a photo is kept (``totals`` holds
counts). Copies the resume state knows to be complete are not redone unless ``overwrite``.
``request_stop()`` (the first Ctrl-C) lets the photos in progress finish and starts no
more; a ``KeyboardInterrupt`` inside ``outcomes()`` (the second) stops the workers at once.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Deque, Dict, Iterator, Optional, Set

from anonymise.batch import Job, Plan
from anonymise.errors import NotAnImageError
from anonymise.report import FAILED, OK, SKIPPED, UP_TO_DATE, ReportEntry
from anonymise.resume import LEGACY_MANIFEST_NAME, ResumeState, ResumeStateError, remove_legacy_manifest
from anonymise.tempfiles import remove_stale_temporaries
from anonymise.worker import (
    Outcome,
    PhotoWorker,
    RunSettings,
    process_in_worker_process,
    refuse_what_is_not_a_photo,
    start_worker_process,
)

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


@dataclass
class Totals:
    written: int = 0
    faces_covered: int = 0
    # Among those, the faces only the verification pass found.
    faces_found_by_verification: int = 0
    up_to_date: int = 0
    skipped: int = 0
    failed: int = 0
    not_processed: int = 0
    seconds: float = 0.0

    def add(self, outcome: Outcome) -> None:
        entry = outcome.entry
        if entry.status == OK:
            self.written += 1
            if entry.result is not None:
                self.faces_covered += len(entry.result.regions)
                self.faces_found_by_verification += len(entry.result.verification_regions)
        elif entry.status == UP_TO_DATE:
            self.up_to_date += 1
        elif entry.status == SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1

    @property
    def photos_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Slot:
    """A job in the window: its outcome once known, or the future that will hold it."""

    job: Job
    outcome: Optional[Outcome] = None
    future: Optional[Future] = None


@dataclass
class Run:
    plan: Plan
    settings: RunSettings
    jobs: int = 1
    overwrite: bool = False
    dry_run: bool = False
    debug: bool = False
    # Told about problems that do not fail a photo (progress that cannot be recorded).
    warn: Callable[[str], None] = lambda message: None

    totals: Totals = field(default_factory=Totals, init=False)
    # Why the run stopped before the end, if it did (a full disk; not a Ctrl-C).
    stop_reason: Optional[str] = field(default=None, init=False)
    stop_requested: bool = field(default=False, init=False)
    _states: Dict[Path, Optional[ResumeState]] = field(default_factory=dict, init=False)
    _cleaned_folders: Set[Path] = field(default_factory=set, init=False)
    _pool: Optional[ProcessPoolExecutor] = field(default=None, init=False)

    def __post_init__(self) -> None:
        # Seen by the workers, so they also drop the jobs already queued for them. A plain
        # shared byte: setting it is safe in a signal handler.
        self._workers_stop = _SPAWN.RawValue("b", 0)
        # Worked out once, here: the workers get it with the settings, so every fingerprint
        # of the run agrees even if an emoji file changes mid-run.
        _ = self.settings.key

    def request_stop(self) -> None:
        """Finish the photos in progress, start no more."""
        self.stop_requested = True
        self._workers_stop.value = 1

    def _stop_because(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self._workers_stop.value = 1

    @property
    def stopping(self) -> bool:
        return self.stop_requested or self.stop_reason is not None

    def outcomes(self) -> Iterator[Outcome]:
        started = time.monotonic()
        seen = 0
        try:
            if self.dry_run:
                outcomes = self._planned_outcomes()
            elif self.jobs == 1:
                outcomes = self._outcomes_in_this_process()
            else:
                outcomes = self._outcomes_in_worker_processes()
            for outcome in outcomes:
                seen += 1
                self.totals.add(outcome)
                yield outcome
        finally:
            self.totals.seconds = time.monotonic() - started
            self.totals.not_processed = max(0, self.plan.total - seen)
            for state in self._states.values():
                if state is not None:
                    state.close()

    def _planned_outcomes(self) -> Iterator[Outcome]:
        """A dry run: what would be done, from the plan and resume state alone; nothing written."""
        for job in self.plan:
            yield self._outcome_known_beforehand(job) or Outcome(ReportEntry(job.source, job.destination, OK))

    def _outcomes_in_this_process(self) -> Iterator[Outcome]:
        worker: Optional[PhotoWorker] = None
        for job in self.plan:
            if self.stopping:
                return
            outcome = self._outcome_known_beforehand(job)
            if outcome is None:
                worker = worker or PhotoWorker(self.settings, self.debug)  # no models for nothing to do
                outcome = self._recorded(job, worker.process(job))
            yield outcome

    def _outcomes_in_worker_processes(self) -> Iterator[Outcome]:
        window: Deque[_Slot] = deque()
        jobs = iter(self.plan)
        cancelled = False
        finished = False
        try:
            while True:
                while not self.stopping and len(window) < self.jobs * _JOBS_AHEAD_PER_WORKER:
                    job = next(jobs, None)
                    if job is None:
                        break
                    outcome = self._outcome_known_beforehand(job)
                    if outcome is not None:
                        window.append(_Slot(job, outcome))
                    else:
                        window.append(_Slot(job, future=self._submit(job)))
                if self.stopping and not cancelled:
                    # Jobs not yet started are dropped; the ones in progress finish.
                    window = deque(slot for slot in window if not (slot.future and slot.future.cancel()))
                    cancelled = True
                if not window:
                    break
                slot = window.popleft()
                if slot.outcome is None:
                    self._await(slot, window)
                if slot.outcome is not None:
                    yield slot.outcome
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
            slot.outcome = self._recorded(slot.job, slot.future.result())
            return
        except BrokenProcessPool:
            pass
        # A worker died (killed for memory, or a decoder crashed) and took the pool with
        # it: every job in flight was lost. Run each again alone in a fresh pool, so only
        # the photo that kills a worker again is failed. Stopping, they are not run again.
        self._discard_pool()
        for lost in [slot, *window]:
            if lost.outcome is not None:
                continue
            future = lost.future
            if future.done() and not future.cancelled() and future.exception() is None:
                lost.outcome = self._recorded(lost.job, future.result())  # finished before the crash
            elif not self.stopping:
                lost.outcome = self._run_alone(lost.job)
        kept = [other for other in window if other.outcome is not None]
        window.clear()
        window.extend(kept)

    def _run_alone(self, job: Job) -> Optional[Outcome]:
        try:
            return self._recorded(job, self._submit(job).result())
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
                max_workers=self.jobs,
                mp_context=_SPAWN,
                initializer=start_worker_process,
                initargs=(self.settings, self.debug, max(1, default_jobs() // self.jobs), self._workers_stop),
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

    def _outcome_known_beforehand(self, job: Job) -> Optional[Outcome]:
        """The outcome of a job that needs no worker: refused, not a photo, or already done."""
        if job.conflict:
            return Outcome(ReportEntry(job.source, None, FAILED, job.conflict))
        try:
            refuse_what_is_not_a_photo(job.source)
        except NotAnImageError as error:
            return Outcome(ReportEntry(job.source, None, SKIPPED, str(error)))
        if not self.dry_run and job.destination.parent not in self._cleaned_folders:
            self._cleaned_folders.add(job.destination.parent)
            remove_stale_temporaries(job.destination.parent)
        state = self._state(job.root)
        if state is None or self.overwrite:
            return None
        try:
            complete = state.is_complete(job.destination, job.source, self.settings.key)
        except ResumeStateError as error:
            self._give_up_recording(job.root, error)
            return None
        if complete:
            return Outcome(ReportEntry(job.source, job.destination, UP_TO_DATE))
        return None

    def _recorded(self, job: Job, outcome: Optional[Outcome]) -> Optional[Outcome]:
        """Note a written copy in the resume state; stop the run when writing cannot go on.

        No outcome is a job a worker dropped unstarted because the run is stopping.
        """
        if outcome is None:
            return None
        if outcome.stop_reason is not None:
            self._stop_because(outcome.stop_reason)
        state = self._state(job.root)
        if outcome.entry.status == OK and outcome.fingerprint is not None and state is not None:
            try:
                state.record(job.destination, outcome.fingerprint)
            except ResumeStateError as error:
                self._give_up_recording(job.root, error)
        return outcome

    def _state(self, root: Path) -> Optional[ResumeState]:
        if root not in self._states:
            self._remove_legacy_manifest(root)
            try:
                self._states[root] = ResumeState(root, read_only=self.dry_run)
            except ResumeStateError as error:
                self._states[root] = None
                self._give_up_recording(root, error)
        return self._states[root]

    def _remove_legacy_manifest(self, root: Path) -> None:
        """Earlier versions kept their records in the output folder, where they could tie
        the published copies to the originals: delete them (their copies are redone)."""
        if not (root / LEGACY_MANIFEST_NAME).exists():
            return
        why = "it ties the copies to the original files, and resume state is now kept outside the output folder"
        if self.dry_run:
            self.warn(f"{root / LEGACY_MANIFEST_NAME} will be deleted by a run: {why}")
            return
        try:
            remove_legacy_manifest(root)
        except OSError as error:
            self.warn(f"cannot delete {root / LEGACY_MANIFEST_NAME} ({error.strerror or error}): delete it "
                      f"before publishing the folder, {why}")
            return
        self.warn(f"deleted {root / LEGACY_MANIFEST_NAME} left by an earlier version: {why}; the copies "
                  "it covered are redone")

    def _give_up_recording(self, root: Path, error: ResumeStateError) -> None:
        state = self._states.get(root)
        if state is not None:
            state.close()
        self._states[root] = None
        if error.disk_full:
            self._stop_because("the disk is full")
        else:
            self.warn(f"{error}; a re-run will redo the photos written to {root}")
