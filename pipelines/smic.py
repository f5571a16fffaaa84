"""SMIC-HS (Li et al., FG 2013): 164 micro-expressions of 16 subjects, 640x480 colour at 100 fps.

Release layout: no annotation sheet; the class of a clip is the name of its folder::

    SMIC_all_raw/HS/s1/micro/negative/s1_ne_01/image090823.jpg
    SMIC_all_cropped/HS/s1/micro/positive/s1_po_01/reg_image090823.bmp

* Subjects are ``s1``..``s20`` on disk but ``s01`` in the MEGC 2019 list: sample ids use
  the list's spelling, ``s01/s01_ne_01`` (the subject number zero-padded to two digits in
  the subject and at the head of the clip name); folders are found in either spelling.
* Onset is the first frame of the folder, offset the last. The apex is not annotated: the
  release is read with the middle frame ``onset + (offset - onset) // 2`` (as MEGC 2019's
  own preparation and meb take it), recorded as a repair on every sample; the build's
  ``--smic-apex motion`` (the default, :func:`mepipe.release.recipe.choose_apex`) leaves it to the peak-motion
  estimate instead, as the composite's published flows used a spotted apex.
* The annotation source is the ``HS`` folder itself: its digest (recorded in stores) covers
  every clip folder's name and frame numbers.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from mepipe.errors import UsageError
from mepipe.release.discover import rank_folders
from mepipe.release.labels import MEGC2019_CLASSES
from mepipe.release.names import find_folder
from mepipe.release.recipe import MIDDLE_APEX, Recipe, Sample, SynthStyle
from mepipe.release.scan import Listing, Scan

_FRAME = re.compile(r"(?:reg_)?image(\d+)\.(?:bmp|jpe?g|png)", re.IGNORECASE)
_SUBJECT = re.compile(r"s0*(\d+)", re.IGNORECASE)
_CLIP = re.compile(r"s0*(\d+)(_.*)", re.IGNORECASE)
_THREE = ("negative", "positive", "surprise")
#: the micro-expression part of a subject folder (``non_micro`` holds other clips)
_MICRO = "micro"


def class_of_clip(clip: str) -> str:
    """The class a clip name's code stands for (``s01_sur_02`` -> ``surprise``); "" if none."""
    code = clip.split("_")[1].lower() if clip.count("_") >= 2 else ""
    return next((name for name in _THREE if code and name.startswith(code[:2])), "")


def subject_folder(subject: str) -> str:
    """``s01`` (or ``s1``) -> the release's folder name ``s1``."""
    match = _SUBJECT.fullmatch(subject)
    return f"s{int(match.group(1))}" if match else subject


def clip_spellings(clip: str) -> tuple[str, str]:
    """A clip name in the list's spelling (``s01_ne_01``) and the folder's (``s1_ne_01``)."""
    match = _CLIP.fullmatch(clip)
    if not match:
        return clip, clip
    number, rest = int(match.group(1)), match.group(2)
    return f"s{number:02d}{rest}", f"s{number}{rest}"


class Smic(Recipe):
    """SMIC-HS: labels from ``HS/<s>/micro/<class>/<clip>`` folder names."""

    name = "smic"
    title = "SMIC-HS"
    color = "rgb"
    resolution = (640, 480)
    fps = 100
    face_width = 190
    sheetless = True
    sheet_file = "SMIC_all_raw/HS"
    # raw frames first (the build aligns them itself), then the cropped release
    frames_dirs = ("SMIC_all_raw/HS", "SMIC_all_cropped/HS", "SMIC/HS", "HS", "SMIC-HS", "SMIC_HS")
    registered_dirs = ("SMIC_all_cropped/HS",)
    class_sets: ClassVar[Mapping[str, tuple[str, ...]]] = {"3": _THREE, "megc2019": MEGC2019_CLASSES}
    megc_dataset = "smic"
    # the release gives onset and offset only: --smic-apex chooses how the apex is taken
    unannotated_apex = True
    synth_style = SynthStyle(subject="s{n}", clip="{subject}_{emotion_name:.2}_{index:02d}", onsets=(1000, 90000))

    def subject_id(self, cell: Any) -> str:
        match = _SUBJECT.fullmatch(str(cell).strip())
        return f"s{int(match.group(1)):02d}" if match else str(cell).strip()

    def frame_number(self, filename: str) -> int | None:
        match = _FRAME.fullmatch(filename)
        return int(match.group(1)) if match else None

    def frame_name(self, sample: Sample, number: int) -> str:
        return f"image{number:06d}.jpg"

    def clip_dir(self, sample: Sample) -> PurePosixPath:
        return PurePosixPath(subject_folder(sample.subject), _MICRO, sample.emotion, clip_spellings(sample.clip)[1])

    def clip_dirs(self, sample: Sample) -> tuple[PurePosixPath, ...]:
        padded, plain = clip_spellings(sample.clip)
        subjects = dict.fromkeys([subject_folder(sample.subject), self.subject_id(sample.subject)])
        return tuple(PurePosixPath(s, _MICRO, sample.emotion, c) for c in (plain, padded) for s in subjects)

    def label_of(self, sample: Sample, classes: str) -> str | None:
        self.check_classes(classes)
        if classes == "megc2019":
            return self.megc2019_label(sample)
        return sample.emotion if classes == "raw" or sample.emotion in _THREE else None

    def find_sheet(self, root: Path, scanned: Scan | None = None) -> Path:
        """The ``HS`` folder: the one holding the most ``<s>/micro/<class>/<clip>`` folders,
        the raw release before the cropped one on a tie."""
        root = Path(root)

        def clips(folder: Path, listed: Listing) -> int:
            subjects = [spelled for name, spelled in listed.folders.items() if _SUBJECT.fullmatch(name)]
            return sum(len(_clip_folders(folder / s)) for s in subjects)

        ranked = rank_folders(self, scanned if scanned is not None else Scan(root), clips)
        if not ranked:
            raise UsageError(
                f"no {self.title} release at {root}: no folder up to 4 levels down holds "
                f"s<N>/micro/<negative|positive|surprise>/<clip> folders (known names: "
                f"{', '.join(self.frames_dirs)}); make one with `mepipe synth --dataset smic --out {root}`"
            )
        return ranked[0][0]

    def read(self, sheet: Path, classes: str = "raw", *, objective_sheet: Path | None = None) -> list[Sample]:
        """Samples of the ``HS`` folder ``sheet``, subject by subject (numerically), then class
        and clip name."""
        self.check_classes(classes)
        if objective_sheet is not None:
            raise UsageError(f"--objective-sheet: {self.title} has no objective classes")
        folder = Path(sheet)
        if not folder.is_dir():
            raise UsageError(
                f"{folder}: not a {self.title} HS folder (SMIC has no sheet: its folders are the annotations)"
            )
        samples: list[Sample] = []
        for subject_dir in _subject_dirs(folder):
            for clip_dir in _clip_folders(subject_dir):
                sample = self._sample(subject_dir.name, clip_dir, len(samples) + 1)
                label = self.label_of(sample, classes)
                if label is not None:
                    samples.append(replace(sample, label=label))
        return samples

    def digest(self, sheet: Path) -> str:
        digest = hashlib.sha256()
        for sample in self.read(sheet):
            digest.update(f"{sample.sample_id}:{sample.emotion}:{sample.onset}:{sample.offset};".encode())
        return digest.hexdigest()

    def write_sheet(self, samples: Sequence[Sample], path: Path) -> None:
        """Nothing to write: SMIC's annotations are its folder names."""

    def _sample(self, subject_folder_name: str, clip_dir: Path, row: int) -> Sample:
        subject = self.subject_id(subject_folder_name)
        emotion = clip_dir.parent.name.lower()
        clip = clip_spellings(clip_dir.name)[0]
        numbers = sorted(n for n in (self.frame_number(e.name) for e in os.scandir(clip_dir)) if n is not None)
        common: dict[str, Any] = dict(
            sample_id=f"{subject}/{clip}", subject=subject, clip=clip, emotion=emotion, label=emotion, row=row
        )
        if len(numbers) < 2:
            return Sample(onset=0, apex=None, offset=0, error=f"{len(numbers)} frame(s) in {clip_dir}", **common)
        onset, offset = numbers[0], numbers[-1]
        apex = onset + (offset - onset) // 2
        return Sample(onset=onset, apex=apex, offset=offset, repair=f"{MIDDLE_APEX} {apex}", **common)


def _subject_dirs(folder: Path) -> list[Path]:
    """The subject folders (``s1``, ``s02``, ...) of an HS folder, by subject number."""
    numbered = []
    for entry in os.scandir(folder):
        match = _SUBJECT.fullmatch(entry.name)
        if entry.is_dir() and match:
            numbered.append((int(match.group(1)), Path(entry.path)))
    return [path for _, path in sorted(numbered, key=lambda pair: pair[0])]


def _clip_folders(subject_dir: Path) -> list[Path]:
    """``<subject>/micro/<class>/<clip>`` folders, sorted by class then clip name."""
    micro = find_folder(subject_dir, PurePosixPath(_MICRO))  # ``Micro`` in some copies
    if micro is None:
        return []
    clips = []
    for emotion in sorted(e.name for e in os.scandir(micro) if e.is_dir()):
        clips += sorted((Path(e.path) for e in os.scandir(micro / emotion) if e.is_dir()), key=lambda p: p.name)
    return clips


RECIPE = Smic()
