"""Dask options shared by ``build`` and ``train``: where the work runs.

``--scheduler`` hands the work to a running scheduler (or, for ``build``, a local
one); ``--cluster`` starts a cluster for the command (mepipe/cluster.py) and tears it
down afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from mepipe.engine.cluster import CLUSTERS
from mepipe.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])


def dask_options(scheduler_default: str | None, scheduler_help: str) -> Callable[[F], F]:
    """Decorator adding --workers, --scheduler, --cluster and the batch-job options."""
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

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@contextmanager
def dask_scheduler(
    scheduler: Any,
    cluster: str | None,
    *,
    workers: int | None,
    cluster_config: Path | None,
    queue: str | None,
    cores: int | None,
    memory: str | None,
    walltime: str | None,
    jobs: int | None,
    dry_run: bool,
) -> Iterator[Any]:
    """What the command hands to the library as its scheduler.

    Yields ``scheduler`` unchanged without ``--cluster``; with it, a Client of the
    started (and scaled) cluster, closed on exit. With ``--dry-run`` it prints the batch
    job script and yields ``None``: the command then stops.
    """
    if cluster is None:
        if dry_run:
            raise UsageError("--dry-run needs --cluster slurm or --cluster pbs")
        yield scheduler
        return
    from distributed import Client

    from mepipe.engine.cluster import make_cluster, scale

    batch = dict(queue=queue, cores=cores, memory=memory, walltime=walltime)
    if cluster == "local" and any(batch.values()):
        raise UsageError("--queue/--cores/--memory/--walltime apply to --cluster slurm|pbs only")
    with make_cluster(
        cluster, workers=workers, config_file=cluster_config, **(batch if cluster != "local" else {})
    ) as running:
        if dry_run:
            if not hasattr(running, "job_script"):
                raise UsageError("--dry-run needs --cluster slurm or --cluster pbs")
            click.echo(running.job_script())
            yield None
            return
        scale(running, jobs)
        with Client(running) as client:
            yield client
