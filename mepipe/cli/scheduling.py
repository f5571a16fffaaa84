"""Dask options shared by ``build`` and ``train``: where the work runs.

``--scheduler`` hands the work to a running scheduler (or, for ``build``, a local
one); ``--cluster`` starts a cluster for the command (:mod:`mepipe.engine.cluster`) and tears it
down afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import click

from mepipe.engine.cluster import CLUSTERS
from mepipe.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Placement:
    """Where a command's work runs: the options :func:`dask_options` adds, as one value."""

    workers: int | None = None
    scheduler: str | None = None
    cluster: str | None = None
    cluster_config: Path | None = None
    queue: str | None = None
    cores: int | None = None
    memory: str | None = None
    walltime: str | None = None
    jobs: int | None = None
    dry_run: bool = False


def dask_options(scheduler_default: str | None, scheduler_help: str) -> Callable[[F], F]:
    """Decorator adding --workers, --scheduler, --cluster and the batch-job options; the
    command receives them as one :class:`Placement`, ``placement``."""
    options = [
        click.option("--workers", type=click.IntRange(min=1), help="Local workers [default: one per core]."),
        click.option(
            "--scheduler", default=scheduler_default, show_default=scheduler_default is not None, help=scheduler_help
        ),
        click.option(
            "--cluster",
            type=click.Choice(CLUSTERS),
            help="Start a Dask cluster for this command: local processes, or SLURM/PBS jobs.",
        ),
        click.option(
            "--cluster-config",
            type=click.Path(path_type=Path),
            help="Dask config YAML for --cluster (e.g. its jobqueue: section).",
        ),
        click.option("--queue", help="Batch queue/partition (--cluster slurm|pbs)."),
        click.option("--cores", type=click.IntRange(min=1), help="Cores per batch job."),
        click.option("--memory", help="Memory per batch job, e.g. 16GB."),
        click.option("--walltime", help="Walltime per batch job, e.g. 02:00:00."),
        click.option("--jobs", type=click.IntRange(min=1), help="Batch jobs to request."),
        click.option("--dry-run", is_flag=True, help="With --cluster slurm|pbs: print the job script and stop."),
    ]

    names = [f.name for f in fields(Placement)]

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def bundled(*args: Any, **kwargs: Any) -> Any:
            placement = Placement(**{name: kwargs.pop(name) for name in names})
            return command(*args, placement=placement, **kwargs)

        wrapped: Any = bundled
        for option in reversed(options):
            wrapped = option(wrapped)
        return wrapped

    return decorate


@contextmanager
def dask_scheduler(placement: Placement) -> Iterator[Any]:
    """What the command hands to the library as its scheduler.

    Yields ``placement.scheduler`` unchanged without ``--cluster``; with it, a Client of the
    started (and scaled) cluster, closed on exit. With ``--dry-run`` it prints the batch
    job script and yields ``None``: the command then stops.
    """
    cluster = placement.cluster
    if cluster is None:
        if placement.dry_run:
            raise UsageError("--dry-run needs --cluster slurm or --cluster pbs")
        yield placement.scheduler
        return
    from distributed import Client

    from mepipe.engine.cluster import make_cluster, scale

    batch = dict(queue=placement.queue, cores=placement.cores, memory=placement.memory, walltime=placement.walltime)
    if cluster == "local" and any(batch.values()):
        raise UsageError("--queue/--cores/--memory/--walltime apply to --cluster slurm|pbs only")
    with make_cluster(
        cluster,
        workers=placement.workers,
        config_file=placement.cluster_config,
        **(batch if cluster != "local" else {}),
    ) as running:
        if placement.dry_run:
            if not hasattr(running, "job_script"):
                raise UsageError("--dry-run needs --cluster slurm or --cluster pbs")
            click.echo(running.job_script())
            yield None
            return
        scale(running, placement.jobs)
        with Client(running) as client:
            yield client
