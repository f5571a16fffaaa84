"""CAS(ME)^3 part A long videos (Li et al., TPAMI 2022): colour frames at 30 fps, for spotting.

Release layout::

    CAS(ME)3_part_A_v2.xls                        # sheet AU+Emotion: every ME and MaE; sheet eye blink
    cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx     # the MEs again, with their emotion
    part_A/spNO.1/a/color/175.jpg                 # <subject>/<recording>/color/<n>.jpg

A video is a recording, ``spNO.1_a``. The sheet's numbers are the file names' numbers,
and frames are missing (most videos lack their first 7-8, issues #3/#4 of the dataset's
repository): a frame's number is never its position. ``AU+Emotion`` has no emotion
column despite its name; a micro-expression's emotion comes from the JpgIndex sheet when
it sits beside it (matched on subject, recording and onset, else apex and offset).
Legacy ``.xls`` needs ``xlrd``; its CSV export (``<stem>__AU+Emotion.csv``) or an
``.xlsx`` save reads without it (``synth`` writes ``.xlsx``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import ClassVar

from mepipe.errors import SheetError, UsageError
from mepipe.release.longvideo import SEARCH_DEPTH, Interval, LongVideoRecipe, frame_value, unique_names
from mepipe.release.scan import Scan
from mepipe.release.sheet import cell_text, read_table, write_workbook

_SHEET, _BLINKS = "AU+Emotion", "eye blink"
_LAYOUT = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type", "Objective class")
_LABEL_LAYOUT = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
_COLUMNS = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("Onset",),
    "apex": ("Apex",),
    "offset": ("Offset",),
    "type": ("Expression type",),
}
_LABEL_COLUMNS = {**{k: v for k, v in _COLUMNS.items() if k != "type"}, "emotion": ("emotion",)}
_TYPES = {"micro-expression": "micro", "macro-expression": "macro"}
_SUBJECT = re.compile(r"spNO\.\d+", re.IGNORECASE)


class Casme3Lv(LongVideoRecipe):
    """CAS(ME)^3 part A: ``CAS(ME)3_part_A_v2`` and ``<subject>/<recording>/color/<n>.jpg``."""

    name = "casme3_lv"
    clip_recipe = "casme3"
    title = "CAS(ME)^3 part A"
    fps = 30.0
    color = "rgb"
    resolution = (1280, 720)
    face_width = 320
    sheet_file = "CAS(ME)3_part_A_v2.xls"
    sheet_globs = ("CAS(ME)3_part_A_v2*.xlsx", "CAS(ME)3_part_A_v2*.xls", "CAS(ME)3_part_A_v2__AU+Emotion.csv")
    label_globs = ("cas(me)3_part_A_ME_label_JpgIndex*.xlsx", "cas(me)3_part_A_ME_label_JpgIndex*.csv")
    #: where ``synth`` writes the workbook (nothing here writes ``.xls``) and the ME labels
    synth_sheet_file = "CAS(ME)3_part_A_v2.xlsx"
    label_file = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
    frames_dirs = ("part_A", "CAS(ME)3_part_A", "data")
    first_frame = 0
    emotions = ("happy", "disgust", "surprise", "fear", "anger", "sad", "others")
    durations: ClassVar[Mapping[str, tuple[int, int]]] = {"micro": (10, 55), "macro": (31, 278)}
    frame_pattern = re.compile(r"(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)
    missing_at_start = 7

    def find_sheet(self, root: Path, scanned: Scan | None = None) -> Path:
        if (Path(root) / self.synth_sheet_file).is_file():
            return Path(root) / self.synth_sheet_file
        return super().find_sheet(root, scanned)

    def read_intervals(self, sheet: Path, extents: Mapping[str, tuple[int, int]] | None = None) -> list[Interval]:
        sheet = Path(sheet)
        table = read_table(sheet, _COLUMNS, (_SHEET,))
        emotions = self._emotions(sheet)
        out = []
        for number, cells in table.rows:
            raw = table.raw(cells)
            fields = {key: cells[index] for key, index in table.columns.items()}
            kind = cell_text(fields["type"]).lower()
            if kind not in _TYPES:
                raise SheetError(
                    f"{sheet} row {number}: Expression type {cell_text(fields['type'])!r} is neither "
                    "Micro-expression nor Macro-expression"
                )
            subject, recording = cell_text(fields["subject"]), cell_text(fields["clip"])
            if not subject or not recording:
                raise SheetError(f"{sheet} row {number}: no Subject or Filename")
            video = f"{subject}_{recording}"
            onset, apex, offset = (frame_value(fields[k]) for k in ("onset", "apex", "offset"))
            emotion = emotions.get((subject, recording, "onset", onset)) or emotions.get(
                (subject, recording, "apex-offset", (apex, offset)), ""
            )
            interval = self.place(
                number,
                video,
                subject,
                _TYPES[kind],
                (fields["onset"], fields["apex"], fields["offset"]),
                extents,
                aus=" ".join(cell_text(raw.get("AU")).split()),
                emotion=emotion if kind == "micro-expression" else "",
                name=f"{video}_{cell_text(fields['onset'])}",
            )
            out.append(interval)
        return unique_names(out)

    def read_blinks(self, sheet: Path) -> list[tuple[str, int, int]]:
        """``(video, onset, offset)`` of the eye blinks the workbook's ``eye blink`` sheet
        lists (its CSV export beside a CSV sheet); empty where there is none."""
        sheet = Path(sheet)
        if sheet.suffix.lower() == ".csv":
            sheet = sheet.with_name(sheet.name.replace(f"__{_SHEET}", f"__{_BLINKS}"))
            if not sheet.is_file():
                return []
        columns = {k: _COLUMNS[k] for k in ("subject", "clip", "onset", "offset")}
        try:
            table = read_table(sheet, columns, (_BLINKS,))
        except SheetError:
            return []
        if table.sheet not in ("", _BLINKS):
            return []
        out = []
        for _, cells in table.rows:
            f = {key: cells[index] for key, index in table.columns.items()}
            onset, offset = frame_value(f["onset"]), frame_value(f["offset"])
            if onset is not None and offset is not None:
                out.append((f"{cell_text(f['subject'])}_{cell_text(f['clip'])}", round(onset), round(offset)))
        return out

    def _emotions(self, sheet: Path) -> dict[tuple, str]:
        """The JpgIndex sheet's emotions beside ``sheet``, by (subject, recording, onset) and
        by (subject, recording, (apex, offset)); empty without that sheet."""
        found = next((p for pattern in self.label_globs for p in sorted(sheet.parent.glob(pattern))), None)
        if found is None:
            return {}
        table = read_table(found, _LABEL_COLUMNS, ("label",))
        out: dict[tuple, str] = {}
        for _, cells in table.rows:
            f = {key: cells[index] for key, index in table.columns.items()}
            subject, recording = cell_text(f["subject"]), cell_text(f["clip"])
            emotion = cell_text(f["emotion"]).lower()
            out.setdefault((subject, recording, "onset", frame_value(f["onset"])), emotion)
            key = (frame_value(f["apex"]), frame_value(f["offset"]))
            out.setdefault((subject, recording, "apex-offset", key), emotion)
        return out

    def write_sheet(
        self, intervals: Sequence[Interval], path: Path, blinks: Sequence[tuple[str, int, int]] = ()
    ) -> None:
        rows, labels = [], []
        for interval in intervals:
            subject, recording = interval.video.split("_", 1)
            apex = str(0 if interval.apex is None else interval.apex)
            kind = "Micro-expression" if interval.type == "micro" else "Macro-expression"
            cells = [subject, recording, str(interval.onset), apex, str(interval.offset), interval.aus or None]
            rows.append([*cells, kind, "VII"])
            if interval.type == "micro":
                labels.append([*cells, "VII", interval.emotion or None])
        blink_rows = [[*video.split("_", 1), str(onset), str(offset)] for video, onset, offset in blinks]
        header = ["Subject", "Filename", "Onset", "Offset"]
        write_workbook(Path(path), [(_SHEET, [list(_LAYOUT), *rows]), (_BLINKS, [header, *blink_rows])])
        write_workbook(Path(path).parent / self.label_file, [("label", [list(_LABEL_LAYOUT), *labels])])

    def frames_root(self, root: Path, variant: str | None = None) -> Path:
        """The folder holding the ``spNO.<n>`` subject folders: one of :attr:`frames_dirs`
        or any folder up to :data:`SEARCH_DEPTH` below ``root`` (``root`` itself too)."""
        if variant:
            return super().frames_root(root, variant)
        root = Path(root)
        for depth in range(SEARCH_DEPTH + 1):
            for folder in sorted(root.glob("/".join(["*"] * depth)) if depth else [root]):
                if folder.is_dir() and any(_SUBJECT.fullmatch(p.name) and p.is_dir() for p in folder.iterdir()):
                    return folder
        raise UsageError(f"no {self.title} frames under {root}: expected spNO.<n> subject folders in it or below")

    def video_folders(self, frames_root: Path) -> list[tuple[str, str, Path, tuple[str, ...]]]:
        out: list[tuple[str, str, Path, tuple[str, ...]]] = []
        for subject in sorted(p for p in frames_root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)):
            for recording in sorted(p for p in subject.iterdir() if (p / "color").is_dir()):
                out.append((f"{subject.name}_{recording.name}", subject.name, recording / "color", ()))
        return out

    def video_dir(self, video: str, subject: str) -> PurePosixPath:
        return PurePosixPath(subject, video.split("_", 1)[1], "color")

    def frame_name(self, video: str, number: int) -> str:
        return f"{number}.jpg"

    def synth_names(self, subject: int, index: int) -> tuple[str, str]:
        name = f"spNO.{1 + subject}"
        return f"{name}_{'abcdefghijklmnopqrstuvwxyz'[index % 26]}", name


RECIPE = Casme3Lv()
