"""An export's STSTNet-family files beside the published ones: are they made alike?

``python -m bench.fidelity --published DIR --export DIR`` reads two folders laid out as
wangzhifengharrison/HTNet's ``datasets/`` is (``STSNet_whole_norm_u_v_os/*.png``, the
28 x 28 u, v, strain maps; ``combined_datasets_whole/*.jpg``, the 224 px apex crops): the
published one (fetch HTNet's repository; its data is never part of mepipe) and a
``mepipe export --format ststnet`` (or only one of them). Printed side by side:

* per channel (R = u, G = v, B = strain, as the PNGs hold them): mean, standard
  deviation, the share of pixels at 0 and at 255;
* the border-maximum share: maps whose channel maximum lies on the outer 1-px ring
  (strain's should be rare: a border artefact sets the scale otherwise);
* how well strain is recovered from u and v: the correlation of the blue channel with the
  strain computed from the red and green ones (their scales are lost, so the correlation
  is of ranks-free magnitudes: each map's u, v are rescaled to their own 0..1);
* the framing: eye centres' distance as a share of the side, and the eye midpoint's
  position, found with dlib on the apex crops (median, p10-p90).

Asserts nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from mepipe.imaging.align import aligner
from mepipe.imaging.flow import strain

MAPS, APEXES = "STSNet_whole_norm_u_v_os", "combined_datasets_whole"
CHANNELS = ("u (R)", "v (G)", "strain (B)")


def read_maps(folder: Path) -> np.ndarray:
    """Every map of ``folder/STSNet_whole_norm_u_v_os`` as float RGB ``(N, 28, 28, 3)``."""
    paths = sorted((folder / MAPS).glob("*.png"))
    if not paths:
        raise SystemExit(f"no maps in {folder / MAPS}")
    return np.stack([cv2.imread(str(p))[..., ::-1].astype(np.float64) for p in paths])


def ring_share(maps: np.ndarray, channel: int) -> float:
    """The share of maps whose ``channel`` maximum lies on the outer 1-px ring."""
    inner = maps[:, 1:-1, 1:-1, channel].reshape(len(maps), -1).max(axis=1)
    return float((maps[..., channel].reshape(len(maps), -1).max(axis=1) > inner).mean())


def strain_recovery(maps: np.ndarray) -> float:
    """Median over maps of the correlation of the blue channel with the strain of (R, G)."""
    scores = []
    for image in maps:
        flow = np.stack([image[..., 0], image[..., 1]], axis=-1) / 255.0
        recovered = strain(flow.astype(np.float32)).ravel()
        blue = image[..., 2].ravel()
        if recovered.std() > 0 and blue.std() > 0:
            scores.append(float(np.corrcoef(recovered, blue)[0, 1]))
    return float(np.median(scores)) if scores else float("nan")


def framing(folder: Path, limit: int) -> dict[str, np.ndarray]:
    """Eye distance and eye midpoint, as shares of the side, on up to ``limit`` apex crops."""
    found = aligner()
    eyes, mid_x, mid_y = [], [], []
    for path in sorted((folder / APEXES).glob("*.jpg"))[:limit]:
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        try:
            points = found.landmarks(image)
        except Exception:  # no face found: that crop is left out of the statistics
            continue
        left, right = points[36:42].mean(axis=0), points[42:48].mean(axis=0)
        side = image.shape[1]
        eyes.append(np.hypot(*(right - left)) / side)
        mid_x.append((left[0] + right[0]) / 2 / side)
        mid_y.append((left[1] + right[1]) / 2 / image.shape[0])
    return {"eye distance": np.array(eyes), "eye midpoint x": np.array(mid_x), "eye midpoint y": np.array(mid_y)}


def _spread(values: np.ndarray) -> str:
    if not len(values):
        return "-"
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return f"{p50:.3f} ({p10:.2f}-{p90:.2f}, n={len(values)})"


def report(folders: dict[str, Path], limit: int) -> list[str]:
    """The side-by-side table's lines."""
    names = list(folders)
    maps = {name: read_maps(folder) for name, folder in folders.items()}
    width = 28
    lines = [f"{'':34}" + "".join(f"{n:>{width}}" for n in names)]

    def row(label: str, cells: Sequence[str]) -> None:
        lines.append(f"{label:34}" + "".join(f"{c:>{width}}" for c in cells))

    row("maps", [f"{len(maps[n])} of {maps[n].shape[1]}x{maps[n].shape[2]}" for n in names])
    for c, channel in enumerate(CHANNELS):
        row(f"{channel} mean, sd", [f"{maps[n][..., c].mean():.1f}, {maps[n][..., c].std():.1f}" for n in names])
        row(
            f"{channel} share at 0 / 255",
            [f"{(maps[n][..., c] == 0).mean():.3f} / {(maps[n][..., c] == 255).mean():.3f}" for n in names],
        )
    for c, channel in enumerate(CHANNELS):
        row(f"{channel} max on the outer ring", [f"{ring_share(maps[n], c):.0%}" for n in names])
    row("strain recovered from u, v (r)", [f"{strain_recovery(maps[n]):.2f}" for n in names])
    measured = {name: framing(folder, limit) for name, folder in folders.items()}
    for key in ("eye distance", "eye midpoint x", "eye midpoint y"):
        row(f"{key} / side (dlib)", [_spread(measured[n][key]) for n in names])
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fidelity", description=__doc__)
    parser.add_argument("--published", type=Path, help="HTNet's datasets/ folder")
    parser.add_argument("--export", type=Path, help="a mepipe export --format ststnet folder")
    parser.add_argument("--faces", type=int, default=1000, help="apex crops measured with dlib per folder, at most")
    args = parser.parse_args(argv)
    folders = {name: path for name, path in (("published", args.published), ("mepipe", args.export)) if path}
    if not folders:
        parser.error("give --published DIR, --export DIR or both")
    print("\n".join(report(folders, args.faces)))


if __name__ == "__main__":
    main()
