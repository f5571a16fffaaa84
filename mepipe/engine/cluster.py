"""Dask clusters for ``mepipe build --cluster``: local processes, SLURM or PBS.

mepipe never schedules work itself: it hands the graph to Dask's distributed engine.
Batch clusters come from dask-jobqueue (the ``cluster`` extra), configured the way Dask
users already configure it: a YAML file in Dask's own config format (the ``jobqueue:``
section), overridden by the options given on the command line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mepipe._shared.text import one_line
from mepipe.errors import MepipeError, UsageError

if TYPE_CHECKING:
    from dask_jobqueue.core import JobQueueCluster
    from distributed import LocalCluster

CLUSTERS = ("local", "slurm", "pbs")


def load_config(path: Path) -> dict:
    """A Dask config YAML file as a dict; a one-line error when it is not one."""
    try:
        config = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"cluster config {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"cluster config {path} is not valid YAML: {one_line(exc)}") from None
    if not isinstance(config, dict):
        raise UsageError(f"cluster config {path} must hold a mapping (Dask config), not {type(config).__name__}")
    return config


def jobqueue_options(config: dict, kind: str) -> dict:
    """The ``jobqueue: <kind>:`` section of a Dask config as cluster keywords.

    Passed as keywords rather than through ``dask.config.set``: jobqueue reads its config
    again whenever it renders a job script, long after a scoped ``set`` has ended.
    """
    section = (config.get("jobqueue") or {}).get(kind) or {}
    return {key.replace("-", "_"): value for key, value in section.items()}


def make_cluster(
    kind: str,
    *,
    workers: int | None = None,
    config_file: Path | None = None,
    **options: Any,
) -> LocalCluster | JobQueueCluster:
    """Start a cluster (not yet scaled for batch kinds, see :func:`scale`).

    Parameters
    ----------
    kind : str
        ``local`` (a ``LocalCluster`` of ``workers`` processes), ``slurm`` or ``pbs``.
    workers : int, optional
        Worker processes (local) or batch jobs to request.
    config_file : path, optional
        Dask config YAML; its ``jobqueue: <kind>:`` section (queue, cores, memory,
        walltime, job-extra-directives, ...) configures batch jobs.
    **options
        dask-jobqueue keywords (``queue``, ``cores``, ``memory``, ``walltime``, ...);
        ``None`` values are ignored so that the YAML file's values stand.
    """
    if kind not in CLUSTERS:
        raise UsageError(f"--cluster must be one of {', '.join(CLUSTERS)}, not {kind!r}")
    given = {k: v for k, v in options.items() if v is not None}
    if kind == "local":
        from distributed import LocalCluster

        return LocalCluster(
            n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True, dashboard_address=None, **given
        )
    try:
        from dask_jobqueue.pbs import PBSCluster
        from dask_jobqueue.slurm import SLURMCluster
    except ImportError:
        raise MepipeError(f"--cluster {kind} needs dask-jobqueue: pip install 'mepipe[cluster]'") from None
    cls = {"slurm": SLURMCluster, "pbs": PBSCluster}[kind]
    from_file = jobqueue_options(load_config(config_file), kind) if config_file else {}
    try:
        return cls(**{**from_file, **given})
    except (ValueError, TypeError) as exc:  # jobqueue's way of saying cores/memory are missing
        raise UsageError(f"--cluster {kind}: {one_line(exc)}") from None


def scale(cluster: LocalCluster | JobQueueCluster, jobs: int | None) -> None:
    """Ask a batch cluster for ``jobs`` jobs (a local cluster is already started)."""
    from distributed import LocalCluster

    if jobs and not isinstance(cluster, LocalCluster):
        cluster.scale(jobs=jobs)
