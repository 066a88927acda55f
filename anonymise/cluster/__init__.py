"""Anonymising on a Ray cluster: the same run, with the photos spread over Ray Data actors.

``pip install 'anonymise[ray]'``, then from the command line
``anonymise SOURCE... -o DEST --engine ray [--ray-address auto|HOST:PORT]``, or from Python::

    from anonymise.cluster import anonymise_dataset
    totals = anonymise_dataset(["s3://archive/2019"], "s3://published/2019", report=Path("report.json"))
    print(totals.written, totals.failed)

SOURCE and DEST are folders (every node must see them: a local Ray, or a shared file
system) or object-storage URLs (``s3://bucket/prefix``; see ``storage``). The run is the
local run's — the same plan, checks, copy names, resume records, report and exit codes —
with the photos anonymised by actors that load the models once (``actor``), through
``Dataset.map_batches`` (``executor``). Without an address a Ray of this machine only is
started and removed again (``session``, which also says what is done so that Ray sends
and keeps nothing beyond the run's own traffic).

- ``session``: starting or joining Ray, quietly and privately;
- ``actor``: ``BatchAnonymiser``, the actor, and ``Ledger``, which keeps a photo that kills
  its actor from failing the run;
- ``executor``: ``RayActors``, the jobs of a run spread over a pool of actors;
- ``run``: ``ClusterRun`` and ``ObjectStoreRun``, the local run with that executor;
- ``storage`` and ``objectplan``: photos in object storage, and the plan over them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Optional, Sequence, Tuple, Type, Union

from anonymise.cluster.session import RAY_EXTRA, RayUnavailableError, ray_session, require_ray
from anonymise.cluster.storage import is_url
from anonymise.run.outcome import ReportEntry, Totals
from anonymise.run.plan import Plan, UnsafeOutputError
from anonymise.run.report import ReportWriter
from anonymise.run.settings import CopySettings, RunOptions

__all__ = ["RAY_EXTRA", "RayUnavailableError", "anonymise_dataset", "cluster_plan", "ray_session"]


def cluster_plan(
    sources: Sequence[Union[str, Path]],
    output: Optional[Union[str, Path]],
    requested_format: Optional[str] = None,
    neutral_names: bool = False,
) -> Tuple[object, Type]:
    """The plan of a cluster run over ``sources``, and the kind of run that carries it out.

    Raises ``RayUnavailableError`` without Ray, ``UnsafeOutputError`` as ``Plan`` does (and
    for folders and object storage mixed in one run), ``OSError`` when a store cannot be listed.
    """
    require_ray()  # the object stores are read through pyarrow, which comes with it
    from anonymise.cluster.objectplan import ObjectPlan
    from anonymise.cluster.run import ClusterRun, ObjectStoreRun
    from anonymise.cluster.storage import Storage

    sources = [str(source) for source in sources]
    stored = [is_url(source) for source in sources] + ([is_url(str(output))] if output is not None else [])
    if not any(stored):
        return Plan([Path(s) for s in sources], Path(output) if output is not None else None,
                    requested_format, neutral_names), ClusterRun
    if output is None:
        raise UnsafeOutputError("name where the copies of objects go with -o (a URL such as s3://bucket/prefix)")
    if not all(stored):
        raise UnsafeOutputError("a run reads and writes either folders of this computer or object storage, "
                                "not both: copy the photos to one side first")
    return ObjectPlan(Storage(), sources, str(output), requested_format, neutral_names), ObjectStoreRun


def anonymise_dataset(
    sources: Sequence[Union[str, Path]],
    destination: Union[str, Path],
    settings: CopySettings = CopySettings(),
    options: RunOptions = RunOptions(),
    report: Optional[Path] = None,
    state: Union[str, Path, None] = None,
    address: Optional[str] = None,
    cpus_per_actor: float = 1,
    on_file: Callable[[ReportEntry], None] = lambda entry: None,
    warn: Callable[[str], None] = lambda message: None,
) -> Totals:
    """Anonymise every photo under ``sources`` into ``destination`` on Ray; the run's counts.

    As ``anonymise SOURCE... -o DEST --engine ray`` does: folders or object-storage URLs,
    the same copies, resume and ``report`` (a JSON file on this computer); the records a
    re-run needs kept under ``state`` (a folder, or a private object-storage URL) instead
    of ``options.state`` or the user's state folder; ``on_file`` is
    told each file's entry as it is settled, ``warn`` what a person should know. Runs on
    the Ray already started in this process if there is one (a pipeline of your own), else
    joins ``address`` or starts a Ray of this machine only for the length of the call.
    ``options.jobs`` is the number of actors (default: as many as the cluster has cores
    for, at ``cpus_per_actor`` cores each). Raises ``RayUnavailableError``,
    ``UnsafeOutputError`` (nothing written) or ``OSError`` (the report, a store).
    """
    from anonymise.cluster.run import folder_unseen_by_nodes, folders_a_run_needs
    from anonymise.cluster.statestore import run_state, state_refusal

    plan, run_kind = cluster_plan(sources, destination, settings.file_format, settings.neutral_names)
    state = state if state is not None else options.state
    refusal = state_refusal(plan, state)
    if refusal is not None:
        raise UnsafeOutputError(refusal)
    writer = ReportWriter(report) if report is not None else None
    try:
        with run_state(state, warn) as folder, ray_session(address):
            options = dataclasses.replace(options, state=folder)
            if address is not None and isinstance(plan, Plan):
                unseen = folder_unseen_by_nodes(folders_a_run_needs([Path(s) for s in sources], Path(destination)))
                if unseen:
                    raise UnsafeOutputError(unseen)
            run = run_kind(plan, settings, options, warn, cpus_per_actor=cpus_per_actor)
            for outcome in run.outcomes():
                if writer is not None:
                    writer.add(outcome.entry)
                on_file(outcome.entry)
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    if writer is not None:
        writer.finish()
    return run.totals
