"""Checking a spotting store: every block of every built video read back and checked.

A block is damaged when one of its arrays cannot be read (a truncated or corrupt chunk)
or disagrees with itself (a valid pair without features, an invalid one with them). Its
completion mark is cleared, so that ``mepipe build`` with the same options recomputes
that block, and only it; nothing else is touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr

from .read import open_spotting_store

_ARRAYS = ("images", "region_motion", "face_motion", "head_motion", "valid", "unreadable", "face_lost")


@dataclass
class SpotVerification:
    """What :func:`verify_spotting` found."""

    checked: int = 0
    damaged: list[tuple[str, int, str]] = field(default_factory=list)
    incomplete: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No damaged and no incomplete block."""
        return not self.damaged and not self.incomplete


def _block_problem(group: Any, rows: slice) -> str:
    values: dict[str, np.ndarray] = {}
    for name in _ARRAYS:
        try:
            values[name] = group[name][rows]
        except Exception as exc:  # a chunk zarr cannot decode: what it is matters less than where
            return f"{name} unreadable ({type(exc).__name__})"
    finite = np.isfinite(values["region_motion"]).all(axis=1)
    if (finite != values["valid"]).any():
        first = rows.start + int(np.flatnonzero(finite != values["valid"])[0])
        return f"features and the valid mark disagree at frame position {first}"
    return ""


def verify_spotting(store: str) -> SpotVerification:
    """Read back every block of every built video of a spotting store.

    Damaged blocks get their completion mark cleared (the next build recomputes them);
    blocks never completed are listed as incomplete.
    """
    open_spotting_store(store)  # one line when it is not a spotting store
    root: Any = zarr.open_group(str(store), mode="r+", use_consolidated=False)
    report = SpotVerification()
    for name in root.attrs["mepipe_spotting"].get("videos", []):
        group = root[f"videos/{name}"]
        if group.attrs.get("status") != "ok" or "numbers" not in group:
            continue
        block = int(group["images"].chunks[0])
        done = group["done"][:]
        for index in range(len(done)):
            if not done[index]:
                report.incomplete.append((name, index))
                continue
            report.checked += 1
            rows = slice(index * block, min((index + 1) * block, group["numbers"].shape[0]))
            problem = _block_problem(group, rows)
            if problem:
                report.damaged.append((name, index, problem))
                group["done"][index] = False
    return report
