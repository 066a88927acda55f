"""``anonymise-drop [PATH...]``: open the review window, with these photos and videos if given.

Operating systems start it with the dropped files as arguments (a launcher's ``%F``,
Windows' Send To, a macOS droplet), so every path is taken as given: one that is missing
or neither a photo nor a video shows up in the window instead of stopping it.
"""

from __future__ import annotations

import tkinter as tk
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

import typer

from anonymise import __version__
from anonymise.desktop.background import BackgroundWork, review_models
from anonymise.desktop.review import Review
from anonymise.desktop.window import ReviewWindow
from anonymise.models import Models


def open_window(
    paths: Sequence[Path],
    output: Optional[Path] = None,
    models_factory: Callable[[], Models] = review_models,
) -> ReviewWindow:
    """Create the window (not yet running its event loop) with ``paths`` being reviewed."""
    root, accepts_drops = _new_root()
    window = ReviewWindow(root, Review(output=output), BackgroundWork(models_factory), accepts_drops)
    root.update_idletasks()
    if paths:
        window.add_paths(list(paths))
    else:
        window.refresh()
    return window


def _new_root() -> Tuple[tk.Tk, bool]:
    """A window that accepts dropped files if tkdnd loads here, a plain one otherwise."""
    try:
        from tkinterdnd2 import TkinterDnD

        return TkinterDnD.Tk(), True
    except (ImportError, RuntimeError, tk.TclError):
        return tk.Tk(), False


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"anonymise-drop {__version__}")
        raise typer.Exit()


# Local variables in a traceback could include paths and pixels: never show them.
app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


@app.command()
def anonymise_drop(
    paths: Optional[List[Path]] = typer.Argument(
        None, metavar="PATH", show_default=False,
        help="Photos, videos or folders of them to open (folders are searched recursively).",
    ),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o",
        help="Folder for the anonymised copies. Default: a folder next to each input named "
        "after it with '-anonymised', as on the command line.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Open a window to review the faces found in photos, fix them, and save clean copies
    of them and of videos (every face in every frame covered)."""
    window = open_window(paths or [], output)
    window.root.mainloop()


def main() -> None:
    app(prog_name="anonymise-drop")
