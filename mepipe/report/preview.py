"""``preview``: PNG contact sheets of a store, one per class.

Each row is one sample: aligned onset, aligned apex, TRDI, MIDI, captioned with the
sample id and label, so alignment and pooling can be judged at a glance.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import zarr

from mepipe._shared.text import safe_name
from mepipe.store import OK, read_array, read_columns

COLUMNS = ("onset", "apex", "trdi", "midi")
CAPTION_PX = 22


def _tile(image: np.ndarray, side: int) -> np.ndarray:
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)


def _caption(width: int, text: str) -> np.ndarray:
    strip = np.full((CAPTION_PX, width, 3), 255, np.uint8)
    cv2.putText(strip, text, (4, CAPTION_PX - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def contact_sheet(rows: list[dict[str, np.ndarray]], captions: list[str], side: int = 160) -> np.ndarray:
    """RGB image: a header naming the columns, then one captioned row per sample."""
    width = side * len(COLUMNS)
    header = np.concatenate([_caption(side, name) for name in COLUMNS], axis=1)
    parts = [header]
    for images, caption in zip(rows, captions):
        parts.append(_caption(width, caption))
        parts.append(np.concatenate([_tile(images[name], side) for name in COLUMNS], axis=1))
    return np.concatenate(parts, axis=0)


def write_previews(group: zarr.Group, out: Path, per_class: int = 8, side: int = 160) -> list[Path]:
    """One PNG per class under ``out`` with up to ``per_class`` ok samples each."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = read_columns(group)
    written = []
    for label in sorted({str(x) for x in table["label"]}):
        chosen = list(np.flatnonzero((table["status"] == OK) & (table["label"] == label)))[:per_class]
        if not chosen:
            continue
        rows = [{name: read_array(group, name, int(i)) for name in COLUMNS} for i in chosen]
        captions = [f"{table['sample_id'][i]}  [{label}]  {table['n_frames'][i]} frames" for i in chosen]
        sheet = contact_sheet(rows, captions, side)
        path = out / f"{safe_name(label)}.png"
        ok, encoded = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        path.write_bytes(encoded.tobytes())
        written.append(path)
    return written
