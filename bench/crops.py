"""How much of the output is frame, and how much face, under each crop (docs/crops.md).

Two scenes made from the packaged photograph (a real face): a tight crop the way
CASME-II's ``Cropped`` frames are (280x340, the face filling the frame, the detector's box
reaching past it) and a raw frame (640x480, the face about as large as CASME-II's). Each
is built as a one-frame clip by the build's own stage
(:func:`mepipe.engine.stages.place_clip`) under every crop setting; for each the table
gives

* ``outside``: the share of the output window whose source lies outside the frame, as
  ``mepipe report`` measures it from the recorded transform (its flag fires above 25 %);
* ``face box``: the share of the output the detected face box covers (the box found on
  the source frame, mapped by the recorded transform and clipped to the window).

Then the face box's share under each face window over 50 placements of the photograph
(rotated, scaled, mirrored), the figures docs/crops.md quotes.

``python -m bench.crops [--size S] [--out DIR]`` (the outputs are written as PNGs there)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import Clip, detect_side, place_clip
from mepipe.imaging import align
from mepipe.imaging.align import to_output
from mepipe.pipelines import get_recipe
from mepipe.report.quality import window_outside
from mepipe.synth import faces

OUT = Path(__file__).parent / "out" / "crops"
#: the detector's box on the packaged photograph (mepipe/data/PROVENANCE.md)
PHOTO_BOX = (175.0, 76.0, 265.0, 166.0)
#: name: (frame (width, height), width of the photograph's face box in it, where its centre goes)
SCENES = {
    "tight crop 280x340": ((280, 340), 300.0, (140.0, 150.0)),
    "raw frame 640x480": ((640, 480), 210.0, (320.0, 220.0)),
}
#: name: BuildConfig options
SETTINGS: dict[str, dict[str, Any]] = {
    "aligned, canonical (before: today's build)": dict(crop="aligned"),
    "aligned, meb": dict(crop="aligned", face_window="meb"),
    "aligned, 0.75": dict(crop="aligned", face_window="0.75"),
    "aligned, 0.85": dict(crop="aligned", face_window="0.85"),
    "release (stretched)": dict(crop="release"),
    "release, keep aspect": dict(crop="release", keep_aspect=True),
}


def photo() -> np.ndarray:
    """The packaged photograph, RGB."""
    return cv2.cvtColor(faces.portrait().image, cv2.COLOR_BGR2RGB)


def place(
    image: np.ndarray, frame: tuple[int, int], box_width: float, centre: tuple[float, float], angle: float = 0.0
) -> np.ndarray:
    """The photograph scaled so that its face box is ``box_width`` wide, that box's centre
    at ``centre`` of a ``frame`` (width, height), rotated by ``angle`` degrees."""
    box_centre = ((PHOTO_BOX[0] + PHOTO_BOX[2]) / 2, (PHOTO_BOX[1] + PHOTO_BOX[3]) / 2)
    matrix = cv2.getRotationMatrix2D(box_centre, angle, box_width / (PHOTO_BOX[2] - PHOTO_BOX[0]))
    matrix[:, 2] += np.subtract(centre, box_centre)
    return cv2.warpAffine(image, matrix, frame, flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE)


def box_share(box: tuple[float, float, float, float], transform: np.ndarray, size: int) -> float:
    """Share of the ``size x size`` output covered by the source ``box`` mapped by ``transform``."""
    left, top, right, bottom = box
    corners = np.array([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=np.float64)
    square = np.array([[0, 0], [size, 0], [size, size], [0, size]], dtype=np.float32) - 0.5
    area, _ = cv2.intersectConvexConvex(to_output(corners, transform).astype(np.float32), square)
    return float(area / size**2)


def built(image: np.ndarray, config: BuildConfig) -> tuple[np.ndarray, float, float | None, str]:
    """The scene as a one-frame clip through the build's stage: the output, the share
    outside the frame, the face box's share (None: no face found) and the detection step."""
    clip = Clip(np.array([0]), image[None], 0, 0, None, onset_file=Path("scene"))
    done = place_clip(clip, get_recipe(config.dataset), config)
    alignment = done.alignment
    assert alignment is not None
    outside = window_outside(alignment.transform, alignment.frame_size, config.size)
    share = None
    if alignment.detect_step != align.NO_FACE:
        side = detect_side(get_recipe(config.dataset), image.shape, config.detect_face_px)
        box = align.aligner(config.size, side).detect(image)["box"]
        share = box_share(box, alignment.transform, config.size)
    return done.frames[0], outside, share, alignment.detect_step


def scenes_table(size: int, out: Path) -> list[str]:
    lines = [f"{'scene':<20} {'setting':<44} {'outside':>8} {'face box':>9}  step"]
    source = photo()
    for scene, (frame, width, centre) in SCENES.items():
        image = place(source, frame, width, centre)
        cv2.imwrite(str(out / f"{scene.split()[0]}-source.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        for setting, options in SETTINGS.items():
            config = BuildConfig("casme2", size=size, **options)
            output, outside, share, step = built(image, config)
            name = f"{scene.split()[0]}-{setting.split('(')[0].strip().replace(', ', '-').replace(' ', '-')}.png"
            cv2.imwrite(str(out / name), cv2.cvtColor(output, cv2.COLOR_RGB2BGR))
            shown = "n/a" if share is None else f"{share:.0%}"
            lines.append(f"{scene:<20} {setting:<44} {outside:>8.0%} {shown:>9}  {step}")
    return lines


def windows_table(size: int) -> list[str]:
    """The face box's share of the output (width share, area share) per face window over
    placements of the photograph in a 1280x960 frame."""
    source = photo()[:300]  # the face; the detector's false hit lies lower
    placements = [
        place(source, (1280, 960), width, (640.0, 480.0), angle)
        for angle in (-12, -7, 0, 5, 10)
        for width in (81.0, 117.0, 144.0, 198.0, 270.0)
    ]
    placements += [np.ascontiguousarray(image[:, ::-1]) for image in placements]
    lines = [f"{'face window':<12} {'width share mean (min-max)':>28} {'area share mean (min-max)':>28}"]
    for window in ("canonical", "meb", "0.6", "0.75", "0.85"):
        fraction = align.window_fraction(window)
        widths = []
        for image in placements:
            info = align.aligner(size, 1280, fraction).transform(image)
            left, top, right, bottom = info["box"]
            widths.append((right - left) * np.hypot(*info["matrix"][:, 0]) / size)
        w = np.array(widths)
        area = np.minimum(w, 1.0) ** 2
        lines.append(
            f"{window:<12} {w.mean():>14.2f} ({w.min():.2f}-{w.max():.2f}) {area.mean():>16.0%} ({area.min():.0%}-{area.max():.0%})"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.crops", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print("\n".join(scenes_table(args.size, args.out)))
    print()
    print("\n".join(windows_table(args.size)))
    print(f"outputs: {args.out}")


if __name__ == "__main__":
    main()
