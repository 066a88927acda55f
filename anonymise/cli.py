"""The command line: ``anonymise PATH... [-o OUT]``. A thin shell around the core.

``anonymise install-launcher [--uninstall]`` is a second, separate command: the first word
chooses it, so every other command line means paths exactly as before (a folder named
``install-launcher`` is reached as ``./install-launcher``).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, NoReturn, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from anonymise import __version__, launcher
from anonymise.batch import UnsafeOutputError, plan_jobs
from anonymise.detectors import DEFAULT_DETECTOR, DETECTORS, build_detector
from anonymise.errors import AnonymiseError, NotAnImageError
from anonymise.imagefile import OUTPUT_FORMATS
from anonymise.pipeline import DEFAULT_THRESHOLD, Options, anonymise_file
from anonymise.redactors import DEFAULT_EMOJI, DEFAULT_STYLE, EMOJIS, REDACTORS, build_redactor
from anonymise.regions import DEFAULT_MASK_SCALE, DEFAULT_SHAPE, SHAPES
from anonymise.report import FAILED, OK, SKIPPED, Report, ReportEntry

# Choices come from the registries, so a new style or detector appears here by itself.
Style = Enum("Style", {name: name for name in REDACTORS}, type=str)
EmojiName = Enum("EmojiName", {name: name for name in EMOJIS}, type=str)
DetectorName = Enum("DetectorName", {name: name for name in DETECTORS}, type=str)
Shape = Enum("Shape", {name: name for name in SHAPES}, type=str)
FormatName = Enum("FormatName", {name: name for name in OUTPUT_FORMATS}, type=str)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Local variables in a traceback could include paths and pixels: never show them.
app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
stderr = Console(stderr=True, highlight=False)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"anonymise {__version__}")
        raise typer.Exit()


@app.command()
def anonymise(
    paths: List[Path] = typer.Argument(
        ..., exists=True, readable=True, metavar="PATH", show_default=False,
        help="Photos or folders of photos (searched recursively).",
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="Folder for the anonymised copies, mirroring the input tree. "
        "Default: a folder next to the input named after it with '-anonymised'.",
    ),
    style: Style = typer.Option(DEFAULT_STYLE, "--style", "-s", help="How faces are covered."),
    emoji: Optional[EmojiName] = typer.Option(
        None, "--emoji", show_default=DEFAULT_EMOJI,
        help="With --style emoji: which of our drawn emoji covers faces.",
    ),
    emoji_file: Optional[Path] = typer.Option(
        None, "--emoji-file", exists=True, dir_okay=False, readable=True,
        help="With --style emoji: cover faces with this picture (a PNG may be transparent; "
        "it is put on an opaque white backing).",
    ),
    detector: DetectorName = typer.Option(DEFAULT_DETECTOR, "--detector", help="Face detector."),
    threshold: float = typer.Option(
        DEFAULT_THRESHOLD, "--threshold", "-t", min=0.0, max=1.0,
        help="Cover faces scored at least this. Lower finds more faces and more false ones.",
    ),
    mask_scale: float = typer.Option(
        DEFAULT_MASK_SCALE, "--mask-scale", min=0.5, max=5.0,
        help="Size of the covered region relative to the detected face box (reaches hair and ears).",
    ),
    shape: Shape = typer.Option(DEFAULT_SHAPE, "--shape", help="Shape of each covered region."),
    file_format: Optional[FormatName] = typer.Option(
        None, "--format", "-f", show_default=False,
        help="Write every copy in this format. Default: the input's format (HEIC is written as JPEG).",
    ),
    neutral_names: bool = typer.Option(
        False, "--neutral-names",
        help="Name the copies photo-0001.jpg, photo-0002.jpg, ... in the order they are read, "
        "instead of their own names (which can tell the date, time and device). Folders are kept.",
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify",
        help="Run the detector again on each covered photo and cover any face it still finds.",
    ),
    report: Optional[Path] = typer.Option(
        None, "--report", dir_okay=False,
        help="Write a JSON report of every file and the regions covered (coordinates only).",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Cover every face in PATHS and write clean copies: no metadata, originals untouched.

    Exit status: 0 every photo was written, 1 some photo failed (the others were written), 2 the command line was wrong.

    To review faces in a window instead, run anonymise-drop; 'anonymise install-launcher' adds a launcher to drop photos on.
    """
    try:
        jobs = plan_jobs(paths, output, file_format.value if file_format else None, neutral_names)
    except UnsafeOutputError as error:
        _usage_error(str(error))
    if report is not None and report.resolve() in {job.source.resolve() for job in jobs}:
        _usage_error(f"the report would overwrite the input {report}")

    redactor = _build_redactor(style, emoji, emoji_file)
    face_detector = build_detector(detector.value)
    options = Options(threshold=threshold, mask_scale=mask_scale, shape=shape.value, verify=verify)
    results = Report()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=stderr, transient=True,
    ) as progress:
        task = progress.add_task("Anonymising", total=len(jobs))
        for job in jobs:
            entry = _run_job(job, face_detector, redactor, options)
            results.add(entry)
            if entry.status != OK:
                progress.console.print(
                    f"{entry.status}: {_printable(job.source)}: {entry.reason}", markup=False, soft_wrap=True
                )
            progress.advance(task)

    if report is not None:
        results.write(report)
    _print_summary(results, report)
    raise typer.Exit(EXIT_FAILED if results.count(FAILED) else EXIT_OK)


def _build_redactor(style: Style, emoji: Optional[EmojiName], emoji_file: Optional[Path]):
    """The chosen style, or exit 2 when the style options do not fit together."""
    if style.value != "emoji":
        if emoji is not None or emoji_file is not None:
            _usage_error("--emoji and --emoji-file go with --style emoji")
        return build_redactor(style.value)
    if emoji is not None and emoji_file is not None:
        _usage_error("choose --emoji or --emoji-file, not both")
    try:
        return build_redactor("emoji", emoji=emoji.value if emoji else None, emoji_file=emoji_file)
    except ValueError as error:  # an emoji file Pillow cannot read
        _usage_error(str(error))


def _usage_error(message: str) -> NoReturn:
    stderr.print(f"Error: {_printable(message)}", markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_USAGE)


def _run_job(job, face_detector, redactor, options: Options) -> ReportEntry:
    if job.conflict:
        return ReportEntry(job.source, None, FAILED, job.conflict)
    try:
        result = anonymise_file(job.source, job.destination, face_detector, redactor, options)
    except NotAnImageError as error:
        return ReportEntry(job.source, None, SKIPPED, str(error))
    except AnonymiseError as error:
        return ReportEntry(job.source, None, FAILED, str(error))
    except Exception as error:  # a bug or an odd file must not stop the other photos
        reason = f"unexpected error: {type(error).__name__}: {' '.join(str(error).split())}"
        return ReportEntry(job.source, None, FAILED, reason)
    return ReportEntry(job.source, job.destination, OK, None, result)


def _print_summary(results: Report, report: Optional[Path]) -> None:
    written = results.count(OK)
    line = (
        f"{written} photo{'s' * (written != 1)} written, {results.faces_covered} faces covered"
        f"{_verification_note(results.faces_found_by_verification)}, "
        f"{results.count(SKIPPED)} skipped, {results.count(FAILED)} failed."
    )
    stderr.print(line, markup=False, soft_wrap=True)
    if report is not None:
        stderr.print(f"Report: {_printable(report)}", markup=False, soft_wrap=True)


def _verification_note(found: int) -> str:
    return f" ({found} found only by the verification pass)" if found else ""


def _printable(text: object) -> str:
    """A path or message on one line: control characters (even newlines in names) shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


launcher_app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
INSTALL_LAUNCHER = "install-launcher"


@launcher_app.command()
def install_launcher(
    uninstall: bool = typer.Option(False, "--uninstall", help="Remove the launchers instead."),
    desktop: bool = typer.Option(True, "--desktop/--no-desktop", help="Also put a launcher on the desktop."),
) -> None:
    """Add a launcher that opens the anonymise window with the photos dropped on it.

    Linux: an application entry (and one on the desktop); Windows: a Send To shortcut (and one on the desktop); macOS: an application in ~/Applications (and an alias on the desktop).
    """
    try:
        paths = launcher.uninstall() if uninstall else launcher.install(on_desktop=desktop)
    except (launcher.LauncherError, OSError) as error:
        stderr.print(f"Error: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED) from None
    for path in paths:
        typer.echo(f"{'Removed' if uninstall else 'Created'} {_printable(path)}")
    if uninstall and not paths:
        typer.echo("No launcher was installed.")


def main() -> None:
    if sys.argv[1:2] == [INSTALL_LAUNCHER]:
        launcher_app(args=sys.argv[2:], prog_name=f"anonymise {INSTALL_LAUNCHER}")
    else:
        app(prog_name="anonymise")
