"""The MEGC 2019 composite: SMIC-HS, CASME-II and SAMM as one 3-class dataset of 442 samples.

``--root`` holds the three releases, each in whatever layout it came in (each is found as
its own recipe finds it, see :mod:`mepipe.release.discover`)::

    DIR/SMIC/SMIC_all_raw/HS/...        (or any other place up to 4 levels down)
    DIR/CASME2/CASME2-coding-20140508.xlsx, DIR/CASME2/CASME2_RAW_selected/...
    DIR/SAMM/SAMM_Micro_FACS_Codes_v2.xlsx, DIR/SAMM/SAMM/...

The sample list is the official one (``mepipe/data/megc2019/combined_3class_gt.csv``),
row for row: every listed sample is present, one the releases lack is recorded as failed
with its reason. Subjects are prefixed by their dataset (``smic/s01``, ``casme2/sub01``,
``samm/006``), so a leave-one-subject-out run over the composite has the challenge's 68
folds. Each sample's frames are read by its own dataset's recipe (colour, naming, face
size), with that release's frames root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import ClassVar

from mepipe.errors import UsageError
from mepipe.release.discover import Release, open_release
from mepipe.release.labels import MEGC2019_CLASSES, megc2019_rows
from mepipe.release.recipe import CompositeRecipe, Recipe, Sample
from mepipe.release.registry import get_recipe
from mepipe.release.scan import Scan

from .smic import class_of_clip

#: member datasets, in the order of the list's names
PARTS = ("casme2", "samm", "smic")
_LIST = "data/megc2019/combined_3class_gt.csv"


class Megc2019(CompositeRecipe):
    """The MEGC 2019 composite over the ``casme2``, ``samm`` and ``smic`` recipes."""

    name = "megc2019"
    title = "MEGC 2019 composite"
    # nominal: every sample is read by its own dataset's recipe
    color = "rgb"
    resolution = (640, 480)
    fps = 100
    sheet_file = _LIST
    frames_dirs = ()
    class_sets: ClassVar[Mapping[str, tuple[str, ...]]] = {"megc2019": MEGC2019_CLASSES}
    parts = PARTS
    # its SMIC member annotates no apex (--smic-apex)
    unannotated_apex = True

    def listed(self, subjects: int, clips_per_subject: int) -> dict[str, list[tuple[str, str, str]]]:
        """Member -> ``(subject, clip, label)`` of listed samples: the first ``subjects``
        subjects of each member in list order, their first ``clips_per_subject`` clips
        (what ``mepipe synth --dataset megc2019`` writes)."""
        chosen: dict[str, dict[str, list]] = {name: {} for name in PARTS}
        for dataset, subject, clip, label in megc2019_rows():
            subject = get_recipe(dataset).subject_id(subject)
            per_subject = chosen[dataset]
            if subject not in per_subject:
                if len(per_subject) == subjects:
                    continue
                per_subject[subject] = []
            if len(per_subject[subject]) < clips_per_subject:
                per_subject[subject].append((subject, clip, label))
        return {name: [row for rows in chosen[name].values() for row in rows] for name in PARTS}

    def part_recipe(self, part: str) -> Recipe:
        return get_recipe(part)

    def resolve(self, sample: Sample) -> tuple[Recipe, Sample, str]:
        part, _, subject = sample.subject.partition("/")
        own = replace(sample, subject=subject, sample_id=sample.sample_id.removeprefix(f"{part}/"))
        return get_recipe(part), own, part

    def label_of(self, sample: Sample, classes: str) -> str | None:
        # the list is the class set: raw and megc2019 both give its label
        self.check_classes(classes)
        return sample.label

    def open(
        self, root: Path, *, sheet: Path | None, frames: Path | None, classes: str, scanned: Scan, locate: bool = True
    ) -> Release:
        if sheet is not None or frames is not None:
            raise UsageError(
                "--sheet and --frames name one release; the megc2019 composite finds its three "
                "releases under --root (build a part alone with --dataset casme2|samm|smic)"
            )
        parts = {
            name: open_release(get_recipe(name), root, classes="megc2019", scanned=scanned, locate=locate)
            for name in PARTS
        }
        samples = self._samples(parts)
        listed = Path(str(resources.files("mepipe").joinpath(_LIST)))
        digest = hashlib.sha256(self.digest(listed).encode())
        for name in PARTS:
            digest.update(f";{name}:{parts[name].digest}".encode())
        found = {name: parts[name].frames[""] for name in PARTS if "" in parts[name].frames}
        return Release(self, root, listed, tuple(samples), found, digest.hexdigest())

    def _samples(self, parts: dict[str, Release]) -> list[Sample]:
        by_key = {(name, s.subject, s.clip): s for name, release in parts.items() for s in release.samples}
        samples = []
        for row, (dataset, subject, clip, label) in enumerate(megc2019_rows(), start=1):
            recipe = get_recipe(dataset)
            subject = recipe.subject_id(subject)
            own = by_key.get((dataset, subject, clip))
            if own is None:
                source = parts[dataset].sheet
                own = Sample(
                    f"{subject}/{clip}",
                    subject,
                    clip,
                    0,
                    None,
                    0,
                    class_of_clip(clip) if dataset == "smic" else "",
                    label,
                    error=f"listed in MEGC 2019 but not in the {recipe.title} release ({source})",
                )
            samples.append(
                replace(
                    own, sample_id=f"{dataset}/{own.sample_id}", subject=f"{dataset}/{subject}", label=label, row=row
                )
            )
        return samples

    # ---- the rest of the Recipe interface: per sample, the member's -------------------

    def find_sheet(self, root: Path, scanned: Scan | None = None) -> Path:
        raise UsageError("the megc2019 composite has no sheet of its own: give --root DIR holding the three releases")

    def read(self, sheet: Path, classes: str = "raw", *, objective_sheet: Path | None = None) -> list[Sample]:
        raise UsageError("the megc2019 composite is read from its three releases: give --root DIR holding them")

    def write_sheet(self, samples: Sequence[Sample], path: Path) -> None:
        raise UsageError("the megc2019 composite has no sheet to write; synthesise its parts")

    def clip_dir(self, sample: Sample) -> PurePosixPath:
        recipe, own, _ = self.resolve(sample)
        return recipe.clip_dir(own)

    def frame_number(self, filename: str) -> int | None:
        return next((n for n in (get_recipe(p).frame_number(filename) for p in PARTS) if n is not None), None)

    def frame_name(self, sample: Sample, number: int) -> str:
        recipe, own, _ = self.resolve(sample)
        return recipe.frame_name(own, number)


RECIPE = Megc2019()
