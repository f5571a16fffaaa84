"""What reading a published sheet changes: rows in, samples out, every repair and drop.

docs/errata.md carries this report for the sheets the built-in recipes read;
``tests/test_errata.py`` regenerates it from the real sheets and fails when the page and
the sheets disagree. A recipe of another package gets the same account of its own sheet
from :func:`sheet_report` and :func:`report_lines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mepipe.release.labels import MEGC2019_SET
from mepipe.release.recipe import Recipe
from mepipe.release.sheet import read_table
from mepipe.release.sheet_recipe import SheetRecipe


@dataclass(frozen=True)
class SheetReport:
    """One sheet as a recipe reads it (class set ``raw``: no class rule drops anything).

    Attributes
    ----------
    title, sheet : str
        The release and the sheet's file name.
    rows_in : int
        Data rows of the sheet, counted from the table itself.
    repairs, drops : tuple of (str, str)
        ``(sample id, reason)`` of each sample repaired (kept) and dropped (recorded as
        failed: it cannot be built).
    samples_out : int
        Samples a build can use.
    """

    title: str
    sheet: str
    rows_in: int
    samples_out: int
    repairs: tuple[tuple[str, str], ...]
    drops: tuple[tuple[str, str], ...]


def sheet_report(recipe: SheetRecipe, sheet: Path) -> SheetReport:
    """The :class:`SheetReport` of ``sheet`` read by ``recipe``."""
    rows = read_table(Path(sheet), recipe.columns, recipe.sheet_names).rows
    samples = recipe.read(Path(sheet))
    return SheetReport(
        recipe.title,
        Path(sheet).name,
        len(rows),
        sum(not s.error for s in samples),
        tuple((s.sample_id, s.repair) for s in samples if s.repair and not s.error),
        tuple((s.sample_id, s.error) for s in samples if s.error),
    )


def composite_lines(composite: Recipe, members: Sequence[tuple[SheetRecipe, Path]]) -> list[str]:
    """The MEGC 2019 section: each member sheet's samples eligible by the 3-class rule
    against those the official list holds."""
    lines = [
        "### MEGC 2019 composite (the official list)",
        "",
        "| member | sheet | eligible by the 3-class rule | in the list | eligible, not listed |",
        "|---|---|---|---|---|",
    ]
    for recipe, sheet in members:
        eligible = recipe.read(Path(sheet), "3")
        listed = {(s.subject, s.clip) for s in recipe.read(Path(sheet), MEGC2019_SET)}
        left = [s.sample_id for s in eligible if (s.subject, s.clip) not in listed]
        lines.append(
            f"| {recipe.name} | {Path(sheet).name} | {len(eligible)} | {len(listed)} | {', '.join(left) or 'none'} |"
        )
    lines.append("")
    return lines


def report_lines(report: SheetReport) -> list[str]:
    """One sheet's section of docs/errata.md."""
    drops = len(report.drops)
    lines = [
        f"### {report.title}: {report.sheet}",
        "",
        f"rows in {report.rows_in}, dropped {drops}, samples out {report.samples_out} "
        f"(= {report.rows_in} - {drops}); repaired {len(report.repairs)}",
        "",
    ]
    for kind, entries in (("repair", report.repairs), ("drop", report.drops)):
        if entries:
            lines += [f"| sample | {kind} |", "|---|---|"]
            lines += [f"| {sample_id} | {reason.replace('|', '/')} |" for sample_id, reason in entries]
            lines.append("")
    return lines
