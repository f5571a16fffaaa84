"""Sweeps: several models x seeds of LOSO runs on one store, here or on Dask workers.

An ablation (or a comparison of models: the AFN variants are models, and so is
``ststnet``) is many runs of the same protocol. Each (model, seed) run is one task: in
this process one after another, or on the workers of a Dask cluster, each worker
training on its own GPU when it has one (folds at once there, see
:mod:`mepipe.train.together`). A worker reads the store itself (once per process), so
only options go out and only fold results (test probabilities and curves) come back.

Each model's runs are reported as a ``mepipe train`` run into ``OUT/<model>/``, and
the sweep as a whole into ``OUT/sweep.json``, ``OUT/sweep.png`` and a printed table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from mepipe.engine.execute import connect, is_distributed
from mepipe.errors import UsageError

from .data import StoreData, check_store, load_store
from .loop import FoldResult, device_name, resolve_device
from .models import get_model, model_names
from .options import TrainOptions
from .plots import plot_sweep
from .run import RunSpec, fit, report, seed_list, to_device, training_options

#: the scores a sweep compares
SCORES = ("accuracy", "uf1", "uar")


def sweep(
    store: str | Path,
    out: str | Path,
    models: Sequence[str],
    seeds: int | Sequence[int] = 1,
    *,
    scheduler: Any = None,
    progress: bool = True,
    options: TrainOptions | None = None,
    **keywords: Any,
) -> dict:
    """Run every model with every seed; report each model and the sweep.

    Parameters
    ----------
    store, out : str or Path
        The store, and the folder receiving ``<model>/`` run folders and ``sweep.*``.
    models : sequence of str
        Registered models (the AFN variants among them), distinct.
    seeds : int or sequence of int
        As for :func:`~mepipe.train.run.train`.
    scheduler : str or distributed.Client, optional
        ``None``: run here, one run after another. A ``tcp://`` address or a Client:
        one task per (model, seed) on the cluster's workers.
    progress : bool
        Progress bars (local runs only).
    options : TrainOptions, optional
        The runs' other options (their ``model`` is replaced); or give them as keywords.

    Returns
    -------
    dict
        The content of sweep.json (each model's scores under ``variants``, its older name).
    """
    models = list(models)
    unknown = [m for m in models if m not in model_names()]
    if unknown or not models or len(set(models)) != len(models):
        raise UsageError(
            f"--model must list distinct models of {', '.join(model_names())}; got {','.join(models) or 'none'}"
        )
    if scheduler is not None and not is_distributed(scheduler):
        raise UsageError(
            f"mepipe train --scheduler takes a tcp://HOST:PORT address (or use --cluster), not {scheduler!r}"
        )
    base = training_options(options, **keywords)
    specs = {m: RunSpec(str(store), replace(base, model=m)) for m in models}
    for spec in specs.values():  # every model's store check before any training
        check_store(store, base.classes, base.image_size, spec.options.model)
    chosen = seed_list(seeds)
    tasks = [(m, seed) for m in models for seed in chosen]
    data = _load_each(store, base, models)
    if scheduler is None:
        target = resolve_device(base.device)
        done = {}
        for m in models:
            on_device = to_device(data[m], target)
            for seed in chosen:
                done[(m, seed)] = (fit(on_device, specs[m], [seed], target, progress), device_name(target))
    else:
        done = _on_cluster(scheduler, specs, tasks)

    out = Path(out)
    runs = {}
    for m in models:
        results = [r for seed in chosen for r in done[(m, seed)][0]]
        runs[m] = report(out / m, data[m], results, specs[m], done[(m, chosen[0])][1])
    summary = summarise_sweep(runs, data[models[0]], chosen)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_sweep(
        {m: summary["variants"][m] for m in models},
        SCORES,
        out / "sweep.png",
        f"{len(chosen)} seed(s), {summary['n_samples']} samples: mean and std over seeds",
    )
    return summary


def _load_each(store: str | Path, options: TrainOptions, models: list[str]) -> dict[str, StoreData]:
    """Each model's inputs; models whose inputs are made alike (the AFN variants) share one copy."""
    loaded: dict[tuple, StoreData] = {}
    data = {}
    for m in models:
        spec = get_model(m)
        key = (spec.arrays, spec.inputs, spec.make_inputs)
        if key not in loaded:
            loaded[key] = load_store(store, options.classes, options.image_size, m)
        data[m] = replace(loaded[key], model=m)
    return data


def summarise_sweep(runs: dict[str, dict], data: StoreData, seeds: list[int]) -> dict:
    """Per model: mean and (population) std over seeds of each score, and the per-seed values."""
    first = next(iter(runs.values()))
    return {
        "store": first["store"]["path"],
        "seeds": seeds,
        "n_samples": first["n_samples"],
        "class_names": data.class_names,
        "chance": first["chance"],
        "variants": {
            v: {
                **{k: m[k] for k in SCORES},
                **{f"{k}_std": m["std"][k] for k in SCORES},
                "per_seed": [{"seed": s["seed"], **{k: s[k] for k in SCORES}} for s in m["seeds"]],
                "samples_per_s": m["samples_per_s"],
                "device": m["device"],
                "run": f"{v}/metrics.json",
            }
            for v, m in runs.items()
        },
    }


def format_sweep(summary: dict) -> str:
    """The sweep as a plain-text table: one row per model, mean +- std over seeds."""
    lines = [f"{'model':<9}{'seeds':>6}" + "".join(f"{k:>17}" for k in SCORES)]
    for v, s in summary["variants"].items():
        lines.append(f"{v:<9}{len(s['per_seed']):>6}" + "".join(f"{s[k]:>10.3f} +-{s[k + '_std']:.3f}" for k in SCORES))
    chance = summary["chance"]
    lines.append(
        f"chance: majority-class accuracy {chance['majority_accuracy']:.3f}, UAR {chance['uar']:.3f}; "
        f"{summary['n_samples']} samples"
    )
    return "\n".join(lines)


def _on_cluster(scheduler: Any, specs: dict[str, RunSpec], tasks: list[tuple[str, int]]) -> dict:
    client = scheduler if not isinstance(scheduler, str) else connect(scheduler)
    try:
        futures = {task: client.submit(run_on_worker, specs[task[0]], task[1], pure=False) for task in tasks}
        return {task: future.result() for task, future in futures.items()}
    finally:
        if client is not scheduler:
            client.close()


def run_on_worker(spec: RunSpec, seed: int) -> tuple[list[FoldResult], str]:
    """One (model, seed) run on a Dask worker: its fold results and the device's name.

    The worker trains with as many torch threads as it has Dask threads, on the GPU its
    name's trailing number picks (modulo the GPUs it sees; a batch job usually sees one).
    """
    from distributed import get_worker

    worker = get_worker()
    torch.set_num_threads(max(1, worker.state.nthreads))
    options = spec.options
    target = worker_device(options.device, worker.name)
    data = to_device(_cached_store(spec.store, options.classes, options.image_size, options.model), target)
    return fit(data, spec, [seed], target, progress=False), device_name(target)


def worker_device(device: str, name: Any) -> torch.device:
    """``device`` resolved for a worker called ``name``: ``cuda:<n mod GPUs>`` for a name ending in n."""
    target = resolve_device(device)
    count = torch.cuda.device_count() if target.type == "cuda" else 0
    digits = re.search(r"(\d+)$", str(name))
    if count > 1 and digits:
        return torch.device("cuda", int(digits.group(1)) % count)
    return target


@lru_cache(maxsize=2)
def _cached_store(store: str, classes: str | None, image_size: int | None, model: str) -> StoreData:
    # a worker runs several tasks on the same store: read it once per process (and model)
    return load_store(store, classes, image_size, model)
