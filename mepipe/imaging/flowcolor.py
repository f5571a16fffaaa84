"""Optical flow and strain as pictures: the colour wheel and a heat map.

Direction is hue and magnitude brightness (the usual flow colour wheel, as in the
Middlebury flow images and OpenCV's samples): hue turns with the angle of ``(u, v)``
in image coordinates (``y`` down), and full brightness is the 99th percentile of the
picture's magnitudes (scaled per picture, the scale returned with it: a few pixels at the
border of the window, where the flow is least reliable, would otherwise leave the face
dark). NaN (no flow) is black. :func:`flow_key` draws the wheel itself, the key printed beside.
"""

from __future__ import annotations

import cv2
import numpy as np

#: the percentile of a picture's values shown at full brightness
PERCENTILE = 99.0


def flow_picture(flow: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, float]:
    """RGB uint8 ``(H, W, 3)`` picture of a flow ``(H, W, 2)``, and the magnitude (px)
    shown at full brightness: ``scale``, or :data:`PERCENTILE` of the picture's."""
    u = np.nan_to_num(flow[..., 0].astype(np.float32))
    v = np.nan_to_num(flow[..., 1].astype(np.float32))
    magnitude, angle = cv2.cartToPolar(u, v, angleInDegrees=True)
    top = float(scale if scale is not None else np.percentile(magnitude, PERCENTILE))
    hsv = np.empty((*u.shape, 3), np.uint8)
    hsv[..., 0] = np.round(angle / 2).astype(np.uint8) % 180  # OpenCV's hue runs 0..179
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(np.round(255 * magnitude / top), 0, 255).astype(np.uint8) if top > 0 else 0
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), top


def flow_key(size: int = 96) -> np.ndarray:
    """The colour wheel: the picture of the flow ``p - centre`` over a ``size`` square, so
    each direction shows its hue and the rim full brightness; outside the disc white."""
    half = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) - half
    picture, _ = flow_picture(np.stack([x, y], axis=-1), scale=half)
    picture[np.hypot(x, y) > half] = 255
    return picture


def strain_picture(strain: np.ndarray) -> tuple[np.ndarray, float]:
    """RGB uint8 heat map (inferno) of a strain map, 0 black to :data:`PERCENTILE` of its
    values bright, and that value."""
    values = np.nan_to_num(strain.astype(np.float32))
    top = float(np.percentile(values, PERCENTILE))
    gray = (
        np.clip(np.round(255 * values / top), 0, 255).astype(np.uint8) if top > 0 else np.zeros(values.shape, np.uint8)
    )
    return cv2.cvtColor(cv2.applyColorMap(gray, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB), top
