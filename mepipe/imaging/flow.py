"""Optical flow between two aligned frames, and its optical strain.

Interface skeleton (the flow helper owns and refines this module; the build uses only
:data:`FLOW_METHODS`, :func:`flow_parameters`, :func:`optical_flow` and :func:`strain`).

Conventions: images are the aligned output frames (uint8, ``(S, S, C)`` or ``(S, S)``);
the flow is float32 ``(S, S, 2)`` in output pixels, OpenCV's convention
``first(p) ~ second(p + flow(p))``, component 0 = x = u, 1 = y = v.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

#: the methods ``--flow`` accepts; the first is the default
FLOW_METHODS = ("tvl1", "dis")


def flow_parameters(method: str) -> dict[str, Any]:
    """The parameters :func:`optical_flow` uses for ``method`` (recorded in a store's provenance)."""
    if method == "tvl1":
        return {}
    if method == "dis":
        return {"preset": "medium"}
    raise ValueError(f"unknown flow method {method!r}; valid: {', '.join(FLOW_METHODS)}")


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def optical_flow(first: np.ndarray, second: np.ndarray, method: str = "tvl1",
                 params: Mapping[str, Any] | None = None) -> np.ndarray:
    """Dense flow from ``first`` to ``second``, float32 ``(H, W, 2)``."""
    params = dict(flow_parameters(method), **(params or {}))
    a, b = _gray(first), _gray(second)
    if method == "tvl1":
        solver = cv2.optflow.DualTVL1OpticalFlow_create(**params)
    else:
        solver = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return solver.calc(a, b, None).astype(np.float32, copy=False)


def strain(flow: np.ndarray) -> np.ndarray:
    """Magnitude of the infinitesimal strain tensor, ``sqrt(ux^2 + vy^2 + (uy + vx)^2 / 2)``,
    float32 ``(H, W)``; derivatives by central differences (one-sided at the border)."""
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    uy, ux = np.gradient(u)
    vy, vx = np.gradient(v)
    return np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2).astype(np.float32)
