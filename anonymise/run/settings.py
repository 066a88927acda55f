"""The two values a run is made of: what each copy is, and how the run goes.

``CopySettings`` is everything that makes a copy what it is — a copy made with other
settings is redone on a re-run — and ``RunOptions`` how the run goes, which changes no
copy. Each setting has this one owner; the command line, the window and the cluster
engine fill them in, and everything else reads them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Optional

from anonymise import __version__
from anonymise.detectors import DEFAULT_DETECTOR
from anonymise.pipeline import Options
from anonymise.redactors import Redactor, build_redactor
from anonymise.video import VideoOptions


@dataclass(frozen=True)
class CopySettings:
    """What a copy is: how faces are found and covered, and how the copy is written."""

    detector: str = DEFAULT_DETECTOR
    # The style, built (and so checked) once; workers each get their own copy of it.
    redactor: Redactor = field(default_factory=build_redactor)
    options: Options = field(default_factory=Options)
    # --format and --neutral-names: they name the copies (see plan.Plan).
    file_format: Optional[str] = None
    neutral_names: bool = False
    # --keep-audio: a video's copy keeps its sound (voices identify people: off by default).
    keep_audio: bool = False

    @property
    def video(self) -> VideoOptions:
        return VideoOptions(keep_audio=self.keep_audio)

    @cached_property
    def key(self) -> str:
        """The settings as text, for the fingerprints of the copies made with them.

        The style counts by what it draws (an emoji picture by its contents, as read when
        the run began), the rest by value, and the version of anonymise too.
        """
        settings = {
            "version": __version__,
            "detector": self.detector,
            "style": self.redactor.key(),
            "options": self.options.__dict__,
            "file_format": self.file_format,
            "neutral_names": self.neutral_names,
            "keep_audio": self.keep_audio,
        }
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class RunOptions:
    """How a run goes: none of these changes a copy."""

    # Worker processes; None: one per CPU, never more than there are photos.
    jobs: Optional[int] = None
    # Redo every copy, even those an earlier run completed.
    overwrite: bool = False
    # Say what would be written; write nothing.
    dry_run: bool = False
    # Keep the traceback of an unexpected error (it names files and folders).
    debug: bool = False
    # What the console shows: failures only, and a JSON summary on standard output.
    quiet: bool = False
    json_summary: bool = False
    # Where what a re-run needs is kept (--state); None: the user's state folder.
    state: Optional[Path] = None
