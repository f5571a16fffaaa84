"""The contract between a dataset release and the rest of mepipe.

A *recipe* (one module per dataset: the built-in ones in ``mepipe.pipelines``, others in
any package that registers them, see :mod:`mepipe.release.registry`) knows where a
release keeps its annotation sheet and frames, how to read the sheet into :class:`Sample` records, how
frames are named, and which label maps the literature uses. Everything downstream
(``check``, ``build``, ``synth``) talks to datasets only through this interface.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar

from mepipe.errors import UsageError
from mepipe.release.base import BaseRecipe
from mepipe.release.labels import megc2019_rows
from mepipe.release.sheet import cell_text

if TYPE_CHECKING:
    from mepipe.release.discover import Release
    from mepipe.release.scan import Scan


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
    action_units : str
        The sheet's AU cell as text, trimmed (``""`` where the release codes none).
    au : str
        The AUs coded for certain, ascending, ``+``-joined (:mod:`mepipe.release.au`).
    au_tokens : str
        Every token's structure as JSON text (:func:`mepipe.release.au.tokens_text`).
    au_warning : str
        Why (part of) ``action_units`` could not be read; empty when all was read.
    objective_class : str
        Objective class ``1``..``7`` (Davison et al. 2018); ``""`` when the release has none.
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
    action_units: str = ""
    au: str = ""
    au_tokens: str = ""
    au_warning: str = ""
    objective_class: str = ""


#: the repair a release read gives an unannotated apex taken as the middle frame (SMIC-HS,
#: ``pipelines/smic.py``); ``--smic-apex motion`` sets such an apex aside (:func:`choose_apex`)
MIDDLE_APEX = "apex not annotated (SMIC): middle frame"


def choose_apex(sample: Sample, choice: str) -> Sample:
    """A sample under ``--smic-apex``: ``motion`` sets a middle-frame apex (:data:`MIDDLE_APEX`)
    aside, for the build to estimate from peak motion (recorded per sample as ``apex
    estimated at frame N``); ``middle``, and every annotated apex, are left as they are."""
    if choice == "motion" and sample.repair.startswith(MIDDLE_APEX):
        return replace(sample, apex=None, repair="apex not annotated (SMIC): estimated from peak motion intensity")
    return sample


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
        subject, from 1), ``emotion`` (number of the emotion in the class set, from 1) and
        ``emotion_name``.
    onsets : (int, int)
        Range of onset frame numbers.
    """

    subject: str = "S{n:02d}"
    first_subject: int = 1
    clip: str = "{subject}-{index:02d}"
    onsets: tuple[int, int] = (1, 100)


class Recipe(BaseRecipe):
    """How to read one dataset release of clips. Subclasses: the built-in recipes
    (``mepipe.pipelines``), :class:`~mepipe.release.sheet_recipe.SheetRecipe` for a
    release annotated in one sheet, and those of other packages (the registry finds
    them through the entry-point group ``mepipe.recipes``). What every recipe declares
    (``name``, ``title``, ``color``, ``resolution``, ``fps``, ``face_width``,
    ``sheet_file``, ``sheet_globs``, ``frames_dirs``, ``frame_pattern``) and the sheet
    search are :class:`~mepipe.release.base.BaseRecipe`'s."""

    #: what the recipe's releases are for: clips, to recognise their class; a long-video
    #: recipe (spotting) says ``"spotting"`` (:data:`mepipe.release.base.TASKS`)
    task: ClassVar[str] = "recognition"
    #: frames per second, a whole number for every clip release
    fps: int
    #: class-set name -> ordered class names (``raw`` excluded; it is data dependent)
    class_sets: ClassVar[Mapping[str, tuple[str, ...]]]
    #: those of :attr:`frames_dirs` that hold the release's own registered face crops:
    #: builds from them keep that registration by default (``--crop release``)
    registered_dirs: tuple[str, ...] = ()
    #: True for releases whose annotations are their folder names (SMIC): the frames
    #: folder is then the annotation source
    sheetless: bool = False

    #: conventions ``mepipe synth`` imitates; recipes set their own
    synth_style: SynthStyle = SynthStyle()
    #: this dataset's name in the MEGC 2019 list, when it is part of it
    megc_dataset: str | None = None
    #: recipe names of a composite's member datasets; empty for a single release
    parts: tuple[str, ...] = ()
    #: the release (or a member of a composite) annotates no apex frame: the build estimates
    #: it or takes the middle frame (``--smic-apex``, :func:`choose_apex`)
    unannotated_apex: bool = False
    #: emotions the sheet writes that none of the recipe's class sets holds (CASME-II's
    #: fear and sadness): the class maps of STRS and ME-VQA see them too
    unlisted_emotions: tuple[str, ...] = ()

    @abstractmethod
    def read(self, sheet: Path, classes: str = "raw", *, objective_sheet: Path | None = None) -> list[Sample]:
        """Samples of ``sheet`` in sheet order, restricted to the class set ``classes``
        (``objective_sheet``: a release's separate objective-class sheet, CASME-II's)."""

    @abstractmethod
    def clip_dir(self, sample: Sample) -> PurePosixPath:
        """Folder of the sample's frames, relative to the frames root (``sub01/EP02_01f``)."""

    def clip_dirs(self, sample: Sample) -> tuple[PurePosixPath, ...]:
        """Folders below the frames root that may hold the sample's frames, most likely
        first; the first that exists is used, :meth:`clip_dir` is named when none does."""
        return (self.clip_dir(sample),)

    def frame_dir(self, sample: Sample) -> PurePosixPath:
        """Folder of the sample's frames relative to the release root, in the primary
        variant of the layout (where ``synth`` writes them)."""
        return PurePosixPath(self.frames_dirs[0], self.clip_dir(sample))

    @abstractmethod
    def frame_name(self, sample: Sample, number: int) -> str:
        """File name of frame ``number`` in the release (used by ``synth``)."""

    @abstractmethod
    def write_sheet(self, samples: Sequence[Sample], path: Path) -> None:
        """Write ``samples`` as an annotation sheet in the release's own format."""

    def resolve(self, sample: Sample) -> tuple[Recipe, Sample, str]:
        """The recipe that reads ``sample``'s frames, the sample as it knows it, and the
        part (key of :attr:`Release.frames`) holding them; composites dispatch here."""
        return self, sample, ""

    def part_recipe(self, part: str) -> Recipe:
        """The recipe of the part ``part`` (a key of :attr:`Release.frames`): this one, or
        a composite's member."""
        return self

    def subject_id(self, cell: Any) -> str:
        """Normalised subject id from a sheet cell (or a folder name, or the MEGC list)."""
        return cell_text(cell)

    def megc_subject(self, subject: str) -> str:
        """``subject`` as the official MEGC 2019 list spells it (what :meth:`subject_id`
        reads back from the list): the id itself unless a recipe spells it otherwise."""
        return subject

    def megc2019_label(self, sample: Sample) -> str | None:
        """The sample's class in the official MEGC 2019 list; ``None`` when it is not listed."""
        return self._megc2019.get((sample.subject, sample.clip))

    @cached_property
    def _megc2019(self) -> dict[tuple[str, str], str]:
        return {
            (self.subject_id(subject), clip): label
            for dataset, subject, clip, label in megc2019_rows()
            if dataset == self.megc_dataset
        }

    def check_classes(self, classes: str) -> None:
        """UsageError unless ``classes`` is ``raw`` or one of :attr:`class_sets`."""
        if classes == "objective" and classes not in self.class_sets:
            raise UsageError(
                f"--classes objective: {self.title} has no objective classes "
                "(CASME-II, SAMM and CAS(ME)^3 publish them)"
            )
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


class CompositeRecipe(Recipe):
    """A recipe whose samples come from several member releases under one root (MEGC 2019).

    :func:`mepipe.release.discover.open_release` hands such a recipe the root and the
    shared scan, and it opens its parts itself.
    """

    @abstractmethod
    def open(
        self, root: Path, *, sheet: Path | None, frames: Path | None, classes: str, scanned: Scan, locate: bool = True
    ) -> Release:
        """The composite release under ``root``, its parts opened from ``scanned``."""

    @abstractmethod
    def listed(self, subjects: int, clips_per_subject: int) -> dict[str, list[tuple[str, str, str]]]:
        """Member -> ``(subject, clip, label)`` of the samples ``mepipe synth`` writes: the
        first ``subjects`` subjects of each member, their first ``clips_per_subject`` clips."""
