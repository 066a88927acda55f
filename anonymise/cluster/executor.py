"""Where the jobs of a cluster run are done: a pool of ``BatchAnonymiser`` actors on Ray.

``RayActors.outcomes`` takes the run's jobs as the local executors do, each paired with its
outcome when that is known without a worker, and gives back every outcome: the known ones
at once, the others as their batches finish (not in the plan's order). The jobs go to Ray
Data a dataset at a time (``JOBS_PER_DATASET``), so the driver never holds the whole plan,
through ``Dataset.map_batches(BatchAnonymiser, compute=ActorPoolStrategy(size=actors))``.
"""

from __future__ import annotations

import math
import pickle
from typing import Iterable, Iterator, List, Optional, Tuple

from anonymise.cluster.actor import JOB_COLUMNS, BatchAnonymiser, Ledger
from anonymise.run.outcome import Outcome
from anonymise.run.plan import Job
from anonymise.run.pool import Stopping, Work
from anonymise.run.settings import CopySettings

# Photos per batch: few, so a batch lost with its actor costs little to redo, and a stop
# is quick; a photo takes long enough (about a second) that Ray's cost per batch is lost in it.
PHOTOS_PER_BATCH = 4
# Jobs handed to Ray at once: enough to keep a large cluster busy between the pauses while
# the next dataset's actors load their models, few enough to keep the driver small.
JOBS_PER_DATASET = 20_000


class RayActors:
    """Jobs spread over ``actors`` actors of ``cpus_per_actor`` cores each (None: as many
    actors as the cluster has cores for, no more than there are jobs)."""

    def __init__(
        self,
        settings: CopySettings,
        debug: bool,
        stopping: Stopping,
        actors: Optional[int] = None,
        cpus_per_actor: float = 1,
        actor_class: type = BatchAnonymiser,
        actor_arguments: Optional[dict] = None,
    ) -> None:
        self.settings, self.debug, self.stopping = settings, debug, stopping
        self.actors, self.cpus_per_actor = actors, cpus_per_actor
        self.actor_class, self.actor_arguments = actor_class, actor_arguments or {}
        self.ledger = None

    def outcomes(self, work: Iterable[Work]) -> Iterator[Tuple[Job, Outcome]]:
        import ray

        self.ledger = ray.remote(Ledger).options(num_cpus=0).remote()
        try:
            pending: List[Job] = []
            for job, known in work:
                if self.stopping.now:
                    return
                if known is not None:
                    yield job, known
                    continue
                pending.append(job)
                if len(pending) == JOBS_PER_DATASET:
                    yield from self._anonymised(pending)
                    pending = []
            if pending and not self.stopping.now:
                yield from self._anonymised(pending)
        finally:
            ray.kill(self.ledger)
            self.ledger = None

    def _anonymised(self, jobs: List[Job]) -> Iterator[Tuple[Job, Outcome]]:
        import ray

        rows = [dict(zip(JOB_COLUMNS, (index, str(job.source), str(job.destination), str(job.root))))
                for index, job in enumerate(jobs)]
        actors = min(self.actors or self._actors_the_cluster_holds(), len(jobs))
        dataset = ray.data.from_items(rows, override_num_blocks=math.ceil(len(rows) / PHOTOS_PER_BATCH))
        anonymised = dataset.map_batches(
            self.actor_class,
            fn_constructor_kwargs={
                "settings": self.settings, "debug": self.debug, "ledger": self.ledger,
                "threads": max(1, int(self.cpus_per_actor)), **self.actor_arguments,
            },
            batch_size=PHOTOS_PER_BATCH,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=self.cpus_per_actor,
        )
        told_to_stop = False
        for batch in anonymised.iter_batches(batch_size=None, batch_format="numpy"):
            for index, outcome in zip(batch["index"], batch["outcome"]):
                yield jobs[int(index)], pickle.loads(outcome)
            if self.stopping.now and not told_to_stop:
                self.ledger.stop.remote()  # the photos in progress finish; the rest are dropped
                told_to_stop = True

    def _actors_the_cluster_holds(self) -> int:
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1) // self.cpus_per_actor))
