"""SAMM Long Videos (Yap et al., FG 2020): 2040x1088 grayscale frames at 200 fps, for spotting.

Release layout::

    SAMMLV_gt.xlsx                            # sheet FACS_Movement_Only; 9 rows of notes, then the header
    SAMM_longvideos/006_1/006_1_0001.jpg      # <subject>_<inducement>/<video>_<n:04d>.jpg (5 digits from 10000)

The sheet's ``Filename`` is ``<subject>_<inducement>_<n>``: the video is its first two
parts. There is no emotion column: the micro rows are the clips of SAMM's recognition
sheet, under the same names (all 159), so where ``SAMM_Micro_FACS_Codes_v2.xlsx`` (or
its CSV export) sits beside this sheet, each micro row's emotion is its clip's
``Estimated Emotion`` as a MEGC class (SAMM's 3-class map: anger, contempt, disgust,
fear, sadness -> negative; happiness -> positive; surprise; ``other`` -> others), for
spot-then-recognise (:func:`join_clip_sheet`); ``synth`` writes one beside its sheet for
the same reason. Frame numbers are the file names' (from
1); many macro rows hold non-integer numbers (``566.4000000000001``), rounded here and
recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import ClassVar

from mepipe.errors import SheetError
from mepipe.release.longvideo import Interval, LongVideoRecipe, unique_names
from mepipe.release.recipe import Sample
from mepipe.release.sheet import cell_text, read_table, write_table

from .samm import RECIPE as SAMM_CLIPS

#: the notes above the header, as the sheet has them (column F of row 7 holds the apex note)
_PREAMBLE = (
    ("SAMM Long Videos Dataset - FACS Codes",),
    (),
    ("Symbol Key:",),
    ('"/" = or',),
    (),
    ("AU Help:",),
    (
        '"L2 or R2" = Unilateral AU 2 on left side of face / right side of face',
        None,
        None,
        None,
        None,
        "NOTE: Subjects with Apex Frame not annotated were labelled as -1.",
    ),
    ('"A2" = Asymmetric AU 2. Occurs on both sides of face but stronger on one side',),
    (),
)
_LAYOUT = (
    "Subject",
    "Filename",
    "Inducement Code",
    "Onset",
    "Apex",
    "Offset",
    "Duration",
    "Type",
    "Action Units",
    "Notes",
)
_COLUMNS = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("Onset", "Onset Frame"),
    "apex": ("Apex", "Apex Frame"),
    "offset": ("Offset", "Offset Frame"),
    "type": ("Type", "Micro"),
}


class SammLv(LongVideoRecipe):
    """SAMM Long Videos: ``SAMMLV_gt.xlsx`` and ``SAMM_longvideos/<video>/<video>_<n>.jpg``."""

    name = "samm_lv"
    clip_recipe = "samm"
    title = "SAMM Long Videos"
    fps = 200.0
    color = "gray"
    resolution = (2040, 1088)
    face_width = 400
    sheet_file = "SAMMLV_gt.xlsx"
    sheet_globs = ("SAMM_LongVideos*.xlsx", "SAMMLV*.xlsx", "SAMM_LongVideos*.csv", "SAMMLV*.csv")
    sheet_names = ("FACS_Movement_Only",)
    frames_dirs = ("SAMM_longvideos", "SAMM_LongVideos", "SAMM_Long_Videos")
    lengths_file = "SAMM_MEGC.txt"
    first_frame = 1
    # the sheet codes none: SAMM's (the same lab's recognition sheet), for synth
    emotions = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "other")
    durations: ClassVar[Mapping[str, tuple[int, int]]] = {"micro": (45, 97), "macro": (121, 572)}
    frame_pattern = re.compile(r"\d+_\d+_(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)

    def read_intervals(self, sheet: Path, extents: Mapping[str, tuple[int, int]] | None = None) -> list[Interval]:
        table = read_table(Path(sheet), _COLUMNS, self.sheet_names)
        out = []
        for number, cells in table.rows:
            raw = table.raw(cells)
            fields = {key: cells[index] for key, index in table.columns.items()}
            kind = cell_text(fields["type"]).lower()
            if not kind.startswith(("micro", "macro")):
                raise SheetError(f"{sheet} row {number}: type {cell_text(fields['type'])!r} is neither Micro nor Macro")
            subject, clip = cell_text(fields["subject"]), cell_text(fields["clip"])
            if not subject or clip.count("_") < 2:
                raise SheetError(f"{sheet} row {number}: Filename {clip!r} is not <subject>_<inducement>_<n>")
            subject = subject.zfill(3) if subject.isdigit() else subject
            video = "_".join(clip.split("_")[:2])
            interval = self.place(
                number,
                video,
                subject,
                kind[:5],
                (fields["onset"], fields["apex"], fields["offset"]),
                extents,
                aus=" ".join(cell_text(raw.get("Action Units")).split()),
                name=clip,
            )
            out.append(interval)
        out = unique_names(out)
        clip_sheet = self.clip_sheet(Path(sheet).parent)
        return out if clip_sheet is None else join_clip_sheet(out, clip_sheet)

    def clip_sheet(self, folder: Path) -> Path | None:
        """SAMM's recognition sheet in ``folder`` (the long-video sheet's), where one is."""
        for pattern in SAMM_CLIPS.sheet_globs:
            found = sorted(Path(folder).glob(pattern))
            if found:
                return found[0]
        return None

    def write_sheet(
        self, intervals: Sequence[Interval], path: Path, blinks: Sequence[tuple[str, int, int]] = ()
    ) -> None:
        rows = []
        for interval in intervals:
            inducement = int(interval.video.split("_")[1])
            kind = "Micro - 1/2" if interval.type == "micro" else "Macro"
            apex = -1 if interval.apex is None else interval.apex
            name = interval.name.split("#", 1)[0]
            rows.append(
                [
                    interval.subject,
                    name,
                    inducement,
                    interval.onset,
                    apex,
                    interval.offset,
                    interval.length,
                    kind,
                    interval.aus or None,
                    None,
                ]
            )
        write_table(Path(path), _LAYOUT, rows, sheet=self.sheet_names[0], preamble=_PREAMBLE)
        # the emotions the long-video sheet cannot hold go where the real ones are: SAMM's
        # clip sheet beside it, under the micro rows' names
        clips = [
            Sample(
                sample_id=f"{i.subject}/{i.name.split('#', 1)[0]}",
                subject=i.subject,
                clip=i.name.split("#", 1)[0],
                onset=i.onset,
                apex=i.apex,
                offset=i.offset,
                emotion=i.emotion,
                label=i.emotion,
                action_units=i.aus,
            )
            for i in intervals
            if i.type == "micro" and i.emotion
        ]
        if clips:
            SAMM_CLIPS.write_sheet(clips, Path(path).parent / SAMM_CLIPS.sheet_file)

    def video_folders(self, frames_root: Path) -> list[tuple[str, str, Path, tuple[str, ...]]]:
        out: list[tuple[str, str, Path, tuple[str, ...]]] = []
        for folder in sorted(p for p in frames_root.iterdir() if p.is_dir()):
            if re.fullmatch(r"\d+_\d+", folder.name):
                out.append((folder.name, folder.name.split("_")[0], folder, ()))
        return out

    def video_dir(self, video: str, subject: str) -> PurePosixPath:
        return PurePosixPath(video)

    def frame_name(self, video: str, number: int) -> str:
        return f"{video}_{number:04d}.jpg"

    def synth_names(self, subject: int, index: int) -> tuple[str, str]:
        name = f"{6 + subject:03d}"
        return f"{name}_{index + 1}", name

    def expression_name(self, video: str, subject: str, index: int) -> str:
        """The sheet's ``Filename`` of a video's ``index``-th expression (from 1): ``006_1_3``."""
        return f"{video}_{index}"


def join_clip_sheet(intervals: Sequence[Interval], clip_sheet: Path) -> list[Interval]:
    """``intervals`` with each micro row's emotion taken from SAMM's clip sheet, by name.

    The emotion is the clip's MEGC class (``negative``, ``positive``, ``surprise``; SAMM's
    own 3-class map) or ``others`` (SAMM's ``other``); a micro row whose name the clip
    sheet lacks, and every macro row, keeps an empty emotion (spotting only).

    Raises
    ------
    SheetError
        The clip sheet cannot be read (one line naming it).
    """
    clips = {sample.clip: sample for sample in SAMM_CLIPS.read(Path(clip_sheet))}
    out = []
    for interval in intervals:
        sample = clips.get(interval.name.split("#", 1)[0]) if interval.type == "micro" else None
        if sample is not None:
            interval = replace(interval, emotion=SAMM_CLIPS.label_of(sample, "3") or "others")
        out.append(interval)
    return out


RECIPE = SammLv()
