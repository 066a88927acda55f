"""The command line: ``anonymise PATH... [-o OUT]``. A thin shell around the core.

``anonymise check PATH...``, ``anonymise forget OUT...`` and ``anonymise install-launcher``
are separate commands: the first word chooses them, so every other command line means
paths exactly as before (a folder named ``check`` is reached as ``./check``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, List, NoReturn, Optional

import typer

from anonymise import __version__, launcher
from anonymise.audit import Audit, Auditor
from anonymise.cluster.session import RAY_EXTRA
from anonymise.cluster.statestore import state_refusal
from anonymise.cluster.storage import is_url
from anonymise.detectors import DEFAULT_DETECTOR, DETECTORS
from anonymise.imagefile import OUTPUT_FORMATS
from anonymise.pipeline import DEFAULT_THRESHOLD, Options
from anonymise.redactors import DEFAULT_EMOJI, DEFAULT_STYLE, EMOJIS, REDACTORS, Redactor, StyleOptionError, build_redactor
from anonymise.regions import DEFAULT_MASK_SCALE, DEFAULT_SHAPE, SHAPES
from anonymise.run import resume
from anonymise.run.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, printable, run_command, say
from anonymise.run.plan import Plan, UnsafeOutputError, files_under
from anonymise.run.settings import CopySettings, RunOptions

# Choices come from the registries, so a new style or detector appears here by itself.
Style = Enum("Style", {name: name for name in REDACTORS}, type=str)
EmojiName = Enum("EmojiName", {name: name for name in EMOJIS}, type=str)
DetectorName = Enum("DetectorName", {name: name for name in DETECTORS}, type=str)
Shape = Enum("Shape", {name: name for name in SHAPES}, type=str)
FormatName = Enum("FormatName", {name: name for name in OUTPUT_FORMATS}, type=str)


class Engine(str, Enum):
    """Where the photos are anonymised."""

    local = "local"
    ray = "ray"


# Local variables in a traceback could include paths and pixels: never show them.
app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"anonymise {__version__}")
        raise typer.Exit()


@app.command()
def anonymise(
    paths: List[str] = typer.Argument(
        ..., metavar="PATH", show_default=False,
        help="Photos, videos, or folders of them (searched recursively); with --engine ray also "
        "object-storage URLs (s3://bucket/prefix).",
    ),
    output: Optional[str] = typer.Option(
        None, "--output", "-o",
        help="Folder for the anonymised copies, mirroring the input tree (with --engine ray, or a URL). "
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
        help="Cover faces scored at least this (faces 256 px tall or more: 1.25 times this). "
        "Lower finds more faces and more false ones.",
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
        help="Name the copies photo-0001.jpg, photo-0002.jpg, ... (videos video-0001.mp4, ...) in the order they are read, "
        "instead of their own names (which can tell the date, time and device). Folders are kept.",
    ),
    keep_audio: bool = typer.Option(
        False, "--keep-audio",
        help="Keep the sound of videos (re-encoded, without tags). Off by default: voices identify people.",
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify",
        help="Run the detector again on each covered photo and cover any face it still finds.",
    ),
    report: Optional[Path] = typer.Option(
        None, "--report", dir_okay=False,
        help="Write a JSON report of every file and the regions covered (coordinates only).",
    ),
    jobs: Optional[int] = typer.Option(
        None, "--jobs", "-j", min=1, show_default="number of CPUs",
        help="Photos anonymised at once, each worker process loading the models once.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Redo every photo, even those an earlier run already wrote."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the copies that would be written; write nothing."),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print only failures and errors: no progress, notes or summary."
    ),
    json_summary: bool = typer.Option(False, "--json", help="Print a JSON summary on standard output."),
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks of unexpected errors (they name files and folders)."
    ),
    engine: Engine = typer.Option(
        Engine.local, "--engine",
        help="local: worker processes on this computer; ray: actors on a Ray cluster (pip install 'anonymise[ray]'), "
        "which also reads and writes object storage.",
    ),
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", metavar="auto|HOST:PORT",
        help="With --engine ray: the cluster to join (auto: the one this machine belongs to). "
        "Default: a Ray of this computer only, removed at the end.",
    ),
    state: Optional[str] = typer.Option(
        None, "--state", metavar="DIR|URL",
        help="Keep what a re-run needs in this folder instead of your state folder (never in the output); "
        "with --engine ray also under a private object-storage URL.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Cover every face in PATHS (photos and videos) and write clean copies: no metadata, originals untouched.

    Re-running the same command skips the copies already complete and does the rest.

    Exit status: 0 every photo was written, 1 some photo failed (the others were written) or the run stopped (a full disk), 2 the command line was wrong, 130 interrupted by Ctrl-C.

    To review faces in a window instead, run anonymise-drop; 'anonymise install-launcher' adds a launcher to drop photos on.
    """
    if report is not None and dry_run:
        _usage_error("--report writes a file, and --dry-run writes nothing: choose one")
    stored = [place for place in [*paths, output, state] if place is not None and is_url(place)]
    if engine is not Engine.ray:
        if stored:
            _usage_error(f"{stored[0]} is in object storage, which only the Ray engine reads and writes: "
                         f"add --engine ray (it needs {RAY_EXTRA})")
        if ray_address is not None:
            _usage_error("--ray-address goes with --engine ray")
    for path in paths:
        if not is_url(path):
            _must_exist(Path(path))
    if state is not None and not is_url(state) and Path(state).is_file():
        _usage_error(f"--state names a folder, and {state} is a file")
    file_format_name = file_format.value if file_format else None
    settings = CopySettings(
        detector=detector.value,
        redactor=_style(style.value, emoji=emoji.value if emoji else None, emoji_file=emoji_file),
        options=Options(threshold=threshold, mask_scale=mask_scale, shape=shape.value, verify=verify),
        file_format=file_format_name,
        neutral_names=neutral_names,
        keep_audio=keep_audio,
    )
    options = RunOptions(jobs=jobs, overwrite=overwrite, dry_run=dry_run, debug=debug, quiet=quiet,
                         json_summary=json_summary)
    if engine is Engine.ray:
        raise typer.Exit(_run_on_ray(paths, output, settings, options, report, ray_address, state))
    options = dataclasses.replace(options, state=_folder(state))
    try:
        plan = Plan([Path(path) for path in paths], _folder(output), file_format_name, neutral_names)
    except UnsafeOutputError as error:
        _usage_error(str(error))
    _refuse_report_over_input(plan, report)
    _refuse_state_in_output(plan, state)
    raise typer.Exit(run_command(plan, settings, options, report))


def _run_on_ray(
    paths: List[str], output: Optional[str], settings: CopySettings, options: RunOptions,
    report: Optional[Path], address: Optional[str], state: Optional[str],
) -> int:
    """The run on Ray: the same plan checks and console, the photos done by Ray actors."""
    from anonymise.cluster import RayUnavailableError, cluster_plan
    from anonymise.cluster.statestore import run_state

    try:
        plan, run_kind = cluster_plan(paths, output, settings.file_format, settings.neutral_names)
    except UnsafeOutputError as error:
        _usage_error(str(error))
    except RayUnavailableError as error:
        say(f"Error: {printable(error)}")
        return EXIT_USAGE
    except OSError as error:  # a store that cannot be listed: credentials, endpoint, permissions
        say(f"Error: cannot read the object storage: {printable(' '.join(str(error).split()))}")
        return EXIT_FAILED
    _refuse_report_over_input(plan, report)
    _refuse_state_in_output(plan, state)
    with contextlib.ExitStack() as records:
        try:
            options = dataclasses.replace(options, state=records.enter_context(run_state(state, _warning(options))))
        except OSError as error:
            say(f"Error: cannot read the resume records in {printable(state)}: {printable(' '.join(str(error).split()))}")
            return EXIT_FAILED
        return _on_ray(plan, run_kind, paths, output, settings, options, report, address)


def _on_ray(plan, run_kind, paths: List[str], output: Optional[str], settings: CopySettings, options: RunOptions,
            report: Optional[Path], address: Optional[str]) -> int:
    """The run on the Ray at ``address`` (None: a Ray of this computer only)."""
    from anonymise.cluster import RayUnavailableError, ray_session
    from anonymise.cluster.run import ClusterRun, folder_unseen_by_nodes, folders_a_run_needs

    try:
        # A dry run lists the copies from the driver alone: no Ray to start.
        with contextlib.nullcontext() if options.dry_run else ray_session(address):
            # A cluster of other machines may not see this computer's folders.
            remote_folders = address is not None and not options.dry_run and run_kind is ClusterRun
            unseen = remote_folders and folder_unseen_by_nodes(
                folders_a_run_needs([Path(path) for path in paths], _folder(output)))
            if unseen:
                say(f"Error: {printable(unseen)}")
                return EXIT_USAGE
            return run_command(plan, settings, options, report, make_run=run_kind)
    except RayUnavailableError as error:
        say(f"Error: {printable(error)}")
        return EXIT_FAILED


def _folder(output: Optional[str]) -> Optional[Path]:
    return Path(output) if output is not None else None


def _refuse_report_over_input(plan, report: Optional[Path]) -> None:
    if report is not None and plan.is_input(report):
        _usage_error(f"the report would overwrite the input {report}")


def _refuse_state_in_output(plan, state: Optional[str]) -> None:
    refusal = state_refusal(plan, state)
    if refusal is not None:
        _usage_error(refusal)


def _warning(options: RunOptions) -> Callable[[str], None]:
    """Says a warning on standard error, as the run does (not with --quiet)."""
    return lambda message: None if options.quiet else say(f"warning: {printable(message)}")


def _must_exist(path: Path) -> None:
    """A path of this computer that the run reads: as typer would check it."""
    if not path.exists() and not path.is_symlink():
        _usage_error(f"Invalid value for 'PATH...': Path '{path}' does not exist.")
    if not os.access(path, os.R_OK):
        _usage_error(f"Invalid value for 'PATH...': Path '{path}' is not readable.")


# The command line's name for each style option.
_FLAGS = {"emoji": "--emoji", "emoji_file": "--emoji-file"}


def _style(style: str, **options) -> Redactor:
    """The style, with the style's own verdict on its options put in the command line's words."""
    try:
        return build_redactor(style, **options)
    except StyleOptionError as error:
        if error.conflict:
            _usage_error(f"choose {' or '.join(_FLAGS[o] for o in error.options)}, not both")
        taker = REDACTORS[error.takers[0]] if error.takers else None
        flags = " and ".join(_FLAGS[o] for o in (taker.options if taker else error.options))
        _usage_error(f"{flags} go with --style {taker.name}" if taker else f"{flags}: not an option of --style {style}")
    except ValueError as error:  # an emoji picture that cannot be read
        _usage_error(str(error))


def _usage_error(message: str) -> NoReturn:
    say(f"Error: {printable(message)}")
    raise typer.Exit(EXIT_USAGE)


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
        say(f"Error: {printable(error)}")
        raise typer.Exit(EXIT_FAILED) from None
    for path in paths:
        typer.echo(f"{'Removed' if uninstall else 'Created'} {printable(path)}")
    if uninstall and not paths:
        typer.echo("No launcher was installed.")


forget_app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
FORGET = "forget"


@forget_app.command()
def forget(
    outputs: Optional[List[str]] = typer.Argument(
        None, metavar="OUT", show_default=False,
        help="Output folders (or object-storage URLs) of earlier runs (they need not exist any more).",
    ),
    everything: bool = typer.Option(False, "--all", help="Forget every output folder, and the key the records are made with."),
    state: Optional[str] = typer.Option(
        None, "--state", metavar="DIR|URL",
        help="The folder (or object-storage URL) the runs kept their records in, if they were given --state.",
    ),
) -> None:
    """Remove what anonymise keeps on this computer so that a re-run into OUT skips the copies already complete.

    It is kept in the user's state folder, never in OUT, and holds only keyed hashes. After this, a re-run into OUT redoes every copy.
    """
    if not outputs and not everything:
        _usage_error("name the output folders to forget, or --all")
    try:
        with _forget_state(state) as folder:
            if everything:
                forgotten = resume.forget_everything(folder)
                typer.echo("Forgot every output folder." if forgotten else "Nothing was kept.")
                return
            for output in outputs:
                if is_url(output):  # the records of a cluster run, named by its URL
                    from anonymise.cluster.storage import ObjectUrl, StoredCopyFiles

                    forgotten = resume.forget(ObjectUrl(output), folder, StoredCopyFiles(storage=None))
                else:
                    forgotten = resume.forget(Path(output), folder)
                typer.echo(f"Forgot {printable(output)}: a re-run redoes every copy in it." if forgotten
                           else f"Nothing was kept for {printable(output)}.")
    except (resume.ResumeStateError, OSError) as error:
        say(f"Error: {printable(error)}")
        raise typer.Exit(EXIT_FAILED) from None


def _forget_state(state: Optional[str]):
    """The folder whose records ``forget`` removes; for a URL, a mirror whose removals go
    back to the store (which needs the Ray extra, as the runs that kept them did)."""
    if state is None or not is_url(state):
        return contextlib.nullcontext(_folder(state))
    from anonymise.cluster.session import RayUnavailableError, require_ray
    from anonymise.cluster.statestore import state_in_store

    try:
        require_ray()
    except RayUnavailableError as error:
        say(f"Error: {printable(error)}")
        raise typer.Exit(EXIT_USAGE) from None

    def fail(message: str) -> None:
        raise OSError(message)

    return state_in_store(state, warn=fail)


check_app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
CHECK = "check"


@check_app.command()
def check(
    paths: List[Path] = typer.Argument(
        ..., exists=True, metavar="PATH", show_default=False, help="Photos or folders of photos (searched recursively).",
    ),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON document of every finding instead of lines."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the files that are not clean."),
) -> None:
    """Say what in each photo still identifies someone, before it is published: metadata (EXIF, GPS, XMP, IPTC, comments, embedded images, hidden data, C2PA) and faces still visible. Any photo, ours or not.

    Exit status: 0 nothing identifying was found, 1 something was (or a file could not be checked), 2 the command line was wrong.
    """
    auditor: Optional[Auditor] = None
    audits, clean, skipped = [], 0, 0
    for path, problem in files_under(paths):
        if problem is not None:
            audit = Audit(path, error=problem)
        else:
            auditor = auditor or Auditor()
            audit = auditor.audit(path)
        if audit.skipped is not None:
            skipped += 1
            if not quiet:
                say(f"skipped: {printable(path)}: {printable(audit.skipped)}")
            continue
        clean += audit.clean
        audits.append(audit)
        if not json_output and not (quiet and audit.clean):
            typer.echo(f"{printable(path)}: {printable(audit.account())}")
    if json_output:
        typer.echo(json.dumps({"clean": clean == len(audits), "files": [audit.to_json() for audit in audits]}))
    if not quiet:
        say(f"{len(audits)} photo{'s' * (len(audits) != 1)} checked: {clean} clean, "
            f"{len(audits) - clean} with something that identifies or that could not be checked"
            + (f"; {skipped} other files skipped" if skipped else "") + ".")
    raise typer.Exit(EXIT_OK if clean == len(audits) else EXIT_FAILED)


# The words that choose a command of their own instead of naming photos.
COMMANDS = {CHECK: check_app, FORGET: forget_app, INSTALL_LAUNCHER: launcher_app}


def main() -> None:
    command = COMMANDS.get(sys.argv[1]) if len(sys.argv) > 1 else None
    if command is not None:
        command(args=sys.argv[2:], prog_name=f"anonymise {sys.argv[1]}")
    else:
        app(prog_name="anonymise")
