"""The base of a dataset recipe whose annotations are one sheet: public API for new datasets.

Subclass :class:`SheetRecipe` to teach mepipe a release whose annotations are one
worksheet (``.xlsx``, or a ``.csv`` export) with a header row and one clip per row: the
subclass declares the sheet's columns, layout and label maps and how the release names
subjects, folders and frames; the base does the reading, the repairs (:class:`Erratum`
and the frame-span rules of :func:`check_span`), the duplicate check, the class-set
filtering and the writing (``mepipe synth`` writes sheets in the release's own format).
The built-in recipes (``pipelines/`` of the checkout, ``mepipe.pipelines`` installed)
are such subclasses, and so is a recipe in a lab's own package: register its instance
in the entry-point group ``mepipe.recipes`` (:mod:`mepipe.release.registry`) and every
command finds it by its ``name``. ``tests/test_extend_recipe.py`` is a worked example.

What a subclass sets: the attributes of :class:`~mepipe.release.base.BaseRecipe`
(``name``, ``title``, ``color``, ``resolution``, ``fps``, ``sheet_file``,
``sheet_globs``, ``frames_dirs``, ``frame_pattern``; ``face_width`` where the default
does not fit) and of :class:`~mepipe.release.recipe.Recipe` (``class_sets``;
``synth_style``), those of :class:`SheetRecipe` without a default (``sheet_names``,
``layout``, ``columns``) and ``label_maps`` for its
class sets; and the methods :meth:`~mepipe.release.recipe.Recipe.clip_dir` and
:meth:`~mepipe.release.recipe.Recipe.frame_name`. The naming hooks (``subject_id``,
``subject_cell``, ``clip_id``, ``clip_cell``, ``emotion_cell``, ``extra_cells``) have
defaults that keep cells as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from mepipe._shared.text import join_repairs
from mepipe.errors import SheetError, UsageError
from mepipe.release.au import au_text, certain_aus, parse_action_units, tokens_text
from mepipe.release.labels import MEGC2019_SET, objective_class
from mepipe.release.recipe import Recipe, Sample
from mepipe.release.sheet import Table, cell_int, cell_text, normalise_name, read_table, write_table

#: the fields every recipe maps to sheet columns
FIELDS = ("subject", "clip", "onset", "apex", "offset", "emotion")
_ESTIMATED = "estimated from peak motion intensity"


@dataclass(frozen=True)
class Erratum:
    """A known error in one row of a published sheet, fixed only while the row still holds it.

    Attributes
    ----------
    row : mapping
        Field (see FIELDS) -> cell text that picks the row (``{"subject": "032", "clip": "032_3_2"}``).
    field : str
        ``onset``, ``apex`` or ``offset``.
    wrong : str
        The cell as published; a sheet holding anything else is left alone.
    right : int or None
        The value used instead; ``None`` sets an apex aside, to be estimated from motion.
    reason : str
        Why, and whose fix it is (docs/errata.md lists every one).
    """

    row: Mapping[str, str]
    field: str
    wrong: str
    right: int | None
    reason: str

    def applies(self, fields: Mapping[str, Any], subject_id: Callable[[Any], str]) -> bool:
        """Whether the row ``fields`` is this erratum's row, still holding the error
        (subjects compared normalised: CSV exports lose SAMM's padding)."""

        def text(key: str) -> str:
            return subject_id(fields[key]) if key == "subject" else cell_text(fields[key])

        picked = all(text(key) == (subject_id(v) if key == "subject" else v) for key, v in self.row.items())
        return picked and text(self.field) == self.wrong

    def describe(self) -> str:
        """The repair as recorded on the sample."""
        value = "set aside" if self.right is None else f"-> {self.right}"
        return f"erratum: {self.field} {self.wrong} {value} ({self.reason})"


def apply_errata(errata: Sequence[Erratum], fields: dict[str, Any], subject_id: Callable[[Any], str]) -> list[str]:
    """Fix ``fields`` (one row's cells) in place; the repairs made."""
    repairs = []
    for erratum in errata:
        if erratum.applies(fields, subject_id):
            fields[erratum.field] = erratum.right
            repairs.append(erratum.describe())
    return repairs


def check_span(onset: Any, apex: Any, offset: Any) -> tuple[int, int | None, int, list[str], str]:
    """Frame numbers of one row, with the repairs applied and the error that remains.

    Returns ``(onset, apex, offset, repairs, error)``; ``onset``/``offset`` are 0 when
    their cells are not numbers (``error`` then says so). ``apex`` is ``None`` when it
    is missing, outside [onset, offset] or equal to onset (an onset..apex crop would
    hold one frame): the build estimates it from motion.
    """
    first, peak, last = cell_int(onset), cell_int(apex), cell_int(offset)
    if first is None:
        return 0, None, last or 0, [], f"onset {cell_text(onset)!r} is not a frame number"
    if last is None:
        return first, None, 0, [], f"offset {cell_text(offset)!r} is not a frame number"
    if last == 0:
        return first, peak, last, [], "offset 0 (no offset annotated)"
    if first > last:
        return first, peak, last, [], f"onset {first} after offset {last}"
    if first == last:
        return first, peak, last, [], f"onset == offset {first}: 1 frame cannot be rank-pooled"
    if peak is None:
        text = cell_text(apex)
        what = f"apex {text!r} missing" if text else "apex missing"
        return first, None, last, [f"{what}: {_ESTIMATED}"], ""
    if not first <= peak <= last:
        return first, None, last, [f"apex {peak} outside onset..offset {first}..{last}: {_ESTIMATED}"], ""
    if peak == first:
        return first, None, last, [f"apex {peak} == onset: {_ESTIMATED}"], ""
    return first, peak, last, [], ""


def flag_duplicates(samples: Sequence[Sample]) -> list[Sample]:
    """``samples`` with every repeat of an earlier sample id failed under its own id,
    ``<id>@row<N>`` (its sheet row): sample ids stay unique in every store. A repeat that
    is also a bad row keeps its own error."""
    first_row: dict[str, int] = {}
    out = []
    for sample in samples:
        seen = first_row.setdefault(sample.sample_id, sample.row)
        if seen != sample.row:
            error = sample.error or f"sheet row {sample.row}: duplicate of row {seen} ({sample.sample_id})"
            sample = replace(sample, sample_id=f"{sample.sample_id}@row{sample.row}", error=error)
        out.append(sample)
    return out


class SheetRecipe(Recipe):
    """A recipe whose annotations are one worksheet with a header row (see the module).

    Examples
    --------
    A release of ``<subject>/<clip>/<n>.png`` frames and a ``labels.csv`` sheet:

    >>> import re
    >>> from pathlib import PurePosixPath
    >>> from mepipe.release import SheetRecipe
    >>> class Lab(SheetRecipe):
    ...     name, title, color, resolution, fps = "lab", "Lab ME", "gray", (640, 480), 100
    ...     class_sets = {"3": ("negative", "positive", "surprise")}
    ...     label_maps = {"3": {"anger": "negative", "joy": "positive", "surprise": "surprise"}}
    ...     sheet_file, frames_dirs = "labels.csv", ("frames",)
    ...     sheet_globs, sheet_names = ("labels*.csv",), ("labels",)
    ...     layout = ("Subject", "Clip", "Onset", "Apex", "Offset", "Emotion")
    ...     columns = {f: (h,) for f, h in zip(FIELDS, layout)}
    ...     frame_pattern = re.compile(r"(\\d+)\\.png")
    ...     def clip_dir(self, sample):
    ...         return PurePosixPath(sample.subject, sample.clip)
    ...     def frame_name(self, sample, number):
    ...         return f"{number}.png"
    >>> lab = Lab()
    >>> lab.frame_number("0042.png"), lab.frame_number("notes.txt")
    (42, None)
    >>> lab.label_of(Sample("s1/c1", "s1", "c1", 1, 5, 9, "joy", "joy"), "3")
    'positive'
    """

    #: worksheet titles to try first; the first is the title :meth:`write_sheet` uses
    sheet_names: tuple[str, ...]
    #: the header as the release writes it; ``None`` is a blank spacer column
    layout: tuple[str | None, ...]
    #: field (see FIELDS) -> accepted header names, the release's own first
    columns: ClassVar[Mapping[str, tuple[str, ...]]]
    #: rows written above the header (SAMM's notes)
    preamble: tuple[tuple, ...] = ()
    #: class set -> emotion (lower case) -> class name; emotions absent are left out
    label_maps: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    #: header names of the action-unit column, when the sheet has one
    au_columns: tuple[str, ...] = ("Action Units", "AU", "AUs")
    #: header names of the objective-class column, when the sheet has one
    objective_columns: tuple[str, ...] = ("Objective Classes", "Objective Class")
    #: known errors of the published sheets, fixed where a row still holds them (docs/errata.md)
    errata: tuple[Erratum, ...] = ()

    # ---- dataset-specific naming (override) -------------------------------------------

    def subject_cell(self, subject: str) -> int | str:
        """The sheet's spelling of a normalised subject id (a number where the release's
        own sheet has one)."""
        return subject

    def clip_id(self, raw: dict[str, Any]) -> str:
        """Clip name from a row's fields (``raw`` maps FIELDS to cells)."""
        return cell_text(raw["clip"])

    def clip_cell(self, sample: Sample) -> str:
        """The sheet's ``Filename`` for a sample."""
        return sample.clip

    def emotion_cell(self, emotion: str) -> str:
        """The sheet's spelling of a lower-case emotion."""
        return emotion

    def extra_cells(self, sample: Sample) -> dict[str, Any]:
        """Cells of non-field columns for a sample made without a sheet (``synth``)."""
        return {}

    # ---- Recipe interface -------------------------------------------------------------

    def read(self, sheet: Path, classes: str = "raw", *, objective_sheet: Path | None = None) -> list[Sample]:
        self.check_classes(classes)
        table = read_table(Path(sheet), self.columns, self.sheet_names)
        self.check_layout(table)
        samples = flag_duplicates([self._sample(table, number, cells) for number, cells in table.rows])
        samples = self.add_objective(samples, Path(sheet), objective_sheet)
        if classes == "objective" and not any(s.objective_class for s in samples):
            raise UsageError(f"--classes objective: {sheet} holds no objective classes")
        out = []
        for sample in samples:
            label = self.label_of(sample, classes)
            if label is not None:
                out.append(replace(sample, label=label))
        return out

    def check_layout(self, table: Table) -> None:
        """Refuse another release's sheet before its rows are read: a header missing more
        than half of the names of :attr:`layout` that are not sample fields (SAMM's
        ``Inducement Code``, ``Duration``, ``Micro``, ...) is not this recipe's, even
        where the field columns match (each layout name may be written as any of its
        accepted aliases).

        Raises
        ------
        SheetError
            One line naming the columns found and the ones expected.
        """
        found = {normalise_name(name) for name in table.names if name}
        aliases = [*self.columns.values(), self.au_columns, self.objective_columns]
        fields = {normalise_name(n) for names in self.columns.values() for n in names}
        extra = [name for name in self.layout if name and normalise_name(name) not in fields]
        missing = [
            name
            for name in extra
            if not found & {normalise_name(n) for n in next((a for a in aliases if name in a), (name,))}
        ]
        if extra and len(missing) * 2 > len(extra):
            written = ", ".join(name for name in table.names if name)
            expected = ", ".join(name for name in self.layout if name)
            raise SheetError(
                f"{table.path}: not a {self.title} sheet: its columns are {written}; a {self.title} sheet's are "
                f"{expected} (no {', '.join(missing)})"
            )

    def label_of(self, sample: Sample, classes: str) -> str | None:
        self.check_classes(classes)
        if classes == "raw":
            return sample.emotion
        if classes == MEGC2019_SET:
            return self.megc2019_label(sample)
        if classes == "objective":
            return sample.objective_class or None
        return self.label_maps[classes].get(sample.emotion)

    def add_objective(self, samples: list[Sample], sheet: Path, objective_sheet: Path | None) -> list[Sample]:
        """``samples`` with objective classes from a sheet of their own, for releases that
        ship one (CASME-II); the others have them in their coding sheet."""
        if objective_sheet is not None:
            raise UsageError(f"--objective-sheet: {self.title} has no separate objective-class sheet")
        return samples

    def write_sheet(self, samples: Sequence[Sample], path: Path) -> None:
        header = list(self.layout)
        known = {normalise_name(name) for name in header if name}
        for sample in samples:
            for name in sample.extra.get("raw", {}):
                if normalise_name(name) not in known:
                    header.append(name)
                    known.add(normalise_name(name))
        rows = [self._row(sample, header) for sample in samples]
        write_table(Path(path), header, rows, sheet=self.sheet_names[0], preamble=self.preamble)

    # ---- internals --------------------------------------------------------------------

    def _sample(self, table: Table, number: int, cells: tuple) -> Sample:
        fields = {key: cells[index] for key, index in table.columns.items()}
        fixed = apply_errata(self.errata, fields, self.subject_id)
        onset, apex, offset, repairs, error = check_span(fields["onset"], fields["apex"], fields["offset"])
        repairs = fixed + repairs
        raw = table.raw(cells)
        units = optional_cell(raw, self.au_columns)
        tokens, warnings = parse_action_units(units)
        subject = self.subject_id(fields["subject"]) if cell_text(fields["subject"]) else ""
        clip = self.clip_id(fields) if cell_text(fields["clip"]) else ""
        if not subject or not clip:
            error = error or f"no {'subject' if not subject else 'clip name'}"
        emotion = cell_text(fields["emotion"]).lower()
        return Sample(
            sample_id=f"{subject}/{clip}",
            subject=subject,
            clip=clip,
            onset=onset,
            apex=apex,
            offset=offset,
            emotion=emotion,
            label=emotion,
            repair=join_repairs(repairs),
            error=f"sheet row {number}: {error}" if error else "",
            row=number,
            extra={"raw": raw},
            action_units=" ".join(cell_text(units).split()),
            au=au_text(certain_aus(tokens)),
            au_tokens=tokens_text(tokens),
            au_warning="; ".join(f"sheet row {number}: {w}" for w in warnings),
            objective_class=objective_class(optional_cell(raw, self.objective_columns)),
        )

    def _row(self, sample: Sample, header: Sequence[str | None]) -> list[Any]:
        raw = {normalise_name(name): value for name, value in sample.extra.get("raw", {}).items()}
        if raw:
            return [raw.get(normalise_name(name)) if name else None for name in header]
        cells = {
            "subject": self.subject_cell(sample.subject),
            "clip": self.clip_cell(sample),
            "onset": sample.onset,
            "apex": "/" if sample.apex is None else sample.apex,
            "offset": sample.offset,
            "emotion": self.emotion_cell(sample.emotion),
        }
        extra = {normalise_name(k): v for k, v in self.extra_cells(sample).items()}
        for column in self.au_columns:
            extra.setdefault(normalise_name(column), sample.action_units or None)
        for column in self.objective_columns:
            extra.setdefault(normalise_name(column), int(sample.objective_class) if sample.objective_class else None)
        row = []
        for name in header:
            field = next(
                (f for f, names in self.columns.items() if normalise_name(name) in {normalise_name(n) for n in names}),
                None,
            )
            row.append(cells[field] if field else extra.get(normalise_name(name)))
        return row


def optional_cell(raw: Mapping[str, Any], names: Sequence[str]) -> Any:
    """The cell of the first column among ``names`` (matched normalised); ``None`` without one."""
    wanted = [normalise_name(n) for n in names]
    by_name = {normalise_name(k): v for k, v in raw.items()}
    return next((by_name[n] for n in wanted if n in by_name), None)
