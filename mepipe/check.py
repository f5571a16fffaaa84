"""Validate a release on disk against its sheet before spending hours on a build.

Every sample ends up ``ok``, ``repaired`` (usable after a recorded fix: apex estimated,
offset clamped) or ``broken`` (with the one-line reason the build would fail it with).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from .errors import SampleError, UsageError
from .frames import check_clip, clip_frames, sample_reason
from .recipe import Recipe, Sample

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

    @property
    def counts(self) -> dict[str, int]:
        """Number of samples per status, every status present."""
        counts = Counter(result.status for result in self.results)
        return {status: counts[status] for status in STATUSES}

    @property
    def usable(self) -> bool:
        """True when no sample is broken."""
        return self.counts["broken"] == 0


def resolve_sheet(recipe: Recipe, root: Path | None, sheet: Path | None) -> Path:
    """The sheet to read: ``sheet`` if given (it must exist), else the one found in ``root``."""
    if sheet is not None:
        if not Path(sheet).is_file():
            raise UsageError(f"no {recipe.title} sheet at {sheet}: not a file")
        return Path(sheet)
    if root is None:
        raise UsageError("give --root DIR (a release) or --sheet FILE")
    return recipe.find_sheet(Path(root))


def check_sample(sample: Sample, recipe: Recipe, root: Path, decode: bool = True) -> SampleCheck:
    """Resolve (and with ``decode``, decode) one sample's frames; never raises SampleError."""
    try:
        frames = clip_frames(sample, recipe, root)
        if decode:
            check_clip(frames.paths, recipe.color)
    except SampleError as exc:
        return SampleCheck(sample.sample_id, "broken", sample_reason(sample, exc), 0)
    repairs = [r for r in (sample.repair, *frames.repairs) if r]
    status = "repaired" if repairs else "ok"
    return SampleCheck(sample.sample_id, status, "; ".join(repairs), len(frames.numbers))


def check_release(
    recipe: Recipe,
    root: Path,
    sheet: Path | None = None,
    classes: str = "raw",
    decode: bool = True,
    progress: bool = False,
) -> CheckReport:
    """Check every sample of the release at ``root`` (sheet found there unless given).

    ``progress`` shows a tqdm bar on stderr when it is a terminal.
    """
    root = Path(root)
    if not root.is_dir():
        hint = f"make one with `mepipe synth --dataset {recipe.name} --out {root}`"
        raise UsageError(f"no {recipe.title} release at {root}: not a folder; {hint}")
    sheet = resolve_sheet(recipe, root, sheet)
    samples = recipe.read(sheet, classes)
    bar = tqdm(samples, desc=f"check {recipe.name}", unit="clip", disable=None if progress else True)
    results = tuple(check_sample(sample, recipe, root, decode) for sample in bar)
    return CheckReport(recipe.name, root, sheet, classes, results)


def format_report(report: CheckReport, recipe: Recipe) -> str:
    """Summary table (counts per status) followed by one line per repaired or broken sample."""
    lines = [
        f"{recipe.title} release {report.root} (sheet {report.sheet.name}, classes {report.classes}): "
        f"{len(report.results)} samples",
    ]
    lines += [f"  {status:<9}{count:>6}" for status, count in report.counts.items()]
    for status in ("repaired", "broken"):
        listed = [r for r in report.results if r.status == status]
        if listed:
            lines.append(f"{status}:")
            lines += [f"  {r.sample_id}: {r.reason}" for r in listed]
    return "\n".join(lines)


def sample_errors(samples: Sequence[Sample]) -> list[str]:
    """One line per sample whose sheet row cannot be used."""
    return [f"{s.sample_id}: {s.error}" for s in samples if s.error]
