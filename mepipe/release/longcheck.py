"""Validate a long-video (spotting) release on disk against its sheet, as
:mod:`mepipe.release.check` does a release of clips.

Every video ends up ``ok``, ``repaired`` (usable, with something odd recorded: frames
missing between its first and last, a length other than the frames-per-video list's, a
video filed under another subject's folder) or ``broken`` (no frames, or a frame that does
not decode); every interval of the sheet ``ok``, ``repaired`` (its repairs, see
:func:`mepipe.release.longvideo.settle`) or ``broken`` (its video is not on disk, or it
lies past the video's ends: the interval's ``error``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mepipe._shared.progress import Progress
from mepipe._shared.text import join_repairs
from mepipe.errors import SampleError, UsageError
from mepipe.release.check import STATUSES
from mepipe.release.frames import check_clip
from mepipe.release.longvideo import Interval, LongVideoRecipe, Video

#: the columns of ``mepipe samples`` for a long-video release, in order
INTERVAL_COLUMNS = (
    "name",
    "video",
    "subject",
    "type",
    "onset",
    "apex",
    "offset",
    "aus",
    "emotion",
    "row",
    "repairs",
    "error",
)
#: frame numbers named in a video's reason before the rest are counted
_SHOWN = 6


@dataclass(frozen=True)
class VideoCheck:
    """Outcome for one video: ``status`` in :data:`~mepipe.release.check.STATUSES`,
    ``reason`` what is odd or broken; ``frames`` on disk, ``missing`` between its first
    and last."""

    video: str
    status: str
    reason: str
    frames: int
    missing: int


@dataclass(frozen=True)
class IntervalCheck:
    """Outcome for one interval of the sheet: ``status``, and ``reason`` its repairs or error."""

    name: str
    video: str
    status: str
    reason: str


@dataclass(frozen=True)
class LongCheckReport:
    """Outcome for a long-video release: its videos in name order, its intervals in sheet order."""

    dataset: str
    root: Path
    sheet: Path
    frames: Path
    videos: tuple[VideoCheck, ...]
    intervals: tuple[IntervalCheck, ...]

    @property
    def video_counts(self) -> dict[str, int]:
        """Number of videos per status, every status present."""
        counts = Counter(v.status for v in self.videos)
        return {status: counts[status] for status in STATUSES}

    @property
    def counts(self) -> dict[str, int]:
        """Number of intervals per status, every status present."""
        counts = Counter(i.status for i in self.intervals)
        return {status: counts[status] for status in STATUSES}

    @property
    def usable(self) -> bool:
        """True when no video and no interval is broken."""
        return self.video_counts["broken"] == 0 and self.counts["broken"] == 0


def interval_record(interval: Interval) -> dict[str, Any]:
    """One interval as a row of :data:`INTERVAL_COLUMNS` (apex ``""`` where none, the
    repairs joined as a clip sample's are)."""
    record = {column: getattr(interval, column) for column in INTERVAL_COLUMNS}
    record["apex"] = "" if interval.apex is None else interval.apex
    record["repairs"] = join_repairs(interval.repairs)
    return record


def release_intervals(recipe: LongVideoRecipe, root: Path | None, sheet: Path | None) -> list[Interval]:
    """The intervals of a sheet given alone (unchecked at the videos' ends), or of the
    release under ``root`` (checked against its videos on disk, else its frames-per-video
    list: :meth:`~mepipe.release.longvideo.LongVideoRecipe.intervals`)."""
    if sheet is not None and not Path(sheet).is_file():
        raise UsageError(f"no {recipe.title} sheet at {sheet}: not a file")
    if root is None:
        if sheet is None:
            raise UsageError("give --root DIR (a release) or --sheet FILE")
        return recipe.read_intervals(Path(sheet))
    return recipe.intervals(Path(root), sheet=sheet)


def interval_errors(intervals: Sequence[Interval]) -> list[str]:
    """One line per interval that cannot be placed in its video."""
    return [f"{i.name}: {i.error}" for i in intervals if i.error]


def check_video(video: Video, recipe: LongVideoRecipe, decode: bool = True) -> VideoCheck:
    """What is odd (``repaired``) or broken in one video on disk; with ``decode``, its
    first and last frames are decoded. Never raises SampleError."""
    if not video.numbers:
        return VideoCheck(video.name, "broken", "no frames on disk", 0, 0)
    notes = list(video.repairs)
    missing = video.missing()
    if missing:
        shown = ", ".join(str(n) for n in missing[:_SHOWN]) + (", ..." if len(missing) > _SHOWN else "")
        notes.append(f"{_count(len(missing), 'frame')} missing ({shown})")
    first, last = video.extent
    if video.expected is not None and video.expected != last - first + 1:
        listed = recipe.lengths_file or "the frames-per-video list"
        notes.append(f"frames {first}..{last} on disk ({last - first + 1}), {listed} lists {video.expected}")
    status = "repaired" if notes else "ok"
    if decode:
        try:
            check_clip([video.paths[0], video.paths[-1]], recipe.color)
        except SampleError as exc:
            status, notes = "broken", [str(exc), *notes]
    return VideoCheck(video.name, status, join_repairs(notes), len(video.numbers), len(missing))


def unlisted_videos(recipe: LongVideoRecipe, root: Path, videos: Sequence[Video]) -> list[VideoCheck]:
    """A ``broken`` check for each video the release's frames-per-video list names and
    the disk lacks, in name order."""
    found = {v.name for v in videos}
    lengths = recipe.listed_lengths(root)
    return [
        VideoCheck(name, "broken", f"listed in {recipe.lengths_file}, not on disk", 0, 0)
        for name in sorted(lengths)
        if name not in found
    ]


def check_interval(interval: Interval) -> IntervalCheck:
    """An interval's status: ``broken`` with its error, ``repaired`` with its repairs, else ``ok``."""
    if interval.error:
        return IntervalCheck(interval.name, interval.video, "broken", interval.error)
    status = "repaired" if interval.repairs else "ok"
    return IntervalCheck(interval.name, interval.video, status, join_repairs(interval.repairs))


def check_long_release(
    recipe: LongVideoRecipe,
    root: Path,
    sheet: Path | None = None,
    decode: bool = True,
    progress: bool = False,
    frames: Path | None = None,
) -> LongCheckReport:
    """Check the long-video release at ``root``: each video on disk, then each interval of
    its sheet against those videos' ends.

    Parameters
    ----------
    recipe : LongVideoRecipe
        The release's recipe.
    root : Path
        The release folder, or a folder above it.
    sheet : Path, optional
        The sheet to check against, instead of the release's own.
    decode : bool
        Decode each video's first and last frames (a release's frames are otherwise
        only listed).
    progress : bool
        Show progress on stderr: a bar on a terminal, lines in a log.
    frames : Path, optional
        The folder holding the videos, instead of the search.

    Raises
    ------
    UsageError
        No release at ``root``: no sheet, or no frames folder (names what was looked for).
    """
    root = Path(root)
    sheet = Path(sheet) if sheet is not None else recipe.find_sheet(root)
    frames_root = Path(frames) if frames is not None else recipe.frames_root(root)
    if not frames_root.is_dir():
        raise UsageError(f"no {recipe.title} frames at {frames_root}: not a folder")
    videos = recipe.videos(root, frames=frames_root)
    checked = []
    with Progress(len(videos), f"check {recipe.name}", enabled=progress, unit="video") as bar:
        for video in videos:
            checked.append(check_video(video, recipe, decode))
            bar.update(checked[-1].status != "broken")
    checked = sorted([*checked, *unlisted_videos(recipe, root, videos)], key=lambda v: v.video)
    intervals = recipe.intervals(root, sheet=sheet, videos=videos)
    results = tuple(check_interval(i) for i in intervals)
    return LongCheckReport(recipe.name, root, sheet, frames_root, tuple(checked), results)


def format_long_report(report: LongCheckReport, recipe: LongVideoRecipe) -> str:
    """Summary table (videos and intervals per status) followed by one line per repaired
    or broken video and interval."""
    frames = sum(v.frames for v in report.videos)
    missing = sum(v.missing for v in report.videos)
    lines = [
        f"{recipe.title} release {report.root} (sheet {report.sheet.name}): "
        f"{_count(len(report.videos), 'video')}, {_count(len(report.intervals), 'interval')}",
        f"frames {report.frames} ({_count(sum(v.frames > 0 for v in report.videos), 'video')}, "
        f"{_count(frames, 'frame')}, {missing} missing)",
        f"  {'':<9}{'videos':>7}{'intervals':>11}",
    ]
    lines += [f"  {status:<9}{report.video_counts[status]:>7}{report.counts[status]:>11}" for status in STATUSES]
    for status in ("repaired", "broken"):
        videos = [v for v in report.videos if v.status == status]
        intervals = [i for i in report.intervals if i.status == status]
        if videos or intervals:
            lines.append(f"{status}:")
            lines += [f"  video {v.video}: {v.reason}" for v in videos]
            lines += [f"  {i.name} ({i.video}): {i.reason}" for i in intervals]
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
