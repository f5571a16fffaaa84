"""Validate a release on disk against its sheet before spending hours on a build.

Every sample ends up ``ok``, ``repaired`` (usable after a recorded fix: apex estimated,
offset clamped) or ``broken`` (with the one-line reason the build would fail it with).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mepipe._shared.progress import Progress
from mepipe._shared.text import join_repairs
from mepipe.errors import SampleError, UsageError
from mepipe.release.crops import choose_crop
from mepipe.release.discover import open_release
from mepipe.release.frames import check_clip, clip_frames, sample_reason
from mepipe.release.recipe import Recipe, Sample

STATUSES = ("ok", "repaired", "broken")


@dataclass(frozen=True)
class SampleCheck:
    """Outcome for one sample: ``status`` in :data:`STATUSES`, ``reason`` its repairs or error."""

    sample_id: str
    status: str
    reason: str
    frames: int


@dataclass(frozen=True)
class CheckReport:
    """Outcome for a release: one :class:`SampleCheck` per sample, in sheet order."""

    dataset: str
    root: Path
    sheet: Path
    classes: str
    results: tuple[SampleCheck, ...]
    frames: tuple[str, ...] = ()
    #: the crop a build of these frames uses by default, and why
    crop: str = ""

    @property
    def counts(self) -> dict[str, int]:
        """Number of samples per status, every status present."""
        counts = Counter(result.status for result in self.results)
        return {status: counts[status] for status in STATUSES}

    @property
    def usable(self) -> bool:
        """True when no sample is broken."""
        return self.counts["broken"] == 0


def release_samples(
    recipe: Recipe, root: Path | None, sheet: Path | None, classes: str, objective_sheet: Path | None = None
) -> list[Sample]:
    """The samples of a sheet given alone, or of the release under ``root`` (whose frames
    need not be there: only the annotations are read)."""
    if root is None:
        if sheet is None:
            raise UsageError("give --root DIR (a release) or --sheet FILE")
        if not Path(sheet).exists():
            raise UsageError(f"no {recipe.title} sheet at {sheet}: not a file")
        return recipe.read(Path(sheet), classes, objective_sheet=objective_sheet)
    release = open_release(
        recipe, Path(root), sheet=sheet, classes=classes, locate=False, objective_sheet=objective_sheet
    )
    return list(release.samples)


def check_sample(sample: Sample, recipe: Recipe, frames_roots: Mapping[str, Path], decode: bool = True) -> SampleCheck:
    """Resolve (and with ``decode``, decode) one sample's frames under its part's frames
    root; never raises SampleError."""
    if sample.error:
        return SampleCheck(sample.sample_id, "broken", sample.error, 0)
    own_recipe, own, part = recipe.resolve(sample)
    try:
        frames = clip_frames(own, own_recipe, Path(frames_roots[part]))
        if decode:
            check_clip(frames.paths, own_recipe.color)
    except SampleError as exc:
        return SampleCheck(sample.sample_id, "broken", sample_reason(own, exc), 0)
    repairs = [r for r in (sample.repair, *frames.repairs) if r]
    status = "repaired" if repairs else "ok"
    return SampleCheck(sample.sample_id, status, join_repairs(repairs), len(frames.numbers))


def check_release(
    recipe: Recipe,
    root: Path,
    sheet: Path | None = None,
    classes: str = "raw",
    decode: bool = True,
    progress: bool = False,
    frames: Path | None = None,
) -> CheckReport:
    """Check every sample of the release at ``root`` (sheet and frames found there unless
    given, see :func:`mepipe.release.discover.open_release`).

    ``progress`` shows progress on stderr: a bar on a terminal, lines in a log.
    """
    release = open_release(recipe, Path(root), sheet=sheet, frames=frames, classes=classes)
    roots = {part: found.path for part, found in release.frames.items()}
    results = []
    with Progress(len(release.samples), f"check {recipe.name}", enabled=progress) as bar:
        for sample in release.samples:
            results.append(check_sample(sample, recipe, roots, decode))
            bar.update(results[-1].status != "broken")
    crop = choose_crop(release).describe() if release.frames else ""
    frames_lines = tuple(release.describe_frames())
    return CheckReport(recipe.name, release.root, release.sheet, classes, tuple(results), frames_lines, crop)


def format_report(report: CheckReport, recipe: Recipe) -> str:
    """Summary table (counts per status) followed by one line per repaired or broken sample."""
    lines = [
        f"{recipe.title} release {report.root} (sheet {report.sheet.name}, classes {report.classes}): "
        f"{len(report.results)} samples",
        *(f"frames {line}" for line in report.frames),
        *([f"crop   a build uses --crop {report.crop}"] if report.crop else []),
    ]
    lines += [f"  {status:<9}{count:>6}" for status, count in report.counts.items()]
    for status in ("repaired", "broken"):
        listed = [r for r in report.results if r.status == status]
        if listed:
            lines.append(f"{status}:")
            lines += [f"  {r.sample_id}: {r.reason}" for r in listed]
    return "\n".join(lines)


def sample_errors(samples: Sequence[Sample]) -> list[str]:
    """One line per sample whose sheet row cannot be used, then one per AU warning: a
    string that could not be read (``au_warning``), or one that codes no AU for certain
    (``?``, ``L12 or L14``), which leaves ``au`` blank."""
    errors = [f"{s.sample_id}: {s.error}" for s in samples if s.error]
    return errors + [f"warning: {s.sample_id}: {w}" for s in samples for w in [_au_warning(s)] if w]


def _au_warning(sample: Sample) -> str:
    if sample.au_warning or not sample.action_units or sample.au:
        return sample.au_warning
    row = f"sheet row {sample.row}: " if sample.row else ""
    return f"{row}action units {sample.action_units!r}: no AU coded for certain, au left blank"
