"""CAS(ME)^3 part A (Li et al., TPAMI 2022): colour frames at 30 fps.

Release layout::

    cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx     # sheet "label"; frame numbers as text
    ME_A/spNO.1/b/color/175.jpg                   # <subject>/<Filename>/color/<frame>.jpg

One ``Filename`` (a recording, ``a``, ``b``, ...) holds several micro-expressions, so a
sample's clip is ``<Filename>_<Onset>`` (``spNO.1/e_62``): unique (two rows with the same
recording and onset are flagged as duplicates) and stable under re-ordering of the sheet.
The resolution is not given by the sheet or design notes; 1280x720 is the colour stream
size reported for the part A release.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar

from mepipe.release.labels import MEGC2019_CLASSES, OBJECTIVE_CLASSES
from mepipe.release.recipe import Sample, SynthStyle
from mepipe.release.sheet import cell_int, cell_text
from mepipe.release.sheet_recipe import Erratum, SheetRecipe

_FRAME = re.compile(r"(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)
_SIX = ("happy", "disgust", "surprise", "fear", "anger", "sad")


class Casme3(SheetRecipe):
    """CAS(ME)^3 part A: the ``JpgIndex_v2`` sheet and ``<subject>/<Filename>/color`` frames."""

    name = "casme3"
    title = "CAS(ME)^3"
    color = "rgb"
    resolution = (1280, 720)
    fps = 30
    frame_pattern = _FRAME
    face_width = 320
    synth_style = SynthStyle(subject="spNO.{n}")
    sheet_file = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
    # the folder names of the part A micro-expression frames (raw, cropped) in circulation
    frames_dirs = ("ME_A", "ME_A_cropped")
    registered_dirs = ("ME_A_cropped",)
    sheet_globs = ("cas(me)3_part_A_ME_label*.xlsx", "cas(me)3_part_A_ME_label*.csv")
    sheet_names = ("label",)
    layout = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion")
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "subject": ("Subject",),
        "clip": ("Filename",),
        "onset": ("Onset", "OnsetFrame"),
        "apex": ("Apex", "ApexFrame"),
        "offset": ("Offset", "OffsetFrame"),
        "emotion": ("emotion", "Estimated Emotion"),
    }
    class_sets: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "6": _SIX,
        "3": MEGC2019_CLASSES,
        "objective": OBJECTIVE_CLASSES,
    }
    # meb's index fixes of this sheet, each checked against the row it names; meb's apex
    # 160 for spNO.149/d (apex 83 before onset 112) is not needed: such an apex is
    # estimated from motion, as every apex outside onset..offset (docs/errata.md)
    errata = (
        Erratum(
            {"subject": "spNO.216", "clip": "d", "apex": "2668"},
            "onset",
            "3647",
            2647,
            "after its apex 2668 and offset 2694: a typo, meb's fix",
        ),
        Erratum(
            {"subject": "spNO.214", "clip": "c", "onset": "5"},
            "offset",
            "3460",
            34,
            "a 3456-frame (115 s) micro-expression: a typo, meb's fix",
        ),
        Erratum(
            {"subject": "spNO.40", "clip": "e", "onset": "1812"}, "offset", "0", 1845, "not annotated; meb's value"
        ),
        Erratum(
            {"subject": "spNO.40", "clip": "e", "onset": "2327"}, "offset", "0", 2403, "not annotated; meb's value"
        ),
        Erratum(
            {"subject": "spNO.216", "clip": "e", "offset": "25"},
            "onset",
            "0",
            1,
            "onset 0; meb's fix",
        ),
        Erratum(
            {"subject": "spNO.216", "clip": "e", "offset": "25"},
            "apex",
            "0",
            1,
            "apex 0; meb's fix",
        ),
    )
    label_maps: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "6": {emotion: emotion for emotion in _SIX},
        # the mapping HTNet's edited part A sheet uses
        "3": {
            "happy": "positive",
            "surprise": "surprise",
            "anger": "negative",
            "disgust": "negative",
            "fear": "negative",
            "sad": "negative",
        },
    }

    def clip_id(self, raw: dict[str, Any]) -> str:
        onset = cell_int(raw["onset"])
        return f"{cell_text(raw['clip'])}_{onset if onset is not None else cell_text(raw['onset'])}"

    def clip_cell(self, sample: Sample) -> str:
        return self.recording(sample)

    def recording(self, sample: Sample) -> str:
        """The sheet's ``Filename`` (recording folder) of a sample: its clip without the onset."""
        return sample.clip.rsplit("_", 1)[0]

    def clip_dir(self, sample: Sample) -> PurePosixPath:
        return PurePosixPath(sample.subject, self.recording(sample), "color")

    def frame_name(self, sample: Sample, number: int) -> str:
        return f"{number}.jpg"


RECIPE = Casme3()
