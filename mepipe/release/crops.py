"""Whether a build keeps a release's own registered face crops or aligns faces itself.

Most CASME-II and SMIC work starts from the crops the release's authors registered
(``Cropped``, ``SMIC_all_cropped``) resized whole (docs/crops.md); aligning
those again to mepipe's canonical window leaves much of the output outside the frame. So
the default follows the frames root found: ``release`` when it is a registered-crop
folder the recipe names (:attr:`~mepipe.release.recipe.Recipe.registered_dirs`) or a
copy of it named as cropped, ``aligned`` otherwise. A composite gets one crop for all its parts: ``release`` only
when every part's frames are registered crops. docs/crops.md has the details.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mepipe.errors import UsageError
from mepipe.release.discover import Release, known_rank
from mepipe.release.names import folded
from mepipe.release.recipe import Recipe

#: ``release``: the registered crops resized whole; ``aligned``: the face found and aligned
CROPS = ("release", "aligned")


@dataclass(frozen=True)
class CropChoice:
    """A build's crop and why it was chosen, for summaries."""

    mode: str
    reason: str

    def describe(self) -> str:
        return f"{self.mode} ({self.reason})"


def is_registered(recipe: Recipe, folder: Path) -> bool:
    """Whether ``folder`` holds the recipe's registered crops: one of its registered-crop
    folders, or, for a release that ships such crops, a copy of them under a lab's own
    name (``CASME2_Cropped``, ``cropped_frames``, ``SMIC_cropped/HS``): a folder whose name
    says cropped, at the depth the recipe's own names have."""
    if not recipe.registered_dirs:
        return False
    if known_rank(recipe.registered_dirs, Path(folder)) < len(recipe.registered_dirs):
        return True
    depth = max(len(PurePosixPath(name).parts) for name in recipe.registered_dirs)
    names = [folded(part) for part in Path(folder).parts[-depth:]]
    return any("crop" in name and "uncrop" not in name for name in names)


def _part_reason(recipe: Recipe, folder: Path, registered: bool) -> str:
    if registered:
        return f"{folder.name}: {recipe.title}'s registered crops"
    if not recipe.registered_dirs:
        return f"{recipe.title} ships no registered crops"
    return f"{folder.name}: not a registered-crop folder of {recipe.title} ({', '.join(recipe.registered_dirs)})"


def choose_crop(release: Release, crop: str | None = None) -> CropChoice:
    """The crop of a build from ``release``: ``crop`` when given, else the default for its
    frames roots (see the module notes).

    Raises
    ------
    UsageError
        ``crop`` is not one of :data:`CROPS`.
    """
    if crop is not None:
        if crop not in CROPS:
            raise UsageError(f"--crop must be one of {', '.join(CROPS)}, not {crop!r}")
        return CropChoice(crop, "given by --crop")
    parts = []
    for part, found in release.frames.items():
        recipe = release.recipe.part_recipe(part)
        registered = is_registered(recipe, found.path)
        parts.append((registered, _part_reason(recipe, found.path, registered)))
    reasons = "; ".join(reason for _, reason in parts)
    if parts and all(registered for registered, _ in parts):
        return CropChoice("release", f"{reasons}, kept as registered")
    if any(registered for registered, _ in parts):
        reasons += "; one crop for all parts"
    return CropChoice("aligned", f"{reasons}; the face is found and aligned")
