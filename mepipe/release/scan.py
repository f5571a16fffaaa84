"""The folder tree under ``--root``, listed lazily and each folder at most once.

A leaf of the release room: it knows folders and file names, nothing of recipes or
samples, so discovery (:mod:`mepipe.release.discover`) and the recipes build on it.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mepipe.release.names import folded

#: how far below ``--root`` folders are listed (the root itself is level 0)
MAX_DEPTH = 4
#: file name endings worth remembering while listing: annotation sheets
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
#: folders never worth descending into
_SKIPPED = ("__MACOSX", "$RECYCLE.BIN", "System Volume Information")
#: entries named in the error when nothing is found
_SHOWN = 12


@dataclass(frozen=True)
class Listing:
    """One folder's entries worth knowing: sub-folders and sheet-like files.

    Attributes
    ----------
    folders : dict
        :func:`~mepipe.release.names.folded` name -> the name as spelled on disk.
    sheets : tuple of str
        Files whose name ends in one of :data:`SHEET_SUFFIXES`.
    names : tuple of str
        Every entry (folders with a trailing ``/``), for messages.
    """

    folders: dict[str, str]
    sheets: tuple[str, ...]
    names: tuple[str, ...]


class Scan:
    """The folder tree under a root, listed lazily and each folder at most once.

    Folders are listed when a search first needs them and the listing is kept, so the
    sheet search and the frames search of a build (and of a composite's parts) share one
    pass, and folders below a found frames root, the clip folders with their thousands
    of frames, are never listed.
    """

    def __init__(self, root: Path, max_depth: int = MAX_DEPTH) -> None:
        self.root = Path(root)
        self.max_depth = max_depth
        self._listings: dict[Path, Listing | None] = {}

    def listing(self, folder: Path) -> Listing | None:
        """``folder``'s :class:`Listing`, ``None`` when it cannot be read."""
        if folder not in self._listings:
            self._listings[folder] = _list(folder)
        return self._listings[folder]

    def walk(self, descend: Callable[[Path], bool] = lambda folder: True) -> Iterator[tuple[Path, int, Listing]]:
        """``(folder, depth, listing)`` breadth-first from the root, ``max_depth`` deep.

        ``descend(folder)`` is asked after the consumer has seen ``folder``; a folder
        reached twice through links is visited once.
        """
        seen: set[str] = set()
        level = [self.root]
        for depth in range(self.max_depth + 1):
            following = []
            for folder in level:
                real = os.path.realpath(folder)
                listed = self.listing(folder) if real not in seen else None
                seen.add(real)
                if listed is None:
                    continue
                yield folder, depth, listed
                if depth < self.max_depth and descend(folder):
                    following += [folder / name for name in listed.folders.values()]
            level = following

    def has_dir(self, base: Path, relative: PurePosixPath) -> bool:
        """Whether ``base / relative`` is a folder, in any spelling
        :func:`~mepipe.release.names.find_folder` accepts; the last level is looked up in its
        parent's listing, so clip folders themselves are never listed."""
        current = base
        for part in relative.parts:
            listed = self.listing(current)
            if listed is None:
                return False
            spelled = listed.folders.get(folded(part))
            if spelled is None:
                return False
            current = current / spelled
        return True

    def find_files(self, patterns: Sequence[str]) -> list[Path]:
        """Sheet-like files matching any of ``patterns`` (case-insensitive) at the shallowest
        depth that has any, latest name first (dated versions of a sheet sort by date)."""
        hits: list[Path] = []
        # the walk stops descending once a folder has a hit; extend keeps the one list it asks about
        for folder, _depth, listed in self.walk(lambda folder: not hits):
            hits.extend(
                folder / name
                for name in listed.sheets
                if any(fnmatch.fnmatch(name.lower(), q.lower()) for q in patterns)
            )
        shallowest = min((len(p.relative_to(self.root).parts) for p in hits), default=0)
        return sorted(
            (p for p in hits if len(p.relative_to(self.root).parts) == shallowest), key=lambda p: p.name, reverse=True
        )

    @property
    def listed(self) -> set[Path]:
        """The folders listed so far."""
        return set(self._listings)

    def shown(self, folder: Path) -> str:
        """The entries of ``folder``, sorted and cut to a dozen, for messages."""
        listed = self.listing(folder)
        names = sorted(listed.names) if listed is not None else []
        shown = ", ".join(names[:_SHOWN]) or "nothing"
        return shown + (f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


def _list(folder: Path) -> Listing | None:
    folders: dict[str, str] = {}
    sheets: list[str] = []
    names: list[str] = []
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
                    folders.setdefault(folded(entry.name), entry.name)
                elif entry.name.lower().endswith(SHEET_SUFFIXES):
                    sheets.append(entry.name)
                names.append(entry.name + ("/" if is_dir else ""))
    except OSError:
        return None
    return Listing(folders, tuple(sheets), tuple(names))
