"""The build's Dask graph, assembled in this one place.

Per sample, four tasks in a chain::

    load-i  ->  align-i  ->  pool-i  ->  write-i

``load`` finds the frames, ``align`` decodes them and warps each with the onset frame's
transform, ``pool`` computes TRDI/MIDI and the other arrays asked for (flow, strain,
sequences, aligned landmarks), ``write`` stores them in the sample's own
chunks and returns a small :class:`Outcome` with the sample's other fields, which the
build's driver writes for many samples at once (:class:`mepipe.store.FieldWriter`). Chains are independent, so the scheduler runs as many
samples at once as it has workers, and memory is bounded by the clips in flight.

Each chain is fused into one task before it runs: a decoded clip is tens of megabytes,
so shipping it between processes or workers would cost more than the stages themselves.

A stage that raises passes a :class:`Failed` down the chain instead of an exception:
one bad sample must not stop the others, and ``write`` records its reason in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
from dask.optimization import fuse

from mepipe._shared.text import one_line
from mepipe.arrays import derived_names
from mepipe.engine import stages
from mepipe.engine.config import BuildConfig
from mepipe.errors import MepipeError
from mepipe.release.recipe import Sample
from mepipe.release.registry import get_recipe
from mepipe.store import FAILED, SampleResult, Stored, sample_fields, write_images


@dataclass(frozen=True)
class Failed:
    """Why a sample failed; flows down its chain in place of the stage's output."""

    error: str


@dataclass(frozen=True)
class Outcome:
    """What ``write`` reports back: small, so nothing large crosses to the client.
    ``fields`` are the sample's stored values other than its images
    (:func:`mepipe.store.sample_fields`)."""

    index: int
    sample_id: str
    status: int
    error: str
    repair: str
    n_frames: int
    frames_decoded: int
    fields: dict


def _attempt(stage: Callable[..., Any], upstream: Any, *args: Any) -> Any:
    """``stage(upstream, *args)``, or a :class:`Failed` saying why it could not run."""
    if isinstance(upstream, Failed):
        return upstream
    try:
        return stage(upstream, *args)
    except MepipeError as exc:
        return Failed(str(exc))
    except Exception as exc:
        return Failed(f"{type(exc).__name__}: {one_line(exc)}")


def _load(
    sample: Sample, frames: Mapping[str, str], config: BuildConfig, opencv_threads: int, stored: Any = None
) -> Any:
    cv2.setNumThreads(opencv_threads)
    # a composite's sample is read by its member dataset's recipe, from that one's frames
    recipe, own, part = get_recipe(config.dataset).resolve(sample)
    upstream = Failed(sample.error) if sample.error else own
    return _attempt(stages.load_clip, upstream, recipe, Path(frames[part]), config, stored)


def _align(clip: Any, sample: Sample, config: BuildConfig) -> Any:
    return _attempt(stages.place_clip, clip, get_recipe(config.dataset).resolve(sample)[0], config)


def _pool(clip: Any, sample: Sample, config: BuildConfig) -> tuple[Any, int]:
    decoded = 0 if isinstance(clip, Failed) else len(clip.numbers)
    return _attempt(stages.pool_clip, clip, sample, config), decoded


def _write(
    pooled: tuple[Any, int], store: str, index: int, sample: Sample, token: str, sets: tuple, added: bool
) -> Outcome:
    result, decoded = pooled
    if isinstance(result, Failed):
        result = SampleResult(status=FAILED, error=result.error, repair=sample.repair, sets=sets, added=added)
    write_images(store, index, result.images, token)
    return Outcome(
        index,
        sample.sample_id,
        result.status,
        result.error,
        result.repair,
        result.n_frames,
        decoded,
        sample_fields(result),
    )


def build_graph(
    samples: Sequence[tuple[int, Sample]],
    frames: Mapping[str, str],
    store: str,
    config: BuildConfig,
    token: str,
    opencv_threads: int = 1,
    stored: Mapping[int, Stored] | None = None,
) -> tuple[dict, list]:
    """The fused task graph for ``samples`` (store index, sample) and its output keys.

    ``stored`` holds, by store index, the record of each sample already built that only
    gets derived arrays added (:class:`mepipe.store.Stored`); the others are
    built whole.

    ``frames`` maps each part of the release to its frames root
    (:attr:`mepipe.release.discover.Release.frame_roots`); ``token`` names this run of the build
    (:func:`mepipe.store.write_images`). ``opencv_threads`` is the thread count OpenCV
    is given in the process running each task: a build already runs one sample per
    worker, and OpenCV's own threads on cores the workers use only add contention (with
    them, a full-size CASME-II build on 2 workers took 15 % more CPU time).

    Returns
    -------
    graph : dict
        A low-level Dask graph, runnable by any Dask scheduler.
    keys : list
        One key per sample; each computes to an :class:`Outcome`.
    """
    graph: dict = {}
    keys = []
    stored = stored or {}
    every_set = derived_names(config.arrays)
    for index, sample in samples:
        record = stored.get(index)
        sets = every_set if record is None else record.sets
        graph[("load", index)] = (_load, sample, dict(frames), config, opencv_threads, record)
        graph[("align", index)] = (_align, ("load", index), sample, config)
        graph[("pool", index)] = (_pool, ("align", index), sample, config)
        graph[("write", index)] = (_write, ("pool", index), store, index, sample, token, sets, record is not None)
        keys.append(("write", index))
    fused, _ = fuse(graph, keys=keys, ave_width=1, rename_keys=False)
    return fused, keys
