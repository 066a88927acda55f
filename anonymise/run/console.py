"""How a run looks from a terminal or a script: progress, a line per problem, a summary.

Standard error carries everything meant for a person (a progress bar only when it is a
terminal); standard output carries only what a script asked for: the ``--json`` summary,
or a dry run's list of copies. Every path and reason is printed on one line with control
characters escaped, whatever the file names hold.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path
from typing import Callable, Iterator, List, Optional

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.text import Text

from anonymise.names import tells_when_or_what
from anonymise.run.local import LocalRun
from anonymise.run.outcome import FAILED, OK, SKIPPED, UP_TO_DATE, Outcome, Totals
from anonymise.run.plan import Plan
from anonymise.run.progress import VideoFrames
from anonymise.run.report import ReportWriter
from anonymise.run.settings import CopySettings, RunOptions

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The shell's code for a command stopped by Ctrl-C (128 + SIGINT), so scripts can tell an
# interrupted run, which a re-run finishes, from one with failed photos.
EXIT_INTERRUPTED = 130

# No markup, highlighting or :emoji: codes: file names are printed exactly as they are.
stderr = Console(stderr=True, highlight=False, emoji=False)


def printable(text: object) -> str:
    """Text on one line: control characters (even newlines in names) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def say(text: str) -> None:
    stderr.print(text, markup=False, soft_wrap=True)


# Makes the run of a command (the local one by default), given where its warnings go.
RunFactory = Callable[[Plan, CopySettings, RunOptions, Callable[[str], None]], LocalRun]


def run_command(
    plan: Plan,
    settings: CopySettings,
    options: RunOptions,
    report: Optional[Path] = None,
    make_run: RunFactory = LocalRun,
) -> int:
    """Run ``plan`` as the command line does, and return the exit status.

    ``make_run`` builds the run; any engine whose run gives ``outcomes()``, ``totals``,
    ``stopping``, ``stop_reason`` and ``request_stop()`` as ``LocalRun`` does is shown alike.
    """
    try:
        return _run_command(plan, settings, options, report, make_run)
    except Exception as error:
        if options.debug:
            raise
        say(f"Error: unexpected {type(error).__name__}: {printable(error)} (run again with --debug for details)")
        return EXIT_FAILED


class Warnings:
    """What a person should know even though nothing failed: said on standard error as it
    happens (not with ``--quiet``) and listed in the ``--json`` summary."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.said: List[str] = []

    def __call__(self, message: str) -> None:
        self.said.append(message)
        if not self.quiet:
            say(f"warning: {printable(message)}")


class TellingNames:
    """Counts the copies whose names tell when or with what the photo was taken."""

    def __init__(self) -> None:
        self.count = 0
        self.example: Optional[str] = None

    def add(self, outcome: Outcome) -> None:
        entry = outcome.entry
        if entry.status in (OK, UP_TO_DATE) and entry.output is not None and tells_when_or_what(entry.output.name):
            self.count += 1
            self.example = self.example or entry.output.name

    def warning(self) -> str:
        copies = "copy keeps a name" if self.count == 1 else "copies keep names"
        return (
            f"{self.count} {copies} that can tell when or with what the photo was taken "
            f"(such as {self.example}): --neutral-names names them photo-0001.jpg, photo-0002.jpg, …"
        )


def _run_command(
    plan: Plan, settings: CopySettings, options: RunOptions, report: Optional[Path], make_run: RunFactory
) -> int:
    warn = Warnings(options.quiet)
    run = make_run(plan, settings, options, warn)
    if report is not None and plan.holds(report):
        warn(f"the report {report} is inside the output folder, which is what gets published, and it "
             "names every input file: keep it elsewhere")
    telling_names = TellingNames()
    try:
        report_writer = ReportWriter(report) if report is not None else None
    except OSError as error:
        say(f"Error: cannot write the report {printable(report)}: {printable(error.strerror or error)}")
        return EXIT_FAILED
    interrupted = False
    try:
        with _progress(plan.total, enabled=stderr.is_terminal and not options.quiet,
                       video_frames=getattr(run, "video_frames", None)) as advance, \
                _ctrl_c_finishes_photos_in_progress(run):
            try:
                for outcome in run.outcomes():
                    if report_writer is not None:
                        report_writer.add(outcome.entry)
                    if not plan.neutral_names:
                        telling_names.add(outcome)
                    _print_outcome(outcome, options)
                    advance()
            except KeyboardInterrupt:
                interrupted = True
    except BaseException:
        if report_writer is not None:
            report_writer.discard()
        raise
    # A Ctrl-C during the last photos interrupts nothing: they were all done.
    interrupted = interrupted or (run.stopping.requested and run.totals.not_processed > 0)
    report_failed = False
    if report_writer is not None:
        try:
            report_writer.finish()
        except OSError as error:
            say(f"Error: cannot write the report {printable(report)}: {printable(error.strerror or error)}")
            report, report_failed = None, True
    if telling_names.count:
        warn(telling_names.warning())
    _print_summary(run, options, report, interrupted, warn.said)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if run.totals.failed or run.stop_reason or report_failed else EXIT_OK


def _print_outcome(outcome: Outcome, options: RunOptions) -> None:
    entry = outcome.entry
    if entry.status == FAILED or (entry.status == SKIPPED and not options.quiet):
        say(f"{entry.status}: {printable(entry.input)}: {printable(entry.reason)}")
        if outcome.debug_traceback:
            say(outcome.debug_traceback.rstrip())
    elif options.dry_run and entry.status == OK:
        line = f"{printable(entry.input)} -> {printable(entry.output)}"
        if not options.json_summary:
            print(line, flush=True)
        elif not options.quiet:
            say(line)


def _print_summary(
    run: LocalRun, options: RunOptions, report: Optional[Path], interrupted: bool, warnings: List[str]
) -> None:
    totals = run.totals
    if options.json_summary:
        print(json.dumps(_summary_json(totals, run, options, report, interrupted, warnings)), flush=True)
    if not options.quiet:
        say(_summary_line(totals, options.dry_run))
        if report is not None:
            say(f"Report: {printable(report)}")
    if run.stop_reason is not None:
        say(
            f"Stopped: {run.stop_reason}. Nothing partial was left behind; "
            f"{_files(totals.not_processed)} not processed. Fix that and run the same command again "
            "to do the rest."
        )
    elif interrupted:
        say(
            f"Interrupted: {_files(totals.not_processed)} not processed. Nothing partial was left "
            "behind; run the same command again to do the rest."
        )


def _summary_line(totals: Totals, dry_run: bool) -> str:
    up_to_date = f"{totals.up_to_date} up to date, " if totals.up_to_date else ""
    if dry_run:
        return (
            f"Dry run: {_written(totals)} would be written, {up_to_date}"
            f"{totals.skipped} skipped, {totals.failed} failed. Nothing was written."
        )
    rate = f" ({totals.photos_per_second:.2f} photos/s)" if totals.written else ""
    return (
        f"{_written(totals)} written, {totals.faces_covered} faces covered"
        f"{_verification_note(totals.faces_found_by_verification)}{_video_note(totals)}, {up_to_date}"
        f"{totals.skipped} skipped, {totals.failed} failed, in {totals.seconds:.1f} s{rate}."
    )


def _verification_note(found: int) -> str:
    return f" ({found} found only by the verification pass)" if found else ""


def _video_note(totals: Totals) -> str:
    return f" and {totals.video_regions_covered} in the frames of videos" if totals.videos_written else ""


def _summary_json(
    totals: Totals, run: LocalRun, options: RunOptions, report: Optional[Path], interrupted: bool, warnings: List[str]
) -> dict:
    return {
        "written": totals.written,
        "faces_covered": totals.faces_covered,
        "faces_found_by_verification": totals.faces_found_by_verification,
        "video_regions_covered": totals.video_regions_covered,
        "up_to_date": totals.up_to_date,
        "skipped": totals.skipped,
        "failed": totals.failed,
        "not_processed": totals.not_processed,
        "seconds": round(totals.seconds, 3),
        "photos_per_second": round(totals.photos_per_second, 3),
        "interrupted": interrupted,
        "stopped_because": run.stop_reason,
        "dry_run": options.dry_run,
        "report": str(report) if report is not None else None,
        "warnings": warnings,
    }


def _written(totals: Totals) -> str:
    """``3 photos``, or ``3 photos and 1 video`` (a face in each frame of a video counts once)."""
    photos = totals.written - totals.videos_written
    said = f"{photos} photo{'s' * (photos != 1)}"
    if totals.videos_written:
        said += f" and {totals.videos_written} video{'s' * (totals.videos_written != 1)}"
    return said


def _files(count: int) -> str:
    return f"{count} file{'s' * (count != 1)}"


@contextlib.contextmanager
def _progress(total: int, enabled: bool, video_frames: Optional[VideoFrames] = None) -> Iterator:
    """A progress bar on standard error while the run goes; yields the function that
    moves it on by one file. While videos are being written, their frames are shown too."""
    if not enabled:
        yield lambda: None
        return
    columns = (TextColumn("Anonymising"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               _VideoFramesColumn(video_frames))
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task("", total=total)
        yield lambda: progress.advance(task)


class _VideoFramesColumn(ProgressColumn):
    """``video frames 120/750`` while videos are being written (read at each refresh)."""

    def __init__(self, video_frames: Optional[VideoFrames]) -> None:
        super().__init__()
        self.video_frames = video_frames

    def render(self, task) -> Text:
        done, expected = self.video_frames.in_progress() if self.video_frames is not None else (0, 0)
        return Text(f"video frames {done}/{expected}" if expected else "")


@contextlib.contextmanager
def _ctrl_c_finishes_photos_in_progress(run: LocalRun) -> Iterator[None]:
    """First Ctrl-C: finish the photos in progress, start no more. Second: stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def on_ctrl_c(signum, frame) -> None:
        if run.stopping.requested:
            raise KeyboardInterrupt
        run.request_stop()
        say("Stopping once the photos in progress are written (Ctrl-C again to stop at once)…")

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


