"""Re-read a store and check every ``ok`` sample against the checksum it was written with."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import zarr

from mepipe._shared.progress import Progress
from mepipe._shared.text import one_line
from mepipe.store import OK, open_store, read_array, sample_checksum


@dataclass
class VerifyReport:
    """Damaged samples of a store: (index, sample_id, reason)."""

    checked: int = 0
    damaged: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.damaged


def damaged_samples(group: zarr.Group, *, progress: bool = False) -> VerifyReport:
    """Check each ``ok`` sample of an open store; failed and pending samples are not damage."""
    report = VerifyReport()
    try:
        status = read_array(group, "status")
        expected = read_array(group, "checksum")
        ids = read_array(group, "sample_id")
    except Exception as exc:
        report.damaged.append((-1, "*", f"per-sample metadata unreadable: {type(exc).__name__}: {exc}"))
        return report
    indices = np.flatnonzero(status == OK)
    with Progress(len(indices), "verify", enabled=progress) as bar:
        for index in indices:
            report.checked += 1
            try:
                got = sample_checksum(group, int(index))
                reason = "" if got == expected[index] else "checksum mismatch (data changed or missing)"
            except Exception as exc:
                reason = f"unreadable chunk: {type(exc).__name__}: {one_line(exc)}"
            if reason:
                report.damaged.append((int(index), str(ids[index]), reason))
            bar.update(not reason)
    return report


def verify_store(path: str, *, progress: bool = False) -> VerifyReport:
    """Open ``path`` read-only and report damaged or missing data of its ``ok`` samples."""
    return damaged_samples(open_store(path), progress=progress)
