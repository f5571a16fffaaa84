"""What a long-video (spotting) release holds: videos, and the intervals its sheet marks.

Every frame number here is the release's own: the sheet's number, which for CAS(ME)^3 is
the file name's number, so a video with missing frames has ``numbers`` with gaps and a
frame's number is never its position.
"""

from __future__ import annotations

import math
import os
from abc import abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from mepipe.errors import SheetError, UsageError
from mepipe.release.base import BaseRecipe
from mepipe.release.sheet import cell_text

#: the interval types a spotting sheet marks
TYPES = ("micro", "macro")
#: how deep below a release root its frames folder and frames-per-video list are looked for
#: (its sheet: :meth:`~mepipe.release.base.BaseRecipe.find_sheet`)
SEARCH_DEPTH = 3


@dataclass(frozen=True)
class Interval:
    """One interval of a long video: an annotated expression (a sheet's row, or a truth
    CSV's) or a spotted one (a prediction).

    Attributes
    ----------
    video : str
        The video's name, as :attr:`Video.name`.
    type : str
        ``"micro"`` or ``"macro"`` (:data:`TYPES`).
    onset, offset : int
        First and last frame, inclusive, in the release's own numbers.
    apex : int or None
        The apex frame; ``None`` where the sheet has none usable (recorded in ``repairs``)
        and for predictions.
    subject : str
        The subject's id, as the release names it (``""`` where the source does not say).
    dataset : str
        The dataset the video belongs to, where a truth spans several (``""`` otherwise).
    aus : str
        The action units as the sheet writes them (``""`` where none).
    emotion : str
        The sheet's emotion text, or a prediction's recognised class (``""`` where none).
    row : int
        The sheet or file row it came from (1-based, as a spreadsheet shows it), for
        messages; 0 when it came from no file.
    repairs : tuple of str
        What was fixed in the row (an erratum, offset 0, ...), one text each.
    name : str
        The expression's name, unique in the release (the sheet's, made unique where the
        sheet repeats one: ``037_4_1`` and ``037_4_1#2``).
    error : str
        Non-empty when the row cannot be placed in its video (it lies past the video's
        end, its video is not on disk): ``sheet row N: ...``. Such an interval is kept,
        never dropped, so the counts stay the sheet's.
    """

    video: str
    type: str
    onset: int
    offset: int
    apex: int | None = None
    subject: str = ""
    dataset: str = ""
    aus: str = ""
    emotion: str = ""
    row: int = 0
    repairs: tuple[str, ...] = field(default=())
    name: str = ""
    error: str = ""

    @property
    def length(self) -> int:
        """Frames from onset to offset, both included."""
        return self.offset - self.onset + 1


@dataclass(frozen=True)
class Video:
    """One long video of a release, found on disk.

    Attributes
    ----------
    name : str
        The video's name, unique in the release: CAS(ME)^2 ``s15_0101`` (as its
        frames-per-video list names it; the folder is ``15_0101disgustingteeth``), SAMM-LV
        ``006_1``, CAS(ME)^3 ``spNO.1_a``.
    subject : str
        The subject's id.
    fps : float
        Frames per second of the recording.
    numbers : tuple of int
        The frame numbers on disk, increasing (gaps where frames are missing).
    paths : tuple of Path
        The frame files, one per number.
    expected : int or None
        How many frames the release says the video has (its frames-per-video list), where
        it says.
    repairs : tuple of str
        What was odd in how the release files it (a video under another subject's folder).
    """

    name: str
    subject: str
    fps: float
    numbers: tuple[int, ...]
    paths: tuple[Path, ...]
    expected: int | None = None
    repairs: tuple[str, ...] = ()

    @property
    def extent(self) -> tuple[int, int]:
        """First and last frame number on disk."""
        return (self.numbers[0], self.numbers[-1]) if self.numbers else (0, -1)

    def missing(self) -> list[int]:
        """Frame numbers absent between the first and last on disk."""
        if not self.numbers:
            return []
        have = set(self.numbers)
        return [n for n in range(self.numbers[0], self.numbers[-1] + 1) if n not in have]


@dataclass(frozen=True)
class Span:
    """One row's frame numbers after the repairs: what :func:`settle` makes of the cells."""

    onset: int
    apex: int | None
    offset: int
    repairs: tuple[str, ...]
    error: str


def frame_value(cell: Any) -> float | None:
    """A frame number cell as a number (``566.4000000000001``, ``'355'``, 12); ``None`` for junk."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, (int, float)):
        return float(cell) if math.isfinite(cell) else None
    try:
        value = float(cell_text(cell))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def settle(onset: Any, apex: Any, offset: Any, extent: tuple[int, int | None]) -> Span:
    """Frame numbers of one sheet row with the spotting sheets' errata repaired.

    Parameters
    ----------
    onset, apex, offset : cell
        The row's cells as read.
    extent : (int, int or None)
        The video's first and last frame number (last ``None`` where unknown).

    Returns
    -------
    Span
        Every repair is named in ``repairs``; ``error`` is set (and the numbers kept as
        far as they go) when the row cannot be placed: a cell that is no number, an onset
        after the offset or past the video's end.

    Notes
    -----
    The repairs, in order: non-integer numbers rounded to the nearest frame (SAMM-LV's
    macro rows); apex 0 or -1 is "not annotated" (``None``); offset 0 is "not
    annotated", the interval ending at its apex; an offset before the apex is taken as
    the two swapped; an apex before the onset is unusable (``None``); an onset before the
    video's first frame starts at that frame (macro rows at 0); an offset past the
    video's last frame ends there.
    """
    first, last = extent
    values = {"onset": frame_value(onset), "apex": frame_value(apex), "offset": frame_value(offset)}
    cells = {"onset": onset, "apex": apex, "offset": offset}
    for key in ("onset", "offset"):
        if values[key] is None:
            return Span(0, None, 0, (), f"{key} {cell_text(cells[key])!r} is not a frame number")
    repairs: list[str] = []
    rounded = []
    numbers: dict[str, int | None] = {}
    for key, value in values.items():
        if value is None:
            numbers[key] = None
            continue
        numbers[key] = round(value)
        if value != numbers[key]:
            rounded.append(f"{key} {value!r} -> {numbers[key]}")
    if rounded:
        repairs.append("non-integer frame numbers rounded: " + ", ".join(rounded))
    start, peak, end = numbers["onset"], numbers["apex"], numbers["offset"]
    assert start is not None and end is not None
    if values["apex"] is None:
        text = cell_text(apex)
        repairs.append(f"apex {text!r} is not a frame number: none" if text else "no apex: none")
    elif peak is not None and peak <= 0:
        repairs.append(f"apex {peak} (not annotated): none")
        peak = None
    if end == 0 and start > 0:
        if peak is None or peak < start:
            return Span(start, peak, end, tuple(repairs), "offset 0 (not annotated) and no apex to end at")
        repairs.append(f"offset 0 (not annotated): ends at its apex {peak}")
        end = peak
    if peak is not None and start <= end < peak:
        repairs.append(f"offset {end} before apex {peak}: taken as swapped (apex {end}, offset {peak})")
        peak, end = end, peak
    if end < start:
        return Span(start, peak, end, tuple(repairs), f"onset {start} after offset {end}")
    if peak is not None and peak < start:
        repairs.append(f"apex {peak} before onset {start}: none")
        peak = None
    if start < first:
        repairs.append(f"onset {start} before the video's first frame {first}: starts at {first}")
        start = max(start, first)
        end = max(end, start)
        if peak is not None and peak < start:
            peak = None
    if last is not None and end > last:
        if start > last:
            return Span(start, peak, end, tuple(repairs), f"onset {start} past the video's last frame {last}")
        repairs.append(f"offset {end} past the video's last frame {last}: ends at {last}")
        end = last
        if peak is not None and peak > end:
            repairs.append(f"apex {peak} past the video's last frame {last}: none")
            peak = None
    return Span(start, peak, end, tuple(repairs), "")


def unique_names(intervals: Sequence[Interval]) -> list[Interval]:
    """``intervals`` with each repeat of an earlier name renamed ``<name>#2``, ``#3``, ...,
    the renaming recorded (SAMM-LV's ``037_4_1`` names a micro- and a macro-expression)."""
    seen: Counter[str] = Counter()
    first_row: dict[str, int] = {}
    out = []
    for interval in intervals:
        seen[interval.name] += 1
        first_row.setdefault(interval.name, interval.row)
        if seen[interval.name] > 1:
            renamed = f"{interval.name}#{seen[interval.name]}"
            note = f"name {interval.name} also on sheet row {first_row[interval.name]}: named {renamed}"
            interval = replace(interval, name=renamed, repairs=(*interval.repairs, note))
        out.append(interval)
    return out


def read_lengths(path: Path) -> dict[str, int]:
    """A frames-per-video list (``ME2.txt``, ``SAMM_MEGC.txt``: ``<video> <frames>`` a
    line) as video -> frame count.

    Raises
    ------
    SheetError
        A line that is not a name and a count, naming the file and line.
    """
    lengths: dict[str, int] = {}
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SheetError(f"{path}: cannot read the frames-per-video list ({type(exc).__name__})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit():
            raise SheetError(f"{path} line {number}: expected '<video> <frames>', got {line.strip()!r}")
        lengths[parts[0]] = int(parts[1])
    return lengths


def write_lengths(lengths: Mapping[str, int], path: Path) -> Path:
    """Write a frames-per-video list as the releases' baseline code ships them."""
    Path(path).write_text("".join(f"{name} {count}\n" for name, count in lengths.items()))
    return Path(path)


class LongVideoRecipe(BaseRecipe):
    """How to read one long-video (spotting) release: its sheet's intervals, its videos on disk.

    Subclasses live in ``mepipe.pipelines`` (``casme_sq``, ``samm_lv``, ``casme3_lv``).
    Frame numbers everywhere are the release's own (see the module docstring). What every
    recipe declares (``name``, ``title``, ``color``, ``resolution``, ``fps``,
    ``face_width``, ``sheet_file``, ``sheet_globs``, ``frames_dirs``, ``frame_pattern``)
    and the sheet search are :class:`~mepipe.release.base.BaseRecipe`'s; ``frames_dirs``
    name the folder holding the videos.
    """

    #: which registry task the recipe serves (clip recipes serve ``recognition``)
    task: ClassVar[str] = "spotting"
    #: the frames-per-video list's file name, where the field has one
    lengths_file: str = ""
    #: the number of a video's first frame where no frames say otherwise
    first_frame: int = 1
    #: the release's emotions (lower case) where it codes them, else the recognition
    #: release of the same lab's (``synth`` draws from them)
    emotions: tuple[str, ...] = ()
    #: the clip recipe of the same release whose emotion words the sheet writes (SAMM-LV's
    #: are SAMM's): its class maps serve the long videos' intervals
    clip_recipe: str = ""
    #: (low, high) lengths in frames of the sheet's micro- and macro-expressions, 10th
    #: to 90th percentile (``synth`` draws from them; tests check them against the sheet)
    durations: ClassVar[Mapping[str, tuple[int, int]]] = {}
    #: frames the release lacks at each video's start (``synth`` leaves them out)
    missing_at_start: int = 0
    #: where ``synth`` writes the sheet when not :attr:`sheet_file` (a format nothing here writes)
    synth_sheet_file: str = ""

    # ---- what each release defines ------------------------------------------------

    @abstractmethod
    def read_intervals(self, sheet: Path, extents: Mapping[str, tuple[int, int]] | None = None) -> list[Interval]:
        """Every row of ``sheet`` as an :class:`Interval`, in sheet order, repaired.

        ``extents``: video -> (first, last) frame number, from the videos on disk or a
        frames-per-video list; where given, intervals are checked against their video's
        ends and a video missing from it is an interval's ``error``.

        Raises
        ------
        SheetError
            The sheet cannot be read (one line naming the file and, where known, the row).
        """

    @abstractmethod
    def write_sheet(
        self, intervals: Sequence[Interval], path: Path, blinks: Sequence[tuple[str, int, int]] = ()
    ) -> None:
        """Write ``intervals`` as the release's sheet (its layout, its sheets) at ``path``;
        ``blinks``, ``(video, onset, offset)``, where the release lists them (CAS(ME)^3)."""

    @abstractmethod
    def video_folders(self, frames_root: Path) -> list[tuple[str, str, Path, tuple[str, ...]]]:
        """``(video, subject, folder, repairs)`` of each video under ``frames_root``."""

    @abstractmethod
    def video_dir(self, video: str, subject: str) -> PurePosixPath:
        """Where ``synth`` puts a video's frames, relative to the frames root."""

    @abstractmethod
    def frame_name(self, video: str, number: int) -> str:
        """File name of frame ``number`` of ``video`` (used by ``synth``)."""

    @abstractmethod
    def synth_names(self, subject: int, index: int) -> tuple[str, str]:
        """``(video, subject)`` names of the ``subject``-th made-up subject's ``index``-th
        video (both from 0)."""

    def expression_name(self, video: str, subject: str, index: int) -> str:
        """The sheet's name of a made-up video's ``index``-th expression (from 1); ``""``
        where the release names an expression by its onset (``<video>_<onset>``)."""
        return ""

    # ---- shared -------------------------------------------------------------------

    def frames_root(self, root: Path, variant: str | None = None) -> Path:
        """The folder holding the videos: the first of :attr:`frames_dirs` (or ``variant``)
        found in ``root`` or up to :data:`SEARCH_DEPTH` folders below.

        Raises
        ------
        UsageError
            None found; names what was looked for.
        """
        root = Path(root)
        names = (variant,) if variant else self.frames_dirs
        for name in names:
            for depth in range(SEARCH_DEPTH):
                found = sorted(p for p in root.glob("/".join(["*"] * depth + [name])) if p.is_dir())
                if found:
                    return found[0]
        raise UsageError(f"no {self.title} frames under {root}: expected a folder {' or '.join(names)} in it or below")

    def videos(self, root: Path, variant: str | None = None, *, frames: Path | None = None) -> list[Video]:
        """The release's videos as they sit on disk, in name order.

        Each video's frames are its files whose names parse as frame numbers
        (:meth:`frame_number`), sorted by number; ``expected`` comes from the
        frames-per-video list when the release holds one. ``frames``: the folder holding
        the videos, instead of the search (:meth:`frames_root`).
        """
        frames_root = Path(frames) if frames is not None else self.frames_root(root, variant)
        lengths = self.listed_lengths(root)
        videos = []
        for video, subject, folder, repairs in self.video_folders(frames_root):
            numbered = []
            with os.scandir(folder) as entries:
                for entry in entries:
                    number = self.frame_number(entry.name)
                    if number is not None:
                        numbered.append((number, Path(entry.path)))
            numbered.sort()
            videos.append(
                Video(
                    name=video,
                    subject=subject,
                    fps=self.fps,
                    numbers=tuple(n for n, _ in numbered),
                    paths=tuple(p for _, p in numbered),
                    expected=lengths.get(video),
                    repairs=repairs,
                )
            )
        return sorted(videos, key=lambda v: v.name)

    def listed_lengths(self, root: Path) -> dict[str, int]:
        """The frames-per-video list in ``root`` (or below) as video -> frames; empty without one."""
        if not self.lengths_file:
            return {}
        for depth in range(SEARCH_DEPTH + 1):
            found = sorted(Path(root).glob("/".join(["*"] * depth + [self.lengths_file])))
            if found:
                return read_lengths(found[0])
        return {}

    def extents_from_lengths(self, lengths: Mapping[str, int]) -> dict[str, tuple[int, int]]:
        """Video -> (first, last) frame number from a frames-per-video list."""
        return {video: (self.first_frame, self.first_frame + count - 1) for video, count in lengths.items()}

    def intervals(
        self,
        root: Path,
        variant: str | None = None,
        *,
        sheet: Path | None = None,
        videos: Sequence[Video] | None = None,
    ) -> list[Interval]:
        """The sheet's intervals, checked against the videos on disk (their first and last
        frame numbers); without frames on disk, against the release's frames-per-video
        list; without either, unchecked at the videos' ends.

        ``sheet``: the sheet to read instead of the release's own (:meth:`find_sheet`);
        ``videos``: the videos already found (:meth:`videos`), instead of a new search.
        """
        sheet = Path(sheet) if sheet is not None else self.find_sheet(root)
        if videos is None:
            try:
                videos = self.videos(root, variant)
            except UsageError:
                videos = []
        extents: Mapping[str, tuple[int, int]] | None
        if videos:
            extents = {v.name: v.extent for v in videos if v.numbers}
        else:
            extents = self.extents_from_lengths(self.listed_lengths(root)) or None
        return self.read_intervals(sheet, extents)

    def place(
        self,
        row: int,
        video: str,
        subject: str,
        kind: str,
        cells: tuple[Any, Any, Any],
        extents: Mapping[str, tuple[int, int]] | None,
        **fields: Any,
    ) -> Interval:
        """One sheet row as an :class:`Interval`: its frame numbers settled (:func:`settle`)
        against its video's extent, the error (if any) naming the row."""
        error = ""
        if extents is not None and video not in extents:
            extent: tuple[int, int | None] = (self.first_frame, None)
            error = f"video {video} is not in the release"
        else:
            extent = extents[video] if extents is not None else (self.first_frame, None)
        span = settle(*cells, extent)
        error = span.error or error
        return Interval(
            video=video,
            subject=subject,
            type=kind,
            onset=span.onset,
            apex=span.apex,
            offset=span.offset,
            row=row,
            repairs=span.repairs,
            error=f"sheet row {row}: {error}" if error else "",
            **fields,
        )
