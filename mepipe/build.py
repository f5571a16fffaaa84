"""``build``: a dataset release in, a zarr store of TRDI/MIDI dynamic images out.

The notebook-facing API behind ``mepipe build``::

    from mepipe.build import build
    summary = build("samm", root="data/samm", out="samm.zarr", span="onset-apex")
    print(summary.format())

A rerun of the same build resumes: samples already ``ok`` (and intact) are skipped.
A rerun that names more ``arrays`` adds them to the store: only the new arrays are
computed, from each sample's stored alignment, and what the store held stays as it was.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import fsspec
import numpy as np
import zarr

from mepipe import __version__
from mepipe._shared.progress import Progress
from mepipe._shared.provenance import library_versions
from mepipe.engine.config import SET_CHOICES, BuildConfig
from mepipe.engine.execute import is_distributed, run_graph
from mepipe.engine.graph import Outcome, build_graph
from mepipe.engine.lock import StoreLock
from mepipe.engine.stages import Stored
from mepipe.errors import MepipeError, UsageError
from mepipe.imaging.flow import flow_parameters, recorded_method
from mepipe.pipelines import get_recipe
from mepipe.release.au import release_vocabulary
from mepipe.release.crops import choose_crop
from mepipe.release.discover import Release, open_release
from mepipe.release.recipe import Recipe, Sample
from mepipe.report.summary import reason_kind
from mepipe.store import (
    ALIGNMENT_FIELDS,
    ARRAY_SETS,
    DERIVED_SETS,
    FAILED,
    IMAGES,
    OK,
    SHEET_FIELDS,
    STORE_ATTRS,
    Alignment,
    FieldWriter,
    add_derived,
    array,
    as_str,
    create_store,
    detect_step_counts,
    held_sets,
    is_store,
    layout,
    local_path,
    missing_alignment,
    read_array,
    read_columns,
    set_checksum_field,
    store_attrs,
)
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
        **_flow_provenance(config),
    }


def _flow_provenance(config: BuildConfig) -> dict[str, Any]:
    """``{"flow": {method, parameters}}`` when the build computes flow, else nothing."""
    if not {"flow", "flow_apex_offset"} & {*config.arrays}:
        return {}
    return {"flow": {"method": config.flow, "parameters": flow_parameters(config.flow)}}


def opencv_threads(scheduler: Any, workers: int | None) -> int:
    """Threads OpenCV may use under each of a build's workers: the cores they leave idle,
    shared out (1 for a cluster, whose cores are not known here)."""
    if is_distributed(scheduler):
        return 1
    cores = os.cpu_count() or 1
    return max(1, cores // (1 if scheduler == "sync" else (workers or cores)))


def _existing(out: str) -> zarr.Group | None:
    try:
        # not through a consolidated listing: the build changes what it would list
        return zarr.open_group(out, mode="r+", use_consolidated=False)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError):
        return None


def _check_same_build(group: zarr.Group, out: str, attrs: dict, samples: Sequence[Sample]) -> None:
    if not is_store(group):
        raise MepipeError(f"{out} exists and is not a mepipe store; choose another --out or use --overwrite")
    old = store_attrs(group)
    ours = BuildConfig.from_dict(attrs["config"])
    diffs = ours.differences(_stored_config(old, out))
    missing = missing_alignment(group)
    if missing:
        raise MepipeError(
            f"{out} was built by an older mepipe (no {', '.join(missing)} arrays, edge pixels "
            "replicated); rerun with --overwrite to rebuild it, or choose another --out"
        )
    if old.get("sheet_sha256") != attrs["sheet_sha256"]:
        diffs.append("annotation sheet: a different file (sha256 differs)")
    if "frames" in old and old["frames"] != attrs["frames"]:
        diffs.append(f"frames folder: {old['frames']} vs {attrs['frames']}")
    if not diffs and list(read_array(group, "sample_id")) != [s.sample_id for s in samples]:
        diffs.append("sample list differs")
    if not diffs:
        diffs += _changed_fields(group, samples)
    if diffs:
        raise MepipeError(
            f"{out} was built with another configuration ({'; '.join(diffs)}); "
            "rerun with --overwrite to replace it, or choose another --out"
        )
    held = held_sets(group)
    dropped = [name for name in held if name not in ours.arrays]
    if dropped:
        raise MepipeError(
            f"{out} holds {', '.join(dropped)}, which --arrays {','.join(ours.arrays)} leaves out; a build never "
            f"removes arrays: pass --arrays {','.join(a for a in ARRAY_SETS if a in ours.arrays or a in dropped)} to keep them, "
            "or --overwrite to rebuild the store without them"
        )
    late = [name for name in ours.arrays if name in IMAGES and name not in held]
    if late:
        raise MepipeError(
            f"{out} was created without {', '.join(late)}, which only a new store can hold "
            f"(only {', '.join(DERIVED_SETS)} can be added to a store); rerun with --overwrite or choose another --out"
        )


def _stored_config(old: dict, out: str) -> BuildConfig:
    """A store's configuration, its flow method read from the parameters it recorded
    (:func:`mepipe.imaging.flow.recorded_method`): one store never mixes two flows."""
    values = dict(old.get("config", {"dataset": "?"}))
    recorded = old.get("flow") or {}
    if "flow" in values:
        method = recorded_method(values["flow"], recorded.get("parameters"))
        if method is None:
            raise MepipeError(
                f"{out} holds flow made with parameters no --flow method uses ({recorded.get('method')}: "
                f"{recorded.get('parameters')}); rerun with --overwrite to rebuild it, or choose another --out"
            )
        values["flow"] = method
    return BuildConfig.from_dict(values)


def _add_sets(group: zarr.Group, config: BuildConfig) -> list[str]:
    """Create the derived arrays ``config`` asks for that the store lacks, and record
    them in its configuration and provenance (``added``: when, by which mepipe); returns
    the sets added."""
    held = held_sets(group)
    new = [name for name in DERIVED_SETS if name in config.arrays and name not in held]
    if not new:
        return []
    attrs = store_attrs(group)
    stored = dict(attrs.get("config", {}))
    stored["arrays"] = [name for name in config.arrays if name in held or name in new]
    for choice, sets in SET_CHOICES.items():
        if {*sets} & {*new} and not {*sets} & {*held}:
            stored[choice] = getattr(config, choice)
    attrs["config"] = stored
    attrs.update(_flow_provenance(BuildConfig.from_dict(stored)))
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    attrs["added"] = {**attrs.get("added", {}), **{name: {"at": when, "version": __version__} for name in new}}
    add_derived(group, new, config.size, config.channels, config.sequence_frames)
    group.attrs[STORE_ATTRS] = attrs
    return new


def _changed_fields(group: zarr.Group, samples: Sequence[Sample]) -> list[str]:
    """The sheet fields stored at creation that the release now gives otherwise: a sheet
    read beside the coding sheet (CASME-II's objective classes) can change while the
    coding sheet's checksum does not."""
    changed = []
    for name in SHEET_FIELDS:
        if name in group:
            stored = as_str(read_array(group, name))
            now = np.array([str(getattr(s, name)) for s in samples])
            if count := int((stored != now).sum()):
                changed.append(f"{name} differs in {count} of {len(samples)} samples")
    return changed


def _refuse_foreign(out: str) -> None:
    """Refuse an ``out`` holding anything but a zarr store: creating one there erases it."""
    fs, path = fsspec.core.url_to_fs(out)
    if not fs.exists(path):
        return
    if not fs.isdir(path) or (fs.ls(path) and not fs.exists(f"{path.rstrip('/')}/zarr.json")):
        raise MepipeError(f"{out} exists and is not a mepipe store; choose another --out")


def open_or_create(
    out: str, samples: Sequence[Sample], config: BuildConfig, attrs: dict, overwrite: bool
) -> zarr.Group:
    """The store to build into: created fresh, or an existing one of the same build."""
    _refuse_foreign(out)
    group = None if overwrite else _existing(out)
    if group is None:
        try:
            return create_store(
                out,
                samples,
                size=config.size,
                channels=config.channels,
                keep_raw=config.keep_raw,
                attrs=attrs,
                overwrite=True,
                arrays=config.arrays,
                sequence_frames=config.sequence_frames,
            )
        except OSError as exc:
            raise MepipeError(f"cannot write the store {out}: {exc.strerror or exc} ({exc.filename})") from None
    _check_same_build(group, out, attrs, samples)
    layout.recover(out)
    group = layout.drop_consolidated(out)
    _add_sets(group, config)
    return group


def _stored(group: zarr.Group, adding: Mapping[int, tuple[str, ...]]) -> dict[int, Stored]:
    """The record of each built sample that adding its sets to starts from; each field
    read once for all of them (one chunk per field, not one read per sample)."""
    if not adding:
        return {}
    fields = {name: read_array(group, name) for name in (*ALIGNMENT_FIELDS, "apex_index", "repair")}
    records = {}
    for index, sets in adding.items():
        height, width = (int(v) for v in fields["frame_size"][index])
        alignment = Alignment(
            transform=fields["transform"][index],
            landmarks=fields["landmarks"][index],
            frame_size=(height, width),
            detect_step=str(fields["detect_step"][index]),
        )
        records[index] = Stored(alignment, int(fields["apex_index"][index]), str(fields["repair"][index]), sets)
    return records


def _to_add(group: zarr.Group, config: BuildConfig, ok: np.ndarray) -> dict[int, tuple[str, ...]]:
    """Store index -> the derived sets that sample (ok, intact) still lacks."""
    missing: dict[int, tuple[str, ...]] = {}
    for name in (name for name in DERIVED_SETS if name in config.arrays):
        empty = np.asarray(array(group, set_checksum_field(name))[:]) == ""
        for index in np.flatnonzero(ok & empty):
            missing[int(index)] = (*missing.get(int(index), ()), name)
    return missing


def build(
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
    """Build (or resume) the store ``out`` from the release at ``root``.

    Parameters
    ----------
    dataset : str
        Recipe name: ``casme2``, ``samm``, ``mmew``, ``casme3``, ``smic``, ``megc2019``.
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
        Fields of :class:`~mepipe.engine.config.BuildConfig` (``span``, ``size``, ``classes``,
        ``gray``, ``keep_raw``, ``motion_reference``, ``keep_aspect``, ``face_window``,
        ``au_vocabulary``, ...).

    Returns
    -------
    BuildSummary
    """
    # the crop's own options are checked once the crop is known: it depends on the frames
    crop_options = {name: options.pop(name) for name in ("keep_aspect", "face_window") if name in options}
    config = BuildConfig(dataset=dataset, **options)
    if shard is not None and shard < 2:
        raise UsageError(f"--shard must be at least 2 samples per shard, not {shard}")
    release = open_release(
        get_recipe(dataset),
        Path(root),
        sheet=None if sheet is None else Path(sheet),
        frames=None if frames is None else Path(frames),
        classes=config.classes,
        objective_sheet=None if objective_sheet is None else Path(objective_sheet),
    )
    samples = release.samples
    if not samples:
        raise MepipeError(f"{release.sheet}: no samples in class set {config.classes!r}")
    choice = choose_crop(release, crop)
    config = replace(config, crop=choice.mode, **crop_options)
    attrs = _provenance(config, release)
    out = local_path(out)
    start = time.perf_counter()
    with StoreLock(out):
        group = open_or_create(out, samples, config, attrs, overwrite)
        status = read_array(group, "status")
        damage = damaged_samples(group, unbuilt=False)
        damaged = {index for index, _, _ in damage.damaged if index >= 0}
        whole = np.array([status[i] != OK or i in damaged for i in range(len(samples))], dtype=np.bool_)
        adding = _to_add(group, config, ~whole)
        todo = [(i, s) for i, s in enumerate(samples) if whole[i] or i in adding]
        if todo:
            # arrays only added to built samples: the images they hold are not rewritten
            layout.prepare_writes(out, images=bool(whole.any()))
        stored = _stored(group, adding)
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
        added_sets=tuple(name for name in DERIVED_SETS if any(name in sets for sets in adding.values())),
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
