"""A run on a Ray cluster: the local run's plan, checks, resume records and counts, with
the photos anonymised by actors on the cluster (``executor``)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any, Iterator, List, Optional, Sequence

from anonymise.cluster.actor import StoredBatchAnonymiser
from anonymise.cluster.executor import RayActors
from anonymise.cluster.storage import StoredCopyFiles
from anonymise.media import refuse_what_is_not_a_media_type
from anonymise.run.local import LocalRun
from anonymise.run.outcome import Outcome
from anonymise.tempfiles import remove_stale_temporaries


class ClusterRun(LocalRun):
    """A run whose photos are anonymised on the Ray that this process has started or joined.

    The driver (this process) reads the plan, settles what needs no worker (refused, not a
    photo, already complete), keeps the resume records and writes the report; ``--jobs``
    is the number of actors (default: one per core of the cluster).
    """

    def __init__(self, *run: Any, cpus_per_actor: float = 1, **keywords: Any) -> None:
        """``LocalRun``'s arguments, and the cores each actor asks Ray for."""
        super().__init__(*run, **keywords)
        self.cpus_per_actor = cpus_per_actor

    def _outcomes(self) -> Iterator[Outcome]:
        yield from super()._outcomes()
        # An actor killed mid-photo (a lost node, the out-of-memory killer) had no chance
        # to remove its temporary file; no actor writes any more: remove them now, so the
        # output holds only whole copies without waiting for the next run.
        for folder in self._cleaned_folders:
            remove_stale_temporaries(folder)

    def _executor(self) -> RayActors:
        return RayActors(self.settings, self.options.debug, self.stopping, self.options.jobs,
                         self.cpus_per_actor, **self._actor_setup())

    def _actor_setup(self) -> dict:
        return {}


class ObjectStoreRun(ClusterRun):
    """A cluster run over photos in object storage (an ``ObjectPlan``): the same checks,
    records and counts, with the objects read and written by the actors themselves."""

    @property
    def copy_files(self) -> StoredCopyFiles:
        return StoredCopyFiles(self.plan.storage)

    def _actor_setup(self) -> dict:
        return {"actor_class": StoredBatchAnonymiser}

    @staticmethod
    def _refuse_what_is_not_media(source) -> None:
        refuse_what_is_not_a_media_type(PurePosixPath(source.name))

    def _clean_before_writing_into(self, folder) -> None:
        """Nothing to clean: an object appears only whole, and never as a temporary one."""


def folder_unseen_by_nodes(folders: Sequence[Path]) -> Optional[str]:
    """Why the cluster's nodes cannot run over ``folders``: one-line, naming the first
    folder some node does not see; None when every node with cores sees them all."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=0)
    def seen(paths: List[str]) -> List[bool]:
        return [os.path.isdir(path) for path in paths]

    paths = [str(folder.resolve()) for folder in folders]
    for node in ray.nodes():
        if not node.get("Alive") or not node.get("Resources", {}).get("CPU"):
            continue
        on_node = seen.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))
        for path, visible in zip(paths, ray.get(on_node.remote(paths))):
            if not visible:
                return (f"the cluster's node {node.get('NodeManagerAddress', node['NodeID'])} cannot see {path}: "
                        "use a folder every node shares, or object storage (s3://…)")
    return None


def folders_a_run_needs(sources: Sequence[Path], output: Optional[Path]) -> List[Path]:
    """The folders every node must see to run over ``sources`` into ``output``: each input
    folder (a photo's own folder), and the output folder or, before it exists, its parent."""
    folders = [source if source.is_dir() else source.parent for source in sources]
    if output is not None:
        folders.append(output if output.exists() else output.parent)
    return folders
