"""Which files a run reads and where each anonymised copy goes.

A plan is checked before anything is written, then read lazily: the files of a folder are
never all held in memory, however many there are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from anonymise.errors import AnonymiseError
from anonymise.media import copy_extension, copy_name, is_media, media_kind, neutral_name

OUTPUT_SUFFIX = "-anonymised"


class UnsafeOutputError(AnonymiseError):
    """The planned output would land inside or over the inputs."""


@dataclass(frozen=True)
class Job:
    source: Path
    destination: Path
    # The output folder this copy mirrors its input under (one per input, often shared).
    root: Path
    # Set when the job must not run (e.g. two inputs would write the same output).
    conflict: Optional[str] = None


def default_output_root(input_path: Path) -> Path:
    """``photos/`` -> ``photos-anonymised/``; a file goes to its folder's sibling likewise."""
    folder = input_path.resolve()
    if not folder.is_dir():
        folder = folder.parent
    return folder.parent / f"{folder.name or 'photos'}{OUTPUT_SUFFIX}"


@dataclass(frozen=True)
class _Input:
    path: Path
    root: Path
    resolved_root: Path
    is_folder: bool

    def entries(self) -> Iterator[Tuple[Path, Optional[str]]]:
        """Every file under this input, with a reason when it cannot even be listed."""
        if not self.is_folder:
            yield self.path, None
            return
        unlistable: List[OSError] = []
        for folder, subfolders, files in os.walk(self.path, onerror=unlistable.append):
            while unlistable:
                error = unlistable.pop(0)
                yield Path(error.filename), f"cannot open this folder: {error.strerror or error}"
            subfolders.sort()
            # os.walk does not follow links to folders: list them, so each is accounted for.
            linked_folders = [name for name in subfolders if os.path.islink(os.path.join(folder, name))]
            for name in sorted(files + linked_folders):
                yield Path(folder) / name, None
        for error in unlistable:
            yield Path(error.filename), f"cannot open this folder: {error.strerror or error}"

    def folder_read_for(self, relative: Path) -> Optional[Path]:
        """The folder of this input whose photos are copied to ``root / relative``, if
        ``entries`` reads it (links to folders are not followed)."""
        if not self.is_folder:
            return None
        folders = [self.path / parent for parent in relative.parents][:-1]
        if any(folder.is_symlink() or not folder.is_dir() for folder in folders):
            return None
        return self.path / relative.parent


class Plan:
    """One job per file under the inputs (folders recursively), mirroring each tree.

    With ``output``, a single folder's tree goes straight under it, several folders each
    under their own name, and files directly in it; without, each input goes to
    ``default_output_root``. Each photo keeps its name, with the extension of
    ``requested_format`` if that changes its format (a video's copy is always ``.mp4``);
    with ``neutral_names`` photos are named ``photo-0001.jpg``, ``photo-0002.png``, ... and
    videos ``video-0001.mp4``, ... in the order they are read, so no name tells when or
    with what a photo or video was taken. The same inputs always give the same names,
    so a re-run finds the copies of an earlier one.

    Raises ``UnsafeOutputError`` when any copy would be written inside an input folder or
    over an input file: nothing is written then. Iterate it for the jobs, as often as
    needed; ``total`` is how many there were when it was checked.
    """

    def __init__(
        self,
        inputs: Sequence[Path],
        output: Optional[Path] = None,
        requested_format: Optional[str] = None,
        neutral_names: bool = False,
    ) -> None:
        if output is not None and output.exists() and not output.is_dir():
            raise UnsafeOutputError(f"output {output} exists and is not a folder")
        self.requested_format = requested_format
        self.neutral_names = neutral_names
        several_folders = sum(1 for path in inputs if path.is_dir()) > 1
        self._inputs: List[_Input] = []
        for input_path in inputs:
            if output is None:
                root = default_output_root(input_path)
            elif input_path.is_dir() and several_folders:
                root = output / input_path.resolve().name
            else:
                root = output
            _refuse_root_inside_inputs(root, inputs)
            self._inputs.append(_Input(input_path, root, root.resolve(), input_path.is_dir()))
        self._input_files = {i.path.resolve() for i in self._inputs if not i.is_folder}
        self._input_folders = [i.path.resolve() for i in self._inputs if i.is_folder]
        # One folder's copy names at a time, for finding which earlier input writes a copy,
        # and, for naming, the names two photos of the folder being read would share.
        self._names_listed: Tuple[Optional[Path], Dict[str, Path]] = (None, {})
        self._shared_listed: Tuple[Optional[Path], Set[str]] = (None, set())
        self._number_width = 4
        if neutral_names:  # wide enough for every photo's and video's number
            files = sum(is_media(source) for current in self._inputs for source, _ in current.entries())
            self._number_width = max(4, len(str(files)))
        # A first pass checks every destination before anything is written, and counts.
        self.total = sum(1 for _ in self._jobs(refuse_unsafe=True))

    def is_input(self, path: Path) -> bool:
        """Whether ``path`` is a file this plan reads (a report must not replace one)."""
        key = path.resolve()
        return key in self._input_files or (
            key.exists() and any(folder in key.parents for folder in self._input_folders)
        )

    def holds(self, path: Path) -> bool:
        """Whether ``path`` lies in one of the output folders (what gets published)."""
        key = path.resolve()
        return any(key == i.resolved_root or i.resolved_root in key.parents for i in self._inputs)

    def __iter__(self) -> Iterator[Job]:
        # Files may have changed since the check: an unsafe job now fails on its own.
        return self._jobs(refuse_unsafe=False)

    def _jobs(self, refuse_unsafe: bool) -> Iterator[Job]:
        numbers: Dict[str, int] = {}  # photos and videos are numbered apart
        for index, current in enumerate(self._inputs):
            # The photos of the folder being read, by copy name: two of them (a.heic and
            # a.jpg, both written as a.jpg) may share one.
            folder, named_in_folder = None, {}
            for source, problem in current.entries():
                relative = source.relative_to(current.path) if current.is_folder else Path(source.name)
                is_photo = is_media(source)
                # Not a photo or video: never written, the job reports the file as skipped.
                name = self._copy_name(source, numbers) if is_photo else source.name
                destination = current.root / relative.parent / name
                try:
                    key = destination.resolve()
                except (OSError, RuntimeError) as error:  # a link loop in the output folder
                    yield Job(source, destination, current.root, f"cannot write to {destination}: {error}")
                    continue
                if self._writes_over_inputs(key):
                    if refuse_unsafe:
                        raise UnsafeOutputError(
                            f"refusing to write over the input {source}: choose another output folder with -o"
                        )
                    problem = f"refusing to write over the input {source}"
                if is_photo and not self.neutral_names:  # neutral names are all different
                    if source.parent != folder:
                        folder, named_in_folder = source.parent, {}
                    writer = named_in_folder.setdefault(name, source)
                    if writer == source:
                        writer = self._earlier_writer(index, key)
                    if writer is not None:
                        problem = f"another input ({writer}) is written to the same output {destination}"
                yield Job(source, destination, current.root, problem)

    def _copy_name(self, photo: Path, numbers: Dict[str, int]) -> str:
        if self.neutral_names:
            kind = media_kind(photo)
            numbers[kind] = number = numbers.get(kind, 0) + 1
            return neutral_name(photo, number, self._number_width, self.requested_format)
        return self._own_copy_name(photo)

    def _own_copy_name(self, photo: Path) -> str:
        """The photo's copy name; where two photos of its folder would get the same one
        (``a.heic`` and ``a.jpg``), one whose name changes keeps its own name before the new
        extension (``a.heic.jpg``). From the folder's contents alone: the same every run."""
        return copy_name_among(photo, self._names_shared_in(photo.parent), self.requested_format)

    def _names_shared_in(self, folder: Path) -> Set[str]:
        """The default copy names that more than one photo in ``folder`` gets."""
        if self._shared_listed[0] != folder:
            self._shared_listed = (folder, shared_copy_names(_photo_names_in(folder), self.requested_format))
        return self._shared_listed[1]

    def _writes_over_inputs(self, key: Path) -> bool:
        return key in self._input_files or any(folder in key.parents for folder in self._input_folders)

    def _earlier_writer(self, index: int, key: Path) -> Optional[Path]:
        """The source of an earlier input whose copy is also ``key``: it is written first.

        Worked out from the file system rather than remembered, so memory stays bounded.
        """
        for earlier in self._inputs[:index]:
            try:
                relative = key.relative_to(earlier.resolved_root)
            except ValueError:
                continue
            if not earlier.is_folder:
                writer = earlier.path if relative == Path(self._own_copy_name(earlier.path)) else None
            else:
                writer = self._copy_names_in(earlier.folder_read_for(relative)).get(relative.name)
            if writer is not None:
                return writer
        return None

    def _copy_names_in(self, folder: Optional[Path]) -> Dict[str, Path]:
        """The copy name of each photo ``entries`` reads in ``folder`` -> the first photo
        with that name (a later one with the same name is a conflict of its own input)."""
        if folder is None:
            return {}
        if self._names_listed[0] != folder:
            names: Dict[str, Path] = {}
            for name in _photo_names_in(folder):
                names.setdefault(self._own_copy_name(folder / name), folder / name)
            self._names_listed = (folder, names)
        return self._names_listed[1]


def copy_name_among(photo: Path, shared: Set[str], requested_format: Optional[str]) -> str:
    """The copy name of ``photo``, given the copy names ``shared`` by several photos of its
    folder: one whose name changes keeps its own name before the new extension."""
    name = copy_name(photo, requested_format)
    if name != photo.name and name in shared:
        return photo.name + copy_extension(photo, requested_format)
    return name


def shared_copy_names(photo_names: Iterable[str], requested_format: Optional[str]) -> Set[str]:
    """The default copy names that more than one of the photos of one folder gets."""
    seen: Set[str] = set()
    shared: Set[str] = set()
    for name in photo_names:
        name_of_copy = copy_name(Path(name), requested_format)
        (shared if name_of_copy in seen else seen).add(name_of_copy)
    return shared


def _photo_names_in(folder: Path) -> List[str]:
    """The names of the photos ``entries`` reads in ``folder`` (not in its subfolders), sorted."""
    try:
        with os.scandir(folder) as listing:
            found = sorted(e.name for e in listing if e.is_symlink() or not e.is_dir())
    except OSError:
        return []
    return [name for name in found if is_media(Path(name))]


def files_under(inputs: Sequence[Path]) -> Iterator[Tuple[Path, Optional[str]]]:
    """Every file a run over ``inputs`` reads, as ``Plan`` reads them (folders recursively,
    links to folders listed, not followed), with a reason when a folder cannot be listed."""
    for input_path in inputs:
        yield from _Input(input_path, input_path, input_path, input_path.is_dir()).entries()


def plan_jobs(
    inputs: Sequence[Path],
    output: Optional[Path] = None,
    requested_format: Optional[str] = None,
    neutral_names: bool = False,
) -> List[Job]:
    """All the jobs of ``Plan`` at once, for callers that show every file."""
    return list(Plan(inputs, output, requested_format, neutral_names))


def _refuse_root_inside_inputs(root: Path, inputs: Sequence[Path]) -> None:
    resolved_root = root.resolve()
    for input_path in inputs:
        folder = input_path.resolve()
        if input_path.is_dir() and (resolved_root == folder or folder in resolved_root.parents):
            raise UnsafeOutputError(
                f"refusing to write into the input folder {input_path}: choose an output "
                "folder outside it with -o"
            )
