"""What runs on the cluster: actors that load the models once and anonymise batches of jobs.

``BatchAnonymiser`` is the class ``Dataset.map_batches`` is given: its constructor builds
the models once (``PhotoWorker.loading_models``, as a local worker process does) and its
call anonymises a batch of jobs, one after another, through the same ``PhotoWorker.process``
the local run uses — every check, the clean check of each written copy, atomic writes.
Whatever goes wrong with a photo becomes its ``Outcome``, so a bad photo never fails the
batch.

A photo that kills its process (a decoder crash, the kernel's out-of-memory killer) takes
the actor down; Ray restarts it and retries the batch. ``Ledger``, one small actor per
run, remembers across restarts which photos were started and never finished: the batch is
redone photo by photo, and a photo that has taken down ``DEATHS_BEFORE_FAILING`` actors is
reported failed instead of being tried again, so the rest of the run goes on (Ray Data
itself would fail the whole dataset once a task's retries ran out).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import tempfile
from pathlib import Path
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from anonymise.cluster.storage import ObjectUrl, Storage
from anonymise.errors import one_line
from anonymise.run.outcome import FAILED, OK, Outcome, ReportEntry
from anonymise.run.plan import Job
from anonymise.run.settings import CopySettings
from anonymise.run.worker import PhotoWorker

# A photo is tried this many times in all before it is failed: once more than a photo
# whose actor was merely killed (a preempted node) needs.
DEATHS_BEFORE_FAILING = 2
DIED = "the worker process died while anonymising it (out of memory, or a crash in an image decoder)"
# The columns of a batch of jobs, and of a batch of outcomes.
JOB_COLUMNS = ("index", "source", "destination", "root")
OUTCOME_COLUMNS = ("index", "outcome")


class Ledger:
    """Which jobs of a run are being anonymised, seen by every actor, and whether to stop.

    Holds only the indexes of the jobs in progress (a few per actor), never paths.
    """

    def __init__(self) -> None:
        self._started: Dict[int, int] = {}
        self._stopping = False

    def start(self, index: int) -> Tuple[int, bool]:
        """Note the job as started: how many times before it was started and never
        finished (each time, its actor died), and whether the run is stopping."""
        deaths = self._started.get(index, 0)
        if not self._stopping:
            self._started[index] = deaths + 1
        return deaths, self._stopping

    def finish(self, index: int) -> None:
        self._started.pop(index, None)

    def stop(self) -> None:
        """Start no more photos; the ones in progress finish."""
        self._stopping = True


class BatchAnonymiser:
    """A Ray Data actor: the models loaded once, then batch after batch of jobs."""

    def __init__(self, settings: CopySettings, debug: bool = False, ledger=None, threads: int = 1) -> None:
        # Without a ledger (a pipeline of the caller's own), a photo that kills its actor
        # is retried by Ray as long as Ray retries.
        self.ledger = ledger
        self._start_error: Optional[str] = None
        cv2.setNumThreads(threads)  # the actor's share of the node's cores, as a local worker's
        try:
            self.worker = PhotoWorker.loading_models(settings, debug, threads)
        except Exception as error:  # reported by every job, and the run stops
            self._start_error = f"cannot load the face detector: {type(error).__name__}: {error}"

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, list]:
        indexes, outcomes = [], []
        for index, source, destination, root in zip(*(batch[column] for column in JOB_COLUMNS)):
            job = self.job(str(source), str(destination), str(root))
            outcome = self.process(int(index), job)
            if outcome is not None:
                indexes.append(int(index))
                outcomes.append(pickle.dumps(outcome))
        return {"index": indexes, "outcome": outcomes}

    @staticmethod
    def job(source: str, destination: str, root: str) -> Job:
        """The job a row of a batch names."""
        return Job(Path(source), Path(destination), Path(root))

    def process(self, index: int, job: Job) -> Optional[Outcome]:
        """The job's outcome; None when the run is stopping and the job was not started."""
        import ray

        if self.ledger is None:
            return self.anonymise(job)
        deaths, stopping = ray.get(self.ledger.start.remote(index))
        if stopping:
            return None
        try:
            if deaths >= DEATHS_BEFORE_FAILING:
                return Outcome(ReportEntry(job.source, None, FAILED, DIED))
            return self.anonymise(job)
        finally:
            self.ledger.finish.remote(index)

    def anonymise(self, job: Job) -> Outcome:
        if self._start_error is not None:
            return Outcome(ReportEntry(job.source, None, FAILED, self._start_error), stop_reason=self._start_error)
        return self.worker.process(job)


class StoredBatchAnonymiser(BatchAnonymiser):
    """The actor for photos in object storage: each photo is read into a private temporary
    folder of the node, anonymised there by the same ``PhotoWorker`` (every check, the
    clean check), and the checked copy uploaded whole; both files are deleted at once."""

    def __init__(self, settings: CopySettings, debug: bool = False, ledger=None, threads: int = 1) -> None:
        super().__init__(settings, debug, ledger, threads)
        self.storage = Storage()

    @staticmethod
    def job(source: str, destination: str, root: str) -> Job:
        return Job(ObjectUrl(source), ObjectUrl(destination), ObjectUrl(root))

    def anonymise(self, job: Job) -> Outcome:
        with tempfile.TemporaryDirectory(prefix="anonymise-") as staging:
            staged = Job(Path(staging) / "source" / job.source.name, Path(staging) / "copy" / job.destination.name,
                         Path(staging) / "copy")
            staged.source.parent.mkdir()
            try:
                _, mtime_ns = self.storage.status(job.source)
                staged.source.write_bytes(self.storage.read(job.source))
            except OSError as error:
                return Outcome(ReportEntry(job.source, None, FAILED, f"cannot read the file: {one_line(error)}"))
            # The object's own time, so the fingerprint is the one the driver computes.
            os.utime(staged.source, ns=(mtime_ns, mtime_ns))
            outcome = super().anonymise(staged)
            entry = dataclasses.replace(outcome.entry, input=job.source,
                                        reason=_named_by_url(outcome.entry.reason, staged, job))
            if entry.status == OK:
                try:
                    self.storage.write(job.destination, staged.destination.read_bytes())
                except OSError as error:
                    reason = f"cannot write {job.destination}: {one_line(error)}"
                    return Outcome(ReportEntry(job.source, None, FAILED, reason))
                entry.output = job.destination
            return dataclasses.replace(outcome, entry=entry)


def _named_by_url(reason: Optional[str], staged: Job, job: Job) -> Optional[str]:
    """A reason that names a staged file (an image decoder's message) names its object instead:
    the staging folder is the actor's own business, and the local run names the file too."""
    if reason is None:
        return None
    return reason.replace(str(staged.source), job.source).replace(str(staged.destination), job.destination)
