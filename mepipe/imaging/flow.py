"""Optical flow between two aligned frames, and its optical strain.

The build uses :data:`FLOW_METHODS`, :func:`flow_parameters`, :func:`optical_flow` and
:func:`strain`; ``docs/flow.md`` explains the choices and ``bench/flow.py`` measures them.

Conventions: images are the aligned output frames (uint8, ``(S, S, C)`` or ``(S, S)``);
the flow is float32 ``(S, S, 2)`` in output pixels, OpenCV's convention
``first(p) ~ second(p + flow(p))``, component 0 = x = u, 1 = y = v.

``tvl1`` is the field's TV-L1: OpenCV contrib's Dual TV-L1
(``cv2.optflow.DualTVL1OpticalFlow_create()``) at OpenCV's own defaults, what MEAN and
SOFTNet call, so that the flow a model was trained on can be remade from the store.
``tvl1-fast`` is the same solver with fewer scales, warps and iterations (mepipe's
default before issue 25, 12x less time): close to the truth on small smooth motions, but
off OpenCV's defaults by more than the field's tolerance on larger ones
(``docs/flow.md``).
``dis`` is OpenCV's DIS flow (its ``medium`` preset carried down to full resolution),
faster still; patch-based, it follows a local bump less faithfully.

A store records the parameters, and they, not the name, say which flow it holds
(:func:`recorded_method`): stores built before ``tvl1-fast`` had its name recorded
``tvl1`` with the fast parameters, or no parameters at all.

A solver is created for every call: OpenCV's solver objects keep per-call buffers and
must not be shared between threads, and creating one costs microseconds. The number of
threads OpenCV uses inside a call is the process's setting (the build sets it per
worker with ``cv2.setNumThreads``); it is left alone here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

#: the methods ``--flow`` accepts; the first is the default
FLOW_METHODS = ("tvl1", "tvl1-fast", "dis")
#: the OpenCV solver of each method (its parameters' setters are in ``_SETTERS``)
_SOLVER = {"tvl1": "tvl1", "tvl1-fast": "tvl1", "dis": "dis"}

#: every parameter of each method, by the name :func:`flow_parameters` reports, and the
#: setter of OpenCV's solver it goes to (tvl1's names are those of
#: ``DualTVL1OpticalFlow_create``, the ones the field's code passes)
_SETTERS: dict[str, dict[str, str]] = {
    "tvl1": {
        "tau": "setTau",
        "lambda": "setLambda",
        "theta": "setTheta",
        "nscales": "setScalesNumber",
        "warps": "setWarpingsNumber",
        "epsilon": "setEpsilon",
        "innerIterations": "setInnerIterations",
        "outerIterations": "setOuterIterations",
        "scaleStep": "setScaleStep",
        "gamma": "setGamma",
        "medianFiltering": "setMedianFiltering",
        "useInitialFlow": "setUseInitialFlow",
    },
    "dis": {
        "finestScale": "setFinestScale",
        "coarsestScale": "setCoarsestScale",
        "patchSize": "setPatchSize",
        "patchStride": "setPatchStride",
        "gradientDescentIterations": "setGradientDescentIterations",
        "variationalRefinementIterations": "setVariationalRefinementIterations",
        "variationalRefinementAlpha": "setVariationalRefinementAlpha",
        "variationalRefinementDelta": "setVariationalRefinementDelta",
        "variationalRefinementGamma": "setVariationalRefinementGamma",
        "variationalRefinementEpsilon": "setVariationalRefinementEpsilon",
        "useMeanNormalization": "setUseMeanNormalization",
        "useSpatialPropagation": "setUseSpatialPropagation",
    },
}

#: OpenCV's own defaults of DualTVL1 (OpenCV 4.x-5.0): mepipe's ``tvl1``
TVL1_OPENCV_DEFAULTS: dict[str, Any] = {
    "tau": 0.25,
    "lambda": 0.15,
    "theta": 0.3,
    "nscales": 5,
    "warps": 5,
    "epsilon": 0.01,
    "innerIterations": 30,
    "outerIterations": 10,
    "scaleStep": 0.8,
    "gamma": 0.0,
    "medianFiltering": 5,
    "useInitialFlow": False,
}

#: the parameters of each method. ``tvl1-fast`` was chosen by ``python -m bench.flow``
#: (docs/flow.md) for a few pixels of smooth motion, which 3 scales a factor 2 apart cover
#: with 2 warps of 2 x 3 iterations, where OpenCV's defaults run up to 5 x 300 per scale
_DEFAULTS: dict[str, dict[str, Any]] = {
    "tvl1": dict(TVL1_OPENCV_DEFAULTS),
    "tvl1-fast": {
        **TVL1_OPENCV_DEFAULTS,
        "nscales": 3,
        "scaleStep": 0.5,
        "warps": 2,
        "innerIterations": 3,
        "outerIterations": 2,
    },
    # DISOPTICAL_FLOW_PRESET_MEDIUM written out, except for the finest scale: the preset
    # stops at half resolution, which misses a local bump by 20-50 % at 224 px
    "dis": {
        "finestScale": 0,
        "coarsestScale": -1,
        "patchSize": 8,
        "patchStride": 3,
        "gradientDescentIterations": 25,
        "variationalRefinementIterations": 5,
        "variationalRefinementAlpha": 20.0,
        "variationalRefinementDelta": 5.0,
        "variationalRefinementGamma": 10.0,
        "variationalRefinementEpsilon": 0.01,
        "useMeanNormalization": True,
        "useSpatialPropagation": True,
    },
}


def flow_parameters(method: str) -> dict[str, Any]:
    """The parameters :func:`optical_flow` uses for ``method`` (recorded in a store's provenance).

    Parameters
    ----------
    method : str
        One of :data:`FLOW_METHODS`.

    Returns
    -------
    dict
        Every parameter of the method's OpenCV solver, by name (a fresh copy).

    Raises
    ------
    ValueError
        An unknown method.
    """
    if method not in _DEFAULTS:
        raise ValueError(f"unknown flow method {method!r}; valid: {', '.join(FLOW_METHODS)}")
    return dict(_DEFAULTS[method])


def solver(method: str = "tvl1", params: Mapping[str, Any] | None = None) -> cv2.DenseOpticalFlow:
    """A new OpenCV flow solver for ``method``, set to :func:`flow_parameters` updated by ``params``.

    Raises
    ------
    ValueError
        An unknown method or parameter name.
    """
    settings = flow_parameters(method)
    unknown = sorted(set(params or {}) - set(settings))
    if unknown:
        raise ValueError(f"unknown {method} parameter(s) {', '.join(unknown)}; valid: {', '.join(settings)}")
    settings.update(params or {})
    created: cv2.DenseOpticalFlow
    kind = _SOLVER[method]
    if kind == "tvl1":
        created = cv2.optflow.DualTVL1OpticalFlow.create()
    else:
        created = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    for name, value in settings.items():
        getattr(created, _SETTERS[kind][name])(value)
    return created


def recorded_method(name: str, parameters: Mapping[str, Any] | None) -> str | None:
    """The method whose parameters a store recorded: they decide, not the name.

    Parameters
    ----------
    name : str
        The method name the store's configuration holds.
    parameters : mapping or None
        The parameters its provenance holds (``attrs["mepipe"]["flow"]["parameters"]``);
        ``None`` for stores that recorded none.

    Returns
    -------
    str or None
        A name of :data:`FLOW_METHODS`; ``None`` where the parameters are those of no
        method. Stores written before ``tvl1`` meant OpenCV's defaults named the fast
        setting ``tvl1`` and recorded its parameters, or none: those read as ``tvl1-fast``.
    """
    if parameters is None:
        legacy = {"tvl1": "tvl1-fast"}
        return legacy.get(name, name) if name in FLOW_METHODS else None
    given = dict(parameters)
    for method in (name, *FLOW_METHODS):
        if method in _DEFAULTS and _DEFAULTS[method] == given:
            return method
    return None


def _gray(image: np.ndarray) -> np.ndarray:
    """A C-contiguous uint8 ``(H, W)`` plane of an RGB, gray or one-channel frame."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    if image.dtype != np.uint8 or image.ndim != 2:
        raise ValueError(f"frames must be uint8 (H, W), (H, W, 1) or (H, W, 3), got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


def optical_flow(
    first: np.ndarray,
    second: np.ndarray,
    method: str = "tvl1",
    params: Mapping[str, Any] | None = None,
    *,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Dense optical flow from ``first`` to ``second``.

    Parameters
    ----------
    first, second : np.ndarray
        uint8 frames of one shape, ``(H, W)``, ``(H, W, 1)`` or RGB ``(H, W, 3)`` (the
        flow is computed on their luma).
    method : str
        One of :data:`FLOW_METHODS`.
    params : mapping, optional
        Parameters overriding :func:`flow_parameters` (for benchmarks and tests).
    initial : np.ndarray, optional
        float32 ``(H, W, 2)``: a warm start, the solve beginning from this flow instead of
        zero (TV-L1 methods only, OpenCV's ``useInitialFlow``); it is not modified.

    Returns
    -------
    np.ndarray
        float32 ``(H, W, 2)``, ``first(p) ~ second(p + flow(p))``; component 0 is x.

    Raises
    ------
    ValueError
        An unknown method or parameter, frames of different shapes or types, or an
        ``initial`` flow of another shape or for a method that takes none.
    """
    a, b = _gray(first), _gray(second)
    if a.shape != b.shape:
        raise ValueError(f"frames of different shapes {a.shape} and {b.shape}")
    if initial is None:
        # no output array given: DIS would take one of the right shape as its initial flow;
        # OpenCV's stubs lack the None its API accepts
        flow = solver(method, params).calc(a, b, None)
        return np.asarray(flow, dtype=np.float32)
    if "useInitialFlow" not in flow_parameters(method):
        raise ValueError(f"flow method {method!r} takes no initial flow")
    if initial.shape != (*a.shape, 2):
        raise ValueError(f"initial flow of shape {initial.shape} for frames of shape {a.shape}")
    # the solver writes its result into the array it starts from: a copy keeps the caller's
    start = np.array(initial, dtype=np.float32, order="C")
    return np.asarray(solver(method, {**(params or {}), "useInitialFlow": True}).calc(a, b, start), dtype=np.float32)


def strain(flow: np.ndarray) -> np.ndarray:
    """Optical strain: the magnitude of the infinitesimal strain tensor of a flow field.

    ``sqrt(ux^2 + vy^2 + (uy + vx)^2 / 2)``, the Frobenius norm of
    ``e = (J + J^T) / 2`` with ``J`` the flow's Jacobian. Derivatives are central
    differences (``np.gradient``: second-order inside, one-sided at the border), exact for
    an affine flow; docs/flow.md says why not Sobel.

    Parameters
    ----------
    flow : np.ndarray
        ``(H, W, 2)`` flow, component 0 = u = x.

    Returns
    -------
    np.ndarray
        float32 ``(H, W)``.
    """
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    uy, ux = np.gradient(u)
    vy, vx = np.gradient(v)
    return np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2).astype(np.float32)
