"""The common base of every recipe: clips for recognition, long videos for spotting.

A recipe reads one dataset release. Two kinds derive from :class:`BaseRecipe`, one per
task (:data:`TASKS`): :class:`~mepipe.release.recipe.Recipe` reads a release of clips
(``task = "recognition"``), :class:`~mepipe.release.longvideo.LongVideoRecipe` a release
of long videos (``task = "spotting"``). What every release has is declared here once:
its name and title, its frames' colour, size and rate, the face's size in them, where its
sheet and its frames sit; and what every recipe does the same way: the sheet search
(:meth:`BaseRecipe.find_sheet`), the digest of the annotations recorded in a store, and
a frame's number from its file name.
"""

from __future__ import annotations

import re
from abc import ABC
from pathlib import Path
from typing import ClassVar

from mepipe._shared.provenance import file_sha256
from mepipe.errors import UsageError
from mepipe.release.scan import MAX_DEPTH, Scan

#: the tasks a recipe serves (its ``task`` attribute): clips for recognition
#: (:class:`~mepipe.release.recipe.Recipe`), long videos for spotting
#: (:class:`~mepipe.release.longvideo.LongVideoRecipe`)
TASKS = ("recognition", "spotting")


class BaseRecipe(ABC):
    """What every recipe declares and does, whatever its task (see the module).

    A subclass of one of the two kinds sets the attributes below (those with a default
    where it does not fit) and the kind's own.
    """

    #: what the recipe's releases are for, one of :data:`TASKS`: each kind sets its own
    task: ClassVar[str]
    #: registry key, e.g. ``"samm"``
    name: str
    #: human name, e.g. ``"SAMM"``
    title: str
    #: ``"rgb"`` or ``"gray"``: colour mode of the release's frames
    color: str
    #: (width, height) of the release's frames
    resolution: tuple[int, int]
    #: frames per second of the recordings
    fps: float
    #: where a release keeps its sheet, relative to its root (``synth`` writes it there)
    sheet_file: str
    #: file-name patterns of the sheet's versions and exports, matched case-insensitively
    #: in the root and up to :data:`~mepipe.release.scan.MAX_DEPTH` folders below
    sheet_globs: tuple[str, ...] = ()
    #: names of the folder holding the release's frames, the primary variant first
    #: (``synth`` writes it; the frames search prefers them in this order)
    frames_dirs: tuple[str, ...]
    #: file names of frames, matched whole; group 1 is the frame number
    frame_pattern: re.Pattern

    @property
    def face_width(self) -> float:
        """Typical face width in the release's frames, pixels at full resolution: sizes the
        face detector's input and the synthetic faces. Recipes set their own; the default,
        a face about half the frame high, is what the releases we know have."""
        return 0.45 * self.resolution[1]

    def find_sheet(self, root: Path, scanned: Scan | None = None) -> Path:
        """The annotation sheet inside a release: :attr:`sheet_file` in ``root``, else the
        first of :attr:`sheet_globs` that matches in ``root`` or below (the shallowest
        match, the latest name first: dated versions sort by date).

        Parameters
        ----------
        root : Path
            The release folder, or a folder above it.
        scanned : Scan, optional
            A listing of ``root`` already made (shared with the frames search).

        Raises
        ------
        UsageError
            ``root`` is not a folder, or holds no sheet; names what was looked for.
        """
        root = Path(root)
        hint = f"make one with `mepipe synth --dataset {self.name} --out {root}`"
        if not root.is_dir():
            raise UsageError(f"no {self.title} release at {root}: not a folder; {hint}")
        if (root / self.sheet_file).is_file():
            return root / self.sheet_file
        scanned = scanned if scanned is not None else Scan(root)
        for pattern in self.sheet_globs:
            found = scanned.find_files([pattern])
            if found:
                return found[0]
        looked = " or ".join(dict.fromkeys([self.sheet_file, *self.sheet_globs]))
        raise UsageError(
            f"no {self.title} release at {root}: expected {looked} in it or up to {MAX_DEPTH} folders below; {hint}"
        )

    def digest(self, sheet: Path) -> str:
        """sha256 of the annotation source, recorded in every store built from it."""
        return file_sha256(sheet)

    def frame_number(self, filename: str) -> int | None:
        """Frame number parsed from a file name (by :attr:`frame_pattern`); ``None`` for
        files that are not frames."""
        match = self.frame_pattern.fullmatch(filename)
        return int(match.group(1)) if match else None
