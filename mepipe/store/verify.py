"""Re-read a store and check every ``ok`` sample against the checksums it was written with:
``checksum`` over its images, and ``checksum_<set>`` over each derived set (flow,
sequence, ...) the store holds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import zarr

from mepipe._shared.progress import Progress
from mepipe._shared.text import one_line
from mepipe.arrays import derived_names
from mepipe.store import OK, open_store, read_array, sample_checksum, set_checksum_field
from mepipe.store.read import set_checksum

#: the reason given for an ok sample whose derived set was never written
NOT_BUILT = "not built yet (a build adding them was interrupted; rerun it)"


@dataclass
class VerifyReport:
    """Damaged samples of a store: (index, sample_id, reason)."""

    checked: int = 0
    damaged: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damaged


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
    """Open ``path`` read-only and report damaged or missing data of its ``ok`` samples."""
    return damaged_samples(open_store(path), progress=progress)
