"""CAS(ME)^2 long videos (Qu et al., IEEE TAC 2018): 640x480 colour frames at 30 fps, for spotting.

Release layout (either frame variant)::

    CAS(ME)^2code_final.xlsx                      # or the MEGC copy CASME_sq_gt.xlsx
    rawpic/s15/15_0101disgustingteeth/img001.jpg  # s<folder>/<folder>_<code><name>/img<n:03d>.jpg
    longVideoFaceCropped/s15/15_0101disgustingteeth/img001.jpg   # face-cropped variant

The workbook has no header row. Its code sheet's columns are subject index, expression
name (``anger1_1``: the video's emotion name and number, then the expression's),
onset, apex, offset, AUs, emotion (negative/positive/surprise/others), type and the
self-reported emotion. ``naming rule1`` maps the subject index to the folder number row
for row (``15, s15, 1``); ``naming rule2`` maps video codes to names (``0101,
disgust1``). A video is named ``s15_0101``, as the frames-per-video list ``ME2.txt``
names it; its folder's trailing description is not in the sheet and is matched by prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from mepipe.errors import SheetError, UsageError
from mepipe.release.longvideo import Interval, LongVideoRecipe, unique_names
from mepipe.release.sheet import cell_int, cell_text, read_grids, write_workbook

#: the workbook's sheets: codes (the dataset's, the MEGC copy's, a loader's spelling),
#: then the two naming rules
_CODES = ("CAS(ME)^2code_final", "CASFEcode_final", "CASMEcode_final")
_RULE1, _RULE2 = "naming rule1", "naming rule2"
#: video code -> video name and the folder's description, as the release names them
VIDEO_CODES = {
    "0101": ("disgust1", "disgustingteeth"),
    "0102": ("disgust2", "eatingworms"),
    "0401": ("anger1", "girlcrashing"),
    "0402": ("anger2", "beatingpregnantwoman"),
    "0502": ("happy1", "funnyerrors"),
    "0503": ("happy2", "unnyfarting"),
    "0505": ("happy3", "funnyinnovations"),
    "0507": ("happy4", "climbingthewall"),
    "0508": ("happy5", "funnydunkey"),
}
_TYPES = {"micro-expression": "micro", "macro-expression": "macro"}
#: the code sheet's columns, by position (it has no header row)
LAYOUT = ("subject index", "expression name", "onset", "apex", "offset", "AUs", "emotion", "type", "self-report")
_EXPRESSION = re.compile(r"[A-Za-z]+\d*_\d+")
_FOLDER = re.compile(r"(\d+)_(\d{4})\D*")
#: the self-report column's usual answer for each emotion (``synth`` fills it)
_SELF_REPORT = {"negative": "disgust", "positive": "happiness", "surprise": "surprise", "others": "others"}


class CasmeSq(LongVideoRecipe):
    """CAS(ME)^2: the code workbook with its naming rules, and ``rawpic/sNN/NN_<code>...`` videos."""

    name = "casme_sq"
    title = "CAS(ME)^2"
    fps = 30.0
    color = "rgb"
    resolution = (640, 480)
    face_width = 220
    sheet_file = "CAS(ME)^2code_final.xlsx"
    sheet_globs = ("CAS(ME)^2code_final*.xlsx", "CASME_sq_gt*.xlsx", "CAS*code_final*.xlsx", "CASME_sq_gt__*.csv")
    frames_dirs = ("rawpic", "longVideoFaceCropped", "rawpic_crop")
    lengths_file = "ME2.txt"
    first_frame = 1
    emotions = ("negative", "positive", "surprise", "others")
    durations: ClassVar[Mapping[str, tuple[int, int]]] = {"micro": (11, 16), "macro": (20, 65)}
    frame_pattern = re.compile(r"img(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)

    def read_intervals(self, sheet: Path, extents: Mapping[str, tuple[int, int]] | None = None) -> list[Interval]:
        codes, rule1, rule2 = self._grids(Path(sheet))  # the code sheet's layout checked
        folders: dict[int, int] = {}
        for number, cells in enumerate(rule1, start=1):
            if cell_text(cells[0]) and cell_text(cells[-1]):
                folder, index = _number(cells[0]), _number(cells[-1])
                if folder is None or index is None:
                    raise SheetError(f"{sheet} sheet {_RULE1!r} row {number}: expected folder and subject numbers")
                folders.setdefault(index, folder)
        videos = {cell_text(cells[1]): cell_text(cells[0]).zfill(4) for cells in rule2 if len(cells) > 1}
        out = []
        for number, cells in enumerate(codes, start=1):
            cells = tuple(cells) + (None,) * (9 - len(cells))
            if not any(cell_text(c) for c in cells):
                continue
            index, expression, kind = _number(cells[0]), cell_text(cells[1]), cell_text(cells[7]).lower()
            if kind not in _TYPES:
                raise SheetError(
                    f"{sheet} row {number}: type {cell_text(cells[7])!r} is neither micro- nor macro-expression"
                )
            if index is None or not expression:
                raise SheetError(f"{sheet} row {number}: no subject number or expression name")
            folder = folders.get(index)
            code = videos.get(expression.rsplit("_", 1)[0])
            subject = f"s{folder}" if folder is not None else f"subject {index}"
            video = f"{subject}_{code}"
            interval = self.place(
                number,
                video,
                subject,
                _TYPES[kind],
                (cells[2], cells[3], cells[4]),
                extents,
                aus=" ".join(cell_text(cells[5]).split()),
                emotion=cell_text(cells[6]).lower(),
                name=f"{subject}/{expression}",
            )
            if folder is None or code is None:
                what = (
                    f"subject {index} not in {_RULE1!r}" if folder is None else f"{expression!r}: no code in {_RULE2!r}"
                )
                interval = _with_error(interval, f"sheet row {number}: {what}")
            out.append(interval)
        return unique_names(out)

    def write_sheet(
        self, intervals: Sequence[Interval], path: Path, blinks: Sequence[tuple[str, int, int]] = ()
    ) -> None:
        subjects = sorted({i.subject for i in intervals}, key=lambda s: int(s[1:]))
        index = {subject: n for n, subject in enumerate(subjects, start=1)}
        rows, rule1 = [], []
        for interval in intervals:
            expression = interval.name.split("/", 1)[1]
            apex = 0 if interval.apex is None else interval.apex
            kind = "micro-expression" if interval.type == "micro" else "macro-expression"
            aus: Any = int(interval.aus) if interval.aus.isdigit() else interval.aus
            report = _SELF_REPORT.get(interval.emotion, interval.emotion)
            cells = [index[interval.subject], expression, interval.onset, apex, interval.offset, aus, interval.emotion]
            rows.append([*cells, kind, report])
            rule1.append([int(interval.subject[1:]), interval.subject, index[interval.subject]])
        rule2 = [[code, name] for code, (name, _) in VIDEO_CODES.items()]
        write_workbook(Path(path), [(_CODES[0], rows), (_RULE1, rule1), (_RULE2, rule2)])

    def video_folders(self, frames_root: Path) -> list[tuple[str, str, Path, tuple[str, ...]]]:
        found: dict[str, Path] = {}
        out = []
        for parent in sorted(p for p in frames_root.iterdir() if p.is_dir()):
            for folder in sorted(p for p in parent.iterdir() if p.is_dir()):
                match = _FOLDER.fullmatch(folder.name)
                if not match:
                    continue
                subject = f"s{int(match.group(1)):02d}"
                video = f"{subject}_{match.group(2)}"
                if video in found:
                    raise UsageError(f"{folder}: a second folder for video {video} (the first: {found[video]})")
                found[video] = folder
                repairs: tuple[str, ...] = ()
                if parent.name.lower() != subject:
                    repairs = (f"filed under {parent.name}/, another subject's folder: its name says {subject}",)
                out.append((video, subject, folder, repairs))
        return out

    def video_dir(self, video: str, subject: str) -> PurePosixPath:
        code = video.rsplit("_", 1)[1]
        return PurePosixPath(subject, f"{subject[1:]}_{code}{VIDEO_CODES[code][1]}")

    def frame_name(self, video: str, number: int) -> str:
        return f"img{number:03d}.jpg"

    def synth_names(self, subject: int, index: int) -> tuple[str, str]:
        name = f"s{15 + subject:02d}"
        return f"{name}_{list(VIDEO_CODES)[index % len(VIDEO_CODES)]}", name

    def expression_name(self, video: str, subject: str, index: int) -> str:
        """The sheet's name of a video's ``index``-th expression (from 1): ``s15/disgust1_3``."""
        return f"{subject}/{VIDEO_CODES[video.rsplit('_', 1)[1]][0]}_{index}"

    def _grids(self, sheet: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """The code sheet and the two naming rules, from the workbook or its CSV exports
        (``<stem>__<sheet>.csv`` beside each other)."""
        if sheet.suffix.lower() == ".csv":
            stem = sheet.name.split("__", 1)[0]
            paths = [sheet.with_name(f"{stem}__{title}.csv") for title in (_CODES[1], _RULE1, _RULE2)]
            paths[0] = paths[0] if paths[0].is_file() else sheet
            check_layout(str(paths[0]), read_grids(paths[0])[0][1])
            for found in paths[1:]:
                if not found.is_file():
                    raise SheetError(f"{sheet}: no {found.name} beside it (the naming rules' export)")
            exported = [read_grids(found)[0][1] for found in paths]
            return exported[0], exported[1], exported[2]
        read = read_grids(sheet, (*_CODES, _RULE1, _RULE2))
        grids = dict(read)
        codes: list[tuple] | None = next((grids[t] for t in _CODES if t in grids), None)
        if codes is None and read:  # another workbook: its first sheet's layout says what it is
            check_layout(f"{sheet} sheet {read[0][0]!r}", read[0][1])
        missing = [
            t for t, g in ((_CODES[0], codes), (_RULE1, grids.get(_RULE1)), (_RULE2, grids.get(_RULE2))) if g is None
        ]
        if missing:
            raise SheetError(f"{sheet}: no sheet {' or '.join(repr(m) for m in missing)} (found: {', '.join(grids)})")
        assert codes is not None
        check_layout(f"{sheet} sheet {next(t for t in _CODES if t in grids)!r}", codes)
        return codes, grids[_RULE1], grids[_RULE2]


def check_layout(where: str, rows: Sequence[tuple]) -> None:
    """Refuse, in one line naming the columns found and those expected, a code sheet whose
    first row does not fit :data:`LAYOUT` (a subject number, an expression name such as
    ``anger1_1``, three frame numbers, ..., a type ending in ``-expression``): a header
    row, or another dataset's sheet, before any row is read."""
    number, first = next(((n, r) for n, r in enumerate(rows, start=1) if any(cell_text(c) for c in r)), (0, ()))
    if not number:
        raise SheetError(f"{where}: empty sheet (expected no header row and the columns {', '.join(LAYOUT)})")
    cells = [cell_text(c) for c in first]
    while cells and not cells[-1]:
        cells.pop()
    padded = cells + [""] * (len(LAYOUT) - len(cells))
    fits = (
        _number(padded[0]) is not None
        and _EXPRESSION.fullmatch(padded[1]) is not None
        and all(cell_int(c) is not None for c in padded[2:5])
        and padded[7].lower() in _TYPES
    )
    if not fits:
        raise SheetError(
            f"{where}: not a CAS(ME)^2 code sheet: row {number} holds {', '.join(c or '(blank)' for c in cells)}; "
            f"expected no header row and the columns {', '.join(LAYOUT)}"
        )


def _number(cell: Any) -> int | None:
    text = cell_text(cell)
    return int(text) if text.isdigit() else None


def _with_error(interval: Interval, error: str) -> Interval:
    return replace(interval, error=interval.error or error)


RECIPE = CasmeSq()
