"""The long-video build: a release's videos in, a spotting store of per-frame features out.

The graph has, per video, one task that finds the face track (:mod:`mepipe.imaging.track`)
and, after it, one task per chunk of pairs that solves each pair's flow and computes the
registered per-frame features (:mod:`mepipe.arrays.perframe`) from it, writing whole
blocks: every zarr chunk has one writer, and a block's completion mark and checksum are
written after its rows (:mod:`mepipe.store.spotting`). The face track is computed once per
video before any chunk, so the stored arrays are the same whatever the chunk size and
the number of workers.

Neighbouring pairs ``i -> i + k`` and ``i + 1 -> i + 1 + k`` share all but one frame of
motion, so within a block of :data:`BLOCK` pairs a pair's TV-L1 solve may start from the
previous pair's flow at full resolution only (:data:`WARM`, the ``initial`` flow of
:func:`mepipe.imaging.flow.optical_flow`). That holds where the face moves; where it is
still (:data:`STILL`) both flows are sensor noise, and noise-level TV-L1 is a function of
the exact pixels and schedule: the warm solve lands on another noise pattern than the cold
one (region images correlate ~0.75), so a still pair is solved with the method's own
parameters, as is the first pair of a block. Blocks start at fixed frame positions, and a
pair's solve depends only on the pairs before it in its block, so the result does not
depend on how a video is split into work (``bench/spotting.py`` measures the agreement
with OpenCV's defaults).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import zarr

from mepipe import __version__
from mepipe._shared.progress import Progress
from mepipe._shared.provenance import library_versions
from mepipe._shared.text import one_line
from mepipe.arrays.pairs import Geometry, face_motion, head_motion, pair_maps
from mepipe.arrays.perframe import PairInput, default_features, get_feature, versions, with_builder
from mepipe.engine.execute import LOCAL_SCHEDULERS, run_graph
from mepipe.engine.lock import StoreLock
from mepipe.errors import MepipeError, UsageError
from mepipe.imaging.facecrop import face_crop
from mepipe.imaging.flow import flow_parameters, optical_flow, recorded_method
from mepipe.imaging.track import CROP, CUT, FaceTrack, Segment, decode, face_track
from mepipe.release.longvideo import Interval, Video
from mepipe.store.layout import consolidate
from mepipe.store.spotting import (
    SpottingRecord,
    VideoRecord,
    block_checksum,
    check_features,
    checksum_name,
    covered_arrays,
    create_feature_arrays,
    create_video,
    done_name,
    feature_version,
    is_spotting_group,
    spotting_record,
    write_intervals,
    write_record,
)

#: pairs per warm-start block (see the module's docstring); chunks of work are whole blocks
BLOCK = 128
#: the warm-start schedules (:attr:`SpotSettings.warm`): ``off``, every pair solved with the
#: method's own parameters (OpenCV's defaults: the flow is OpenCV's, bit for bit); ``still``,
#: a still pair after a still pair of the block starts from that pair's flow
#: (:data:`STILL_WARM`); ``moving``, a moving pair after a moving pair starts from that
#: pair's flow (:data:`WARM`; the schedule before schedules were named, which stores record as
#: ``warm: true``: its strain channel correlates 0.63 with SOFTNet's on moving pairs)
WARM_SCHEDULES = ("off", "still", "moving")
#: the schedule of a new store (bench/spotting.py and bench/spotloso.py measure the others)
DEFAULT_WARM = "off"
#: what a warm pair changes of a TV-L1 method's parameters: the previous pair's flow as
#: the start, full resolution only, 2 warps of 2 x 10 iterations (chosen and checked
#: against OpenCV's defaults by bench/spotting.py); moving pairs only (:data:`STILL`)
WARM: dict[str, Any] = {"nscales": 1, "warps": 2, "outerIterations": 2, "innerIterations": 10}
#: a pair is still when its face motion (:func:`mepipe.arrays.pairs.face_motion`, crop
#: pixels) is below this: there the warm solve's region images decorrelate from the cold
#: solve's (median ~0.75 at the field's 128 px crop), above it they correlate >= 0.95
#: (bench/spotting.py). A pair after a still one is solved cold directly; one after a
#: moving pair is solved warm first, and again cold when the warm flow is still
STILL = 0.05
#: what a warm still pair (schedule ``still``) changes of the method's parameters: the
#: previous still pair's flow as the start, full resolution only, 2 warps (each of the
#: method's iterations). Chosen by bench/spotting.py's still-pair statistics: face motion
#: and strain within 5-12 % of OpenCV's (2 x 10 iterations as for :data:`WARM`: 37-49 %
#: above), ~3x faster than a cold solve of a still pair
STILL_WARM: dict[str, Any] = {"nscales": 1, "warps": 2}


def warm_schedule(value: Any) -> str:
    """A recorded or given warm setting as a schedule of :data:`WARM_SCHEDULES`: stores
    made before schedules were named record ``true`` (moving pairs warm) or ``false``."""
    if value is True:
        return "moving"
    if value is False:
        return "off"
    return str(value)


def default_k(fps: float) -> int:
    """Frames between the two frames of a pair: 0.2 s, SOFTNet's choice (about half the
    mean micro-expression: 6 at 30 fps, 40 at 200 fps against SOFTNet's 37)."""
    return max(1, int(round(0.2 * fps)))


def is_tvl1(method: str) -> bool:
    """Whether ``method`` is a TV-L1 solver (the ones a warm start applies to)."""
    return "useInitialFlow" in flow_parameters(method)


@dataclass(frozen=True)
class SpotSettings:
    """How a spotting store is built (recorded in it; a resume must match).

    Attributes
    ----------
    method : str
        Flow method of :mod:`mepipe.imaging.flow`.
    k : int or None
        Frames from a pair's first to its second frame, counted in kept frames; ``None``:
        :func:`default_k` of each video's kept rate.
    fps : float or None
        Keep every ``round(video fps / fps)``-th frame (SAMM's 200 fps to ~30); ``None``: all.
    warm : str or None
        Warm-start schedule of TV-L1 pairs inside a block (:data:`WARM_SCHEDULES`);
        ``None``: an existing store's own (``true`` in stores made before schedules were
        named reads ``moving``), else :data:`DEFAULT_WARM`.
    crop : int
        Side of the face crop the flow is computed on.
    block : int
        Pairs per warm-start block and zarr chunk along time.
    chunk : int
        Pairs per task (a multiple of ``block``).
    recheck : float
        Seconds between two face detections of the track.
    """

    method: str = "tvl1"
    k: int | None = None
    fps: float | None = None
    warm: str | None = None
    crop: int = CROP
    block: int = BLOCK
    chunk: int = 4 * BLOCK
    recheck: float = 1.0

    def check(self) -> None:
        """One line for a setting that cannot work."""
        flow_parameters(self.method)
        if self.warm is not None and warm_schedule(self.warm) not in WARM_SCHEDULES:
            raise UsageError(f"warm must be one of {', '.join(WARM_SCHEDULES)}, not {self.warm!r}")
        if self.chunk % self.block or self.chunk <= 0:
            raise UsageError(f"chunk ({self.chunk}) must be a positive multiple of the block ({self.block})")
        if self.k is not None and self.k < 1:
            raise UsageError(f"k must be at least 1, not {self.k}")
        if self.fps is not None and not self.fps > 0:
            raise UsageError(f"--fps must be positive, not {self.fps}")

    @property
    def schedule(self) -> str:
        """The warm-start schedule the flow is solved by: ``off`` for a method other than TV-L1."""
        schedule = warm_schedule(DEFAULT_WARM if self.warm is None else self.warm)
        return schedule if is_tvl1(self.method) else "off"

    def resolved(self, stored: Any) -> SpotSettings:
        """These settings with ``warm`` decided: a store's recorded schedule (``stored``,
        ``None`` for none) where it was left ``None``."""
        if self.warm is not None:
            return replace(self, warm=warm_schedule(self.warm))
        return replace(self, warm=DEFAULT_WARM if stored is None else warm_schedule(stored))

    def recorded(self) -> dict[str, Any]:
        """What the store records: the settings that change the arrays (not ``chunk``)."""
        record = asdict(self)
        del record["chunk"]
        record["flow_parameters"] = flow_parameters(self.method)
        schedule = self.schedule
        record["warm"] = schedule
        parameters = {"moving": WARM, "still": STILL_WARM}.get(schedule)
        record["warm_parameters"] = None if parameters is None else {"useInitialFlow": True, **parameters}
        # the still rule and the cut decide the flow too: a store made before either resumes
        # only with its own
        record["still"] = None if parameters is None else STILL
        record["cut"] = CUT
        return record


def settings_method(settings: dict[str, Any]) -> str | None:
    """The flow method of a store's recorded settings (:meth:`SpotSettings.recorded`):
    its parameters and the implementation that ran them decide, not the name
    (:func:`mepipe.imaging.flow.recorded_method`): stores made before mepipe's own TV-L1
    recorded no implementation and read as ``tvl1-opencv``; ``None``: no method's."""
    return recorded_method(str(settings.get("method")), settings.get("flow_parameters"))


def _comparable(settings: dict[str, Any]) -> dict[str, Any]:
    """Recorded settings as a resume compares them: the flow by the method its parameters
    and implementation name (the solver's version is provenance), the rest as recorded."""
    comparable = dict(settings)
    parameters = comparable.pop("flow_parameters", None)
    method = settings_method(settings)
    comparable["method"] = method if method is not None else [comparable.get("method"), parameters]
    # stores made before schedules were named record warm: true / false (a method other
    # than TV-L1 was never warm-started, whatever it recorded)
    tvl1 = method is not None and is_tvl1(method)
    comparable["warm"] = warm_schedule(comparable.get("warm")) if tvl1 else "off"
    return comparable


def stored_method(out: str | Path) -> str | None:
    """The flow method of the spotting store at ``out`` (:func:`settings_method`); ``None``
    where there is no spotting store or its flow is no method's."""
    group = _existing(str(out), mode="r")
    if group is None or not is_spotting_group(group):
        return None
    return settings_method(spotting_record(group).settings)


def stored_warm(out: str | Path) -> str | None:
    """The warm-start schedule of the spotting store at ``out`` (:func:`warm_schedule` of
    what it records); ``None`` where there is no spotting store."""
    group = _existing(str(out), mode="r")
    if group is None or not is_spotting_group(group):
        return None
    return warm_schedule(spotting_record(group).settings.get("warm"))


def kept(video: Video, fps: float | None) -> tuple[int, float]:
    """The step between kept frames and the kept rate for a target ``fps``."""
    step = 1 if fps is None or fps >= video.fps else max(1, int(round(video.fps / fps)))
    return step, video.fps / step


@dataclass(frozen=True)
class Group:
    """Features computed and marked together: those under one set of completion marks."""

    done: str
    features: tuple[str, ...]
    arrays: tuple[str, ...]
    #: the version each feature is computed by: the store's (:func:`feature_version`)
    versions: tuple[tuple[str, int], ...] = ()


@dataclass
class ChunkRows:
    """What one chunk of pairs ``[start, stop)`` computed: every array's rows."""

    start: int
    arrays: dict[str, np.ndarray]


def _empty_rows(features: Sequence[str], count: int) -> dict[str, np.ndarray]:
    rows = {}
    for name in features:
        feature = get_feature(name)
        for spec in feature.arrays:
            rows[spec.name] = np.full((count, *feature.shapes()[spec.name]), spec.fill, dtype=spec.dtype)
    return rows


def _first_crop(
    crop_of: Callable[[int, Segment], np.ndarray | None], segment: Segment
) -> Callable[[], np.ndarray | None]:
    """The segment's first face crop, read when asked (SOFTNet's landmarks are found on it)."""
    return lambda: crop_of(segment.start, segment)


def chunk_rows(
    paths: Sequence[Path | str],
    track: FaceTrack,
    start: int,
    stop: int,
    k: int,
    method: str,
    features: Sequence[str],
    *,
    warm: str | bool = DEFAULT_WARM,
    crop: int = CROP,
    block: int = BLOCK,
    still: float = STILL,
    tick: Callable[[int], None] | None = None,
    versions: dict[str, int] | None = None,
) -> ChunkRows:
    """The rows of ``features`` for pairs ``start`` to ``stop - 1`` of a video.

    Reads frames ``start .. stop - 1 + k`` only, each once, at full resolution. A pair is
    invalid (its pair features stay ``fill``) when either frame is unreadable, the face is
    lost at either frame, or ``i + k`` is past the video's end; the flow is solved only
    when a feature needs it.

    Parameters
    ----------
    paths : sequence of path
        All the video's kept frames.
    track : FaceTrack
    start, stop : int
        Pair positions; ``start % block == 0``.
    k : int
        Frames between a pair's two frames.
    method : str
        A method of :mod:`mepipe.imaging.flow`.
    features : sequence of str
        Registered per-frame features (``validity`` fills ``valid`` and ``unreadable``).
    warm : str
        Warm-start schedule (:data:`WARM_SCHEDULES`; ``True`` reads ``moving``), TV-L1
        only. ``moving``: a pair after a moving pair of the block starts from its flow
        (:data:`WARM`) and is solved again cold when it comes out still. ``still``: a pair
        after a still pair of the block starts from its flow (:data:`STILL_WARM`) and is
        solved again cold when it comes out moving. Every other pair is solved cold (the
        method's own parameters).
    crop, block : int
        Crop side; pairs per warm-start block.
    still : float
        Face motion (crop pixels) below which a pair is still.
    tick : callable, optional
        Called with 1 after each pair (progress).
    versions : dict, optional
        Feature -> the version to compute (a store's own); default: the current ones.
    """
    if start % block:
        raise ValueError(f"chunk start {start} is not a multiple of the block ({block})")
    count = stop - start
    schedule = warm_schedule(warm) if is_tvl1(method) else "off"
    if schedule not in WARM_SCHEDULES:
        raise ValueError(f"warm schedule {warm!r} is none of {', '.join(WARM_SCHEDULES)}")
    # the schedule's parameters, and whether it warm-starts a pair after a still pair
    warm_parameters = {"moving": WARM, "still": STILL_WARM}.get(schedule)
    from_still = schedule == "still"
    chosen = [get_feature(name) for name in features]
    computers = {f.name: f.computer((versions or {}).get(f.name)) for f in chosen}
    computed = [f for f in chosen if f.compute is not None]
    by_frame = [f for f in computed if f.needs == "frame"]
    by_pair = [f for f in computed if f.needs == "pair"]
    rows = _empty_rows(features, count)
    # crops by (position, segment): a frame read for two segments is cut by each one's box
    frames: dict[tuple[int, int], np.ndarray | None] = {}
    geometries: dict[int, Geometry] = {}

    def crop_of(position: int, segment: Segment) -> np.ndarray | None:
        key = position, segment.start
        if key not in frames:
            image = decode(paths[position])
            frames[key] = None if image is None else segment.cut(image, crop)
        return frames[key]

    # the face cut again from the frame file, only when a feature asks (the face stream)
    faces: dict[tuple[int, int, int, bool], np.ndarray | None] = {}

    def source_of(position: int, segment: Segment) -> Callable[[int, bool], np.ndarray | None]:
        def source(side: int, colour: bool) -> np.ndarray | None:
            key = position, segment.start, side, colour
            if key not in faces:
                faces[key] = face_crop(paths[position], segment, side, colour)
            return faces[key]

        return source

    def put(row: int, values: Any) -> None:
        for name, value in values.items():
            rows[name][row] = value

    # the previous pair's flow when the next pair may start from it: in this block, and
    # moving (schedule moving) or still (schedule still; see STILL)
    previous: np.ndarray | None = None
    previous_segment: Segment | None = None
    for i in range(start, stop):
        if tick is not None and i > start:
            tick(1)
        # frames no later pair of this chunk reads are let go: memory stays flat
        for old in [key for key in frames if key[0] < i]:
            del frames[old]
        faces.clear()
        row = i - start
        segment = track.segment_at(i)
        if i % block == 0 or segment is not previous_segment:
            previous = None
        previous_segment = segment
        if segment is None:
            previous = None
            continue
        if segment.start not in geometries:
            geometries[segment.start] = Geometry.of(segment, crop, reference=_first_crop(crop_of, segment))
        geometry = geometries[segment.start]
        a = crop_of(i, segment)
        if a is not None:
            for feature in by_frame:
                put(row, computers[feature.name](PairInput(a, None, None, None, geometry, source_of(i, segment))))  # type: ignore[misc]
        if not by_pair and "validity" not in features:
            continue
        if i + k >= len(paths) or track.segment_at(i + k) is None:
            previous = None
            continue
        b = crop_of(i + k, segment)
        if a is None or b is None:
            if "unreadable" in rows:
                rows["unreadable"][row] = True
            previous = None
            continue
        if "valid" in rows:
            rows["valid"][row] = True
        if not by_pair:
            continue
        start_from = previous if warm_parameters is not None else None
        flow = optical_flow(a, b, method, warm_parameters if start_from is not None else None, initial=start_from)
        is_still = face_motion(flow, geometry) < still
        if start_from is not None and is_still != from_still:
            # a warm solve that left its kind of pair: solved again cold; the next pair then
            # starts cold (moving, as its stores were made) or from this one if still
            flow = optical_flow(a, b, method)
            if from_still:
                is_still = face_motion(flow, geometry) < still
        previous = flow if is_still == from_still else None
        pair = PairInput(
            a, flow, pair_maps(flow, geometry), head_motion(flow, geometry), geometry, source_of(i, segment)
        )
        for feature in by_pair:
            put(row, computers[feature.name](pair))  # type: ignore[misc]
    if tick is not None and count:
        tick(1)
    return ChunkRows(start, rows)


@dataclass
class VideoPlan:
    """One video's work: its kept frames and the settings that follow from its rate."""

    name: str
    paths: tuple[str, ...]
    k: int
    recheck: int


def _open(out: str) -> Any:
    return zarr.open_group(out, mode="r+", use_consolidated=False)


def _track_task(out: str, plan: VideoPlan, crop: int) -> dict[str, Any]:
    """The video's face track: read back if an earlier build recorded it, else found and recorded."""
    cv2.setNumThreads(1)
    group: Any = _open(out)[f"videos/{plan.name}"]
    stored = group.attrs.get("track")
    if stored is not None:
        return {"track": stored}
    try:
        track = face_track(plan.paths, plan.recheck, crop)
    except MepipeError as exc:
        return {"error": str(exc)}
    record = track.to_record()
    group["face_lost"][:] = track.lost_mask(len(plan.paths))
    group.attrs["track"] = record
    return {"track": record}


def _chunk_task(
    track: dict[str, Any],
    out: str,
    plan: VideoPlan,
    start: int,
    stop: int,
    settings: SpotSettings,
    groups: tuple[Group, ...],
    tick: Callable[[int], None] | None,
) -> dict[str, Any]:
    """Compute and write pairs ``[start, stop)`` of a video for each group whose blocks
    here are not all marked done; marks and checksums after the rows, block by block."""
    result = {"video": plan.name, "start": start, "stop": stop, "error": track.get("error"), "computed": 0}
    if "track" not in track:
        return result
    cv2.setNumThreads(1)
    group: Any = _open(out)[f"videos/{plan.name}"]
    block = settings.block
    marks = slice(start // block, -(-stop // block))
    todo = [g for g in groups if not group[g.done][marks].all()]
    if not todo:
        return result
    features = [name for g in todo for name in g.features]
    rows = chunk_rows(
        plan.paths,
        FaceTrack.from_record(track["track"]),
        start,
        stop,
        plan.k,
        settings.method,
        features,
        warm=settings.schedule,
        crop=settings.crop,
        block=block,
        tick=tick,
        versions={name: version for g in todo for name, version in g.versions},
    )
    for first in range(start, stop, block):
        last = min(first + block, stop)
        index = first // block
        for g in todo:
            for name in g.arrays:
                if name != "face_lost":  # the track task's
                    group[name][first:last] = rows.arrays[name][first - start : last - start]
            group[checksum_name(g.done)][index] = block_checksum(group, g.arrays, slice(first, last))
            group[g.done][index] = True
    result["computed"] = stop - start
    result["ticked"] = tick is not None
    return result


@dataclass
class SpotSummary:
    """What a spotting build did."""

    store: str
    videos: int = 0
    frames: int = 0
    computed: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    #: intervals kept in the table that label no frame: their video is not on disk
    unplaced: list[str] = field(default_factory=list)
    #: the features computed now on a store that held others (what it held untouched)
    added: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No video failed."""
        return not self.failed

    def format(self) -> str:
        """A few lines for the terminal."""
        lines = [f"{self.store}: {self.videos} videos, {self.frames} frames ({self.computed} computed now)"]
        if self.added:
            lines.append(f"  added {', '.join(self.added)} (what the store held untouched)")
        lines += [f"  failed {name}: {error}" for name, error in sorted(self.failed.items())]
        lines += [f"  interval not placed, {text}" for text in self.unplaced]
        return "\n".join(lines)


def _existing(out: str, mode: Literal["r", "r+"] = "r+") -> Any | None:
    try:
        group: Any = zarr.open_group(out, mode=mode, use_consolidated=False)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, zarr.errors.NodeTypeValidationError):
        return None
    return group


def _open_store(
    out: str, settings: SpotSettings, features: Sequence[str] | None, provenance: dict[str, Any], overwrite: bool
) -> tuple[Any, SpottingRecord, tuple[str, ...]]:
    """The store's root and record, created or checked against a rerun's settings; the
    features this build adds to a finished store."""
    recorded = json.loads(json.dumps(settings.recorded()))
    group = None if overwrite else _existing(out)
    if group is not None:
        if not is_spotting_group(group):
            raise UsageError(f"{out} exists and is not a spotting store; pass --overwrite to replace it")
        record = spotting_record(group)
        had, asked = _comparable(record.settings), _comparable(recorded)
        if had != asked:
            changed = sorted(key for key in asked if had.get(key) != asked[key])
            flow = f" (its flow: {had['method']}, this build's: {settings.method})" if "method" in changed else ""
            if changed == ["warm", "warm_parameters"] or changed == ["still", "warm", "warm_parameters"]:
                flow = f" (its warm starts: {had['warm']}, this build's: {asked['warm']}; leave warm unset to resume)"
            raise UsageError(
                f"{out} was built with other settings ({', '.join(changed)}){flow}; pass --overwrite to replace it"
            )
        wanted = with_builder(record.held if features is None else features)
        check_features(wanted, record)
        dropped = [name for name in record.held if name not in wanted]
        if dropped:
            raise UsageError(
                f"{out} holds {', '.join(dropped)}, which --arrays {','.join(features or ())} leaves out; "
                "name them too, or leave --arrays out to use the store's own"
            )
        added = tuple(name for name in wanted if name not in record.held)
        record.added += list(added)
        record.feature_versions.update(versions(added))
        return group, record, added
    chosen = with_builder(default_features() if features is None else features)
    group = zarr.open_group(out, mode="w")
    record = SpottingRecord(settings=recorded, features=list(chosen), feature_versions=versions(chosen), **provenance)
    write_record(group, record)
    return group, record, ()


def _plan(
    group: Any, video: Video, rows: list[tuple[int, Interval]], settings: SpotSettings, record: SpottingRecord
) -> VideoPlan:
    step, rate = kept(video, settings.fps)
    paths = tuple(str(p) for p in video.paths[::step])
    k = settings.k or default_k(rate)
    recheck = max(1, int(round(settings.recheck * rate)))
    plan = VideoPlan(video.name, paths, k, recheck)
    if "numbers" not in group:  # new, or its creation was interrupted
        about = VideoRecord(video.subject, video.fps, step, rate, k, recheck, video.expected, video.missing())
        numbers = np.asarray(video.numbers[::step], dtype=np.int64)
        create_video(group, numbers, rows, about, record.features, settings.block)
    if checksum_name("done") not in group:  # made before block checksums were kept: none for its blocks
        group.create_array(checksum_name("done"), shape=group["done"].shape, chunks=(1,), dtype=str)
    for name in record.added:
        done = done_name(name, record)
        if done not in group:
            create_feature_arrays(group, get_feature(name), len(paths), settings.block, done)
    return plan


def _groups(record: SpottingRecord) -> tuple[Group, ...]:
    def versions(names: Sequence[str]) -> tuple[tuple[str, int], ...]:
        return tuple((name, feature_version(record, name)) for name in names)

    groups = [Group("done", tuple(record.features), tuple(covered_arrays(record, "done")), versions(record.features))]
    for name in record.added:
        done = done_name(name, record)
        groups.append(Group(done, (name,), tuple(covered_arrays(record, done)), versions((name,))))
    return tuple(groups)


class _Ticks:
    """Pairs done, counted by the tasks of a local threaded build as they go (the bar then
    moves every pair, not every chunk); a lock, since tasks run on several threads."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.lock = threading.Lock()

    def __call__(self, count: int) -> None:
        with self.lock:
            self.bar.update(True, count)


def build_spotting(
    videos: Sequence[Video],
    intervals: Sequence[Interval],
    out: str | Path,
    settings: SpotSettings | None = None,
    *,
    features: Sequence[str] | None = None,
    scheduler: Any = "threads",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    provenance: dict[str, Any] | None = None,
) -> SpotSummary:
    """Build (or resume) a spotting store of ``videos``, labelled by ``intervals``.

    Parameters
    ----------
    videos, intervals : sequence
        A release's long videos and its sheet's intervals (:mod:`mepipe.release.longvideo`).
    out : str or Path
        The store's path.
    settings : SpotSettings, optional
        Defaults: :class:`SpotSettings`'s.
    features : sequence of str, optional
        Per-frame features (:mod:`mepipe.arrays.perframe`); default: the store's own, or
        the default features for a new store. Naming more on a finished store adds them.
    scheduler : str or distributed.Client
        ``threads``, ``processes``, ``sync``, a scheduler address or a Client.
    workers : int, optional
        Local workers (default: one per core).
    overwrite : bool
        Replace a store built with other settings.
    progress : bool
        Show a bar of the frames done.
    provenance : dict, optional
        Recorded in a new store: ``dataset``, ``sheet``, ``sheet_sha256``.

    Returns
    -------
    SpotSummary
        A video whose face cannot be found on its first frame is failed, with the reason.
    """
    settings = settings or SpotSettings()
    settings.check()
    out = str(out)
    # warm left unset: the store's own schedule (a plain rerun resumes it), else the default
    settings = settings.resolved(None if overwrite else stored_warm(out))
    names = [v.name for v in videos]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"video names must be unique; repeated: {', '.join(twice)}")
    for name in features or ():
        get_feature(name)
    about = {
        "version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        **(provenance or {}),
    }
    with StoreLock(out):
        root, record, added = _open_store(out, settings, features, about, overwrite)
        known = set(names)
        write_intervals(root, intervals, known)
        rows: dict[str, list[tuple[int, Interval]]] = {}
        for index, interval in enumerate(intervals):
            rows.setdefault(interval.video, []).append((index, interval))
        record.videos = names
        plans = [
            _plan(root.require_group(f"videos/{v.name}"), v, rows.get(v.name, []), settings, record)
            for v in videos
            if v.numbers
        ]
        write_record(root, record)
        summary = _run(out, plans, _groups(record), settings, scheduler, workers, progress)
        summary.videos, summary.added = len(videos), added
        summary.failed.update({v.name: "no frames on disk" for v in videos if not v.numbers})
        summary.unplaced = [
            f"sheet row {i.row}: video {i.video!r} is not in the release" for i in intervals if i.video not in known
        ]
        for plan in plans:
            error = summary.failed.get(plan.name)
            root[f"videos/{plan.name}"].attrs.update({"status": "failed" if error else "ok", "error": error or ""})
        consolidate(out)
    return summary


def _run(
    out: str,
    plans: Sequence[VideoPlan],
    groups: tuple[Group, ...],
    settings: SpotSettings,
    scheduler: Any,
    workers: int | None,
    progress: bool,
) -> SpotSummary:
    summary = SpotSummary(out, frames=sum(len(p.paths) for p in plans))
    threads = cv2.getNumThreads()
    with Progress(summary.frames, "build spotting", enabled=progress, unit="frame") as bar:
        # tasks on this process's threads count their pairs as they go; elsewhere (processes,
        # a cluster) a chunk's pairs are counted when it lands
        local = isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS and scheduler != "processes"
        tick = _Ticks(bar) if local and bar.mode != "off" else None
        graph: dict[Any, Any] = {}
        keys = []
        for plan in plans:
            track_key = ("spot-track", plan.name)
            graph[track_key] = (_track_task, out, plan, settings.crop)
            for start in range(0, len(plan.paths), settings.chunk):
                key = ("spot-chunk", plan.name, start)
                stop = min(start + settings.chunk, len(plan.paths))
                graph[key] = (_chunk_task, track_key, out, plan, start, stop, settings, groups, tick)
                keys.append(key)

        def on_result(result: dict[str, Any]) -> None:
            if result["error"]:
                summary.failed[result["video"]] = result["error"]
            summary.computed += result["computed"]
            if not result.get("ticked"):
                bar.update(not result["error"], result["stop"] - result["start"])

        try:
            run_graph(graph, keys, on_result, scheduler=scheduler, workers=workers)
        except OSError as exc:
            raise MepipeError(
                f"writing {out} failed: {one_line(exc)}; fix that and rerun the same command to resume"
            ) from None
        finally:
            cv2.setNumThreads(threads)
    return summary
