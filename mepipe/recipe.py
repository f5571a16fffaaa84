"""The contract between a dataset release and the rest of mepipe.

A *recipe* (one module per dataset in ``mepipe.pipelines``) knows where a release keeps
its annotation sheet and frames, how to read the sheet into :class:`Sample` records, how
frames are named, and which label maps the literature uses. Everything downstream
(``check``, ``build``, ``synth``) talks to datasets only through this interface.
"""

from __future__ import annotations

import importlib
import pkgutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Sequence

from .errors import UsageError


@dataclass(frozen=True)
class Sample:
    """One annotated micro-expression clip, as read from a sheet.

    Attributes
    ----------
    sample_id : str
        ``<subject>/<clip>``, unique within a dataset (e.g. ``sub01/EP02_01f``).
    subject, clip : str
        Normalised subject id (``sub01``, ``006``, ``S01``) and clip name as in the sheet.
    onset, offset : int
        Annotated frame numbers, as written in the frame file names.
    apex : int or None
        Annotated apex; ``None`` when it is missing or unusable and must be estimated
        from motion intensity at build time (``repair`` says why).
    emotion : str
        The sheet's emotion, lower case.
    label : str
        Class name under the chosen class set (equals ``emotion`` for ``raw``).
    repair : str
        ``"; "``-joined repairs applied while reading; empty when none.
    error : str
        Non-empty when the row cannot be used at all (e.g. onset after offset, duplicated
        row); such a sample is recorded as failed with this reason, never dropped.
    row : int
        1-based row of the sheet the sample came from (for messages).
    """

    sample_id: str
    subject: str
    clip: str
    onset: int
    apex: int | None
    offset: int
    emotion: str
    label: str
    repair: str = ""
    error: str = ""
    row: int = 0
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class SynthStyle:
    """What made-up samples of a release look like (``mepipe synth``): names, frame
    numbers, face size.

    Attributes
    ----------
    subject : str
        Format of a subject id; fields ``n`` (subject number).
    first_subject : int
        Number of the first subject.
    clip : str
        Format of a clip name; fields ``subject``, ``index`` (clip number within the
        subject, from 1) and ``emotion`` (number of the emotion in the class set, from 1).
    onsets : (int, int)
        Range of onset frame numbers.
    """

    subject: str = "S{n:02d}"
    first_subject: int = 1
    clip: str = "{subject}-{index:02d}"
    onsets: tuple[int, int] = (1, 100)


class Recipe(ABC):
    """How to read one dataset release. Subclasses live in ``mepipe.pipelines``."""

    #: registry key, e.g. ``"samm"``
    name: str
    #: human name, e.g. ``"SAMM"``
    title: str
    #: ``"rgb"`` or ``"gray"``: colour mode of the release's frames
    color: str
    #: (width, height) of the release's frames
    resolution: tuple[int, int]
    fps: int
    #: class-set name -> ordered class names (``raw`` excluded; it is data dependent)
    class_sets: dict[str, tuple[str, ...]]
    #: where a release keeps its sheet, relative to its root (``synth`` writes it there)
    sheet_file: str

    #: conventions ``mepipe synth`` imitates; recipes set their own
    synth_style: SynthStyle = SynthStyle()

    @property
    def face_width(self) -> float:
        """Typical face width in the release's frames, pixels at full resolution: sizes the
        face detector's input and the synthetic faces. Recipes set their own; the default,
        a face about half the frame high, is what the releases we know have."""
        return 0.45 * self.resolution[1]

    @abstractmethod
    def find_sheet(self, root: Path) -> Path:
        """The annotation sheet inside a release; UsageError naming where it looked."""

    @abstractmethod
    def read(self, sheet: Path, classes: str = "raw") -> list[Sample]:
        """Samples of ``sheet`` in sheet order, restricted to the class set ``classes``."""

    @abstractmethod
    def frame_dir(self, sample: Sample) -> PurePosixPath:
        """Folder of the sample's frames, relative to the release root."""

    @abstractmethod
    def frame_number(self, filename: str) -> int | None:
        """Frame number parsed from a file name; ``None`` for files that are not frames."""

    @abstractmethod
    def frame_name(self, sample: Sample, number: int) -> str:
        """File name of frame ``number`` in the release (used by ``synth``)."""

    @abstractmethod
    def write_sheet(self, samples: Sequence[Sample], path: Path) -> None:
        """Write ``samples`` as an annotation sheet in the release's own format."""

    def frame_dirs(self, sample: Sample) -> tuple[PurePosixPath, ...]:
        """Folders that may hold the sample's frames, most likely first.

        Releases ship in variants (CASME-II raw vs ``Cropped``); the first folder that
        exists is used and :meth:`frame_dir` is the one named when none does.
        """
        return (self.frame_dir(sample),)

    def check_classes(self, classes: str) -> None:
        """UsageError unless ``classes`` is ``raw`` or one of :attr:`class_sets`."""
        if classes != "raw" and classes not in self.class_sets:
            valid = ", ".join(["raw", *self.class_sets])
            raise UsageError(f"unknown class set {classes!r} for {self.title}; valid: {valid}")

    def label_of(self, sample: Sample, classes: str) -> str | None:
        """Class of ``sample`` under the class set ``classes``; ``None`` when it is left out.

        Lets a trainer relabel stored samples from (subject, clip, emotion) alone.
        Recipes with class sets beyond ``raw`` override this.
        """
        self.check_classes(classes)
        return sample.emotion


def recipe_names() -> list[str]:
    """Names of the recipes shipped in ``mepipe.pipelines``."""
    from . import pipelines

    return sorted(m.name for m in pkgutil.iter_modules(pipelines.__path__) if not m.name.startswith("_"))


def get_recipe(name: str) -> Recipe:
    """The recipe registered as ``name`` (``casme2``, ``samm``, ``mmew``, ...)."""
    names = recipe_names()
    if name not in names:
        raise UsageError(f"unknown dataset {name!r}; known: {', '.join(names)}")
    module = importlib.import_module(f"mepipe.pipelines.{name}")
    return module.RECIPE
