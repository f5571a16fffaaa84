"""Where a release keeps its sheet and frames on a lab's disk: one scan of ``--root``.

Labs keep releases under many folder names (``CASME2_RAW_selected``, ``Cropped``,
``Cropped_original``, ``SAMM_CROP``, ...) and point ``--root`` at the release, at the
folder above it, or at the folder holding the subject folders. So nothing is assumed:
the tree under ``--root`` is listed once, a few levels deep, and

* the sheet is the first file matching the recipe's name patterns, shallowest first;
* the frames root is the folder that holds the most of the sheet's ``<subject>/<clip>``
  folders. When two hold as many (a release shipped with raw *and* cropped frames), the
  recipe's primary variant wins: the earliest of its :attr:`~mepipe.recipe.Recipe.frames_dirs`,
  then the shallower folder. ``frames=`` overrides the search.

Listing is by ``os.scandir`` (no ``stat`` per entry), and whether a clip folder exists is
answered from the listing where it reaches, so a release with hundreds of clips of
thousands of frames is scanned in well under a second.
"""

from __future__ import annotations

import fnmatch
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

from .errors import UsageError
from .recipe import Recipe, Sample

#: how far below ``--root`` folders are listed (the root itself is level 0)
MAX_DEPTH = 4
#: file name endings worth remembering while listing: annotation sheets
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".csv")
#: folders never worth descending into
_SKIPPED = ("__MACOSX", "$RECYCLE.BIN", "System Volume Information")
#: entries named in the error when nothing is found
_SHOWN = 12


def _nfc(name: str) -> str:
    # the sheet and the disk may spell accented names in different Unicode forms
    return unicodedata.normalize("NFC", name)


@dataclass
class Scan:
    """The folder tree under a root, listed once.

    Attributes
    ----------
    root : Path
        The folder scanned.
    children : dict
        Folder -> its sub-folder names (NFC), for every folder listed (depth < MAX_DEPTH+1).
    depth : dict
        Folder -> its depth below ``root``.
    sheets : list of Path
        Files with a sheet's suffix, in breadth-first order.
    top : list of str
        Names at the top of ``root`` (folders with a trailing ``/``), for messages.
    """

    root: Path
    children: dict[Path, frozenset[str]] = field(default_factory=dict)
    depth: dict[Path, int] = field(default_factory=dict)
    sheets: list[Path] = field(default_factory=list)
    top: list[str] = field(default_factory=list)

    def has_dir(self, base: Path, relative: PurePosixPath) -> bool:
        """Whether ``base / relative`` is a folder, from the listing where it reaches."""
        current = base
        for part in relative.parts:
            listed = self.children.get(current)
            if listed is None:
                return _is_dir(current / part)
            if _nfc(part) not in listed:
                return False
            current = current / part
        return True

    def find_files(self, patterns: Sequence[str]) -> list[Path]:
        """Listed sheet files matching any of ``patterns`` (case-insensitive): shallowest
        first, then by name descending (the latest dated version of a sheet first)."""
        hits = [p for p in self.sheets if any(fnmatch.fnmatch(p.name.lower(), q.lower()) for q in patterns)]
        hits.sort(key=lambda p: p.name, reverse=True)
        return sorted(hits, key=lambda p: self.depth.get(p.parent, 0))


def _is_dir(path: Path) -> bool:
    if path.is_dir():
        return True
    spelled = Path(unicodedata.normalize("NFD", str(path)))
    return spelled != path and spelled.is_dir()


def scan(root: Path, max_depth: int = MAX_DEPTH) -> Scan:
    """List the folders under ``root`` breadth-first, ``max_depth`` levels deep.

    Hidden folders and system folders are skipped; a folder reached twice through links
    is listed once.
    """
    root = Path(root)
    result = Scan(root)
    seen: set[str] = set()
    level = [root]
    for depth in range(max_depth + 1):
        following = []
        for folder in level:
            real = os.path.realpath(folder)
            if real in seen:
                continue
            seen.add(real)
            names = []
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name.startswith(".") or entry.name in _SKIPPED:
                            continue
                        try:
                            is_dir = entry.is_dir()
                        except OSError:
                            continue
                        if is_dir:
                            names.append(_nfc(entry.name))
                            following.append(folder / entry.name)
                        elif entry.name.lower().endswith(SHEET_SUFFIXES):
                            result.sheets.append(folder / entry.name)
                        if depth == 0:
                            result.top.append(entry.name + ("/" if is_dir else ""))
            except OSError:
                continue
            result.children[folder] = frozenset(names)
            result.depth[folder] = depth
        level = following if depth < max_depth else []
    result.top.sort()
    return result


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

    def describe(self, root: Path | None = None) -> str:
        """``<path> (F of N clip folders)`` and the alternatives left aside, for summaries."""
        text = f"{self.path} ({self.found} of {self.total} clip folders"
        text += ", given by --frames)" if self.chosen_by == "--frames" else ")"
        if self.others:
            text += "; also holding clips: " + ", ".join(f"{p} ({n})" for p, n in self.others)
        return text


def _count(scan_: Scan, base: Path, recipe: Recipe, samples: Sequence[Sample]) -> int:
    return sum(any(scan_.has_dir(base, rel) for rel in recipe.clip_dirs(s)) for s in samples)


def known_rank(recipe: Recipe, folder: Path) -> int:
    """Position of ``folder``'s name among the recipe's known frame folders (tail match)."""
    parts = [p.lower() for p in folder.parts]
    for index, known in enumerate(recipe.frames_dirs):
        tail = [p.lower() for p in PurePosixPath(known).parts]
        if tail and parts[-len(tail):] == tail:
            return index
    return len(recipe.frames_dirs)


def locate_frames(
    recipe: Recipe, scan_: Scan, samples: Sequence[Sample], frames: Path | None = None
) -> FramesRoot:
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
    firsts = {_nfc(rel.parts[0]) for s in usable for rel in recipe.clip_dirs(s) if rel.parts}
    scored = []
    for folder, names in scan_.children.items():
        if names & firsts:
            found = _count(scan_, folder, recipe, usable)
            if found:
                scored.append((-found, known_rank(recipe, folder), scan_.depth[folder], str(folder), folder))
    if not scored:
        raise _not_found(recipe, scan_, usable, None)
    scored.sort()
    best = scored[0]
    # folders nested in the chosen one (its subject folders can look like roots of
    # releases whose clip names repeat) are not alternatives
    others = tuple((f, -n) for n, _, _, _, f in scored[1:] if not f.is_relative_to(best[4]))
    return FramesRoot(best[4], -best[0], len(usable), others)


def _not_found(recipe: Recipe, scan_: Scan, samples: Sequence[Sample], frames: Path | None) -> UsageError:
    example = recipe.clip_dirs(samples[0])[0] if samples else PurePosixPath("?")
    top = ", ".join(scan_.top[:_SHOWN]) or "nothing"
    if len(scan_.top) > _SHOWN:
        top += f", ... ({len(scan_.top) - _SHOWN} more)"
    if frames is not None:
        return UsageError(
            f"no {recipe.title} clip folders in --frames {frames}: looked for {example} and the "
            f"other clips of the sheet; it holds: {_listing(frames)}"
        )
    known = ", ".join(recipe.frames_dirs)
    return UsageError(
        f"no {recipe.title} frames under {scan_.root}: no folder up to {MAX_DEPTH} levels down "
        f"(known names first: {known}) holds the sheet's clip folders, e.g. {example}; "
        f"found at the top of {scan_.root}: {top}; point --frames at the folder holding them"
    )


def _listing(folder: Path) -> str:
    try:
        names = sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(folder))
    except OSError:
        return "nothing readable"
    shown = ", ".join(names[:_SHOWN]) or "nothing"
    return shown + (f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


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
    sheets: Mapping[str, Path] = field(default_factory=dict)

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
    return recipe.open(root, sheet=sheet, frames=frames, classes=classes,
                       scanned=scanned if scanned is not None else scan(root), locate=locate)


def open_single(
    recipe: Recipe, root: Path, scanned: Scan, *, sheet: Path | None, frames: Path | None, classes: str,
    locate: bool = True,
) -> Release:
    """:meth:`Recipe.open` for a release with one sheet and one frames root."""
    if sheet is not None:
        if not Path(sheet).exists():
            raise UsageError(f"annotation sheet {sheet} does not exist")
        sheet = Path(sheet)
    elif frames is not None and recipe.sheetless:
        sheet = Path(frames)
    else:
        sheet = recipe.find_sheet(root, scanned)
    samples = recipe.read(sheet, classes)
    found = {"": locate_frames(recipe, scanned, samples, frames)} if locate and samples else {}
    return Release(recipe, root, sheet, tuple(samples), found, recipe.digest(sheet))
