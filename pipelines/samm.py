"""SAMM (Davison et al., IEEE TAC 2016): 2040x1088 grayscale frames at 200 fps.

Release layout::

    SAMM_Micro_FACS_Codes_v2.xlsx               # sheet MICRO_ONLY, header on row 14
    SAMM/006/006_1_2/006_05562.jpg              # <subject>/<Filename>/<subject>_<frame:05d>.jpg

The frame number is the absolute frame of the original recording, as in the sheet.
Subjects are ``'006'`` text cells; CSV exports (and the MEGC list) lose the padding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, ClassVar

from mepipe.release.labels import MEGC2019_CLASSES, OBJECTIVE_CLASSES
from mepipe.release.recipe import Sample, SynthStyle
from mepipe.release.sheet import cell_text
from mepipe.release.sheet_recipe import Erratum, SheetRecipe

_FRAME = re.compile(r"\d+_(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)
_FIVE = ("anger", "contempt", "happiness", "surprise", "other")

#: the notes above the header of SAMM_Micro_FACS_Codes_v2.xlsx, cell for cell
_PREAMBLE = (
    (
        "SAMM Dataset - Master FACS Codes",
        None,
        None,
        None,
        "(Note to the users: If you're using SAMM, please cite: Davison, A. K., Lansley, C., "
        "Costen, N., Tan, K., & Yap, M. H. (2016). SAMM: A spontaneous micro-facial movement "
        "dataset. IEEE Transactions on Affective Computing.)",
    ),
    (),
    (
        "9/9/17 - New updates with Emotional and Objective Classes. For details please refer to: ",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "arXiv preprint arXiv:1708.07549.",
    ),
    (
        None,
        None,
        None,
        None,
        "(Note to the users: if you're using the emotional or objective classes, please cite: "
        "Davison, A. K., Merghani, W., & Yap, M. H. (2017). Objective Classes for Micro-Facial "
        "Expression Recognition. arXiv preprint arXiv:1708.07549.)",
    ),
    (),
    ("Symbol Key:",),
    ('"/" = or',),
    ('"?" = some AU\'s continue for a while and have unclear offset',),
    (),
    ("AU Help:",),
    ('"L2 or R2" = Unilateral AU 2 on left side of face / right side of face',),
    ('"A2" = Asymmetric AU 2. Occurs on both sides of face but stronger on one side',),
    (),
)


class Samm(SheetRecipe):
    """SAMM: ``SAMM_Micro_FACS_Codes_v2.xlsx`` and ``SAMM/<subject>/<Filename>`` frames."""

    name = "samm"
    title = "SAMM"
    color = "gray"
    resolution = (2040, 1088)
    fps = 200
    frame_pattern = _FRAME
    face_width = 400
    synth_style = SynthStyle(
        subject="{n:03d}", first_subject=6, clip="{subject}_{emotion}_{index}", onsets=(1000, 12000)
    )
    sheet_file = "SAMM_Micro_FACS_Codes_v2.xlsx"
    frames_dirs = ("SAMM", "SAMM_CROP", "SAMM_cropped", "SAMM_crop")
    # no registered crops: the release ships whole frames, and the SAMM_CROP folders in
    # circulation are each lab's own crops, made by methods not published (MMNet#8), so
    # builds align them like whole frames unless told --crop release
    sheet_globs = ("SAMM*_Micro_FACS_Codes*.xlsx", "SAMM*_Micro_FACS_Codes*.csv")
    sheet_names = ("MICRO_ONLY",)
    layout = (
        "Subject",
        "Filename",
        "Inducement Code",
        "Onset Frame",
        "Apex Frame",
        "Offset Frame",
        "Duration",
        "Micro",
        "Action Units",
        "Estimated Emotion",
        "Objective Classes",
        "Notes",
    )
    # the 2018 release names its columns Onset/Apex/Offset/Emotion
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "subject": ("Subject",),
        "clip": ("Filename",),
        "onset": ("Onset Frame", "Onset"),
        "apex": ("Apex Frame", "Apex"),
        "offset": ("Offset Frame", "Offset"),
        "emotion": ("Estimated Emotion", "Emotion"),
    }
    preamble = _PREAMBLE
    class_sets: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "5": _FIVE,
        "3": MEGC2019_CLASSES,
        "megc2019": MEGC2019_CLASSES,
        "objective": OBJECTIVE_CLASSES,
    }
    # meb's other SAMM fixes need none here: 028_4_1 and 032_3_1 have an apex outside
    # onset..offset (estimated from motion, as every such apex), 013_1_9's offset already
    # reads 5739 in this v2 sheet (docs/errata.md)
    errata = (
        Erratum(
            {"subject": "032", "clip": "032_3_2"},
            "apex",
            "5127",
            None,
            "1 frame after onset 5126; meb uses 5130 from optical flow",
        ),
    )
    label_maps: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "5": {emotion: emotion for emotion in _FIVE},
        # unlike CASME-II, SAMM's fear and sadness count as negative (MEGC 2019)
        "3": {
            "anger": "negative",
            "contempt": "negative",
            "disgust": "negative",
            "fear": "negative",
            "sadness": "negative",
            "happiness": "positive",
            "surprise": "surprise",
        },
    }
    megc_dataset = "samm"

    def subject_id(self, cell: Any) -> str:
        text = cell_text(cell)
        return text.zfill(3) if text.isdigit() else text

    def megc_subject(self, subject: str) -> str:
        # the list drops the folders' leading zeros (006 -> 6)
        return str(int(subject)) if subject.isdigit() else subject

    def emotion_cell(self, emotion: str) -> str:
        return emotion.capitalize()

    def extra_cells(self, sample: Sample) -> dict[str, Any]:
        parts = sample.clip.split("_")
        code = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None
        return {"Inducement Code": code, "Duration": sample.offset - sample.onset + 1, "Micro": "Micro - 1/2"}

    def clip_dir(self, sample: Sample) -> PurePosixPath:
        return PurePosixPath(sample.subject, sample.clip)

    def frame_name(self, sample: Sample, number: int) -> str:
        return f"{sample.subject}_{number:05d}.jpg"


RECIPE = Samm()
