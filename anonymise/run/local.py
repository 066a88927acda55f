"""A run on this machine: the plan's jobs, each settled without a worker when it can be
(refused, not a photo, already complete), the rest done in this process or in worker
processes (``pool``), every outcome recorded and counted, in the plan's order.

``LocalRun.outcomes()`` yields one ``Outcome`` per job while at most a small window is in
flight; nothing else about a photo is kept (``totals`` holds counts). ``request_stop()``
(the first Ctrl-C) lets the photos in progress finish and starts no more; a
``KeyboardInterrupt`` inside ``outcomes()`` (the second) stops the workers at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator, Optional, Set

from anonymise.errors import NotAnImageError
from anonymise.media import refuse_what_is_not_media
from anonymise.run.outcome import FAILED, OK, SKIPPED, UP_TO_DATE, Outcome, ReportEntry, Totals
from anonymise.run.plan import Job, Plan
from anonymise.run.progress import VideoFrames
from anonymise.run.pool import InThisProcess, Stopping, Work, WorkerProcesses, workers_for
from anonymise.run.resume import LOCAL_FILES, CopyFiles, ResumeRecords
from anonymise.run.settings import CopySettings, RunOptions
from anonymise.tempfiles import remove_stale_temporaries


class LocalRun:
    # How the resume records read the copies and their sources.
    copy_files: CopyFiles = LOCAL_FILES

    def __init__(
        self,
        plan: Plan,
        settings: CopySettings,
        options: RunOptions = RunOptions(),
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.plan, self.settings, self.options = plan, settings, options
        self.totals = Totals()
        self.stopping = Stopping()
        self.workers = workers_for(options.jobs, plan.total)
        self.video_frames = VideoFrames(self.workers)
        # Told about problems that do not fail a photo (progress that cannot be recorded).
        self._records = ResumeRecords(options.dry_run, warn, self.stopping.because, options.state, self.copy_files)
        self._cleaned_folders: Set[Path] = set()
        # Worked out once, here: the workers get it with the settings, so every
        # fingerprint of the run agrees.
        _ = settings.key

    def request_stop(self) -> None:
        """Finish the photos in progress, start no more."""
        self.stopping.request()

    @property
    def stop_reason(self) -> Optional[str]:
        """Why the run stopped before the end, if it did (a full disk; not a Ctrl-C)."""
        return self.stopping.reason

    def outcomes(self) -> Iterator[Outcome]:
        started = time.monotonic()
        seen = 0
        try:
            for outcome in self._outcomes():
                seen += 1
                self.totals.add(outcome)
                yield outcome
        finally:
            self.totals.seconds = time.monotonic() - started
            self.totals.not_processed = max(0, self.plan.total - seen)
            self._records.close()

    def _outcomes(self) -> Iterator[Outcome]:
        if self.options.dry_run:
            for job, known in self._work():
                yield known or Outcome(ReportEntry(job.source, job.destination, OK))
            return
        for job, outcome in self._executor().outcomes(self._work()):
            yield self._recorded(job, outcome)

    def _executor(self):
        """What does the jobs that need a worker: this process, or worker processes."""
        if self.workers == 1:
            return InThisProcess(self.settings, self.options.debug, self.stopping, self.video_frames)
        return WorkerProcesses(self.settings, self.options.debug, self.stopping, self.workers, self.video_frames)

    def _work(self) -> Iterator[Work]:
        """Each job, with its outcome when no worker is needed for it."""
        for job in self.plan:
            refusal = self._refusal(job)
            if refusal is not None:
                yield job, refusal
                continue
            if not self.options.dry_run:
                self._clean_before_writing_into(job.destination.parent)
            if not self.options.overwrite and self._records.complete(job, self.settings.key):
                yield job, Outcome(ReportEntry(job.source, job.destination, UP_TO_DATE))
            else:
                yield job, None

    def _refusal(self, job: Job) -> Optional[Outcome]:
        """The outcome of a job that is not to be anonymised: refused, or not a photo."""
        if job.conflict:
            return Outcome(ReportEntry(job.source, None, FAILED, job.conflict))
        try:
            self._refuse_what_is_not_media(job.source)
        except NotAnImageError as error:
            return Outcome(ReportEntry(job.source, None, SKIPPED, str(error)))
        return None

    @staticmethod
    def _refuse_what_is_not_media(source: Path) -> None:
        refuse_what_is_not_media(source)

    def _clean_before_writing_into(self, folder: Path) -> None:
        """Remove the temporary files a killed run left in ``folder``, once, before this run
        writes anything there (so none of its own can be caught)."""
        if folder not in self._cleaned_folders:
            self._cleaned_folders.add(folder)
            remove_stale_temporaries(folder)

    def _recorded(self, job: Job, outcome: Outcome) -> Outcome:
        """Note a written copy in the resume state; stop the run when writing cannot go on."""
        if outcome.stop_reason is not None:
            self.stopping.because(outcome.stop_reason)
        if outcome.entry.status == OK and outcome.fingerprint is not None:
            self._records.record(job, outcome.fingerprint)
        return outcome
