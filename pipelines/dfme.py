"""DFME (Zhao et al., "DFME: A New Benchmark for Dynamic Facial Micro-expression Recognition",
IEEE TAC 2023): colour PNG frames at 200, 300 or 500 fps, the largest ME dataset.

Release layout (as public loaders read it; no listing of a release was seen)::

    training_full_with_AU.xlsx                    # one sheet per split, the same header:
    testA_full_with_AU.xlsx                       # Subject, Filename, OnsetFrame, ApexFrame,
    testB_full_with_AU.xlsx                       # OffsetFrame, Emotion, EmotionId, Fps, AU
    DFME/DFME_train/sub0003_01/00109.png          # <split>/<Filename>/<n:05d>.png
    DFME/DFME_testA/sub0008_01/00000.png

Frame numbers are 0-based, as the sheets' (onsets of 0 are common). Each clip has its
own frame rate, the sheet's ``Fps`` (:meth:`Dfme.clip_fps`); :attr:`Dfme.fps` is the
most common, 500. The three sheets are read together, each clip tagged with its split
(``sample.extra["split"]``: ``training``, ``testA``, ``testB``); their subjects do not
overlap, so a subject's folds never straddle splits. The frame size (1024x768) is not in
the sheets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from mepipe.release.labels import MEGC2019_CLASSES
from mepipe.release.recipe import Sample, SynthStyle
from mepipe.release.sheet import cell_int
from mepipe.release.sheet_recipe import SheetRecipe, flag_duplicates

_FRAME = re.compile(r"(\d+)\.(?:png|jpe?g|bmp)", re.IGNORECASE)
#: the sheets' EmotionId order
_SEVEN = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise")
#: split -> (sheet stem, folder names of its clips, the first the one ``synth`` writes)
SPLITS = {
    "training": ("training_full_with_AU", ("DFME_train", "train", "training", "train_data")),
    "testA": ("testA_full_with_AU", ("DFME_testA", "testA", "test_A")),
    "testB": ("testB_full_with_AU", ("DFME_testB", "testB", "test_B")),
}


class Dfme(SheetRecipe):
    """DFME: the training, testA and testB sheets and ``<split>/<Filename>/<n>.png`` frames."""

    name = "dfme"
    title = "DFME"
    color = "rgb"
    resolution = (1024, 768)
    fps = 500
    frame_pattern = _FRAME
    face_width = 300
    synth_style = SynthStyle(subject="sub{n:04d}", first_subject=3, clip="{subject}_{index:02d}", onsets=(0, 60))
    sheet_file = "training_full_with_AU.xlsx"
    frames_dirs = ("DFME", "dfme", "DFME_Crop")
    sheet_globs = ("training_full_with_AU*.xlsx", "training_full_with_AU*.csv", "*_full_with_AU.xlsx")
    sheet_names = ("Sheet1",)
    layout = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "EmotionId", "Fps", "AU")
    columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "subject": ("Subject",),
        "clip": ("Filename",),
        "onset": ("OnsetFrame", "Onset"),
        "apex": ("ApexFrame", "Apex"),
        "offset": ("OffsetFrame", "Offset"),
        "emotion": ("Emotion",),
    }
    class_sets: ClassVar[Mapping[str, tuple[str, ...]]] = {"7": _SEVEN, "3": MEGC2019_CLASSES}
    label_maps: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "7": {emotion: emotion for emotion in _SEVEN},
        # the MEGC rule the other releases follow: every other basic emotion is negative
        "3": {
            "happiness": "positive",
            "surprise": "surprise",
            **dict.fromkeys(("anger", "contempt", "disgust", "fear", "sadness"), "negative"),
        },
    }

    def sheets(self, sheet: Path) -> dict[str, Path]:
        """Split -> sheet: ``sheet`` itself and the other splits' sheets beside it (same suffix)."""
        sheet = Path(sheet)
        found = {}
        for split, (stem, _) in SPLITS.items():
            if sheet.stem == stem:
                found[split] = sheet
            elif (sheet.parent / f"{stem}{sheet.suffix}").is_file():
                found[split] = sheet.parent / f"{stem}{sheet.suffix}"
        return found or {"training": sheet}

    def read(self, sheet: Path, classes: str = "raw", *, objective_sheet: Path | None = None) -> list[Sample]:
        samples: list[Sample] = []
        for split, path in self.sheets(sheet).items():
            part = super().read(path, "raw", objective_sheet=objective_sheet)
            samples += [replace(s, extra={**s.extra, "split": split}) for s in part]
        out = []
        for sample in flag_duplicates(samples):
            label = self.label_of(sample, classes)
            if label is not None:
                out.append(replace(sample, label=label))
        return out

    def digest(self, sheet: Path) -> str:
        # the three sheets are one annotation source
        digest = hashlib.sha256()
        for split, path in sorted(self.sheets(sheet).items()):
            digest.update(f"{split}\0".encode() + Path(path).read_bytes())
        return digest.hexdigest()

    def write_sheet(self, samples: Sequence[Sample], path: Path) -> None:
        path = Path(path)
        by_split: dict[str, list[Sample]] = {}
        for sample in samples:
            by_split.setdefault(sample.extra.get("split", "training"), []).append(sample)
        for split, part in by_split.items():
            target = path if split == "training" else path.with_name(f"{SPLITS[split][0]}{path.suffix}")
            super().write_sheet(part, target)

    def clip_fps(self, sample: Sample) -> int:
        """The clip's own frame rate (the sheet's ``Fps``); :attr:`fps` where the row has none."""
        cell = next((v for k, v in sample.extra.get("raw", {}).items() if k.lower() == "fps"), None)
        return cell_int(cell) or self.fps

    def extra_cells(self, sample: Sample) -> dict[str, Any]:
        emotion = sample.emotion.lower()
        return {"EmotionId": _SEVEN.index(emotion) if emotion in _SEVEN else None, "Fps": self.fps}

    def clip_dir(self, sample: Sample) -> PurePosixPath:
        return PurePosixPath(SPLITS[sample.extra.get("split", "training")][1][0], sample.clip)

    def clip_dirs(self, sample: Sample) -> tuple[PurePosixPath, ...]:
        # a split's folder under any of its names, or the clip folders all in one
        folders = SPLITS[sample.extra.get("split", "training")][1]
        return (*(PurePosixPath(folder, sample.clip) for folder in folders), PurePosixPath(sample.clip))

    def frame_name(self, sample: Sample, number: int) -> str:
        return f"{number:05d}.png"


RECIPE = Dfme()
