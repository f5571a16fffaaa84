"""``inspect``: what a store of either kind holds, in words; how failures and repairs group."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import zarr

from mepipe.arrays.perframe import get_feature
from mepipe.store import OK, STATUS_NAMES, array, detect_step_counts, image_names, read_columns, store_attrs
from mepipe.store.spotting import read_intervals, spotting_record, video_groups, video_statuses


def reason_kind(text: str) -> str:
    """What went wrong, not where: a failure or repair with its digits and paths dropped,
    so that the same problem on different files or frames groups together."""
    # the place ("sheet row 12: ") and the values quoted from it ('abc') name where, not what
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "", re.sub(r"^sheet row \d+: ", "", text))
    words = [w for w in text.split() if not any(c.isdigit() for c in w) and "/" not in w]
    return " ".join(words[:8]) or text


def describe(group: zarr.Group, max_listed: int = 20) -> str:
    """Counts per status, detection step, class and subject, repairs and failures, then
    configuration and provenance."""
    table = read_columns(group)
    attrs = store_attrs(group)
    status = table["status"]
    ok = status == OK
    labels = [str(x) for x in table["label"]]
    lines = [f"{attrs.get('dataset')} store: {len(status)} samples"]
    lines.append("arrays:")
    for name in image_names(group):
        stored = array(group, name)
        dims = ", ".join(str(d) for d in getattr(stored.metadata, "dimension_names", None) or ())
        lines.append(f"  {name:<24} {stored.dtype!s:<8} {tuple(stored.shape)} ({dims})")
    lines.append("status:")
    for code, count in sorted(Counter(int(s) for s in status).items()):
        lines.append(f"  {STATUS_NAMES.get(code, str(code)):<24} {count:6d}")
    steps = detect_step_counts(group)
    if steps:
        lines.append("faces by detection step (ok samples):")
        lines += [f"  {step:<24} {count:6d}" for step, count in steps.items()]
    lines.append("class (ok / all):")
    ok_per_class = Counter(label for label, good in zip(labels, ok) if good)
    for label, count in sorted(Counter(labels).items()):
        lines.append(f"  {label:<24} {ok_per_class[label]:6d} / {count}")
    per_subject = Counter(str(s) for s, good in zip(table["subject"], ok) if good)
    lines.append(f"subjects with ok samples: {len(per_subject)}")
    lines.append("  " + ", ".join(f"{s}:{n}" for s, n in sorted(per_subject.items())))
    for title, mask, column in (("repaired", ok & (table["repair"] != ""), "repair"), ("failed", status == 2, "error")):
        indices = [int(i) for i in mask.nonzero()[0]]
        lines.append(f"{title}: {len(indices)}")
        lines += [f"  {table['sample_id'][i]}: {table[column][i]}" for i in indices[:max_listed]]
        if len(indices) > max_listed:
            lines.append(f"  ... and {len(indices) - max_listed} more")
    lines.append("configuration and provenance:")
    lines += ["  " + line for line in json.dumps(attrs, indent=2, sort_keys=True).splitlines()]
    return "\n".join(lines)


def describe_spotting(root: Any, max_listed: int = 20) -> str:
    """A spotting store in words: videos by status, frames, intervals, the arrays of its
    per-frame features, failures, then settings and provenance."""
    record = spotting_record(root)
    intervals = read_intervals(root)
    groups = dict(video_groups(root, record))
    statuses = video_statuses(root, record)
    status = Counter(state for state, _ in statuses.values())
    frames = sum(int(g["numbers"].shape[0]) for g in groups.values())
    kinds = Counter(i.type for i in intervals)
    lines = [f"{record.dataset or '?'} spotting store: {len(statuses)} videos, {frames} frames"]
    lines.append(f"features: {', '.join(record.held)}")
    lines.append("arrays (per video, first axis frames):")
    for name in record.held:
        for spec in get_feature(name).arrays:
            shape = ", ".join(["T", *(str(n) for n in get_feature(name).shapes()[spec.name])])
            dims = ", ".join(["frame", *spec.dims])
            lines.append(f"  {spec.name:<24} {spec.dtype:<8} ({shape}) ({dims}) [{name}]")
    lines.append("status:")
    lines += [f"  {name:<24} {count:6d}" for name, count in sorted(status.items())]
    lines.append(f"intervals: {kinds['micro']} micro, {kinds['macro']} macro, {len(intervals)} rows")
    subjects = Counter(str(g.attrs.get("subject", "")) for g in groups.values())
    lines.append(f"subjects: {len(subjects)}")
    failed = [(n, str(g.attrs.get("error", ""))) for n, g in groups.items() if g.attrs.get("status") == "failed"]
    lines.append(f"failed: {len(failed)}")
    lines += [f"  {name}: {error}" for name, error in failed[:max_listed]]
    lines.append("settings and provenance:")
    lines += ["  " + line for line in json.dumps(record.to_attrs(), indent=2, sort_keys=True).splitlines()]
    return "\n".join(lines)
