"""mepipe's own Dual TV-L1 optical flow: OpenCV's algorithm and schedule, fused inner iterations.

The method is Zach, Pock and Bischof's duality-based TV-L1 in the numerical scheme of
Sánchez, Meinhardt-Llopis and Facciolo (IPOL 2013), exactly as OpenCV contrib's
``cv2.optflow.DualTVL1OpticalFlow`` runs it, with OpenCV's parameter names and meanings, so
that the same parameters give the same flow (``docs/flow.md`` measures how close):

- an image pyramid of ``nscales`` levels made by ``cv2.resize(..., scaleStep, scaleStep,
  INTER_LINEAR)`` on float32 planes (OpenCV's size rounding: 224 -> 179 -> 143 -> 114 -> 91),
  stopping before a level under 16 px; the flow is carried to the next finer level by
  ``INTER_LINEAR`` resizing to its size and multiplied by ``1 / scaleStep`` (not by the
  true size ratio, as OpenCV does);
- per level ``warps`` warps of the second frame and its centred gradient by
  ``cv2.remap(..., INTER_CUBIC, BORDER_CONSTANT)`` (OpenCV's own tabulated remap: it
  rounds sample positions to 1/32 px, so it is called rather than rewritten);
- per warp up to ``outerIterations`` outer iterations, each a 5 x 5 median of the flow
  (``cv2.medianBlur`` on float32) and up to ``innerIterations`` inner iterations; both loops
  end once the float32 running sum of the squared flow update, in raster order, is no
  longer above ``epsilon² · H · W`` (the error carries over from one outer iteration to the
  next, as in OpenCV).

What differs is the inner iteration, where OpenCV spends ~96 % of its time: OpenCV makes
seven passes over the image per iteration (thresholding, two divergences, the primal
update with the error sum, two forward gradients, the dual update), computing the dual
step's norm as a double-precision ``hypot``. Here one numba pass does all of it, row by
row with a one-row lag (the primal update of row ``y`` needs the dual variables of rows
``y - 1`` and ``y`` before their update; the dual update of row ``y - 1`` needs the new
flow of rows ``y - 1`` and ``y``), so every plane is read and written once per iteration
while it sits in cache, and the per-pixel arithmetic is vectorised. The error is summed in
float32 in raster order, as OpenCV sums it, so the loops stop at the same iteration.

Arithmetic: float32 throughout, in OpenCV's order of operations, without fused
multiply-adds (numba's default: no ``fastmath``, so LLVM may not contract ``a * b + c``)
and with true divisions; the one deliberate difference is the dual step's norm, a float32
``sqrt(a² + b²)`` where OpenCV rounds a double ``hypot`` to float (at most an ulp or two
apart). The kernel is serial: its result does not depend on any thread count, and is the
same on every x86-64 machine up to that machine's ``sqrt``/division rounding (IEEE exact,
so identical) and LLVM's vector code (the same operations lane by lane). ``gamma != 0``
(OpenCV's illumination term) is not implemented: it raises.

Memory per call is bounded: the work planes are allocated once per call at the finest
level's size and reused, as views, at every level; nothing is allocated per iteration.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import cv2
import numpy as np
from numba import njit

from mepipe.errors import MepipeError

#: the implementation's name and version, recorded with a flow it made (bump the version
#: whenever the numbers it produces change)
IMPLEMENTATION = "mepipe-tvl1"
VERSION = "1"

#: OpenCV's ``std::numeric_limits<float>::epsilon()``: the thresholding step's guard
_FLT_EPSILON = np.float32(np.finfo(np.float32).eps)
#: OpenCV stops building the pyramid before a level narrower or lower than this
_MIN_LEVEL = 16

#: the parameters, with OpenCV's defaults (``DualTVL1OpticalFlow_create()``)
DEFAULTS: dict[str, Any] = {
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


class TVL1Error(MepipeError, ValueError):
    """Bad input to the solver (frames or parameters), one line naming what is wrong; a
    ``ValueError`` too, as OpenCV's solver's bad input was for callers."""


# --- the kernels ------------------------------------------------------------------------


@njit(cache=True, nogil=True, error_model="numpy")
def _centered_gradient(src: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> None:
    """OpenCV's ``centeredGradient``: half central differences inside, half one-sided ones
    on the border rows and columns (float32, ``0.5f * (a - b)``)."""
    rows, cols = src.shape
    half = np.float32(0.5)
    for y in range(rows):
        up = y - 1 if y > 0 else 0
        down = y + 1 if y < rows - 1 else rows - 1
        for x in range(cols):
            left = x - 1 if x > 0 else 0
            right = x + 1 if x < cols - 1 else cols - 1
            dx[y, x] = half * (src[y, right] - src[y, left])
            dy[y, x] = half * (src[down, x] - src[up, x])


@njit(cache=True, nogil=True, error_model="numpy")
def _flow_map(u1: np.ndarray, u2: np.ndarray, map1: np.ndarray, map2: np.ndarray) -> None:
    """The sample positions of the warp: ``(x + u1, y + u2)`` in float32 (``buildFlowMap``)."""
    rows, cols = u1.shape
    for y in range(rows):
        fy = np.float32(y)
        for x in range(cols):
            map1[y, x] = np.float32(x) + u1[y, x]
            map2[y, x] = fy + u2[y, x]


@njit(cache=True, nogil=True, error_model="numpy")
def _grad_rho(
    i0: np.ndarray,
    i1w: np.ndarray,
    i1wx: np.ndarray,
    i1wy: np.ndarray,
    u1: np.ndarray,
    u2: np.ndarray,
    grad: np.ndarray,
    rho_c: np.ndarray,
) -> None:
    """Per warp: ``|∇I1w|²`` and the constant part of the linearised residual, in OpenCV's
    order (``I1w - I1wx u1 - I1wy u2 - I0``)."""
    rows, cols = i0.shape
    for y in range(rows):
        for x in range(cols):
            ix = i1wx[y, x]
            iy = i1wy[y, x]
            grad[y, x] = ix * ix + iy * iy
            rho_c[y, x] = i1w[y, x] - ix * u1[y, x] - iy * u2[y, x] - i0[y, x]


@njit(cache=True, error_model="numpy", inline="always")
def _primal(
    ix: np.float32,
    iy: np.float32,
    g: np.float32,
    rc: np.float32,
    a1: np.float32,
    a2: np.float32,
    div1: np.float32,
    div2: np.float32,
    l_t: np.float32,
    theta: np.float32,
) -> tuple[np.float32, np.float32]:
    """One pixel's thresholding step (TH) and primal update: the new ``(u1, u2)``.

    TH is written as a select of one coefficient ``c`` (``l_t``, ``-l_t``, ``-rho / g`` or 0)
    times the gradient, so the loop vectorises without branches; ``c * I1wx`` is the very
    product OpenCV's branches compute, so the result is the same bit for bit.
    """
    rho = rc + (ix * a1 + iy * a2)
    lg = l_t * g
    fi = -rho / g
    c = fi if g > _FLT_EPSILON else np.float32(0.0)
    c = -l_t if rho > lg else c
    c = l_t if rho < -lg else c
    v1 = a1 + c * ix
    v2 = a2 + c * iy
    return v1 + theta * div1, v2 + theta * div2


@njit(cache=True, nogil=True, error_model="numpy")
def _iterate(
    i1wx: np.ndarray,
    i1wy: np.ndarray,
    grad: np.ndarray,
    rho_c: np.ndarray,
    u1: np.ndarray,
    u2: np.ndarray,
    p11: np.ndarray,
    p12: np.ndarray,
    p21: np.ndarray,
    p22: np.ndarray,
    row: np.ndarray,
    l_t: np.float32,
    theta: np.float32,
    taut: np.float32,
    scaled_epsilon: np.float32,
    error: np.float32,
    iterations: int,
) -> tuple[np.float32, int]:
    """Up to ``iterations`` inner iterations while ``error > scaled_epsilon``, in place.

    Each iteration is one pass in raster order. At step ``y`` the primal update makes row
    ``y`` of the flow from the dual variables of rows ``y - 1`` and ``y`` (not yet updated:
    OpenCV's divergence of the previous iteration's ``p``), then the dual update of row
    ``y - 1`` takes the forward gradient of the new flow at rows ``y - 1`` and ``y``.
    ``row`` (float32, at least the width) holds one row's squared updates, summed serially
    in float32 afterwards: OpenCV's running sum, the same bits, so the same stop.

    Returns
    -------
    error : float32
        The last iteration's error (the one passed in when none ran).
    done : int
        Iterations run.
    """
    rows, cols = u1.shape
    done = 0
    one = np.float32(1.0)
    while done < iterations and error > scaled_epsilon:
        error = np.float32(0.0)
        for y in range(rows + 1):
            if y < rows:
                r_ix, r_iy, r_g, r_rc = i1wx[y], i1wy[y], grad[y], rho_c[y]
                r_u1, r_u2 = u1[y], u2[y]
                q11, q12, q21, q22 = p11[y], p12[y], p21[y], p22[y]
                if y > 0:
                    a12, a22 = p12[y - 1], p22[y - 1]
                    # x = 0: OpenCV's first column, (p1 + p2) - p2_above
                    d1 = (q11[0] + q12[0]) - a12[0]
                    d2 = (q21[0] + q22[0]) - a22[0]
                    o1, o2 = r_u1[0], r_u2[0]
                    n1, n2 = _primal(r_ix[0], r_iy[0], r_g[0], r_rc[0], o1, o2, d1, d2, l_t, theta)
                    r_u1[0], r_u2[0] = n1, n2
                    row[0] = (n1 - o1) * (n1 - o1) + (n2 - o2) * (n2 - o2)
                    for x in range(1, cols):
                        d1 = (q11[x] - q11[x - 1]) + (q12[x] - a12[x])
                        d2 = (q21[x] - q21[x - 1]) + (q22[x] - a22[x])
                        o1, o2 = r_u1[x], r_u2[x]
                        n1, n2 = _primal(r_ix[x], r_iy[x], r_g[x], r_rc[x], o1, o2, d1, d2, l_t, theta)
                        r_u1[x], r_u2[x] = n1, n2
                        row[x] = (n1 - o1) * (n1 - o1) + (n2 - o2) * (n2 - o2)
                else:
                    # first row: OpenCV's (p1 - p1_left) + p2, and p1 + p2 at the corner
                    d1 = q11[0] + q12[0]
                    d2 = q21[0] + q22[0]
                    o1, o2 = r_u1[0], r_u2[0]
                    n1, n2 = _primal(r_ix[0], r_iy[0], r_g[0], r_rc[0], o1, o2, d1, d2, l_t, theta)
                    r_u1[0], r_u2[0] = n1, n2
                    row[0] = (n1 - o1) * (n1 - o1) + (n2 - o2) * (n2 - o2)
                    for x in range(1, cols):
                        d1 = (q11[x] - q11[x - 1]) + q12[x]
                        d2 = (q21[x] - q21[x - 1]) + q22[x]
                        o1, o2 = r_u1[x], r_u2[x]
                        n1, n2 = _primal(r_ix[x], r_iy[x], r_g[x], r_rc[x], o1, o2, d1, d2, l_t, theta)
                        r_u1[x], r_u2[x] = n1, n2
                        row[x] = (n1 - o1) * (n1 - o1) + (n2 - o2) * (n2 - o2)
                # the serial float32 sum, apart so that the loops above vectorise
                for x in range(cols):
                    error += row[x]
            if y > 0:
                r = y - 1
                c1, c2 = u1[r], u2[r]
                q11, q12, q21, q22 = p11[r], p12[r], p21[r], p22[r]
                if r < rows - 1:
                    b1, b2 = u1[r + 1], u2[r + 1]
                    for x in range(cols - 1):
                        _dual(
                            c1[x + 1] - c1[x],
                            b1[x] - c1[x],
                            c2[x + 1] - c2[x],
                            b2[x] - c2[x],
                            taut,
                            one,
                            q11,
                            q12,
                            q21,
                            q22,
                            x,
                        )
                    x = cols - 1
                    _dual(
                        np.float32(0.0), b1[x] - c1[x], np.float32(0.0), b2[x] - c2[x], taut, one, q11, q12, q21, q22, x
                    )
                else:
                    # last row: no forward difference downwards
                    for x in range(cols - 1):
                        _dual(
                            c1[x + 1] - c1[x],
                            np.float32(0.0),
                            c2[x + 1] - c2[x],
                            np.float32(0.0),
                            taut,
                            one,
                            q11,
                            q12,
                            q21,
                            q22,
                            x,
                        )
                    x = cols - 1
                    _dual(
                        np.float32(0.0),
                        np.float32(0.0),
                        np.float32(0.0),
                        np.float32(0.0),
                        taut,
                        one,
                        q11,
                        q12,
                        q21,
                        q22,
                        x,
                    )
        done += 1
    return error, done


@njit(cache=True, error_model="numpy", inline="always")
def _dual(
    u1x: np.float32,
    u1y: np.float32,
    u2x: np.float32,
    u2y: np.float32,
    taut: np.float32,
    one: np.float32,
    q11: np.ndarray,
    q12: np.ndarray,
    q21: np.ndarray,
    q22: np.ndarray,
    x: int,
) -> None:
    """One pixel's dual update: ``p = (p + taut ∇u) / (1 + taut |∇u|)``, divided (not
    multiplied by a reciprocal) as OpenCV divides."""
    # OpenCV's norm is float(hypot(a, b)) in double: squares of floats are exact in
    # double, so one rounded sum and sqrt in double, then float, give the same bits but
    # for double-rounding ties (none seen)
    a1, b1, a2, b2 = np.float64(u1x), np.float64(u1y), np.float64(u2x), np.float64(u2y)
    ng1 = one + taut * np.float32(np.sqrt(a1 * a1 + b1 * b1))
    ng2 = one + taut * np.float32(np.sqrt(a2 * a2 + b2 * b2))
    q11[x] = (q11[x] + taut * u1x) / ng1
    q12[x] = (q12[x] + taut * u1y) / ng1
    q21[x] = (q21[x] + taut * u2x) / ng2
    q22[x] = (q22[x] + taut * u2y) / ng2


# --- the schedule -----------------------------------------------------------------------


def check_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter, OpenCV's defaults filled in, checked; one-line :class:`TVL1Error` if not.

    Raises
    ------
    TVL1Error
        An unknown parameter name or a value out of range (named with the range).
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise TVL1Error(f"unknown TV-L1 parameter(s) {', '.join(unknown)}; valid: {', '.join(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    positive = ("tau", "lambda", "theta", "epsilon", "scaleStep")
    for name in positive:
        if not (isinstance(p[name], (int, float)) and np.isfinite(p[name]) and p[name] > 0):
            raise TVL1Error(f"TV-L1 parameter {name} must be a positive number, not {p[name]!r}")
    if not p["scaleStep"] < 1:
        raise TVL1Error(f"TV-L1 parameter scaleStep must be in (0, 1), not {p['scaleStep']!r}")
    for name in ("nscales", "warps", "innerIterations", "outerIterations", "medianFiltering"):
        value = p[name]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TVL1Error(f"TV-L1 parameter {name} must be a positive integer, not {value!r}")
    if p["medianFiltering"] not in (1, 3, 5):
        # OpenCV's medianBlur takes float32 planes with apertures 3 and 5 only
        raise TVL1Error(f"TV-L1 parameter medianFiltering must be 1 (none), 3 or 5, not {p['medianFiltering']!r}")
    if p["gamma"] != 0:
        raise TVL1Error(
            f"TV-L1 parameter gamma {p['gamma']!r} is not implemented by mepipe's solver (only 0); "
            "use --flow tvl1-opencv"
        )
    return p


def _plane(frame: np.ndarray, which: str) -> np.ndarray:
    """A float32 copy of a uint8 or float32 ``(H, W)`` frame, as OpenCV converts it (float
    input is taken as 0..1 and scaled by 255)."""
    frame = np.asarray(frame)
    if frame.ndim != 2 or frame.dtype not in (np.uint8, np.float32):
        raise TVL1Error(f"TV-L1 {which} frame must be uint8 or float32 (H, W), got {frame.dtype} {frame.shape}")
    if frame.size == 0:
        raise TVL1Error(f"TV-L1 {which} frame is empty {frame.shape}")
    if frame.dtype == np.float32:
        if not np.isfinite(frame).all():
            raise TVL1Error(f"TV-L1 {which} frame has non-finite values")
        return np.ascontiguousarray(frame * np.float32(255.0))
    return frame.astype(np.float32)


class _Work:
    """The work planes of one call, allocated once at the finest level's size; :meth:`at`
    gives C-contiguous views of any smaller level over the same memory."""

    NAMES = ("i1x", "i1y", "i1w", "i1wx", "i1wy", "grad", "rho_c", "map1", "map2", "p11", "p12", "p21", "p22")

    def __init__(self, rows: int, cols: int) -> None:
        self.flat = {name: np.empty(rows * cols, np.float32) for name in self.NAMES}
        self.row = np.empty(cols, np.float32)

    def at(self, rows: int, cols: int) -> dict[str, np.ndarray]:
        return {name: flat[: rows * cols].reshape(rows, cols) for name, flat in self.flat.items()}


def _one_scale(
    i0: np.ndarray,
    i1: np.ndarray,
    u1: np.ndarray,
    u2: np.ndarray,
    work: _Work,
    p: Mapping[str, Any],
    stats: dict[str, int],
) -> None:
    """OpenCV's ``procOneScale``: the warps, outer and inner iterations of one level, in place."""
    rows, cols = i0.shape
    w = work.at(rows, cols)
    scaled_epsilon = np.float32(p["epsilon"] * p["epsilon"] * rows * cols)
    l_t = np.float32(p["lambda"] * p["theta"])
    taut = np.float32(p["tau"] / p["theta"])
    theta = np.float32(p["theta"])
    median = int(p["medianFiltering"])
    clock = time.thread_time_ns
    tick = clock()
    _centered_gradient(i1, w["i1x"], w["i1y"])
    for name in ("p11", "p12", "p21", "p22"):
        w[name].fill(0.0)
    for _ in range(p["warps"]):
        _flow_map(u1, u2, w["map1"], w["map2"])
        for source, target in (("i1", "i1w"), ("i1x", "i1wx"), ("i1y", "i1wy")):
            image = i1 if source == "i1" else w[source]
            cv2.remap(image, w["map1"], w["map2"], cv2.INTER_CUBIC, dst=w[target], borderMode=cv2.BORDER_CONSTANT)
        _grad_rho(i0, w["i1w"], w["i1wx"], w["i1wy"], u1, u2, w["grad"], w["rho_c"])
        tock = clock()
        stats["ns_warps"] += tock - tick
        tick = tock
        error = np.float32(np.finfo(np.float32).max)
        outer = 0
        while error > scaled_epsilon and outer < p["outerIterations"]:
            if median > 1:
                cv2.medianBlur(u1, median, dst=u1)
                cv2.medianBlur(u2, median, dst=u2)
                stats["medians"] += 1
                tock = clock()
                stats["ns_medians"] += tock - tick
                tick = tock
            error, done = _iterate(
                w["i1wx"], w["i1wy"], w["grad"], w["rho_c"], u1, u2,
                w["p11"], w["p12"], w["p21"], w["p22"], work.row,
                l_t, theta, taut, scaled_epsilon, error, int(p["innerIterations"]),
            )  # fmt: skip
            stats["iterations"] += done
            stats["pixel_iterations"] += done * rows * cols
            outer += 1
            tock = clock()
            stats["ns_inner"] += tock - tick
            tick = tock
        stats["warps"] += 1


def dual_tvl1(
    first: np.ndarray,
    second: np.ndarray,
    params: Mapping[str, Any] | None = None,
    initial: np.ndarray | None = None,
    stats: dict[str, int] | None = None,
) -> np.ndarray:
    """Dual TV-L1 flow from ``first`` to ``second``, as OpenCV's ``DualTVL1OpticalFlow.calc``.

    Parameters
    ----------
    first, second : np.ndarray
        Frames of one shape, ``(H, W)`` uint8 (or float32 in 0..1, as OpenCV takes them).
    params : mapping, optional
        OpenCV's parameters by name (:data:`DEFAULTS`); missing ones take OpenCV's defaults.
    initial : np.ndarray, optional
        float32 ``(H, W, 2)`` starting flow, used when ``useInitialFlow`` is true (given
        alone, it sets it): OpenCV's semantics, where the initial flow is carried down the
        pyramid (``INTER_LINEAR``, times ``scaleStep`` per level) and only the coarsest
        level starts from it.
    stats : dict, optional
        Filled with counts (``iterations``, ``pixel_iterations``, ``medians``, ``warps``,
        ``levels``) and the calling thread's CPU time in ns by step (``ns_pyramid``,
        ``ns_warps``, ``ns_medians``, ``ns_inner``, ``ns_total``): for benchmarks.

    Returns
    -------
    np.ndarray
        float32 ``(H, W, 2)``, ``first(p) ~ second(p + flow(p))``.

    Raises
    ------
    TVL1Error
        Frames of different shapes or types, empty or non-finite frames, smaller than
        3 x 3, an initial flow of the wrong shape or non-finite, or a parameter out of range.
    """
    p = check_parameters(dict(params or {}) | ({"useInitialFlow": True} if initial is not None else {}))
    i0, i1 = _plane(first, "first"), _plane(second, "second")
    if i0.shape != i1.shape or np.asarray(first).dtype != np.asarray(second).dtype:
        raise TVL1Error(
            f"TV-L1 frames differ: {np.asarray(first).dtype} {i0.shape} and {np.asarray(second).dtype} {i1.shape}"
        )
    rows, cols = i0.shape
    if rows < 3 or cols < 3:
        raise TVL1Error(f"TV-L1 frames must be at least 3 x 3, got {i0.shape}")
    if p["useInitialFlow"]:
        if initial is None:
            raise TVL1Error("TV-L1 useInitialFlow is set but no initial flow was given")
        initial = np.asarray(initial)
        if initial.shape != (rows, cols, 2) or not np.isfinite(initial).all():
            raise TVL1Error(
                f"TV-L1 initial flow must be finite ({rows}, {cols}, 2), got {initial.dtype} {initial.shape}"
            )
    counts = stats if stats is not None else {}
    for key in ("iterations", "pixel_iterations", "medians", "warps", "levels", "ns_warps", "ns_medians", "ns_inner"):
        counts[key] = 0
    started = time.thread_time_ns()

    step = float(p["scaleStep"])
    first_planes, second_planes = [i0], [i1]
    u1s = [np.zeros((rows, cols), np.float32)]
    u2s = [np.zeros((rows, cols), np.float32)]
    if p["useInitialFlow"]:
        assert initial is not None
        u1s[0][:] = initial[..., 0]
        u2s[0][:] = initial[..., 1]
    for _ in range(1, int(p["nscales"])):
        a = cv2.resize(first_planes[-1], None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(second_planes[-1], None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR)
        if a.shape[0] < _MIN_LEVEL or a.shape[1] < _MIN_LEVEL:
            break
        first_planes.append(a)
        second_planes.append(b)
        if p["useInitialFlow"]:
            # OpenCV multiplies by a float32 Scalar: the same bits as float32 products
            u1s.append(cv2.resize(u1s[-1], None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR) * np.float32(step))
            u2s.append(cv2.resize(u2s[-1], None, fx=step, fy=step, interpolation=cv2.INTER_LINEAR) * np.float32(step))
        else:
            u1s.append(np.zeros(a.shape, np.float32))
            u2s.append(np.zeros(a.shape, np.float32))
    work = _Work(rows, cols)
    counts["ns_pyramid"] = time.thread_time_ns() - started
    upscale = np.float32(1.0 / step)
    for s in range(len(first_planes) - 1, -1, -1):
        _one_scale(first_planes[s], second_planes[s], u1s[s], u2s[s], work, p, counts)
        counts["levels"] += 1
        if s == 0:
            break
        size = (first_planes[s - 1].shape[1], first_planes[s - 1].shape[0])
        for us in (u1s, u2s):
            cv2.resize(us[s], size, dst=us[s - 1], interpolation=cv2.INTER_LINEAR)
            np.multiply(us[s - 1], upscale, out=us[s - 1])
    result = np.stack([u1s[0], u2s[0]], axis=-1)
    counts["ns_total"] = time.thread_time_ns() - started
    return result


class DualTVL1:
    """A solver object with OpenCV's ``DualTVL1OpticalFlow`` interface (``calc`` and the
    ``get``/``set`` pairs of its parameters), running :func:`dual_tvl1`; made by
    :func:`mepipe.imaging.flow.solver` for the ``tvl1`` methods. Holds no buffers between
    calls, so one object may be shared between threads."""

    _SETTERS: ClassVar[dict[str, str]] = {
        "Tau": "tau",
        "Lambda": "lambda",
        "Theta": "theta",
        "ScalesNumber": "nscales",
        "WarpingsNumber": "warps",
        "Epsilon": "epsilon",
        "InnerIterations": "innerIterations",
        "OuterIterations": "outerIterations",
        "ScaleStep": "scaleStep",
        "Gamma": "gamma",
        "MedianFiltering": "medianFiltering",
        "UseInitialFlow": "useInitialFlow",
    }

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = check_parameters(dict(params or {}))

    def __getattr__(self, name: str) -> Any:
        kind, key = name[:3], self._SETTERS.get(name[3:])
        if key is None or kind not in ("get", "set"):
            raise AttributeError(name)
        if kind == "get":
            return lambda: self.params[key]

        def setter(value: Any) -> None:
            self.params = check_parameters({**self.params, key: value})

        return setter

    def calc(self, first: np.ndarray, second: np.ndarray, flow: np.ndarray | None = None) -> np.ndarray:
        """The flow from ``first`` to ``second``; ``flow`` is the initial flow when
        ``useInitialFlow`` is set (and ignored otherwise, as OpenCV ignores it)."""
        return dual_tvl1(first, second, self.params, flow if self.params["useInitialFlow"] else None)
