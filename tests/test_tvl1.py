"""mepipe's own Dual TV-L1 (mepipe.imaging.tvl1) against OpenCV's, on small frames.

The reference is ``cv2.optflow.DualTVL1OpticalFlow_create()`` at its defaults (``--flow
tvl1-opencv``). The bound is issue 35's: mean end-point difference inside an 8 px margin
<= 0.03 px + 10 % of OpenCV's mean motion there, and strain r >= 0.9 where there is
non-rigid motion above the noise. On x86-64 the two solvers agree bit for bit (the same
float32 operations in the same order, no fused multiply-adds); elsewhere OpenCV's build may
contract multiply-adds, so only the bound is portable (docs/flow.md).
"""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from mepipe.errors import MepipeError
from mepipe.imaging import flow, tvl1
from mepipe.imaging.align import align_clip

from .deform import face_clip

SMALL = 64
MARGIN = 8
#: bump and head motion (global shift) at S = 64, scaled from 224 px: 0.1 px, 1 px + head, 10 px head
MOTIONS = {
    "0.1 px": {"bump": 0.03, "shift": (0.01, -0.005)},
    "1 px + head": {"bump": 0.3, "shift": (0.11, -0.09)},
    "10 px head": {"bump": 0.6, "shift": (2.3, -1.7)},
    "1 px + head, noise 2": {"bump": 0.3, "shift": (0.11, -0.09), "noise": 2.0},
}
X86 = platform.machine().lower() in ("x86_64", "amd64")


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame


def _opencv(first: np.ndarray, second: np.ndarray, initial: np.ndarray | None = None, **params) -> np.ndarray:
    made = flow.solver("tvl1-opencv", {**params, "useInitialFlow": initial is not None})
    return np.asarray(made.calc(_gray(first), _gray(second), None if initial is None else initial.copy()))


def _agreement(ours: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    """Mean end-point difference inside the margin, OpenCV's mean motion there, strain r."""
    inside = (slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    difference = float(np.hypot(*(ours - reference).transpose(2, 0, 1))[inside].mean())
    motion = float(np.hypot(*reference.transpose(2, 0, 1))[inside].mean())
    a, b = flow.strain(ours)[inside].ravel(), flow.strain(reference)[inside].ravel()
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float(np.array_equal(a, b))
    return difference, motion, r


def _same_flow(ours: np.ndarray, reference: np.ndarray, strain: bool = True) -> None:
    difference, motion, r = _agreement(ours, reference)
    assert difference <= 0.03 + 0.1 * motion, (difference, motion)
    if strain:
        assert r >= 0.9, r
    if X86:
        np.testing.assert_array_equal(ours, reference)


@pytest.fixture(scope="module", params=list(MOTIONS))
def face_pair(request):
    clip = face_clip(n_frames=3, sigma=12.0 * SMALL / 224, size=SMALL, **MOTIONS[request.param])
    aligned, _ = align_clip(clip.frames, size=SMALL)
    return aligned[0], aligned[-1]


@pytest.fixture(scope="module")
def one_pair():
    """One deformed face pair (1 px bump plus head motion at 224 px), for the machinery."""
    clip = face_clip(n_frames=3, sigma=12.0 * SMALL / 224, size=SMALL, **MOTIONS["1 px + head"])
    aligned, _ = align_clip(clip.frames, size=SMALL)
    return aligned[0], aligned[-1]


@pytest.fixture(scope="module")
def texture():
    """A smooth random texture (64 x 64 uint8), for synthetic shifts."""
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.normal(size=(96, 96)).astype(np.float32), (0, 0), 2.0)
    image = 128 + 60 * noise / noise.std()
    return np.clip(image, 0, 255).astype(np.float32)


# --- the same flow -------------------------------------------------------------------------


def test_default_tvl1_agrees_with_opencv_on_a_deformed_real_face(face_pair):
    first, second = face_pair
    _same_flow(flow.optical_flow(first, second), _opencv(first, second))


@pytest.mark.parametrize("shift", [(0.1, 0.0), (0.7, -0.4), (3.2, 2.5)])
def test_synthetic_shifts_agree_and_are_found(texture, shift):
    """A textured plane shifted rigidly (strain is noise there: only the end-point bound)."""
    matrix = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    moved = cv2.warpAffine(texture, matrix, (96, 96), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    first, second = texture[16:80, 16:80].astype(np.uint8), moved[16:80, 16:80].astype(np.uint8)
    ours = flow.optical_flow(first, second)
    _same_flow(ours, _opencv(first, second), strain=False)
    # content moved by +shift: first(p) ~ second(p + shift)
    inside = ours[MARGIN:-MARGIN, MARGIN:-MARGIN].reshape(-1, 2).mean(axis=0)
    np.testing.assert_allclose(inside, shift, atol=0.15)


def test_still_pairs_agree(texture):
    still = texture[16:80, 16:80].astype(np.uint8)
    assert not flow.optical_flow(still, still).any()
    noisy = np.clip(still + np.random.default_rng(1).normal(0, 2, still.shape), 0, 255).astype(np.uint8)
    _same_flow(flow.optical_flow(still, noisy), _opencv(still, noisy), strain=False)


def test_tvl1_fast_and_other_parameters_agree(face_pair):
    first, second = face_pair
    fast = {k: v for k, v in flow.flow_parameters("tvl1-fast").items() if k != flow.IMPLEMENTATION}
    _same_flow(flow.optical_flow(first, second, "tvl1-fast"), _opencv(first, second, **fast), strain=False)
    other = {"nscales": 3, "warps": 2, "medianFiltering": 3, "epsilon": 0.05, "tau": 0.2, "lambda": 0.2, "theta": 0.4}
    _same_flow(flow.optical_flow(first, second, params=other), _opencv(first, second, **other), strain=False)


def test_warm_start_is_opencvs_use_initial_flow(one_pair):
    first, second = one_pair
    start = _opencv(first, second) * 1.5 + 0.2
    _same_flow(flow.optical_flow(first, second, initial=start), _opencv(first, second, start), strain=False)
    warm = {"nscales": 1, "warps": 2, "outerIterations": 2, "innerIterations": 10, "useInitialFlow": True}
    ours = flow.solver("tvl1", warm).calc(_gray(first), _gray(second), start.copy())
    reference = flow.solver("tvl1-opencv", warm).calc(_gray(first), _gray(second), start.copy())
    _same_flow(ours, reference, strain=False)
    with pytest.raises(ValueError, match="dis takes no initial flow"):
        flow.optical_flow(first, second, "dis", initial=start)


# --- determinism and the solver's machinery -------------------------------------------------


def test_concurrent_calls_are_identical_to_serial_ones(one_pair):
    first, second = one_pair
    serial = flow.optical_flow(first, second)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: flow.optical_flow(first, second), range(8)))
    for result in results:
        np.testing.assert_array_equal(result, serial)


def test_default_runs_mepipes_solver_and_tvl1_opencv_runs_opencvs(one_pair, monkeypatch):
    assert isinstance(flow.solver("tvl1"), tvl1.DualTVL1)
    assert isinstance(flow.solver("tvl1-fast"), tvl1.DualTVL1)
    assert isinstance(flow.solver("tvl1-opencv"), cv2.optflow.DualTVL1OpticalFlow)
    assert flow.FLOW_METHODS[0] == "tvl1" and "tvl1-opencv" in flow.FLOW_METHODS
    assert flow.flow_parameters("tvl1")["implementation"] == f"mepipe-tvl1 {tvl1.VERSION}"
    assert flow.flow_parameters("tvl1-opencv")["implementation"] == f"opencv-contrib {cv2.__version__}"
    calls = []
    real = tvl1.dual_tvl1
    monkeypatch.setattr(tvl1, "dual_tvl1", lambda *a, **k: calls.append(1) or real(*a, **k))
    first, second = one_pair
    flow.optical_flow(first, second, "tvl1-opencv")
    assert not calls
    flow.optical_flow(first, second)
    assert calls


def test_recorded_implementation_names_the_method():
    for method in flow.FLOW_METHODS:
        assert flow.recorded_method(method, flow.flow_parameters(method)) == method
    # made before mepipe had its own solver: OpenCV's defaults, no implementation recorded
    assert flow.recorded_method("tvl1", dict(flow.TVL1_OPENCV_DEFAULTS)) == "tvl1-opencv"
    old_fast = {k: v for k, v in flow.flow_parameters("tvl1-fast").items() if k != "implementation"}
    assert flow.recorded_method("tvl1-fast", old_fast) == "tvl1-fast"
    # another version of the same solver is the same method; another solver is not
    assert flow.recorded_method("tvl1", {**flow.flow_parameters("tvl1"), "implementation": "mepipe-tvl1 0"}) == "tvl1"
    mislabelled = {**flow.flow_parameters("tvl1"), "implementation": "opencv-contrib 4.9.0"}
    assert flow.recorded_method("tvl1", mislabelled) == "tvl1-opencv"
    assert flow.recorded_method("tvl1", {**flow.flow_parameters("tvl1"), "implementation": "other 1"}) is None
    # what a store records is what the solver is given back
    assert flow.optical_flow(
        np.zeros((20, 20), np.uint8), np.zeros((20, 20), np.uint8), "tvl1", flow.flow_parameters("tvl1")
    ).shape == (20, 20, 2)
    with pytest.raises(ValueError, match="tvl1 runs mepipe-tvl1 1, not opencv-contrib"):
        flow.solver("tvl1", flow.flow_parameters("tvl1-opencv"))


def test_numba_cache_serves_a_fresh_process(one_pair):
    """The kernels compile once (``cache=True``): a new process loads them from the cache."""
    first, second = one_pair
    flow.optical_flow(first, second)  # compiled, and cached, here
    script = textwrap.dedent(
        """
        import numpy as np
        from mepipe.imaging import tvl1
        frame = (np.arange(400, dtype=np.uint8) % 13).reshape(20, 20)
        tvl1.dual_tvl1(frame, frame.T.copy())
        kernels = (tvl1._iterate, tvl1._grad_rho, tvl1._centered_gradient, tvl1._flow_map)
        print(sum(sum(k.stats.cache_misses.values()) for k in kernels), sum(sum(k.stats.cache_hits.values()) for k in kernels))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    misses, hits = map(int, out)
    assert misses == 0 and hits >= 4, out


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "params", "message"),
    [
        (
            np.zeros((32, 32), np.uint8),
            np.zeros((32, 16), np.uint8),
            {},
            r"frames differ: uint8 \(32, 32\) and uint8 \(32, 16\)",
        ),
        (np.zeros((0, 0), np.uint8), np.zeros((0, 0), np.uint8), {}, r"first frame is empty"),
        (np.full((8, 8), np.nan, np.float32), np.zeros((8, 8), np.float32), {}, "first frame has non-finite values"),
        (np.zeros((2, 8), np.uint8), np.zeros((2, 8), np.uint8), {}, r"at least 3 x 3, got \(2, 8\)"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), {"tau": -1}, "tau must be a positive number, not -1"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), {"scaleStep": 1.5}, r"scaleStep must be in \(0, 1\)"),
        (
            np.zeros((8, 8), np.uint8),
            np.zeros((8, 8), np.uint8),
            {"warps": 0},
            "warps must be a positive integer, not 0",
        ),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), {"medianFiltering": 7}, "medianFiltering must be 1"),
        (
            np.zeros((8, 8), np.uint8),
            np.zeros((8, 8), np.uint8),
            {"gamma": 0.1},
            "gamma 0.1 is not implemented.*tvl1-opencv",
        ),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), {"iterations": 3}, "unknown TV-L1 parameter"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), {"useInitialFlow": True}, "no initial flow was given"),
    ],
)
def test_bad_input_is_one_line_naming_it(first, second, params, message):
    with pytest.raises(tvl1.TVL1Error, match=message) as caught:
        tvl1.dual_tvl1(first, second, params)
    assert isinstance(caught.value, MepipeError) and isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)


def test_bad_input_through_optical_flow():
    frame = np.zeros((16, 16), np.uint8)
    with pytest.raises(ValueError, match=r"initial flow must be finite \(16, 16, 2\)"):
        flow.optical_flow(frame, frame, initial=np.zeros((16, 16)))
    with pytest.raises(ValueError, match="empty frame"):
        flow.optical_flow(np.zeros((0, 4, 3), np.uint8), np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="unknown tvl1 parameter.*valid: tau"):
        flow.optical_flow(frame, frame, "tvl1", {"iterations": 3})
    with pytest.raises(ValueError, match="theta must be a positive number"):
        flow.optical_flow(frame, frame, "tvl1", {"theta": float("nan")})
