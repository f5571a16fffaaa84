"""Re-read a store and check what it holds against the checksums it was written with.

A clip store: every ``ok`` sample, ``checksum`` over its images and ``checksum_<set>``
over each derived set (flow, sequence, ...) it holds. A spotting store: every block marked
done of every built video, its rows against the block's checksum (stores made before
those were kept: against themselves, a valid pair with features and an invalid one
without); a damaged block's mark is cleared, so that ``mepipe build`` with the same
options recomputes it, and only it. Either way, what an interrupted build left
unfinished (pending samples, blocks not marked done) is counted apart from damage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr

from mepipe._shared.progress import Progress
from mepipe._shared.text import one_line
from mepipe.arrays import derived_names
from mepipe.store import OK, PENDING, open_store, read_array, sample_checksum, set_checksum_field
from mepipe.store.read import set_checksum
from mepipe.store.spotting import (
    block_checksum,
    block_rows,
    checksum_name,
    covered_arrays,
    done_name,
    is_spotting_group,
    open_spotting_store,
    spotting_record,
    video_groups,
    video_names,
)

#: the reason given for an ok sample whose derived set was never written
NOT_BUILT = "not built yet (a build adding them was interrupted; rerun it)"


@dataclass
class VerifyReport:
    """What a verify found: damaged items ``(index, name, reason)`` and unfinished ones.

    ``unit`` names an item: ``sample`` in a clip store, ``block`` in a spotting store
    (``index`` is then the block, ``name`` its video).
    """

    checked: int = 0
    damaged: list[tuple[int, str, str]] = field(default_factory=list)
    #: items an interrupted build left undone: pending samples, blocks not marked done
    unfinished: int = 0
    #: videos with an unfinished block, or never started (spotting stores)
    unfinished_videos: int = 0
    unit: str = "sample"

    @property
    def ok(self) -> bool:
        """Nothing damaged (unfinished work is not damage: a rerun finishes it)."""
        return not self.damaged

    def format(self) -> str:
        """The summary line: what was checked, damaged and left unfinished."""
        units = f"{self.unit}s"
        line = f"{self.checked} {'ok ' if self.unit == 'sample' else ''}{units} checked, {len(self.damaged)} damaged"
        if self.unfinished:
            videos = f" in {self.unfinished_videos} videos" if self.unit == "block" else ""
            line += f", {self.unfinished} unfinished{videos}"
        fixes = [
            *(["`mepipe build` with the same options rebuilds them"] if self.damaged else []),
            *(["rerunning the build finishes the unfinished ones"] if self.unfinished else []),
        ]
        return line + (f"; {' and '.join(fixes)}" if fixes else "")


def damaged_samples(group: zarr.Group, *, progress: bool = False, unbuilt: bool = True) -> VerifyReport:
    """Check each ``ok`` sample of an open store; failed and pending samples are not damage.

    ``unbuilt``: also report an ok sample whose derived set (``flow``, ...) was never
    written; a build, which writes those itself, leaves them out.
    """
    report = VerifyReport()
    try:
        status = read_array(group, "status")
        expected = read_array(group, "checksum")
        ids = read_array(group, "sample_id")
        sets = {
            name: read_array(group, set_checksum_field(name))
            for name in derived_names()
            if set_checksum_field(name) in group
        }
    except Exception as exc:
        report.damaged.append((-1, "*", f"per-sample metadata unreadable: {type(exc).__name__}: {exc}"))
        return report
    indices = np.flatnonzero(status == OK)
    report.unfinished = int(np.sum(status == PENDING))
    with Progress(len(indices), "verify", enabled=progress) as bar:
        for index in indices:
            report.checked += 1
            try:
                reason = _damage(group, int(index), expected[index], sets, unbuilt)
            except Exception as exc:
                reason = f"unreadable chunk: {type(exc).__name__}: {one_line(exc)}"
            if reason:
                report.damaged.append((int(index), str(ids[index]), reason))
            bar.update(not reason)
    return report


def _damage(group: zarr.Group, index: int, expected: str, sets: dict, unbuilt: bool) -> str:
    """Why sample ``index`` is damaged, or "" when every checksum matches."""
    if sample_checksum(group, index) != expected:
        return "checksum mismatch (data changed or missing)"
    for name, stored in sets.items():
        if not stored[index]:
            if unbuilt:
                return f"{name}: {NOT_BUILT}"
        elif set_checksum(group, index, name) != stored[index]:
            return f"{name}: checksum mismatch (data changed or missing)"
    return ""


def verify_store(path: str, *, progress: bool = False) -> VerifyReport:
    """Report damaged or missing data of a store of either kind.

    A clip store is opened read-only; in a spotting store the completion marks of damaged
    blocks are cleared (the next build recomputes them).
    """
    try:
        group: Any = zarr.open_group(str(path), mode="r")
    except Exception:  # not a group: open_store says so in its one line
        group = None
    if group is not None and is_spotting_group(group):
        return damaged_blocks(str(path), progress=progress)
    return damaged_samples(open_store(path), progress=progress)


def _block_problem(group: Any, rows: slice, arrays: list[str], expected: str) -> str:
    values: dict[str, np.ndarray] = {}
    for name in arrays:
        try:
            values[name] = np.asarray(group[name][rows])
        except Exception as exc:  # a chunk zarr cannot decode: what it is matters less than where
            return f"{name} unreadable ({type(exc).__name__})"
    if expected:
        return "" if block_checksum(group, arrays, rows) == expected else "checksum mismatch (data changed)"
    if "region_motion" in values and "valid" in values:
        finite = np.isfinite(values["region_motion"]).all(axis=1)
        if (finite != values["valid"]).any():
            first = rows.start + int(np.flatnonzero(finite != values["valid"])[0])
            return f"features and the valid mark disagree at frame position {first}"
    return ""


def damaged_blocks(path: str, *, progress: bool = False) -> VerifyReport:
    """Read back every block marked done of every built video of a spotting store.

    Damaged blocks get their completion mark cleared (the next build recomputes them);
    blocks never completed, and videos never started, are counted as unfinished.
    """
    open_spotting_store(path)  # one line when it is not a spotting store
    root: Any = zarr.open_group(str(path), mode="r+", use_consolidated=False)
    record = spotting_record(root)
    report = VerifyReport(unit="block")
    built = video_groups(root, record)
    # a video the build never reached, or whose group it had not finished making
    report.unfinished_videos = len(video_names(root, record)) - len(built)
    marks = list(dict.fromkeys(done_name(name, record) for name in record.held))
    with Progress(len(built), "verify", enabled=progress, unit="video") as bar:
        for name, group in built:
            if group.attrs.get("status") == "failed":  # a failure the build recorded, not unfinished work
                bar.update(False)
                continue
            unfinished = 0
            for done in marks:
                arrays = covered_arrays(record, done)
                flags = np.asarray(group[done][:]) if done in group else np.zeros(0, bool)
                sums = group[checksum_name(done)][:] if checksum_name(done) in group else None
                for index in range(len(flags)):
                    if not flags[index]:
                        unfinished += 1
                        continue
                    report.checked += 1
                    expected = "" if sums is None else str(sums[index])
                    problem = _block_problem(group, block_rows(group, index), arrays, expected)
                    if problem:
                        report.damaged.append((index, name, problem))
                        group[done][index] = False
            report.unfinished += unfinished
            report.unfinished_videos += bool(unfinished)
            bar.update(True)
    return report
