"""``build``: a dataset release in, a zarr store out, by the task its recipe serves.

The notebook-facing API behind ``mepipe build``::

    from mepipe.build import build
    summary = build("samm", root="data/samm", out="samm.zarr", span="onset-apex")
    print(summary.format())

A recipe declares its task (:attr:`mepipe.release.base.BaseRecipe.task`), and
:func:`build` dispatches on it once: a clip recipe (``recognition``) gives a store of
TRDI/MIDI dynamic images and the other array sets (:func:`build_clips`, the graph of
:mod:`mepipe.engine.graph`); a long-video recipe (``spotting``) a spotting store of
per-frame features (:func:`build_long_videos`, the graph of :mod:`mepipe.engine.spotting`).
Options of the other task are refused in one line.

A rerun of the same build resumes: samples (or blocks of frames) already done and intact
are skipped. A rerun that names more ``arrays`` adds them to the store: only the new
arrays are computed, and what the store held stays as it was.
"""

from __future__ import annotations

import numbers
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mepipe import __version__
from mepipe._shared.progress import Progress
from mepipe._shared.provenance import library_versions
from mepipe.arrays import derived_names, provenance
from mepipe.engine.config import BuildConfig
from mepipe.engine.execute import is_distributed, run_graph
from mepipe.engine.graph import Outcome, build_graph
from mepipe.engine.lock import StoreLock
from mepipe.engine.spotting import SpotSettings, SpotSummary, build_spotting, stored_method
from mepipe.errors import MepipeError, UsageError
from mepipe.release.au import release_vocabulary
from mepipe.release.crops import choose_crop
from mepipe.release.discover import Release, open_release
from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.recipe import Recipe, Sample, choose_apex
from mepipe.release.registry import get_recipe, recipe_names, recipe_task
from mepipe.report.summary import reason_kind
from mepipe.store import FAILED, OK, FieldWriter, detect_step_counts, layout, local_path, read_array, read_columns
from mepipe.store.target import open_or_create, sets_to_add, stored_records
from mepipe.store.verify import damaged_samples


@dataclass
class BuildSummary:
    """What a build did, for the closing table."""

    store: str
    total: int
    ok: int
    skipped: int
    built: int
    repaired: int
    #: samples already built that had arrays added (not counted in ``built``), and the sets
    added: int = 0
    added_sets: tuple[str, ...] = ()
    failures: list[tuple[str, str]] = field(default_factory=list)
    repaired_damage: int = 0
    seconds: float = 0.0
    frames: int = 0
    frames_roots: list[str] = field(default_factory=list)
    #: ok samples per detection step that found their face, most first
    detect_steps: dict[str, int] = field(default_factory=dict)
    #: the crop the build used, and why (:func:`mepipe.release.crops.choose_crop`)
    crop: str = ""

    @property
    def failed(self) -> int:
        return len(self.failures)

    def format(self, max_failures: int = 20) -> str:
        """The summary table users see at the end of ``mepipe build``."""
        rate = self.frames / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"store     {self.store}",
            *(f"frames    {line}" for line in self.frames_roots),
            *([f"crop      {self.crop}"] if self.crop else []),
            f"samples   {self.total}  (built now {self.built}, already ok {self.skipped + self.added})",
            f"ok        {self.ok}",
            f"repaired  {self.repaired}  (annotation/frame repairs recorded per sample)",
            f"failed    {self.failed}",
            f"time      {self.seconds:.1f} s, {self.frames} frames decoded, {rate:.0f} frames/s",
        ]
        if self.repaired_damage:
            lines.insert(3 + bool(self.crop), f"rebuilt   {self.repaired_damage}  (damaged data found and rebuilt)")
        if self.added:
            lines.insert(
                3 + bool(self.crop),
                f"added     {', '.join(self.added_sets)} to {self.added} samples (what they held untouched)",
            )
        if set(self.detect_steps) - {"scaled"}:
            steps = ", ".join(f"{step} {count}" for step, count in self.detect_steps.items())
            lines.append(f"faces     {steps}  (found by detection step: the scaled copy or fallbacks)")
        if self.failures:
            reasons = Counter(reason_kind(error) for _, error in self.failures)
            lines.append("failures by reason:")
            lines += [f"  {count:4d}  {kind}" for kind, count in reasons.most_common()]
            lines.append("failed samples:")
            lines += [f"  {sid}: {error}" for sid, error in self.failures[:max_failures]]
            if self.failed > max_failures:
                lines.append(f"  ... and {self.failed - max_failures} more (mepipe inspect {self.store})")
        return "\n".join(lines)


def class_names(recipe: Recipe, classes: str, samples: Sequence[Sample]) -> list[str]:
    """Ordered class names: the recipe's for a named set, sorted emotions for ``raw``."""
    if classes in recipe.class_sets:
        return list(recipe.class_sets[classes])
    return sorted({s.label for s in samples})


def _provenance(config: BuildConfig, release: Release) -> dict[str, Any]:
    recipe, sheet, samples = release.recipe, release.sheet, release.samples
    return {
        "version": __version__,
        "dataset": config.dataset,
        "span": config.span,
        "size": config.size,
        "classes": config.classes,
        "class_names": class_names(recipe, config.classes, samples),
        "au_vocabulary": list(config.au_vocabulary or release_vocabulary(s.au for s in samples)),
        "config": config.to_dict(),
        "sheet": sheet.name,
        "sheet_sha256": release.digest,
        "frames": release.provenance(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        **provenance(config.arrays, config.set_options()),
    }


def opencv_threads(scheduler: Any, workers: int | None) -> int:
    """Threads OpenCV may use under each of a build's workers: the cores they leave idle,
    shared out (1 for a cluster, whose cores are not known here)."""
    if is_distributed(scheduler):
        return 1
    cores = os.cpu_count() or 1
    return max(1, cores // (1 if scheduler == "sync" else (workers or cores)))


def _check_arguments(**paths: Any) -> None:
    """Each of ``paths`` a path (``str`` or path-like) or ``None``: a one-line
    :class:`UsageError` naming the argument otherwise (``root`` and ``out`` required)."""
    for name, value in paths.items():
        if value is None and name not in ("root", "out"):
            continue
        if not isinstance(value, (str, os.PathLike)):
            raise UsageError(f"{name} must be a path, not {value!r} ({type(value).__name__})")


def _check_counts(**counts: tuple[Any, int]) -> None:
    """Each ``name=(value, least)`` ``None`` or an integer of at least ``least``."""
    for name, (value, least) in counts.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise UsageError(f"{name} must be an integer, not {value!r} ({type(value).__name__})")
        if value < least:
            raise UsageError(f"{name} must be at least {least}, not {value}")


#: the options of a long-video build beside the scheduling ones (:func:`build_long_videos`)
LONG_VIDEO_OPTIONS = ("arrays", "flow", "fps", "k", "warm", "settings")
#: the keyword arguments of :func:`build` that only a clip build takes
_CLIP_ARGUMENTS = ("sheet", "frames", "shard", "crop", "objective_sheet")


def build(dataset: str, root: str | Path, out: str, **options: Any) -> BuildSummary | SpotSummary:
    """Build (or resume) the store ``out`` from the release at ``root``, by the recipe's task.

    Parameters
    ----------
    dataset : str
        A registered recipe's name (:func:`mepipe.release.recipe_names`): the clip
        recipes (``recognition``) ``casme2``, ``casme3``, ``dfme``, ``megc2019``, ``mmew``,
        ``samm``, ``smic``; the long-video ones (``spotting``) ``casme_sq``,
        ``casme3_lv``, ``samm_lv``; or a plug-in's.
    root : path
        The release folder, or a folder above it.
    out : str
        Store path (or fsspec URL for clip stores).
    **options
        Those of :func:`build_clips` for a clip recipe, of :func:`build_long_videos` for a
        long-video one; ``scheduler``, ``workers``, ``overwrite`` and ``progress`` for both.

    Returns
    -------
    BuildSummary or SpotSummary

    Raises
    ------
    UsageError
        An unknown dataset, or an option of the other task (one line naming it).
    """
    if dataset not in recipe_names():
        get_recipe(dataset)  # the registry's one line: unknown, or claimed twice
    if recipe_task(dataset) == "spotting":
        wrong = sorted(set(options) & ({*BuildConfig.options(), *_CLIP_ARGUMENTS} - {*LONG_VIDEO_OPTIONS, "dataset"}))
        if wrong:
            raise UsageError(
                f"{dataset} is a long-video (spotting) dataset: {', '.join(wrong)} {_apply(wrong)} to clip datasets only; "
                f"its options are {', '.join(LONG_VIDEO_OPTIONS)}"
            )
        return build_long_videos(dataset, root, out, **options)
    wrong = sorted(set(options) & {"fps", "k", "warm"})
    if wrong:
        raise UsageError(
            f"{dataset} is a clip dataset: {', '.join(wrong)} {_apply(wrong)} to long-video (spotting) datasets only"
        )
    return build_clips(dataset, root, out, **options)


def _apply(names: Sequence[str]) -> str:
    return "applies" if len(names) == 1 else "apply"


def build_long_videos(
    dataset: str,
    root: str | Path,
    out: str,
    *,
    arrays: str | Sequence[str] | None = None,
    flow: str | None = None,
    fps: float | None = None,
    k: int | None = None,
    warm: str | None = None,
    settings: SpotSettings | None = None,
    scheduler: Any = "threads",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> SpotSummary:
    """Build (or resume) the spotting store ``out`` of the long-video release at ``root``.

    Parameters
    ----------
    dataset : str
        A long-video recipe (``casme_sq``, ``samm_lv``, ``casme3_lv``, or a plug-in's).
    root : path
        The release folder, or a folder above it.
    out : str
        The store's path.
    arrays : str or sequence of str, optional
        Per-frame features (:func:`mepipe.arrays.feature_names`), comma-separated or a
        list; default: the store's own, or :func:`mepipe.arrays.default_features` for a
        new store. Naming more on a finished store adds only those.
    flow : str, optional
        Flow method (:data:`mepipe.imaging.flow.FLOW_METHODS`); default: an existing
        store's own (its recorded parameters and implementation decide: stores made
        before mepipe's own TV-L1 read as ``tvl1-opencv``; a one-line note on stderr
        where that is not the first method), else the first. Another method than the
        store's is refused.
    fps : float, optional
        Keep frames down to this rate.
    k : int, optional
        Frames from a pair's first frame to its second (default 0.2 s).
    warm : str, optional
        TV-L1 warm-start schedule (:data:`mepipe.engine.spotting.WARM_SCHEDULES`); default:
        an existing store's own (stores that record ``warm: true`` read ``moving``), else
        :data:`mepipe.engine.spotting.DEFAULT_WARM`. Another schedule than the store's is
        refused.
    settings : SpotSettings, optional
        Every setting at once (crop, block and chunk sizes too), instead of ``flow``,
        ``fps``, ``k`` and ``warm``.
    scheduler, workers, overwrite, progress
        As for :func:`build_clips`.
    """
    _check_arguments(root=root, out=out)
    _check_counts(workers=(workers, 1), k=(k, 1))
    recipe = get_recipe(dataset, LongVideoRecipe)  # type: ignore[type-abstract]
    names = [a.strip() for a in arrays.split(",") if a.strip()] if isinstance(arrays, str) else arrays
    if settings is None:
        if flow is None and not overwrite:
            flow = stored_method(local_path(out))
            if flow is not None and flow != SpotSettings.method:
                print(f"note: {out} holds flow made by {flow}: resuming with --flow {flow}", file=sys.stderr)
        settings = SpotSettings(method=flow or SpotSettings.method, fps=fps, k=k, warm=warm)
    elif (flow, fps, k, warm) != (None, None, None, None):
        raise UsageError("give settings or flow, fps, k and warm, not both")
    sheet = recipe.find_sheet(Path(root))
    return build_spotting(
        recipe.videos(Path(root)),
        recipe.intervals(Path(root)),
        local_path(out),
        settings,
        features=None if names is None else list(names),
        scheduler=scheduler,
        workers=workers,
        overwrite=overwrite,
        progress=progress,
        provenance={"dataset": dataset, "sheet": sheet.name, "sheet_sha256": recipe.digest(sheet)},
    )


def build_clips(
    dataset: str,
    root: str | Path,
    out: str,
    *,
    sheet: str | Path | None = None,
    frames: str | Path | None = None,
    scheduler: Any = "threads",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    shard: int | None = None,
    crop: str | None = None,
    objective_sheet: str | Path | None = None,
    **options: Any,
) -> BuildSummary:
    """Build (or resume) the clip store ``out`` from the release at ``root``.

    Parameters
    ----------
    dataset : str
        A clip recipe's name: ``casme2``, ``samm``, ``mmew``, ``casme3``, ``smic``,
        ``megc2019``, ``dfme``, or a plug-in's.
    root : path
        The release folder (annotation sheet and frames), a folder above it, or the one
        holding its subject folders: see :func:`mepipe.release.discover.open_release`.
    out : str
        Store path or fsspec URL.
    sheet : path, optional
        Annotation sheet, when not inside ``root``.
    frames : path, optional
        The folder holding the ``<subject>/<clip>`` folders, instead of the search.
    scheduler : str or distributed.Client
        ``threads`` (default), ``processes``, ``sync``, ``tcp://HOST:PORT`` or a Client.
    workers : int, optional
        Local worker count (default: one per core).
    overwrite : bool
        Replace a store built with another configuration.
    progress : bool
        Show a progress bar on stderr.
    shard : int, optional
        Once finished, store the images as zarr v3 shards of this many samples (one file
        per shard) instead of one file per sample.
    crop : str, optional
        ``release`` (the release's registered crops resized whole) or ``aligned`` (the face
        found and aligned); by default ``release`` where the frames root found is a
        registered-crop folder of the recipe (docs/crops.md).
    objective_sheet : path, optional
        CASME-II's objective-class sheet, when not the one beside its coding sheet.
    **options
        The options of :class:`~mepipe.engine.config.BuildConfig`
        (:meth:`~mepipe.engine.config.BuildConfig.options`: ``span``, ``size``,
        ``classes``, ``gray``, ``keep_raw``, ``arrays``, ...).

    Returns
    -------
    BuildSummary

    Raises
    ------
    UsageError
        An argument of the wrong kind or out of range, or an unknown option: one line
        naming it.
    MepipeError
        The release or the store cannot be used (one line saying why).
    """
    unknown = sorted(set(options) - {*BuildConfig.options()})
    if unknown:
        raise UsageError(f"build: no option {', '.join(unknown)}; the options are {', '.join(BuildConfig.options())}")
    _check_arguments(root=root, out=out, sheet=sheet, frames=frames, objective_sheet=objective_sheet)
    _check_counts(workers=(workers, 1), shard=(shard, 2))
    # the crop is chosen from the frames found: its own options are checked then
    config = BuildConfig(dataset=dataset, crop=None, **options)
    release = open_release(
        get_recipe(dataset),
        Path(root),
        sheet=None if sheet is None else Path(sheet),
        frames=None if frames is None else Path(frames),
        classes=config.classes,
        objective_sheet=None if objective_sheet is None else Path(objective_sheet),
    )
    samples = [choose_apex(s, config.smic_apex) for s in release.samples]
    if not samples:
        raise MepipeError(f"{release.sheet}: no samples in class set {config.classes!r}")
    choice = choose_crop(release, crop)
    config = replace(config, crop=choice.mode)
    attrs = _provenance(config, release)
    out = local_path(out)
    start = time.perf_counter()
    with StoreLock(out):
        group = open_or_create(out, samples, config, attrs, overwrite)
        status = read_array(group, "status")
        damage = damaged_samples(group, unbuilt=False)
        damaged = {index for index, _, _ in damage.damaged if index >= 0}
        whole = np.array([status[i] != OK or i in damaged for i in range(len(samples))], dtype=np.bool_)
        adding = sets_to_add(group, config.arrays, ~whole)
        todo = [(i, s) for i, s in enumerate(samples) if whole[i] or i in adding]
        if todo:
            # arrays only added to built samples: the images they hold are not rewritten
            layout.prepare_writes(out, images=bool(whole.any()))
        stored = stored_records(group, adding)
        graph, keys = build_graph(
            todo,
            release.frame_roots,
            out,
            config,
            token=uuid.uuid4().hex,
            opencv_threads=opencv_threads(scheduler, workers),
            stored=stored,
        )
        outcomes: list[Outcome] = []
        fields = FieldWriter(group)
        with Progress(len(keys), f"build {dataset}", enabled=progress) as bar:

            def on_result(outcome: Outcome) -> None:
                outcomes.append(outcome)
                fields.add(outcome.index, outcome.fields)
                bar.update(outcome.status == OK)

            threads = cv2.getNumThreads()  # the tasks set their own (graph.build_graph)
            try:
                try:
                    run_graph(graph, keys, on_result, scheduler=scheduler, workers=workers)
                finally:
                    cv2.setNumThreads(threads)
                    fields.flush()  # what finished is kept, also when interrupted
                layout.finish(out, shard)
            except OSError as exc:
                # the store itself failed (disk full, permissions, network): every later sample
                # would fail the same way, so stop; what was written is committed and kept
                raise MepipeError(
                    f"writing {out} failed after {len(outcomes)} of {len(keys)} samples: "
                    f"{exc.strerror or exc}; fix that and rerun the same command to resume"
                ) from None
    table = read_columns(group)
    failed = np.flatnonzero(table["status"] == FAILED)
    # arrays that could not be added leave their sample ok (what it held is kept): listed too
    not_added = [(o.sample_id, o.error) for o in outcomes if o.status == FAILED and o.index in adding]
    return BuildSummary(
        store=out,
        total=len(samples),
        ok=int(np.sum(table["status"] == OK)),
        skipped=len(samples) - len(todo),
        built=len(todo) - len(adding),
        repaired=int(np.sum((table["status"] == OK) & (table["repair"] != ""))),
        failures=[(str(table["sample_id"][i]), str(table["error"][i])) for i in failed] + not_added,
        repaired_damage=len(damaged),
        added=len(adding),
        added_sets=tuple(name for name in derived_names() if any(name in sets for sets in adding.values())),
        seconds=time.perf_counter() - start,
        frames=sum(o.frames_decoded for o in outcomes),
        frames_roots=release.describe_frames(),
        detect_steps=detect_step_counts(group),
        crop=f"{describe_crop(config)} ({choice.reason})",
    )


def describe_crop(config: BuildConfig) -> str:
    """The crop of a build in a few words: ``aligned, face window meb``, ``release,
    stretched to 224x224``."""
    if config.crop == "release":
        return f"release, {'padded' if config.keep_aspect else 'stretched'} to {config.size}x{config.size}"
    return f"aligned, face window {config.face_window}"
