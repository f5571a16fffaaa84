"""CASME II (Yan et al., PLoS ONE 2014): 640x480 colour frames at 200 fps.

Release layout (either frame variant is accepted, under any folder name)::

    CASME2-coding-20190701.xlsx                 # or CASME2-coding-20140508.xlsx
    CASME2_RAW_selected/sub01/EP02_01f/img46.jpg
    Cropped/sub01/EP02_01f/reg_img46.jpg        # cropped + registered release
                                                # (meb: Cropped_original/...)

The file name's number is the sheet's frame number, not zero-padded. The sheet's
``Subject`` is ``'01'`` (text) or 1 (number); samples use the folder name ``sub01``.

Objective classes: the 20190701 sheet has an ``Objective Classes`` column; the 20140508
sheet has none and the release ships ``CASME2-ObjectiveClasses.xlsx`` beside it
(``Subject, Filename, Objective Class``). A coding sheet's own column is used; without
one, the ObjectiveClasses sheet beside it (or the one named with ``--objective-sheet``,
which also wins over the column). The two disagree in 37 rows: the separate sheet goes
with the 2014 AU codes, the column with the revised 2019 ones (docs/labels.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from mepipe.errors import UsageError
from mepipe.release.labels import MEGC2019_CLASSES, OBJECTIVE_CLASSES, objective_class
from mepipe.release.recipe import Sample, SynthStyle
from mepipe.release.sheet import cell_text, read_table, write_table
from mepipe.release.sheet_recipe import SheetRecipe, optional_cell

_FRAME = re.compile(r"(?:reg_)?img(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)
_FIVE = ("happiness", "disgust", "repression", "surprise", "others")


class Casme2(SheetRecipe):
    """CASME II: ``CASME2-coding-*.xlsx`` and ``CASME2_RAW_selected`` (or ``Cropped``) frames."""

    name = "casme2"
    #: codes 2 and 7 of the sheet, in no class set
    unlisted_emotions = ("fear", "sadness")
    title = "CASME-II"
    color = "rgb"
    resolution = (640, 480)
    fps = 200
    frame_pattern = _FRAME
    face_width = 280
    synth_style = SynthStyle(subject="sub{n:02d}", clip="EP{index:02d}_01", onsets=(20, 150))
    sheet_file = "CASME2-coding-20190701.xlsx"
    # raw frames are the primary variant: the cropped releases were registered by a
    # method of their own, which this build's alignment would repeat
    frames_dirs = ("CASME2_RAW_selected", "CASME2-RAW", "CASME2_RAW", "Cropped", "Cropped_original", "Cropped-updated")
    # the releases' own cropped, registered faces (MMNet: Cropped-updated/Cropped)
    registered_dirs = ("Cropped", "Cropped_original", "Cropped-updated")
    sheet_globs = ("CASME2-coding-*.xlsx", "CASME2-coding-*.csv")
    sheet_names = ("Sheet1",)
    layout = (
        "Subject",
        "Filename",
        None,
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        None,
        "Action Units",
        "Estimated Emotion",
    )
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "subject": ("Subject",),
        "clip": ("Filename",),
        "onset": ("OnsetFrame", "Onset"),
        "apex": ("ApexFrame", "Apex"),
        "offset": ("OffsetFrame", "Offset"),
        "emotion": ("Estimated Emotion", "Emotion"),
    }
    class_sets: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "5": _FIVE,
        # MEGC 2019 rules: others, fear and sadness are left out, not called negative
        "3": MEGC2019_CLASSES,
        "megc2019": MEGC2019_CLASSES,
        "objective": OBJECTIVE_CLASSES,
    }
    label_maps: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "5": {emotion: emotion for emotion in _FIVE},
        "3": {"happiness": "positive", "disgust": "negative", "repression": "negative", "surprise": "surprise"},
    }
    megc_dataset = "casme2"
    #: the objective-class sheet the release ships beside its coding sheet
    objective_file = "CASME2-ObjectiveClasses.xlsx"
    objective_globs = ("CASME2-ObjectiveClasses*.xlsx", "CASME2-ObjectiveClasses*.csv")
    objective_layout = ("Subject", "Filename", "Objective Class")

    def add_objective(self, samples: list[Sample], sheet: Path, objective_sheet: Path | None) -> list[Sample]:
        if objective_sheet is None:
            if any(s.objective_class for s in samples):
                return samples
            objective_sheet = self.find_objective_sheet(sheet)
            if objective_sheet is None:
                return samples
        elif not Path(objective_sheet).is_file():
            raise UsageError(f"--objective-sheet {objective_sheet}: no such file")
        columns = {
            "subject": ("Subject",),
            "clip": ("Filename",),
            "objective": ("Objective Class", "Objective Classes"),
        }
        table = read_table(Path(objective_sheet), columns, ("Sheet1",))
        classes = {
            (
                self.subject_id(cells[table.columns["subject"]]),
                cell_text(cells[table.columns["clip"]]),
            ): objective_class(cells[table.columns["objective"]])
            for _, cells in table.rows
        }
        return [replace(s, objective_class=classes.get((s.subject, s.clip), "")) for s in samples]

    def find_objective_sheet(self, sheet: Path) -> Path | None:
        """The ObjectiveClasses sheet beside the coding sheet ``sheet``, if there is one."""
        for pattern in self.objective_globs:
            found = sorted(Path(sheet).parent.glob(pattern))
            if found:
                return found[0]
        return None

    def write_sheet(self, samples: Sequence[Sample], path: Path) -> None:
        # the 2019 layout has no objective column: the classes go beside, as in the release
        super().write_sheet(samples, path)
        rows = [
            [self.subject_cell(s.subject), s.clip, int(s.objective_class)]
            for s in samples
            if s.objective_class and optional_cell(s.extra.get("raw", {}), self.objective_columns) is None
        ]
        if rows:
            write_table(Path(path).parent / self.objective_file, list(self.objective_layout), rows)

    def subject_id(self, cell: Any) -> str:
        text = cell_text(cell)
        digits = re.fullmatch(r"(?:sub)?0*(\d+)", text, re.IGNORECASE)
        return f"sub{int(digits.group(1)):02d}" if digits else text

    def subject_cell(self, subject: str) -> str:
        return subject.removeprefix("sub")

    def clip_dir(self, sample: Sample) -> PurePosixPath:
        return PurePosixPath(sample.subject, sample.clip)

    def clip_dirs(self, sample: Sample) -> tuple[PurePosixPath, ...]:
        # re-organised copies name subject folders as the sheet does: 01 (or 1)
        number = sample.subject.removeprefix("sub")
        subjects = dict.fromkeys([sample.subject, number, number.lstrip("0") or number])
        return tuple(PurePosixPath(subject, sample.clip) for subject in subjects)

    def frame_name(self, sample: Sample, number: int) -> str:
        return f"img{number}.jpg"


RECIPE = Casme2()
