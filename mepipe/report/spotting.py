"""A spotting store as pictures: per video, the motion curve with the sheet's intervals
drawn on it and the registered features' pictures at each interval's apex, one PNG
each, on one page (``index.html``) with a title, a summary, the provenance, the legend of
the colours and the failures, as the clip report has.

Drawn with OpenCV only (no plotting library): the curve is the largest region's
main-direction motion per frame (what MDMD-style spotters score; the face motion where a
store lacks it), against the release's own frame numbers; micro-expressions are red
bands, macro-expressions blue, the apex a line. Below, for each interval, each feature's
thumbnail (:attr:`mepipe.arrays.perframe.PerFrameFeature.thumbnail`: SOFTNet's region
image as the flow's colour wheel beside the strain's heat map) of the pair starting at the
apex, enlarged.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mepipe.arrays.perframe import get_feature
from mepipe.store.spotting import built_videos, open_spotting_store, read_intervals, spotting_record, video_statuses

WIDTH, CURVE_HEIGHT, THUMB = 1200, 260, 84
_MARGIN = 40
#: band colours (BGR) by interval type, and their names in the legend
_COLOURS = {"micro": (80, 80, 230), "macro": (220, 140, 60)}
_NAMES = {"micro": "red", "macro": "blue"}
_STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 1em 1.5em; color: #222; max-width: 1250px; }
h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin: 1em 0 .3em; }
table.small td, table.small th { padding: 1px 8px 1px 0; text-align: left; vertical-align: top; }
.swatch { display: inline-block; width: 1.2em; height: .9em; vertical-align: middle; opacity: .5; }
.failed { color: #a31515; } .note { color: #666; } img { max-width: 100%; }
"""


def _curve(numbers: np.ndarray, score: np.ndarray, intervals: list[Any]) -> np.ndarray:
    canvas = np.full((CURVE_HEIGHT, WIDTH, 3), 255, np.uint8)
    if len(numbers) == 0:
        return canvas
    first, last = int(numbers[0]), int(max(numbers[-1], numbers[0] + 1))
    finite = score[np.isfinite(score)]
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0

    def x(number: float) -> int:
        return int(round(_MARGIN + (number - first) / (last - first) * (WIDTH - 2 * _MARGIN)))

    def y(value: float) -> int:
        return int(round(CURVE_HEIGHT - _MARGIN - value / top * (CURVE_HEIGHT - 2 * _MARGIN)))

    for interval in intervals:
        colour = _COLOURS.get(interval.type, (120, 120, 120))
        band = canvas.copy()
        cv2.rectangle(band, (x(interval.onset), _MARGIN), (x(interval.offset), CURVE_HEIGHT - _MARGIN), colour, -1)
        canvas = cv2.addWeighted(band, 0.25, canvas, 0.75, 0)
        if interval.apex is not None:
            cv2.line(canvas, (x(interval.apex), _MARGIN), (x(interval.apex), CURVE_HEIGHT - _MARGIN), colour, 1)
    points = [(x(n), y(v)) for n, v in zip(numbers, score) if np.isfinite(v)]
    if len(points) > 1:
        cv2.polylines(canvas, [np.array(points, np.int32)], False, (30, 30, 30), 1, cv2.LINE_AA)
    cv2.line(canvas, (_MARGIN, CURVE_HEIGHT - _MARGIN), (WIDTH - _MARGIN, CURVE_HEIGHT - _MARGIN), (0, 0, 0), 1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(canvas, str(first), (_MARGIN, CURVE_HEIGHT - 15), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, str(last), (WIDTH - _MARGIN - 50, CURVE_HEIGHT - 15), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, f"max region motion, peak {top:.2f} px", (_MARGIN, 25), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def _thumbnail(picture: np.ndarray | None, label: str) -> np.ndarray:
    """A feature's picture of one row, enlarged, with a caption."""
    width = 2 * THUMB + 4
    tile = np.full((THUMB + 18, width, 3), 255, np.uint8)
    if picture is not None:
        scale = THUMB / picture.shape[0]
        big = cv2.resize(picture, (min(width, int(picture.shape[1] * scale)), THUMB), interpolation=cv2.INTER_NEAREST)
        tile[:THUMB, : big.shape[1]] = cv2.cvtColor(big, cv2.COLOR_RGB2BGR)
    else:
        cv2.putText(tile, "no features", (8, THUMB // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(tile, label, (2, THUMB + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def _score(group: Any) -> np.ndarray:
    """The curve drawn: the largest region's motion per row, else the face motion."""
    if "region_motion" in group:
        motion = np.asarray(group["region_motion"][:], dtype=np.float64)
        return np.where(np.isfinite(motion), motion, -np.inf).max(axis=1) if motion.size else np.zeros(0)
    if "face_motion" in group:
        return np.asarray(group["face_motion"][:], dtype=np.float64)
    return np.full(group["numbers"].shape[0], np.nan)


def _pictures(group: Any, position: int, features: list[str]) -> list[np.ndarray | None]:
    pictures: list[np.ndarray | None] = []
    for name in features:
        feature = get_feature(name)
        if feature.thumbnail is None:
            continue
        rows = {a: np.asarray(group[a][position]) for a in feature.array_names()}
        finite = all(np.isfinite(v).all() for v in rows.values() if np.asarray(v).dtype.kind == "f")
        pictures.append(feature.thumbnail(rows) if finite else None)
    return pictures


def video_picture(group: Any, name: str, intervals: list[Any], features: list[str]) -> np.ndarray:
    """One video's picture: the curve, then rows of apex thumbnails (BGR uint8)."""
    numbers = group["numbers"][:]
    score = _score(group)
    score = np.where(np.isfinite(score), score, np.nan)
    parts = [_curve(numbers, score, intervals)]
    tiles = []
    for interval in intervals:
        apex = interval.apex if interval.apex is not None else (interval.onset + interval.offset) // 2
        position = min(int(np.searchsorted(numbers, apex)), max(len(numbers) - 1, 0))
        label = f"{interval.type} {interval.onset}-{interval.offset} @{apex}"
        pictures = _pictures(group, position, features) if len(numbers) else [None]
        tiles += [_thumbnail(picture, label) for picture in pictures or [None]]
    per_row = max(1, WIDTH // (2 * THUMB + 12))
    for start in range(0, len(tiles), per_row):
        row = np.full((THUMB + 24, WIDTH, 3), 255, np.uint8)
        for column, tile in enumerate(tiles[start : start + per_row]):
            left = _MARGIN + column * (2 * THUMB + 12)
            row[2 : 2 + tile.shape[0], left : left + tile.shape[1]] = tile
        parts.append(row)
    picture = np.vstack(parts)
    cv2.putText(picture, name, (WIDTH // 2 - 60, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return picture


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows if v not in (None, "")
    )
    return f'<table class="small">{body}</table>'


def _legend() -> str:
    items = []
    for kind, (b, g, r) in _COLOURS.items():
        swatch = f'<span class="swatch" style="background: rgb({r},{g},{b})"></span>'
        items.append(f"{swatch} {kind}-expression ({_NAMES[kind]} band)")
    items.append("a line: the apex; the black curve: the largest region's main-direction flow per frame")
    items.append("thumbnails: the region image of the pair starting at the apex, flow (colour wheel) | strain (heat)")
    return "<section><h2>Legend</h2><p>" + "<br>".join(items) + "</p></section>"


def _write_picture(group: Any, name: str, intervals: list[Any], features: list[str], out: Path) -> Path:
    """``out/<name>.png``: the video's :func:`video_picture`."""
    path = out / f"{name}.png"
    path.write_bytes(cv2.imencode(".png", video_picture(group, name, intervals, features))[1].tobytes())
    return path


def write_spotting_report(store: str, out: Path) -> Path:
    """Write ``<video>.png`` per built video and ``index.html`` into ``out``; the page's path."""
    root = open_spotting_store(store)
    record = spotting_record(root)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    intervals = read_intervals(root)
    sections: list[str] = []
    status_counts: Counter[str] = Counter()
    failures: list[tuple[str, str, str]] = []
    for name, (status, error) in video_statuses(root, record).items():
        status_counts[status] += 1
        own = [i for i in intervals if i.video == name]
        if status != "ok":
            failures.append((name, status, error))
            continue
        group = root[f"videos/{name}"]
        file = _write_picture(group, name, own, record.held, out)
        lost = int(np.asarray(group["face_lost"][:]).sum()) if "face_lost" in group else 0
        kinds = Counter(i.type for i in own)
        caption = (
            f"{kinds['micro']} micro, {kinds['macro']} macro intervals; {group['numbers'].shape[0]} frames, "
            f"k = {group.attrs['k']}, face lost on {lost} frames"
        )
        sections.append(
            f"<h2>{html.escape(name)}</h2><p>{html.escape(caption)}</p>"
            f'<img src="{html.escape(file.name)}" alt="{html.escape(name)}">'
        )
    kinds = Counter(i.type for i in intervals)
    summary = _table(
        [
            ("videos", sum(status_counts.values())),
            *((f"  {status}", count) for status, count in sorted(status_counts.items())),
            ("intervals", f"{kinds['micro']} micro, {kinds['macro']} macro"),
            ("not placed", sum(1 for i in intervals if getattr(i, "error", ""))),
        ]
    )
    settings = record.settings
    provenance = _table(
        [
            ("dataset", record.dataset),
            ("sheet", record.sheet),
            ("sheet sha256", record.sheet_sha256),
            ("features", ", ".join(record.held)),
            ("flow", settings.get("method")),
            ("k", settings.get("k") or "0.2 s"),
            ("fps", settings.get("fps") or "all frames"),
            ("created", record.created),
            ("built by mepipe", record.version),
            ("versions", ", ".join(f"{k} {v}" for k, v in sorted(record.versions.items()))),
        ]
    )
    failed = "".join(
        f'<tr><th>{html.escape(n)}</th><td class="failed">{html.escape(s)}</td><td>{html.escape(e)}</td></tr>'
        for n, s, e in failures
    )
    title = f"mepipe report: {record.dataset or 'spotting'} store {store}"
    config = html.escape(json.dumps(settings, indent=2, sort_keys=True))
    page = out / "index.html"
    page.write_text(
        "\n".join(
            [
                '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
                f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
                f"<h1>{html.escape(title)}</h1>",
                f"<section><h2>Summary</h2>{summary}</section>",
                f"<section><h2>Provenance</h2>{provenance}"
                f"<details><summary>settings</summary><pre>{config}</pre></details></section>",
                _legend(),
                f'<section><h2>Failed or unfinished videos ({len(failures)})</h2><table class="small">{failed}</table>'
                + ('<p class="note">rerunning the build finishes the unfinished ones</p>' if failures else "")
                + "</section>",
                *sections,
                "</body></html>\n",
            ]
        )
    )
    return page


def write_spotting_previews(store: str, out: Path) -> list[Path]:
    """One PNG per built video (its curve and apex thumbnails) in ``out``; their paths."""
    root = open_spotting_store(store)
    record = spotting_record(root)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    intervals = read_intervals(root)
    return [
        _write_picture(group, name, [i for i in intervals if i.video == name], record.held, out)
        for name, group in built_videos(root, record)
    ]
