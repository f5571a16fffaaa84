"""Run a task graph on the scheduler the user chose, reporting each result as it lands.

Local schedulers (``sync``, ``threads``, ``processes``) report through Dask's callback
hooks; a distributed cluster through ``as_completed`` on futures. Either way the caller
sees one ``on_result`` call per output key, in completion order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import dask
from dask.callbacks import Callback
from dask.local import get_sync

from mepipe.errors import UsageError

if TYPE_CHECKING:
    from distributed import Client

LOCAL_SCHEDULERS = ("threads", "processes", "sync")


def is_distributed(scheduler: Any) -> bool:
    """True for a ``tcp://``/``tls://``/``inproc://`` address or a distributed Client."""
    if isinstance(scheduler, str):
        return "://" in scheduler
    return hasattr(scheduler, "submit") and hasattr(scheduler, "scheduler_info")


def run_graph(
    graph: dict,
    keys: Sequence,
    on_result: Callable[[Any], None],
    *,
    scheduler: Any = "threads",
    workers: int | None = None,
) -> None:
    """Compute ``keys`` of ``graph``; call ``on_result`` with each key's value.

    Parameters
    ----------
    scheduler : str or distributed.Client
        ``threads``, ``processes``, ``sync``, a scheduler address, or a Client.
    workers : int, optional
        Worker threads/processes for the local schedulers (default: one per core).
    """
    if not keys:
        return
    if is_distributed(scheduler):
        _run_distributed(graph, keys, on_result, scheduler)
        return
    if scheduler not in LOCAL_SCHEDULERS:
        raise UsageError(
            f"--scheduler must be one of {', '.join(LOCAL_SCHEDULERS)} or a tcp://HOST:PORT address, not {scheduler!r}"
        )
    wanted = set(keys)

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        if key in wanted:
            on_result(result)

    schedulers: dict[str, Callable[..., Any]] = {"threads": dask.threaded.get, "processes": dask.multiprocessing.get}
    get = schedulers.get(scheduler)
    with Callback(posttask=posttask):
        if get is None:
            get_sync(graph, list(keys))
        else:
            get(graph, list(keys), num_workers=workers)


def _run_distributed(graph: dict, keys: Sequence, on_result: Callable[[Any], None], scheduler: Any) -> None:
    from distributed import as_completed

    client = scheduler if not isinstance(scheduler, str) else connect(scheduler)
    try:
        futures = client.get(graph, list(keys), sync=False)
        for future in as_completed(futures):
            on_result(future.result())
            future.release()
    finally:
        if client is not scheduler:
            client.close()


def connect(address: str) -> Client:
    """A distributed Client of the scheduler at ``address``; one line if it cannot be reached."""
    from distributed import Client

    try:
        return Client(address, timeout="10s")
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
