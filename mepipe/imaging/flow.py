"""Optical flow between two aligned frames, and its optical strain.

The build uses :data:`FLOW_METHODS`, :func:`flow_parameters`, :func:`optical_flow` and
:func:`strain`; ``docs/flow.md`` explains the choices and ``bench/flow.py`` measures them.

Conventions: images are the aligned output frames (uint8, ``(S, S, C)`` or ``(S, S)``);
the flow is float32 ``(S, S, 2)`` in output pixels, OpenCV's convention
``first(p) ~ second(p + flow(p))``, component 0 = x = u, 1 = y = v.

``tvl1`` is the field's TV-L1: OpenCV contrib's Dual TV-L1
(``cv2.optflow.DualTVL1OpticalFlow_create()``) at OpenCV's own defaults, what MEAN and
SOFTNet call, so that the flow a model was trained on can be remade from the store. Since
issue 35 it runs mepipe's own solver of that algorithm (:mod:`mepipe.imaging.tvl1`: the
same schedule and arithmetic, the inner iterations fused, ~5x less CPU time); OpenCV's
own solver at the same parameters is ``tvl1-opencv``, the reference the tests and
benchmarks compare with (the two agree bit for bit on the pairs measured).
``tvl1-fast`` is the same algorithm, on mepipe's solver, with fewer scales, warps and
iterations (mepipe's default before issue 25): close to the truth on small smooth
motions, but off OpenCV's defaults by more than the field's tolerance on larger ones
(``docs/flow.md``).
``dis`` is OpenCV's DIS flow (its ``medium`` preset carried down to full resolution),
faster still; patch-based, it follows a local bump less faithfully.

A store records the parameters, and they, not the name, say which flow it holds
(:func:`recorded_method`): stores built before ``tvl1-fast`` had its name recorded
``tvl1`` with the fast parameters, or no parameters at all. The parameters include the
``implementation`` that made the flow (``"mepipe-tvl1 1"``: mepipe's solver and its
version; ``"opencv-contrib 5.1.0"``: OpenCV's and its version); stores made before it was
recorded were made by OpenCV's solver and read as ``tvl1-opencv`` (those of
``tvl1-fast``'s parameters as ``tvl1-fast``, whose flow mepipe's solver makes the same).

A solver is created for every call: OpenCV's solver objects keep per-call buffers and
must not be shared between threads, and creating one costs microseconds (mepipe's
allocates its buffers per call and releases the GIL in its kernels). The number of
threads OpenCV uses inside a call is the process's setting (the build sets it per
worker with ``cv2.setNumThreads``); it is left alone here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from mepipe.imaging import tvl1

#: the methods ``--flow`` accepts; the first is the default
FLOW_METHODS = ("tvl1", "tvl1-fast", "dis", "tvl1-opencv")
#: the solver kind of each method, by its parameters' names (their OpenCV setters are in
#: ``_SETTERS``): the two TV-L1 solvers take the same parameters
_SOLVER = {"tvl1": "tvl1", "tvl1-fast": "tvl1", "dis": "dis", "tvl1-opencv": "tvl1"}
#: the methods mepipe's own TV-L1 (:mod:`mepipe.imaging.tvl1`) runs; the others OpenCV's
_OWN = frozenset({"tvl1", "tvl1-fast"})
#: the key of :func:`flow_parameters` naming the implementation, not a solver parameter
IMPLEMENTATION = "implementation"

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
TVL1_OPENCV_DEFAULTS: dict[str, Any] = dict(tvl1.DEFAULTS)

#: the parameters of each method. ``tvl1-fast`` was chosen by ``python -m bench.flow``
#: (docs/flow.md) for a few pixels of smooth motion, which 3 scales a factor 2 apart cover
#: with 2 warps of 2 x 3 iterations, where OpenCV's defaults run up to 5 x 300 per scale
_DEFAULTS: dict[str, dict[str, Any]] = {
    "tvl1": dict(TVL1_OPENCV_DEFAULTS),
    "tvl1-opencv": dict(TVL1_OPENCV_DEFAULTS),
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


def implementation(method: str) -> str:
    """The solver that runs ``method`` and its version, as a store records it:
    ``"mepipe-tvl1 <version>"`` or ``"opencv-contrib <OpenCV's version>"``."""
    if method not in _DEFAULTS:
        raise ValueError(f"unknown flow method {method!r}; valid: {', '.join(FLOW_METHODS)}")
    return f"{tvl1.IMPLEMENTATION} {tvl1.VERSION}" if method in _OWN else f"opencv-contrib {cv2.__version__}"


def flow_parameters(method: str) -> dict[str, Any]:
    """The parameters :func:`optical_flow` uses for ``method`` (recorded in a store's provenance).

    Parameters
    ----------
    method : str
        One of :data:`FLOW_METHODS`.

    Returns
    -------
    dict
        Every parameter of the method's solver, by OpenCV's names, and ``implementation``:
        which solver makes the flow, with its version (:func:`implementation`). A fresh copy.

    Raises
    ------
    ValueError
        An unknown method.
    """
    if method not in _DEFAULTS:
        raise ValueError(f"unknown flow method {method!r}; valid: {', '.join(FLOW_METHODS)}")
    return {**_DEFAULTS[method], IMPLEMENTATION: implementation(method)}


def _settings(method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The solver parameters of ``method`` updated by ``params`` (which may carry the
    ``implementation`` :func:`flow_parameters` reports: it must name the method's solver)."""
    settings = flow_parameters(method)
    made_by = settings.pop(IMPLEMENTATION)
    given = dict(params or {})
    asked = given.pop(IMPLEMENTATION, None)
    if asked is not None and str(asked).split(" ")[0] != made_by.split(" ")[0]:
        raise ValueError(f"{method} runs {made_by}, not {asked}")
    unknown = sorted(set(given) - set(settings))
    if unknown:
        raise ValueError(f"unknown {method} parameter(s) {', '.join(unknown)}; valid: {', '.join(settings)}")
    settings.update(given)
    return settings


def solver(method: str = "tvl1", params: Mapping[str, Any] | None = None) -> cv2.DenseOpticalFlow | tvl1.DualTVL1:
    """A new flow solver for ``method``, set to :func:`flow_parameters` updated by ``params``:
    OpenCV's, or for mepipe's TV-L1 a :class:`mepipe.imaging.tvl1.DualTVL1`, which has
    OpenCV's interface (``calc(first, second, flow)`` and the parameters' getters and setters).

    Raises
    ------
    ValueError
        An unknown method or parameter name, or a parameter out of range.
    """
    settings = _settings(method, params)
    if method in _OWN:
        return tvl1.DualTVL1(settings)
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
        The recorded ``implementation`` must name the method's solver (its version is
        provenance only). Stores written before mepipe had its own TV-L1 recorded no
        implementation: OpenCV made their flow, and OpenCV's defaults read as
        ``tvl1-opencv``; the fast setting reads as ``tvl1-fast`` (mepipe's solver makes
        the same flow at those parameters: ``tests/test_tvl1.py``).
    """
    if parameters is None:
        legacy = {"tvl1": "tvl1-fast"}
        return legacy.get(name, name) if name in FLOW_METHODS else None
    given = dict(parameters)
    made_by = given.pop(IMPLEMENTATION, None)
    for method in (name, *FLOW_METHODS):
        if method not in _DEFAULTS or _DEFAULTS[method] != given:
            continue
        if made_by is None:
            # before the implementation was recorded: OpenCV's solver made every flow
            if method in _OWN and method != "tvl1-fast":
                continue
            return method
        if str(made_by).split(" ")[0] == implementation(method).split(" ")[0]:
            return method
    return None


def _gray(image: np.ndarray) -> np.ndarray:
    """A C-contiguous uint8 ``(H, W)`` plane of an RGB, gray or one-channel frame."""
    image = np.asarray(image)
    if image.size == 0:
        raise ValueError(f"empty frame {image.shape}")
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
        A TV-L1 method's warm start: float32 ``(H, W, 2)`` flow to start from, with
        OpenCV's ``useInitialFlow`` semantics (carried down the pyramid, times
        ``scaleStep`` per level; the coarsest level starts from it). Sets
        ``useInitialFlow``.

    Returns
    -------
    np.ndarray
        float32 ``(H, W, 2)``, ``first(p) ~ second(p + flow(p))``; component 0 is x.

    Raises
    ------
    ValueError
        An unknown method or parameter, frames of different shapes or types, empty or
        non-finite input, or an initial flow for ``dis`` or of the wrong shape
        (mepipe's solver raises :class:`mepipe.imaging.tvl1.TVL1Error`, a ``ValueError``
        and a one-line :class:`mepipe.errors.MepipeError`).
    """
    a, b = _gray(first), _gray(second)
    if a.shape != b.shape:
        raise ValueError(f"frames of different shapes {a.shape} and {b.shape}")
    if method in _OWN:
        return tvl1.dual_tvl1(a, b, _settings(method, params), initial)
    if initial is None:
        # no output array given: DIS would take one of the right shape as its initial flow;
        # OpenCV's stubs lack the None its API accepts
        flow = solver(method, params).calc(a, b, None)
    elif _SOLVER[method] != "tvl1":
        raise ValueError(f"{method} takes no initial flow")
    else:
        start = np.asarray(initial, dtype=np.float32)
        if start.shape != (*a.shape, 2) or not np.isfinite(start).all():
            raise ValueError(f"initial flow must be finite float32 {(*a.shape, 2)}, got {start.shape}")
        flow = solver(method, {**(params or {}), "useInitialFlow": True}).calc(a, b, start.copy())
    return np.asarray(flow, dtype=np.float32)


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
