"""A spotting store as pictures: per video, the motion curve with the sheet's intervals
drawn on it and the region images at each interval's apex, one PNG each, and an
``index.html`` showing them all.

Drawn with OpenCV only (no plotting library): the curve is the largest region's
main-direction motion per frame (what MDMD-style spotters score), against the release's
own frame numbers; micro-expressions are red bands, macro-expressions blue, the apex a
line. Below, for each interval, SOFTNet's 42 x 42 region image of the pair starting at
the apex (flow as the colour wheel, strain as a heat map), enlarged.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mepipe.imaging.flowcolor import flow_picture, strain_picture

from .read import open_spotting_store
from .store import read_intervals

WIDTH, CURVE_HEIGHT, THUMB = 1200, 260, 84
_MARGIN = 40
#: band colours (BGR) by interval type
_COLOURS = {"micro": (80, 80, 230), "macro": (220, 140, 60)}


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


def _thumbnail(image: np.ndarray, label: str) -> np.ndarray:
    """A region image as flow picture and strain picture side by side, with a caption."""
    tile = np.full((THUMB + 18, 2 * THUMB + 4, 3), 255, np.uint8)
    if np.isfinite(image).all():
        flow, _ = flow_picture(image[..., :2])
        strain, _ = strain_picture(image[..., 2])
        for column, picture in enumerate((flow, strain)):
            big = cv2.resize(np.ascontiguousarray(picture), (THUMB, THUMB), interpolation=cv2.INTER_NEAREST)
            tile[:THUMB, column * (THUMB + 4) : column * (THUMB + 4) + THUMB] = cv2.cvtColor(big, cv2.COLOR_RGB2BGR)
    else:
        cv2.putText(tile, "no features", (8, THUMB // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(tile, label, (2, THUMB + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def video_picture(group: Any, name: str, intervals: list[Any]) -> np.ndarray:
    """One video's page: the curve, then a row of apex thumbnails (BGR uint8)."""
    numbers = group["numbers"][:]
    score = np.nanmax(np.where(np.isfinite(group["region_motion"][:]), group["region_motion"][:], -np.inf), axis=1)
    score = np.where(np.isfinite(score), score, np.nan)
    parts = [_curve(numbers, score, intervals)]
    tiles = []
    for interval in intervals:
        apex = interval.apex if interval.apex is not None else (interval.onset + interval.offset) // 2
        position = int(np.searchsorted(numbers, apex))
        image = group["images"][min(position, len(numbers) - 1)] if len(numbers) else np.full((1, 1, 3), np.nan)
        tiles.append(_thumbnail(image, f"{interval.type} {interval.onset}-{interval.offset} @{apex}"))
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


def write_spotting_report(store: str, out: Path) -> Path:
    """Write ``<video>.png`` per built video and ``index.html`` into ``out``; the page's path."""
    root = open_spotting_store(store)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    intervals = read_intervals(root)
    rows = []
    for name in root.attrs["mepipe_spotting"].get("videos", []):
        group = root[f"videos/{name}"]
        status = group.attrs.get("status", "started")
        own = [i for i in intervals if i.video == name]
        if status != "ok":
            rows.append(
                f"<h2>{html.escape(name)}</h2><p>{html.escape(status)}: {html.escape(str(group.attrs.get('error', '')))}</p>"
            )
            continue
        file = out / f"{name}.png"
        file.write_bytes(cv2.imencode(".png", video_picture(group, name, own))[1].tobytes())
        lost = int(group["face_lost"][:].sum())
        caption = f"{len(own)} intervals, {group['numbers'].shape[0]} frames, k = {group.attrs['k']}, face lost on {lost} frames"
        rows.append(
            f'<h2>{html.escape(name)}</h2><p>{caption}</p><img src="{html.escape(file.name)}" alt="{html.escape(name)}">'
        )
    page = out / "index.html"
    body = "\n".join(rows)
    page.write_text(
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(str(store))}</title></head>\n<body>\n{body}\n</body></html>\n'
    )
    return page
