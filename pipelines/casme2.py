"""CASME II (Yan et al., PLoS ONE 2014): 640x480 colour frames at 200 fps.

Release layout (either frame variant is accepted, under any folder name)::

    CASME2-coding-20190701.xlsx                 # or CASME2-coding-20140508.xlsx
    CASME2_RAW_selected/sub01/EP02_01f/img46.jpg
    Cropped/sub01/EP02_01f/reg_img46.jpg        # cropped + registered release
                                                # (meb: Cropped_original/...)

The file name's number is the sheet's frame number, not zero-padded. The sheet's
``Subject`` is ``'01'`` (text) or 1 (number); samples use the folder name ``sub01``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar

from mepipe.release.labels import MEGC2019_CLASSES
from mepipe.release.recipe import Sample, SynthStyle
from mepipe.release.sheet import cell_text

from ._sheet_recipe import SheetRecipe

_FRAME = re.compile(r"(?:reg_)?img(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)
_FIVE = ("happiness", "disgust", "repression", "surprise", "others")


class Casme2(SheetRecipe):
    """CASME II: ``CASME2-coding-*.xlsx`` and ``CASME2_RAW_selected`` (or ``Cropped``) frames."""

    name = "casme2"
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
    }
    label_maps: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "5": {emotion: emotion for emotion in _FIVE},
        "3": {"happiness": "positive", "disgust": "negative", "repression": "negative", "surprise": "surprise"},
    }
    megc_dataset = "casme2"

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
