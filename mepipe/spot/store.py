"""The spotting store: per-frame features of a release's long videos, its intervals and labels.

Layout (zarr v3, one group per video, so a video's arrays, track and completion marks
sit together and a video is added or resumed on its own)::

    /                        attrs["mepipe_spotting"]: format, settings, regions, videos
    /intervals/<column>      the sheet's intervals, one row each (video, subject, type,
                             onset, apex (-1: none), offset, aus, emotion, row, repairs)
    /videos/<name>/          attrs: subject, fps, step, k, track, missing, status
        numbers      (T,)          the release's own frame numbers of the kept frames
        label_interval (T,)        row of /intervals the frame lies in (-1: none; the
                                   shortest where several do)
        label_type   (T,)          0 none, 1 micro, 2 macro (:data:`LABELS`)
        face_lost    (T,)          no face found there (the track's lost ranges)
        valid        (T,)          the pair ``t -> t + k`` was computed
        unreadable   (T,)          a frame of the pair could not be decoded
        images       (T, 42, 42, 3) SOFTNet's (u, v, strain) region image of pair t
        region_motion (T, R)       MDMD's main-direction magnitude per region
                                   (attrs["regions"] names the columns)
        face_motion  (T,)          mean flow magnitude over the face (eyes masked)
        head_motion  (T, 2)        the nose patch's mean flow, subtracted from the above
        done         (B,)          block b's rows are written (completion marks)

``T`` counts the kept frames: with ``fps`` below the video's rate every ``step``-th
frame on disk; frames missing on disk are absent, never renumbered (``numbers`` has the
gap, ``attrs["missing"]`` lists it). Arrays along ``T`` are chunked by the warm-start
block (:data:`mepipe.spot.features.BLOCK` pairs); a task of work is a whole number of
blocks, so every zarr chunk has one writer, and the face track is computed once per
video before any chunk: the stored arrays are the same whatever the chunk size and the
number of workers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zarr

from mepipe._shared.progress import Progress
from mepipe._shared.text import one_line
from mepipe.engine.execute import run_graph
from mepipe.errors import MepipeError, UsageError
from mepipe.imaging.flow import flow_parameters
from mepipe.release.longvideo import TYPES, Interval, Video
from mepipe.store.layout import consolidate

from . import features

FORMAT = "mepipe-spotting/1"
#: the values of ``label_type``
LABELS = ("none", *TYPES)


@dataclass(frozen=True)
class SpotSettings:
    """How a spotting store is built (recorded in it; a resume must match).

    Attributes
    ----------
    method : str
        Flow method of :mod:`mepipe.imaging.flow`.
    k : int or None
        Frames from a pair's first to its second frame, counted in kept frames; ``None``:
        :func:`mepipe.spot.features.default_k` of each video's kept rate.
    fps : float or None
        Keep every ``round(video fps / fps)``-th frame (SAMM's 200 fps to ~30); ``None``: all.
    warm : bool
        Warm-start TV-L1 pairs inside a block (:data:`mepipe.spot.features.WARM`).
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
    warm: bool = True
    crop: int = features.CROP
    block: int = features.BLOCK
    chunk: int = 4 * features.BLOCK
    recheck: float = 1.0

    def check(self) -> None:
        """One line for a setting that cannot work."""
        flow_parameters(self.method)
        if self.chunk % self.block or self.chunk <= 0:
            raise UsageError(f"chunk ({self.chunk}) must be a positive multiple of the block ({self.block})")
        if self.k is not None and self.k < 1:
            raise UsageError(f"k must be at least 1, not {self.k}")
        if self.fps is not None and not self.fps > 0:
            raise UsageError(f"--fps must be positive, not {self.fps}")

    def recorded(self) -> dict[str, Any]:
        """What the store records: the settings that change the arrays (not ``chunk``)."""
        record = asdict(self)
        del record["chunk"]
        record["flow_parameters"] = flow_parameters(self.method)
        warm = self.warm and features.is_tvl1(self.method)
        record["warm_parameters"] = dict(features.WARM) if warm else None
        # the still rule and the cut decide the flow too: a store made before either resumes
        # only with its own
        record["still"] = features.STILL if warm else None
        record["cut"] = features.CUT
        return record


def kept(video: Video, fps: float | None) -> tuple[int, float]:
    """The step between kept frames and the kept rate for a target ``fps``."""
    step = 1 if fps is None or fps >= video.fps else max(1, int(round(video.fps / fps)))
    return step, video.fps / step


def labels(numbers: np.ndarray, intervals: Sequence[tuple[int, Interval]]) -> tuple[np.ndarray, np.ndarray]:
    """Per frame number: the row of the interval it lies in (-1: none) and its type code.

    Where intervals overlap (a micro-expression inside a macro one), the shortest wins.
    """
    row = np.full(len(numbers), -1, dtype=np.int32)
    kind = np.zeros(len(numbers), dtype=np.int8)
    for index, interval in sorted(intervals, key=lambda item: -item[1].length):
        inside = (numbers >= interval.onset) & (numbers <= interval.offset)
        row[inside] = index
        kind[inside] = LABELS.index(interval.type) if interval.type in LABELS else 0
    return row, kind


_TEXT_COLUMNS = ("video", "subject", "type", "aus", "emotion", "repairs", "name", "error")


def _write_intervals(group: Any, intervals: Sequence[Interval], known: set[str]) -> None:
    """The intervals as columns, every row kept: ``error`` says why a row labels no frame
    (the recipe's own error, or its video is not in the release)."""
    table = group.require_group("intervals")
    columns: dict[str, Any] = {
        "video": [i.video for i in intervals],
        "subject": [i.subject for i in intervals],
        "type": [i.type for i in intervals],
        "onset": [i.onset for i in intervals],
        "apex": [-1 if i.apex is None else i.apex for i in intervals],
        "offset": [i.offset for i in intervals],
        "aus": [i.aus for i in intervals],
        "emotion": [i.emotion for i in intervals],
        "row": [i.row for i in intervals],
        "repairs": ["; ".join(i.repairs) for i in intervals],
        # a release's own name of the expression, and its error, where its records have them
        "name": [str(getattr(i, "name", "")) for i in intervals],
        "error": [_interval_error(i, known) for i in intervals],
    }
    for name, values in columns.items():
        text = name in _TEXT_COLUMNS
        data = np.array(values, dtype=np.dtypes.StringDType() if text else np.int64).reshape(len(values))
        array = table.create_array(name, shape=data.shape, dtype=str if text else np.int64, overwrite=True)
        if data.size:
            array[:] = data


def _interval_error(interval: Interval, known: set[str]) -> str:
    error = str(getattr(interval, "error", ""))
    if interval.video not in known:
        missing = f"video {interval.video!r} is not in the release"
        error = f"{error}; {missing}" if error else missing
    return error


def read_intervals(group: Any) -> list[Interval]:
    """The intervals table of a spotting store, as records (with ``name`` and ``error`` where
    :class:`~mepipe.release.longvideo.Interval` has those fields)."""
    table: Any = group["intervals"]
    columns = {name: table[name][:] for name in table.array_keys()}
    count = len(columns["onset"])
    extra = {f.name for f in fields(Interval)} & {"name", "error"}
    return [
        Interval(
            **{name: str(columns[name][i]) for name in extra if name in columns},
            video=str(columns["video"][i]),
            subject=str(columns["subject"][i]),
            type=str(columns["type"][i]),
            onset=int(columns["onset"][i]),
            apex=None if int(columns["apex"][i]) < 0 else int(columns["apex"][i]),
            offset=int(columns["offset"][i]),
            aus=str(columns["aus"][i]),
            emotion=str(columns["emotion"][i]),
            row=int(columns["row"][i]),
            repairs=tuple(r for r in str(columns["repairs"][i]).split("; ") if r),
        )
        for i in range(count)
    ]


@dataclass
class VideoPlan:
    """One video's work: its kept frames and the settings that follow from its rate."""

    name: str
    paths: tuple[str, ...]
    k: int
    recheck: int


def _create_video(group: Any, video: Video, rows: list[tuple[int, Interval]], settings: SpotSettings) -> VideoPlan:
    step, rate = kept(video, settings.fps)
    numbers = np.asarray(video.numbers[::step], dtype=np.int64)
    paths = tuple(str(p) for p in video.paths[::step])
    k = settings.k or features.default_k(rate)
    recheck = max(1, int(round(settings.recheck * rate)))
    count, block = len(numbers), settings.block
    if "numbers" in group:  # created by an earlier, interrupted build
        return VideoPlan(video.name, paths, k, recheck)
    width, side, regions = features.REGION_SIDE, features.REGION_SIDE, len(features.REGIONS)
    specs: dict[str, tuple[tuple[int, ...], Any, Any]] = {
        "label_interval": ((count,), np.int32, -1),
        "label_type": ((count,), np.int8, 0),
        "face_lost": ((count,), bool, False),
        "valid": ((count,), bool, False),
        "unreadable": ((count,), bool, False),
        "images": ((count, side, width, 3), np.float32, np.nan),
        "region_motion": ((count, regions), np.float32, np.nan),
        "face_motion": ((count,), np.float32, np.nan),
        "head_motion": ((count, 2), np.float32, np.nan),
    }
    for name, (shape, dtype, fill) in specs.items():
        group.create_array(name, shape=shape, chunks=(block, *shape[1:]), dtype=dtype, fill_value=fill, overwrite=True)
    group["region_motion"].attrs["regions"] = list(features.REGIONS)
    group["label_type"].attrs["labels"] = list(LABELS)
    row, kind = labels(numbers, rows)
    group["label_interval"][:] = row
    group["label_type"][:] = kind
    blocks = max(1, -(-count // block))
    group.create_array("done", shape=(blocks,), chunks=(1,), dtype=bool, fill_value=False, overwrite=True)
    group.attrs.update(
        {
            "subject": video.subject,
            "source_fps": video.fps,
            "step": step,
            "fps": rate,
            "k": k,
            "recheck": recheck,
            "expected": video.expected,
            "missing": video.missing(),
            "status": "started",
        }
    )
    # last: its presence says the group is complete
    numbers_array = group.create_array("numbers", shape=(count,), chunks=(max(count, 1),), dtype=np.int64)
    numbers_array[:] = numbers
    return VideoPlan(video.name, paths, k, recheck)


def _open_store(out: str, settings: SpotSettings, overwrite: bool) -> Any:
    recorded = json.loads(json.dumps(settings.recorded()))
    try:
        group: Any = zarr.open_group(out, mode="r+", use_consolidated=False)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError):
        group = None
    if group is not None and not overwrite:
        meta = dict(group.attrs).get("mepipe_spotting")
        if meta is None:
            raise UsageError(f"{out} exists and is not a spotting store; pass --overwrite to replace it")
        if meta["settings"] != recorded:
            changed = sorted(key for key in recorded if meta["settings"].get(key) != recorded[key])
            raise UsageError(
                f"{out} was built with other settings ({', '.join(changed)}); pass --overwrite to replace it"
            )
        return group
    group = zarr.open_group(out, mode="w")
    group.attrs["mepipe_spotting"] = {"format": FORMAT, "settings": recorded, "regions": list(features.REGIONS)}
    return group


def _track_task(out: str, plan: VideoPlan, crop: int) -> dict[str, Any]:
    """The video's face track: read back if an earlier build recorded it, else found and recorded."""
    cv2.setNumThreads(1)
    group: Any = zarr.open_group(out, mode="r+", use_consolidated=False)[f"videos/{plan.name}"]
    stored = group.attrs.get("track")
    if stored is not None:
        return {"track": stored}
    try:
        track = features.face_track(plan.paths, plan.recheck, crop)
    except MepipeError as exc:
        return {"error": str(exc)}
    record = track.to_record()
    group["face_lost"][:] = track.lost_mask(len(plan.paths))
    group.attrs["track"] = record
    return {"track": record}


def _chunk_task(
    track: dict[str, Any], out: str, plan: VideoPlan, start: int, stop: int, settings: SpotSettings
) -> dict[str, Any]:
    """Compute and write pairs ``[start, stop)`` of a video, skipping blocks marked done."""
    result = {"video": plan.name, "start": start, "stop": stop, "error": track.get("error"), "computed": 0}
    if "track" not in track:
        return result
    cv2.setNumThreads(1)
    group: Any = zarr.open_group(out, mode="r+", use_consolidated=False)[f"videos/{plan.name}"]
    block = settings.block
    done = group["done"][start // block : -(-stop // block)]
    if done.all():
        return result
    computed = features.chunk_features(
        plan.paths,
        features.FaceTrack.from_record(track["track"]),
        start,
        stop,
        plan.k,
        settings.method,
        settings.warm,
        settings.crop,
        block,
    )
    for name in ("images", "region_motion", "face_motion", "head_motion", "valid", "unreadable"):
        group[name][start:stop] = getattr(computed, name)
    # marks last: a block is done only once all its rows are on disk
    group["done"][start // block : -(-stop // block)] = True
    result["computed"] = stop - start
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

    @property
    def ok(self) -> bool:
        """No video failed."""
        return not self.failed

    def format(self) -> str:
        """A few lines for the terminal."""
        lines = [f"{self.store}: {self.videos} videos, {self.frames} frames ({self.computed} computed now)"]
        lines += [f"  failed {name}: {error}" for name, error in sorted(self.failed.items())]
        lines += [f"  interval not placed, {text}" for text in self.unplaced]
        return "\n".join(lines)


def build_spotting(
    videos: Sequence[Video],
    intervals: Sequence[Interval],
    out: str | Path,
    settings: SpotSettings | None = None,
    *,
    scheduler: Any = "threads",
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
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
    scheduler : str or distributed.Client
        ``threads``, ``processes``, ``sync``, a scheduler address or a Client.
    workers : int, optional
        Local workers (default: one per core).
    overwrite : bool
        Replace a store built with other settings.
    progress : bool
        Show a bar of the chunks done.

    Returns
    -------
    SpotSummary
        A video whose face cannot be found on its first frame is failed, with the reason.
    """
    settings = settings or SpotSettings()
    settings.check()
    out = str(out)
    names = [v.name for v in videos]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise UsageError(f"video names must be unique; repeated: {', '.join(twice)}")
    known = set(names)
    root = _open_store(out, settings, overwrite)
    _write_intervals(root, intervals, known)
    rows: dict[str, list[tuple[int, Interval]]] = {}
    for index, interval in enumerate(intervals):
        rows.setdefault(interval.video, []).append((index, interval))
    plans = [
        _create_video(root.require_group(f"videos/{v.name}"), v, rows.get(v.name, []), settings)
        for v in videos
        if v.numbers
    ]
    empty = {v.name: "no frames on disk" for v in videos if not v.numbers}
    meta = dict(root.attrs["mepipe_spotting"])
    meta["videos"] = [v.name for v in videos]
    root.attrs["mepipe_spotting"] = meta
    graph: dict[Any, Any] = {}
    keys = []
    for plan in plans:
        track_key = ("spot-track", plan.name)
        graph[track_key] = (_track_task, out, plan, settings.crop)
        for start in range(0, len(plan.paths), settings.chunk):
            key = ("spot-chunk", plan.name, start)
            stop = min(start + settings.chunk, len(plan.paths))
            graph[key] = (_chunk_task, track_key, out, plan, start, stop, settings)
            keys.append(key)
    summary = SpotSummary(out, videos=len(videos), frames=sum(len(p.paths) for p in plans), failed=dict(empty))
    summary.unplaced = [
        f"sheet row {i.row}: video {i.video!r} is not in the release" for i in intervals if i.video not in known
    ]
    threads = cv2.getNumThreads()
    with Progress(len(keys), "build spotting", enabled=progress, unit="chunk") as bar:

        def on_result(result: dict[str, Any]) -> None:
            if result["error"]:
                summary.failed[result["video"]] = result["error"]
            summary.computed += result["computed"]
            bar.update(not result["error"])

        try:
            run_graph(graph, keys, on_result, scheduler=scheduler, workers=workers)
        except OSError as exc:
            raise MepipeError(
                f"writing {out} failed: {one_line(exc)}; fix that and rerun the same command to resume"
            ) from None
        finally:
            cv2.setNumThreads(threads)
    for plan in plans:
        group = root[f"videos/{plan.name}"]
        error = summary.failed.get(plan.name)
        group.attrs.update({"status": "failed" if error else "ok", "error": error or ""})
    consolidate(out)
    return summary
