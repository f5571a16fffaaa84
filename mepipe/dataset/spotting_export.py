"""A spotting store as files other code reads: ``intervals.csv`` and one ``<video>.npz``
of each built video's per-frame arrays (``mepipe export STORE --out DIR``).

Each archive holds ``numbers`` (the release's frame numbers of the kept frames), the
labels (``label_type``: 0 none, 1 micro, 2 macro; ``label_interval``: the row of
``intervals.csv``, -1 for none) and every array of the store's per-frame features
(``images``, ``region_motion``, ``face_motion``, ``head_motion``, ``valid``, ...), row
``t`` the pair from kept frame ``t`` to ``t + k``; ``k`` and ``fps`` as scalars.
Videos not built are left out and listed in ``left_out.csv``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mepipe._shared.progress import Progress
from mepipe.arrays.perframe import get_feature
from mepipe.dataset.export import MARKER, ExportSummary, prepare_folder, write_csv
from mepipe.errors import UsageError
from mepipe.store.spotting import open_spotting_store, read_intervals, spotting_record, video_statuses

INTERVAL_COLUMNS = ("video", "subject", "type", "onset", "apex", "offset", "aus", "emotion", "row", "repairs", "error")


def export_spotting(store: str, out: str | Path, fmt: str = "npz", progress: bool = True) -> ExportSummary:
    """Write a spotting store's intervals and per-video arrays under ``out``.

    Parameters
    ----------
    store : str
        A spotting store.
    out : path
        A new or empty folder, or an earlier export (its files are replaced).
    fmt : str
        ``npz``, the one layout of a spotting store's export.
    progress : bool
        Show a progress bar on stderr.
    """
    if fmt != "npz":
        raise UsageError(f"--format {fmt}: a spotting store exports as npz (intervals.csv and one archive per video)")
    out = Path(out)
    root = open_spotting_store(store)
    record = spotting_record(root)
    arrays = ["numbers", "label_type", "label_interval"]
    arrays += [a for name in record.held for a in get_feature(name).array_names()]
    statuses = video_statuses(root, record)
    built = [name for name, (status, _) in statuses.items() if status == "ok"]
    left_out = [(name, status, error) for name, (status, error) in statuses.items() if status != "ok"]
    entries = ["intervals.csv", *(f"{name}.npz" for name in built), "left_out.csv", MARKER]
    prepare_folder(out, entries)
    marker = {"store": str(store), "format": "spotting-npz", "arrays": arrays, "entries": entries}
    (out / MARKER).write_text(json.dumps({**marker, "mepipe_spotting": record.to_attrs()}, indent=1) + "\n")
    intervals = read_intervals(root)
    rows = []
    for interval in intervals:
        values = asdict(interval)
        values["apex"] = "" if interval.apex is None else interval.apex
        values["repairs"] = "; ".join(interval.repairs)
        rows.append([values.get(column, "") for column in INTERVAL_COLUMNS])
    write_csv(out / "intervals.csv", INTERVAL_COLUMNS, rows)
    with Progress(len(built), "export spotting", enabled=progress, unit="video") as bar:
        for name in built:
            group = root[f"videos/{name}"]
            # dict[str, Any]: to mypy, arrays unpacked as keywords could also fill allow_pickle (a bool)
            held: dict[str, Any] = {a: np.asarray(group[a][:]) for a in arrays if a in group}
            np.savez_compressed(out / f"{name}.npz", k=int(group.attrs["k"]), fps=float(group.attrs["fps"]), **held)
            bar.update(True)
    write_csv(out / "left_out.csv", ("video", "status", "error"), left_out)
    return ExportSummary(out=out, format="npz", arrays=tuple(arrays), exported=len(built), left_out=left_out)
