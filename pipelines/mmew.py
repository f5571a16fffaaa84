"""MMEW (Ben et al., TPAMI 2021): micro-expressions of 36 subjects, 1920x1080 colour at 90 fps.

Release layout (the ``MMEW_Final`` distribution, emotion first)::

    MMEW_Micro_Exp.xlsx
    Micro_Expression/happiness/S03-01-002/1.jpg    # <emotion>/<Filename>/<frame>.jpg

The sheet was not available to us: its header (``Subject, Filename, OnsetFrame,
ApexFrame, OffsetFrame, Action Units, Estimated Emotion, remarks``), the 1920x1080/90 fps
figures and the layout come from public loaders (the README's datasets table lists the layouts). Two
uncertainties are handled by trying folders in turn: the ``others`` emotion may live in a
``repression`` folder, and the project page describes a subject-first layout
(``S03/happiness/S03-01-002``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar

from mepipe.release.labels import MEGC2019_CLASSES
from mepipe.release.recipe import Sample, SynthStyle
from mepipe.release.sheet import cell_text
from mepipe.release.sheet_recipe import SheetRecipe

_FRAME = re.compile(r"(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)
_SIX = ("happiness", "disgust", "surprise", "fear", "anger", "sadness")
#: folder names the release may use for an emotion besides the emotion itself
_FOLDER_ALIASES = {"others": ("repression",), "repression": ("others",)}


class Mmew(SheetRecipe):
    """MMEW: ``MMEW_Micro_Exp.xlsx`` and ``Micro_Expression/<emotion>/<Filename>`` frames."""

    name = "mmew"
    title = "MMEW"
    color = "rgb"
    resolution = (1920, 1080)
    fps = 90
    frame_pattern = _FRAME
    face_width = 420
    synth_style = SynthStyle(clip="{subject}-{emotion:02d}-{index:03d}", onsets=(1, 1))
    sheet_file = "MMEW_Micro_Exp.xlsx"
    frames_dirs = ("Micro_Expression", "Micro-Expression", "micro_expression")
    sheet_globs = ("MMEW_Micro_Exp*.xlsx", "MMEW_Micro_Exp*.csv")
    sheet_names = ("Sheet1",)
    layout = (
        "Subject",
        "Filename",
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        "Action Units",
        "Estimated Emotion",
        "remarks",
    )
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "subject": ("Subject",),
        "clip": ("Filename",),
        "onset": ("OnsetFrame", "Onset"),
        "apex": ("ApexFrame", "Apex"),
        "offset": ("OffsetFrame", "Offset"),
        "emotion": ("Estimated Emotion", "Emotion"),
    }
    class_sets: ClassVar[Mapping[str, tuple[str, ...]]] = {"6": _SIX, "3": MEGC2019_CLASSES}
    label_maps: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "6": {emotion: emotion for emotion in _SIX},
        # MEGC-style; no published MMEW 3-class split exists
        "3": {
            "happiness": "positive",
            "surprise": "surprise",
            "anger": "negative",
            "disgust": "negative",
            "fear": "negative",
            "sadness": "negative",
        },
    }

    def subject_id(self, cell: Any) -> str:
        text = cell_text(cell)
        digits = re.fullmatch(r"S?0*(\d+)", text, re.IGNORECASE)
        return f"S{int(digits.group(1)):02d}" if digits else text

    def subject_cell(self, subject: str) -> int | str:
        # public loaders read the sheet's Subject as a number
        digits = subject.removeprefix("S")
        return int(digits) if digits.isdigit() else subject

    def clip_dir(self, sample: Sample) -> PurePosixPath:
        return PurePosixPath(sample.emotion, sample.clip)

    def clip_dirs(self, sample: Sample) -> tuple[PurePosixPath, ...]:
        folders = (sample.emotion, *_FOLDER_ALIASES.get(sample.emotion, ()))
        return (
            *(PurePosixPath(folder, sample.clip) for folder in folders),
            *(PurePosixPath(sample.subject, folder, sample.clip) for folder in folders),
        )

    def frame_name(self, sample: Sample, number: int) -> str:
        return f"{number}.jpg"


RECIPE = Mmew()
