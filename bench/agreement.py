"""How closely each ``--flow`` method agrees with the field's TV-L1 (OpenCV's defaults).

The packaged portrait is placed as CASME-II shows it (``tests/deform.py``), moved by a
bump on a brow plus a global shift (head motion) whose sizes span 0.1 to 10 px at the
output size, and aligned as the build aligns it. On the same aligned onset and apex,
each method's flow is compared with ``cv2.optflow.DualTVL1OpticalFlow_create()`` at its
defaults (what MEAN and SOFTNet call): the mean end-point difference over the face, the
mean motion there, the bound issue 25 sets (0.03 px + 10 % of the mean motion) and the
correlation of the two flows' strain over the face. Asserts nothing;
``python -m bench.agreement [--size 224]`` from the checkout (it imports ``tests.deform``).
"""

from __future__ import annotations

import argparse
from typing import Any

import cv2
import numpy as np

from mepipe.imaging import flow
from mepipe.imaging.align import align_clip
from tests.deform import face_clip, face_mask

#: name: keyword arguments of :func:`tests.deform.face_clip` (sizes in output pixels at S = 224)
MOTIONS: dict[str, dict[str, Any]] = {
    "0.1 px bump": {"bump": 0.1, "shift": (0.03, -0.02)},
    "0.3 px bump": {"bump": 0.3, "shift": (0.1, -0.05)},
    "1 px bump + 0.5 px head": {"bump": 1.0, "shift": (0.4, -0.3)},
    "2 px bump + 3 px head": {"bump": 2.0, "shift": (2.4, -1.8)},
    "3 px bump + 6 px head": {"bump": 3.0, "shift": (-4.8, 3.6)},
    "2 px bump + 10 px head": {"bump": 2.0, "shift": (8.0, -6.0)},
    "2 px bump + 1 px head, noise 2": {"bump": 2.0, "shift": (0.8, -0.6), "noise": 2.0},
}


def opencv_default(onset: np.ndarray, apex: np.ndarray) -> np.ndarray:
    """The field's flow: OpenCV's DualTVL1 at its defaults, on the luma."""
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in (onset, apex)]
    return np.asarray(cv2.optflow.DualTVL1OpticalFlow_create().calc(gray[0], gray[1], None))


def agreement(measured: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> tuple[float, float, float]:
    """Mean end-point difference over ``mask``, the reference's mean motion there and the
    correlation of the two flows' strain there."""
    difference = float(np.hypot(*(measured - reference).transpose(2, 0, 1))[mask].mean())
    motion = float(np.hypot(*reference.transpose(2, 0, 1))[mask].mean())
    ours, theirs = flow.strain(measured)[mask], flow.strain(reference)[mask]
    return difference, motion, float(np.corrcoef(ours, theirs)[0, 1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.agreement", description=__doc__)
    parser.add_argument("--size", type=int, default=224, help="output side; motions scale with it")
    parser.add_argument("--methods", nargs="*", default=list(flow.FLOW_METHODS), choices=flow.FLOW_METHODS)
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    scale = args.size / 224
    print(f"S = {args.size}: mean end-point difference to OpenCV-default TV-L1 over the face (px), strain r")
    print(f"{'motion':32} {'mean motion':>11} {'bound':>6}" + "".join(f" {m:>17}" for m in args.methods))
    for name, spec in MOTIONS.items():
        sized = {
            **spec,
            "bump": spec["bump"] * scale,
            "shift": tuple(s * scale for s in spec["shift"]),
            "sigma": 12.0 * scale,
        }
        clip = face_clip(n_frames=3, size=args.size, **sized)
        aligned, info = align_clip(clip.frames, size=args.size)
        mask = face_mask(clip.points, info["matrix"], args.size)
        reference = opencv_default(aligned[0], aligned[-1])
        cells, motion = [], 0.0
        for method in args.methods:
            difference, motion, r = agreement(flow.optical_flow(aligned[0], aligned[-1], method), reference, mask)
            ok = "ok" if difference <= 0.03 + 0.1 * motion and r >= 0.9 else "NO"
            cells.append(f" {difference:7.3f} {r:5.2f} {ok:>3}")
        print(f"{name:32} {motion:11.3f} {0.03 + 0.1 * motion:6.3f}" + "".join(cells), flush=True)


if __name__ == "__main__":
    main()
