"""The spotting store: per-frame features of a release's long videos, its intervals and labels.

Layout (zarr v3, one group per video, so a video's arrays, track and completion marks
sit together and a video is added or resumed on its own; docs/spotting-store.md)::

    /                        attrs["mepipe_spotting"]: the store's record (SpottingRecord)
    /intervals/<column>      the sheet's intervals, one row each (video, subject, type,
                             onset, apex (-1: none), offset, aus, emotion, row, repairs,
                             name, error)
    /videos/<name>/          attrs: the video's record (VideoRecord)
        numbers      (T,)          the release's own frame numbers of the kept frames
        label_interval (T,)        row of /intervals the frame lies in (-1: none; the
                                   shortest where several do)
        label_type   (T,)          0 none, 1 micro, 2 macro (:data:`LABELS`)
        <feature arrays> (T, ...)  each per-frame feature's (mepipe.arrays.perframe):
                                   valid, unreadable, face_lost; images; region_motion;
                                   face_motion, head_motion; ...
        done         (B,)          block b's rows of the store's first features are written
        checksum     (B,)          sha256 of those rows, written with the mark
        done_<f>, checksum_<f> (B,) the same for a feature ``f`` added to a finished store

``T`` counts the kept frames: with ``fps`` below the video's rate every ``step``-th
frame on disk; frames missing on disk are absent, never renumbered (``numbers`` has the
gap, the record's ``missing`` lists it). Arrays along ``T`` are chunked by the block; a
task of work is a whole number of blocks, so every zarr chunk has one writer. Stores
made before the checksums were kept have none: their blocks are checked for consistency
only (:mod:`mepipe.store.verify`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr

from mepipe.arrays.pairs import REGIONS
from mepipe.arrays.perframe import PerFrameFeature, get_feature
from mepipe.errors import UsageError
from mepipe.release.longvideo import TYPES, Interval
from mepipe.store.schema import checksum

FORMAT = "mepipe-spotting/1"
#: the group attribute holding a spotting store's record
SPOTTING_ATTRS = "mepipe_spotting"
#: the values of ``label_type``
LABELS = ("none", *TYPES)
#: the features of every store made before they were registered
LEGACY_FEATURES = ("validity", "regions", "mdmd", "motion")


@dataclass
class SpottingRecord:
    """What a spotting store records of itself (``attrs["mepipe_spotting"]``).

    Attributes
    ----------
    settings : dict
        The build's settings that decide the arrays (``SpotSettings.recorded``).
    videos : list of str
        Every video of the release, built or not, in build order.
    features : list of str
        The per-frame features the store was created with (covered by ``done``).
    added : list of str
        Features added to it since (each with its own ``done_<f>``).
    feature_versions : dict
        Feature -> version of its computation.
    dataset, sheet, sheet_sha256, version, created : str
        Provenance: the recipe, the sheet and its digest, mepipe's version, when.
    versions : dict
        The libraries' versions.
    """

    settings: dict[str, Any]
    format: str = FORMAT
    regions: list[str] = field(default_factory=lambda: list(REGIONS))
    videos: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=lambda: list(LEGACY_FEATURES))
    added: list[str] = field(default_factory=list)
    feature_versions: dict[str, int] = field(default_factory=dict)
    dataset: str = ""
    sheet: str = ""
    sheet_sha256: str = ""
    version: str = ""
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> SpottingRecord:
        """The record of a store's attributes, those of older stores included."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(attrs).items() if k in known})

    def to_attrs(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def held(self) -> list[str]:
        """Every feature the store holds, in the order it was given them."""
        return [*self.features, *self.added]


@dataclass
class VideoRecord:
    """What a video's group records (its attributes)."""

    subject: str
    source_fps: float
    step: int
    fps: float
    k: int
    recheck: int
    expected: int | None = None
    missing: list[int] = field(default_factory=list)
    status: str = "started"
    error: str = ""
    track: dict[str, Any] | None = None

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> VideoRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in dict(attrs).items() if k in known})


def done_name(feature: str, record: SpottingRecord) -> str:
    """The completion marks covering ``feature`` in a store with ``record``."""
    return "done" if feature in record.features else f"done_{feature}"


def checksum_name(done: str) -> str:
    """The block checksums written with the marks ``done``."""
    return "checksum" + done[len("done") :]


def is_spotting_group(group: Any) -> bool:
    """Whether an open zarr group is a spotting store."""
    return SPOTTING_ATTRS in group.attrs


def open_spotting_store(path: str | Path, mode: Literal["r", "r+"] = "r") -> Any:
    """The root group of the spotting store at ``path``.

    Raises
    ------
    UsageError
        ``path`` is no zarr group, or not a spotting store (one line).
    """
    try:
        root: Any = zarr.open_group(str(path), mode=mode, use_consolidated=False if mode != "r" else None)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, zarr.errors.NodeTypeValidationError):
        raise UsageError(f"{path}: not a mepipe store (no zarr group there)") from None
    if not is_spotting_group(root):
        raise UsageError(
            f"{path}: not a spotting store (no {SPOTTING_ATTRS} record); "
            "build one with mepipe build --dataset <long-video recipe>"
        )
    return root


def spotting_record(group: Any) -> SpottingRecord:
    """The record of an open spotting store."""
    return SpottingRecord.from_attrs(group.attrs[SPOTTING_ATTRS])


def write_record(group: Any, record: SpottingRecord) -> None:
    group.attrs[SPOTTING_ATTRS] = record.to_attrs()


def video_names(group: Any, record: SpottingRecord | None = None) -> list[str]:
    """Every video of the store, built or not, in build order: the record's list, or the
    video groups a build interrupted before it recorded its list began."""
    record = record or spotting_record(group)
    if record.videos or "videos" not in group:
        return list(record.videos)
    return sorted(group["videos"].group_keys())


def video_groups(group: Any, record: SpottingRecord | None = None) -> list[tuple[str, Any]]:
    """``(name, group)`` of every video the store has a complete group of, in build order."""
    found = []
    for name in video_names(group, record):
        key = f"videos/{name}"
        if key in group and "numbers" in group[key]:
            found.append((name, group[key]))
    return found


def video_statuses(group: Any, record: SpottingRecord | None = None) -> dict[str, tuple[str, str]]:
    """Every video -> ``(status, error)``: ``ok``, ``failed`` (with the build's reason),
    ``unfinished`` (begun by a build that did not end) or ``not started``, in build order."""
    statuses = {}
    for name in video_names(group, record):
        key = f"videos/{name}"
        if key not in group or "numbers" not in group[key]:
            statuses[name] = ("not started", "")
            continue
        attrs = group[key].attrs
        status = str(attrs.get("status", "started"))
        statuses[name] = ("unfinished" if status == "started" else status, str(attrs.get("error", "")))
    return statuses


def built_videos(group: Any, record: SpottingRecord | None = None) -> list[tuple[str, Any]]:
    """:func:`video_groups` whose build finished (``status`` ok): the videos readers serve,
    in the order of :func:`mepipe.dataset.open_spotting`'s ``video`` axis."""
    return [(name, video) for name, video in video_groups(group, record) if video.attrs.get("status") == "ok"]


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


def write_intervals(group: Any, intervals: Sequence[Interval], known: set[str]) -> None:
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


def create_feature_arrays(group: Any, feature: PerFrameFeature, count: int, block: int, done: str) -> None:
    """A feature's arrays in a video group, all rows ``fill``, with their marks ``done``."""
    for spec in feature.arrays:
        shape = (count, *feature.shapes()[spec.name])
        group.create_array(
            spec.name, shape=shape, chunks=(block, *shape[1:]), dtype=spec.dtype, fill_value=spec.fill, overwrite=True
        )
    if "region_motion" in feature.array_names():
        group["region_motion"].attrs["regions"] = list(REGIONS)
    if done not in group:
        blocks = max(1, -(-count // block))
        group.create_array(done, shape=(blocks,), chunks=(1,), dtype=bool, fill_value=False, overwrite=True)
        group.create_array(checksum_name(done), shape=(blocks,), chunks=(1,), dtype=str, overwrite=True)


def create_video(
    group: Any,
    numbers: np.ndarray,
    rows: Sequence[tuple[int, Interval]],
    record: VideoRecord,
    features: Sequence[str],
    block: int,
) -> None:
    """A video's group: labels, every feature's arrays, its record; ``numbers`` last, its
    presence saying the group is complete (an interrupted creation is made again)."""
    count = len(numbers)
    for name in features:
        create_feature_arrays(group, get_feature(name), count, block, "done")
    group.create_array("label_interval", shape=(count,), chunks=(block,), dtype=np.int32, fill_value=-1, overwrite=True)
    group.create_array("label_type", shape=(count,), chunks=(block,), dtype=np.int8, fill_value=0, overwrite=True)
    group["label_type"].attrs["labels"] = list(LABELS)
    row, kind = labels(numbers, rows)
    group["label_interval"][:] = row
    group["label_type"][:] = kind
    group.attrs.update(asdict(record))
    numbers_array = group.create_array("numbers", shape=(count,), chunks=(max(count, 1),), dtype=np.int64)
    numbers_array[:] = numbers


def block_rows(group: Any, index: int) -> slice:
    """The rows of block ``index`` of a video group."""
    block = int(group["label_type"].chunks[0])
    return slice(index * block, min((index + 1) * block, group["numbers"].shape[0]))


def block_checksum(group: Any, arrays: Sequence[str], rows: slice) -> str:
    """sha256 of ``arrays``' rows of one block (:func:`mepipe.store.schema.checksum`)."""
    return checksum({name: np.asarray(group[name][rows]) for name in arrays})


def covered_arrays(record: SpottingRecord, done: str) -> list[str]:
    """The arrays the marks ``done`` (and their checksums) cover."""
    names = record.features if done == "done" else [done[len("done_") :]]
    return [a for name in names for a in get_feature(name).array_names()]


def feature_version(record: SpottingRecord, name: str) -> int:
    """The version of ``name`` a store holds: its recorded one; 1 for stores made before
    versions were recorded."""
    return int(record.feature_versions.get(name, 1))


def check_features(names: Sequence[str], record: SpottingRecord | None) -> None:
    """A one-line UsageError for a feature a store holds in a version this mepipe no
    longer computes (one it still computes resumes with it: :attr:`PerFrameFeature.earlier`)."""
    if record is None:
        return
    for name in names:
        if name not in record.held:
            continue
        had, feature = feature_version(record, name), get_feature(name)
        if had not in feature.versions():
            raise UsageError(
                f"the store's {name} was computed by version {had}, this mepipe computes version "
                f"{feature.version}; pass --overwrite to rebuild it"
            )
