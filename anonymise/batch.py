"""Which files a run reads and where each anonymised copy goes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from anonymise.errors import AnonymiseError
from anonymise.imagefile import is_supported, output_format, output_name

OUTPUT_SUFFIX = "-anonymised"


class UnsafeOutputError(AnonymiseError):
    """The planned output would land inside or over the inputs."""


@dataclass(frozen=True)
class Job:
    source: Path
    destination: Path
    # Set when the job must not run (e.g. two inputs would write the same output).
    conflict: Optional[str] = None


def default_output_root(input_path: Path) -> Path:
    """``photos/`` -> ``photos-anonymised/``; a file goes to its folder's sibling likewise."""
    folder = input_path.resolve()
    if not folder.is_dir():
        folder = folder.parent
    return folder.parent / f"{folder.name or 'photos'}{OUTPUT_SUFFIX}"


def plan_jobs(
    inputs: Sequence[Path],
    output: Optional[Path] = None,
    requested_format: Optional[str] = None,
    neutral_names: bool = False,
) -> List[Job]:
    """One job per file under ``inputs`` (folders recursively), mirroring each tree.

    With ``output``, a single folder's tree goes straight under it, several folders each
    under their own name, and files directly in it; without, each input goes to
    ``default_output_root``. Each photo keeps its name, with the extension of
    ``requested_format`` if that changes its format; with ``neutral_names`` photos are named
    ``photo-0001.jpg``, ``photo-0002.png``, ... in the order they are read, so no name
    tells when or with what a photo was taken. Raises ``UnsafeOutputError`` when any copy
    would be written inside an input folder or over an input file: nothing is written then.
    """
    if output is not None and output.exists() and not output.is_dir():
        raise UnsafeOutputError(f"output {output} exists and is not a folder")
    several_folders = sum(1 for path in inputs if path.is_dir()) > 1
    planned = []
    for input_path in inputs:
        if output is None:
            root = default_output_root(input_path)
        elif input_path.is_dir() and several_folders:
            root = output / input_path.resolve().name
        else:
            root = output
        _refuse_root_inside_inputs(root, inputs)
        for source in _files_under(input_path):
            relative = source.relative_to(input_path) if input_path.is_dir() else Path(source.name)
            planned.append((source, root / relative.parent))
    number_width = max(4, len(str(sum(is_supported(source) for source, _ in planned))))
    jobs: List[Job] = []
    writers: Dict[Path, Path] = {}
    photos = 0
    for source, folder in planned:
        if not is_supported(source):
            name = source.name  # never written: the job reports the file as skipped
        elif neutral_names:
            photos += 1
            name = f"photo-{photos:0{number_width}d}{output_format(source, requested_format).extension}"
        else:
            name = output_name(source, requested_format)
        destination = folder / name
        key = destination.resolve()
        if key in writers:
            conflict = f"another input ({writers[key]}) is written to the same output {destination}"
            jobs.append(Job(source, destination, conflict))
        else:
            writers[key] = source
            jobs.append(Job(source, destination))
    _refuse_writes_over_inputs(writers, inputs)
    return jobs


def _files_under(path: Path) -> List[Path]:
    if not path.is_dir():
        return [path]
    found = []
    for folder, subfolders, files in os.walk(path):
        subfolders.sort()
        found.extend(Path(folder) / name for name in sorted(files))
    return found


def _refuse_root_inside_inputs(root: Path, inputs: Sequence[Path]) -> None:
    resolved_root = root.resolve()
    for input_path in inputs:
        folder = input_path.resolve()
        if input_path.is_dir() and (resolved_root == folder or folder in resolved_root.parents):
            raise UnsafeOutputError(
                f"refusing to write into the input folder {input_path}: choose an output "
                "folder outside it with -o"
            )


def _refuse_writes_over_inputs(writers: Dict[Path, Path], inputs: Sequence[Path]) -> None:
    input_files = {p.resolve() for p in inputs if not p.is_dir()}
    input_folders = [p.resolve() for p in inputs if p.is_dir()]
    for destination, source in writers.items():
        if destination in input_files or any(f in destination.parents for f in input_folders):
            raise UnsafeOutputError(
                f"refusing to write over the input {source}: choose another output folder with -o"
            )
