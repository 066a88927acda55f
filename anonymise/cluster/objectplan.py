"""Which objects a run reads and where each copy goes, when the photos are in object storage.

The same plan as ``run.plan.Plan`` for local folders, over URLs: each input's tree mirrored
under the output (a single folder's straight under it, several each under their own name,
objects directly in it), the same copy names (``a.heic`` -> ``a.jpg``, ``a.heic.jpg`` beside
an ``a.jpg``, ``--neutral-names`` numbered in the order the objects are read), refused
before anything is written when a copy would land inside an input folder or over an input.
Read lazily, a folder of the store at a time.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from anonymise.cluster.storage import ObjectUrl, Storage, is_url
from anonymise.media import is_media, media_kind, neutral_name
from anonymise.run.plan import Job, UnsafeOutputError, copy_name_among, shared_copy_names


class ObjectPlan:
    """One job per object under the input URLs, mirrored under ``output`` (see the module
    notes). Raises ``UnsafeOutputError`` when an input is missing or a copy would be
    written inside an input folder or over an input: nothing is written then."""

    def __init__(
        self,
        storage: Storage,
        inputs: Sequence[str],
        output: str,
        requested_format: Optional[str] = None,
        neutral_names: bool = False,
    ) -> None:
        self.storage = storage
        self.requested_format = requested_format
        self.neutral_names = neutral_names
        output = ObjectUrl(output)
        kinds = []
        for url in inputs:
            kind = storage.kind(url)
            if kind == "missing":
                raise UnsafeOutputError(f"{url} does not exist (no object or prefix of that name)")
            kinds.append(kind)
        several_folders = kinds.count("folder") > 1
        self._inputs: List[Tuple[ObjectUrl, ObjectUrl, bool]] = []
        for url, kind in zip(map(ObjectUrl, inputs), kinds):
            is_folder = kind == "folder"
            root = output / url.name if is_folder and several_folders else output
            for other, other_kind in zip(map(ObjectUrl, inputs), kinds):
                if other_kind == "folder" and root.inside(other):
                    raise UnsafeOutputError(f"refusing to write into the input folder {other}: choose an output "
                                            "folder outside it with -o")
            self._inputs.append((url, root, is_folder))
        self._input_files: Set[str] = {url for url, _, is_folder in self._inputs if not is_folder}
        self._number_width = 4
        if neutral_names:  # wide enough for every photo's and video's number
            files = sum(is_media(PurePosixPath(name)) for _, names, _ in self._listings() for name in names)
            self._number_width = max(4, len(str(files)))
        self.total = sum(1 for _ in self._jobs(refuse_unsafe=True))

    def is_input(self, path) -> bool:
        """A report on this computer is never one of the objects read."""
        return False

    def holds(self, place) -> bool:
        """Whether ``place``, a URL, lies under an output root or an input (a report or
        records kept there would be published, or read as photos); a path of this
        computer never does."""
        if not isinstance(place, str) or not is_url(place):
            return False
        url = ObjectUrl(place)
        return any(url.inside(root) or url.inside(source) for source, root, _ in self._inputs)

    def __iter__(self) -> Iterator[Job]:
        return self._jobs(refuse_unsafe=False)

    def _listings(self) -> Iterator[Tuple[Tuple[ObjectUrl, ObjectUrl, PurePosixPath], List[str], List[str]]]:
        """Each folder read, as (input, output root, path under both), with the names of the
        objects read in it and of all the objects beside them (which decide copy names)."""
        for url, root, is_folder in self._inputs:
            if not is_folder:
                yield (url.parent, root, PurePosixPath()), [url.name], self.storage.listing(url.parent)[0]
                continue
            for relative, names in self.storage.walk(url):
                yield (url, root, relative), names, names

    def _jobs(self, refuse_unsafe: bool) -> Iterator[Job]:
        numbers: Dict[str, int] = {}  # photos and videos are numbered apart
        written_by_file_inputs: Set[str] = set()
        for (folder, root, relative), names, beside in self._listings():
            photo_names = [name for name in beside if is_media(PurePosixPath(name))]
            shared = set() if self.neutral_names else shared_copy_names(photo_names, self.requested_format)
            for name in names:
                source = _joined(folder, relative, name)
                problem = None
                if is_media(PurePosixPath(name)):
                    copy_name = self._copy_name(PurePosixPath(name), shared, numbers)
                else:
                    copy_name = name  # never written: the job reports it skipped
                destination = _joined(root, relative, copy_name)
                if destination in self._input_files or any(
                        destination.inside(url) for url, _, is_folder in self._inputs if is_folder):
                    if refuse_unsafe:
                        raise UnsafeOutputError(
                            f"refusing to write over the input {source}: choose another output folder with -o")
                    problem = f"refusing to write over the input {source}"
                if source in self._input_files:
                    if destination in written_by_file_inputs:
                        problem = f"another input is written to the same output {destination}"
                    written_by_file_inputs.add(destination)
                yield Job(source, destination, root, problem)

    def _copy_name(self, photo: PurePosixPath, shared: Set[str], numbers: Dict[str, int]) -> str:
        if self.neutral_names:
            kind = media_kind(photo)
            numbers[kind] = number = numbers.get(kind, 0) + 1
            return neutral_name(photo, number, self._number_width, self.requested_format)
        return copy_name_among(photo, shared, self.requested_format)


def _joined(folder: ObjectUrl, relative: PurePosixPath, name: str) -> ObjectUrl:
    return ObjectUrl("/".join([folder, *relative.parts, name]))
