"""Where a release keeps its sheet and frames on a lab's disk: one scan of ``--root``.

Labs keep releases under many folder names (``CASME2_RAW_selected``, ``Cropped``,
``Cropped_original``, ``SAMM_CROP``, ...) and point ``--root`` at the release, at the
folder above it, or at the folder holding the subject folders. So nothing is assumed:
the tree under ``--root`` is searched, a few levels deep, and

* the sheet is the first file matching the recipe's name patterns, shallowest first;
* the frames root is the folder that holds the most of the sheet's ``<subject>/<clip>``
  folders. When two hold as many (a release shipped with raw *and* cropped frames), the
  recipe's primary variant wins: the earliest of its :attr:`~mepipe.release.recipe.Recipe.frames_dirs`,
  then the shallower folder. ``frames=`` overrides the search.

Folders are listed lazily by ``os.scandir`` (no ``stat`` per entry), each at most once,
and nothing below a folder found to hold clip folders is listed: a release of hundreds
of clips of thousands of frames is searched in milliseconds (``python -m bench.discover``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mepipe.errors import UsageError
from mepipe.release.names import folded
from mepipe.release.recipe import CompositeRecipe, Recipe, Sample
from mepipe.release.scan import MAX_DEPTH, Listing, Scan


@dataclass(frozen=True)
class FramesRoot:
    """The folder a release's clip folders were found in.

    Attributes
    ----------
    path : Path
        The frames root.
    found : int
        Samples whose clip folder is in it.
    total : int
        Samples looked for.
    others : tuple of (Path, int)
        Other folders that hold some of the clip folders, and how many.
    chosen_by : str
        ``--frames``, or ``search``.
    """

    path: Path
    found: int
    total: int
    others: tuple[tuple[Path, int], ...] = ()
    chosen_by: str = "search"

    def describe(self) -> str:
        """``<path> (F of N clip folders)`` and the alternatives left aside, for summaries."""
        text = f"{self.path} ({self.found} of {self.total} clip folders"
        text += ", given by --frames)" if self.chosen_by == "--frames" else ")"
        if self.others:
            text += "; also holding clips: " + ", ".join(f"{p} ({n})" for p, n in self.others)
        return text


def _count(scan_: Scan, base: Path, recipe: Recipe, samples: Sequence[Sample]) -> int:
    return sum(any(scan_.has_dir(base, rel) for rel in recipe.clip_dirs(s)) for s in samples)


def known_rank(names: Sequence[str], folder: Path) -> int:
    """Position of the first of ``names`` (folder names, or ``a/b`` tails) that ``folder``'s
    path ends with, case aside; ``len(names)`` when none does."""
    parts = [p.lower() for p in folder.parts]
    for index, known in enumerate(names):
        tail = [p.lower() for p in PurePosixPath(known).parts]
        if tail and parts[-len(tail) :] == tail:
            return index
    return len(names)


def locate_frames(recipe: Recipe, scan_: Scan, samples: Sequence[Sample], frames: Path | None = None) -> FramesRoot:
    """The frames root of ``samples`` under the scanned release (see the module notes).

    Raises
    ------
    UsageError
        Not one sample's clip folder was found (or ``frames`` holds none): one line naming
        a folder looked for and what the top of the release holds.
    """
    usable = [s for s in samples if not s.error] or list(samples)
    if frames is not None:
        frames = Path(frames)
        if not frames.is_dir():
            raise UsageError(f"--frames {frames}: not a folder")
        found = _count(scan_, frames, recipe, usable)
        if not found:
            raise _not_found(recipe, scan_, usable, frames)
        return FramesRoot(frames, found, len(usable), chosen_by="--frames")
    firsts = {folded(rel.parts[0]) for s in usable for rel in recipe.clip_dirs(s) if rel.parts}
    ranked = rank_folders(
        recipe,
        scan_,
        lambda folder, listed: 0 if firsts.isdisjoint(listed.folders) else _count(scan_, folder, recipe, usable),
    )
    if not ranked:
        raise _not_found(recipe, scan_, usable, None)
    (best, found), *others = ranked
    return FramesRoot(best, found, len(usable), tuple(others))


def rank_folders(recipe: Recipe, scan_: Scan, count: Callable[[Path, Listing], int]) -> list[tuple[Path, int]]:
    """Folders of the scan for which ``count(folder, listing)`` is positive, with it, best
    first: the highest count, then the recipe's known names in order, then the shallowest.

    Nothing below a counted folder is searched: below a frames root lie its subjects and
    clips.
    """
    scored, counted = [], set()
    for folder, depth, listed in scan_.walk(lambda folder: folder not in counted):
        found = count(folder, listed)
        if found:
            counted.add(folder)
            scored.append((-found, known_rank(recipe.frames_dirs, folder), depth, str(folder), folder))
    return [(folder, -found) for found, _, _, _, folder in sorted(scored)]


def _not_found(recipe: Recipe, scan_: Scan, samples: Sequence[Sample], frames: Path | None) -> UsageError:
    example = recipe.clip_dirs(samples[0])[0] if samples else PurePosixPath("?")
    if frames is not None:
        return UsageError(
            f"no {recipe.title} clip folders in --frames {frames}: looked for {example} and the "
            f"other clips of the sheet; it holds: {scan_.shown(frames)}"
        )
    known = ", ".join(recipe.frames_dirs)
    return UsageError(
        f"no {recipe.title} frames under {scan_.root}: no folder up to {MAX_DEPTH} levels down "
        f"(known names first: {known}) holds the sheet's clip folders, e.g. {example}; "
        f"found at the top of {scan_.root}: {scan_.shown(scan_.root)}; point --frames at the folder holding them"
    )


@dataclass(frozen=True)
class Release:
    """A release as found on disk: its sheet, its samples and where their frames are.

    Attributes
    ----------
    recipe : Recipe
        The dataset's recipe.
    root : Path
        ``--root``.
    sheet : Path
        The annotation source (a sheet; for a sheet-less release, its frames folder).
    samples : tuple of Sample
        The samples under the chosen class set, in sheet order.
    frames : dict
        Part -> :class:`FramesRoot`; one part ``""`` except for composites, whose
        parts are their member datasets.
    digest : str
        sha256 of the annotation source.
    """

    recipe: Recipe
    root: Path
    sheet: Path
    samples: tuple[Sample, ...]
    frames: Mapping[str, FramesRoot]
    digest: str

    @property
    def frame_roots(self) -> dict[str, str]:
        """Part -> frames root as a string: what the build's tasks need to find frames."""
        return {part: str(found.path) for part, found in self.frames.items()}

    def describe_frames(self) -> list[str]:
        """One line per part: where its frames were found."""
        return [f"{part + ': ' if part else ''}{found.describe()}" for part, found in self.frames.items()]

    def provenance(self) -> dict:
        """Frames roots relative to ``root`` (absolute when outside it), for a store's attrs."""
        return {part: _relative(found.path, self.root) for part, found in self.frames.items()}


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix() or "."
    except ValueError:
        return str(Path(path).resolve())


def open_release(
    recipe: Recipe,
    root: Path,
    *,
    sheet: Path | None = None,
    frames: Path | None = None,
    classes: str = "raw",
    scanned: Scan | None = None,
    locate: bool = True,
    objective_sheet: Path | None = None,
) -> Release:
    """Find the sheet and the frames of a ``recipe`` release under ``root``.

    Parameters
    ----------
    recipe : Recipe
    root : Path
        The release, a folder above it, or the folder holding its subject folders.
    sheet : Path, optional
        The annotation sheet, when it is not inside ``root``.
    frames : Path, optional
        The folder holding the ``<subject>/<clip>`` folders, bypassing the search.
    classes : str
        Class set the samples are restricted to.
    scanned : Scan, optional
        A scan of ``root`` already made (composites share one between their parts).
    locate : bool
        Find the frames; without it only the annotations are read (``frames`` is empty).
    objective_sheet : Path, optional
        A separate objective-class sheet (CASME-II), instead of the one beside the sheet.

    Raises
    ------
    UsageError
        ``root`` is not a folder, no sheet, no frames (see :func:`locate_frames`).
    """
    root = Path(root)
    recipe.check_classes(classes)
    if not root.is_dir():
        raise UsageError(
            f"no {recipe.title} release at {root}: not a folder; "
            f"make one with `mepipe synth --dataset {recipe.name} --out {root}`"
        )
    scanned = scanned if scanned is not None else Scan(root)
    if isinstance(recipe, CompositeRecipe):
        if objective_sheet is not None:
            raise UsageError(f"--objective-sheet: the {recipe.title} has no objective classes")
        return recipe.open(root, sheet=sheet, frames=frames, classes=classes, scanned=scanned, locate=locate)
    return open_single(
        recipe,
        root,
        scanned,
        sheet=sheet,
        frames=frames,
        classes=classes,
        locate=locate,
        objective_sheet=objective_sheet,
    )


def open_single(
    recipe: Recipe,
    root: Path,
    scanned: Scan,
    *,
    sheet: Path | None,
    frames: Path | None,
    classes: str,
    locate: bool = True,
    objective_sheet: Path | None = None,
) -> Release:
    """The release of a recipe with one sheet and one frames root (any but a composite)."""
    if sheet is not None:
        if not Path(sheet).exists():
            raise UsageError(f"annotation sheet {sheet} does not exist")
        sheet = Path(sheet)
    elif frames is not None and recipe.sheetless:
        sheet = Path(frames)
    else:
        sheet = recipe.find_sheet(root, scanned)
    samples = recipe.read(sheet, classes, objective_sheet=objective_sheet)
    found = {"": locate_frames(recipe, scanned, samples, frames)} if locate and samples else {}
    return Release(recipe, root, sheet, tuple(samples), found, recipe.digest(sheet))
