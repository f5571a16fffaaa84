"""Rank pooling and motion intensity against independent float64 / OpenCV references."""

from __future__ import annotations

import math
import threading
from fractions import Fraction

import cv2
import numpy as np
import pytest

from mepipe.imaging import rankpool
from mepipe.imaging.rankpool import (
    arp_weights,
    dynamic_images,
    motion_intensity,
    motion_order,
    peak_motion,
    rank_pool,
    rank_pool_pair,
    to_uint8,
)

RTOL = 1e-5  # max|got - ref| <= RTOL * max|ref|


def reference_pool(frames: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """``sum_t alpha_t I_t`` in float64 with numpy."""
    frames = np.asarray(frames, dtype=np.float64)
    if weights is None:
        weights = arp_weights(len(frames))
    return np.einsum("t,t...->...", weights, frames)


def assert_close_to(got: np.ndarray, ref: np.ndarray, rtol: float = RTOL) -> None:
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() <= rtol * np.abs(ref).max()


def random_clip(T: int, shape: tuple[int, ...], dtype, seed: int = 0) -> np.ndarray:
    """Random frames; float32 clips get non-integer values."""
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, (T, *shape), dtype=np.uint8)
    return (rng.random((T, *shape)) * 255).astype(np.float32)


def moving_blob_clip(T: int, size: int = 48, seed: int = 0) -> np.ndarray:
    """RGB uint8 frames of a textured background with a blob that drifts and brightens."""
    rng = np.random.default_rng(seed)
    background = rng.integers(60, 200, (size, size, 3)).astype(np.float64)
    yy, xx = np.mgrid[:size, :size]
    frames = []
    for t in range(T):
        cy, cx = size / 2 + 3 * np.sin(t), size / 2 + 0.7 * t
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 40.0)[..., None]
        frames.append(background + (20 + 5 * t) * blob * np.array([1.0, 0.6, 0.3]))
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


# --- weights ---------------------------------------------------------------------------


def test_arp_weights_t3_exact():
    np.testing.assert_allclose(arp_weights(3), [-4 / 3, 2 / 3, 2 / 3], rtol=0, atol=1e-15)


@pytest.mark.parametrize("T", range(2, 301))
def test_arp_weights_sum_to_zero(T):
    alpha = arp_weights(T)
    assert abs(alpha.sum()) <= 1e-13 * np.abs(alpha).sum()


@pytest.mark.parametrize("T", [2, 3, 4, 7, 16, 41])
def test_arp_weights_equal_authors_loop_exactly(T):
    # vl_nnarpooltemporal.m: fw(i) = sum((2*(i:N)-N-1) ./ (i:N)), in exact rationals.
    exact = [sum(Fraction(2 * k - T - 1, k) for k in range(i, T + 1)) for i in range(1, T + 1)]
    np.testing.assert_allclose(arp_weights(T), [float(f) for f in exact], rtol=1e-13, atol=1e-13)


def test_arp_weights_early_negative_late_positive():
    alpha = arp_weights(64)
    assert alpha[0] < 0 < alpha[-1]
    assert alpha[-1] == pytest.approx(1 - 1 / 64)
    assert int(np.argmax(alpha)) in (31, 32)  # peak at t = (T + 1) / 2


@pytest.mark.parametrize("T", [2, 5, 64])
def test_arp_equals_pooling_running_means(T):
    frames = random_clip(T, (5, 6, 3), np.float32, seed=T).astype(np.float64)
    running_means = np.cumsum(frames, axis=0) / np.arange(1, T + 1)[:, None, None, None]
    via_means = reference_pool(running_means, 2.0 * np.arange(1, T + 1) - T - 1)
    np.testing.assert_allclose(reference_pool(frames), via_means, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("N", [2, 10, 64])
def test_popular_port_weights_do_not_sum_to_zero(N):
    # The popular Python port: coefficients[n] = sum_{k=n+1..N} (2k - N) / k. Its sum is
    # sum_k (2k - N) = N, so a static clip of value c pools to N * c, not 0.
    port = np.array([sum((2 * k - N) / k for k in range(n + 1, N + 1)) for n in range(N)])
    assert port.sum() == pytest.approx(N)
    assert not np.allclose(port, arp_weights(N))


def test_one_frame_is_refused():
    with pytest.raises(ValueError, match="at least 2 frames"):
        arp_weights(1)
    with pytest.raises(ValueError, match="at least 2 frames"):
        rank_pool(np.zeros((1, 4, 4, 3), np.uint8))


# --- rank_pool -------------------------------------------------------------------------


@pytest.mark.parametrize("T", [2, 3, 5, 9, 64, 150])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("frame_shape", [(75, 81, 3), (131, 127)], ids=["rgb", "gray"])
def test_rank_pool_matches_float64_reference(T, dtype, frame_shape):
    # Both shapes span a full kernel tile plus a partial one.
    assert math.prod(frame_shape) > rankpool._TILE and math.prod(frame_shape) % rankpool._TILE
    frames = random_clip(T, frame_shape, dtype, seed=T)
    got = rank_pool(frames)
    assert got.dtype == np.float32
    assert_close_to(got, reference_pool(frames))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_rank_pool_non_contiguous_input(dtype):
    frames = random_clip(20, (30, 40, 3), dtype)
    view = frames[::2, 3:27, ::-1, ::-1]  # every other frame, cropped, mirrored, BGR
    assert not view.flags.c_contiguous
    assert_close_to(rank_pool(view), reference_pool(view))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_static_clip_pools_to_zero(dtype):
    frame = random_clip(1, (40, 52, 3), dtype)[0]
    frames = np.repeat(frame[None], 150, axis=0)
    assert np.abs(rank_pool(frames)).max() <= 1e-6 * 255


def test_rank_pool_is_linear_and_ignores_constant_offsets():
    x = random_clip(33, (20, 30, 3), np.float32, seed=1)
    y = random_clip(33, (20, 30, 3), np.float32, seed=2)
    combined = rank_pool(2.5 * x - 0.75 * y)
    assert_close_to(combined, 2.5 * reference_pool(x) - 0.75 * reference_pool(y))
    assert_close_to(rank_pool(x + 100.0), reference_pool(x))


def test_rank_pool_rejects_bad_shape():
    with pytest.raises(ValueError, match="frames must be"):
        rank_pool(np.zeros((4, 5), np.uint8))


def test_concurrent_threads_match_serial():
    clips = [random_clip(40, (60, 70, 3), np.uint8, seed=s) for s in range(8)]
    serial = [rank_pool(c) for c in clips]
    results: dict[int, list[np.ndarray]] = {}

    def work(worker: int) -> None:
        results[worker] = [rank_pool(c) for c in clips[worker::2] * 3]

    threads = [threading.Thread(target=work, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in range(2):
        for got, want in zip(results[worker], serial[worker::2] * 3):
            np.testing.assert_array_equal(got, want)


# --- motion ----------------------------------------------------------------------------


def reference_motion(frames: np.ndarray, reference: str, sigma: float = 1.0) -> np.ndarray:
    """Direct per-frame formula: numpy luminance in float64, cv2 blur, numpy mean."""
    frames = np.asarray(frames, dtype=np.float64)
    gray = frames @ [0.299, 0.587, 0.114] if frames.ndim == 4 else frames
    ksize = 2 * int(np.ceil(3 * sigma)) + 1
    blurred = [
        cv2.GaussianBlur(g.astype(np.float32), (ksize, ksize), sigma, borderType=cv2.BORDER_REFLECT_101).astype(
            np.float64
        )
        for g in gray
    ]
    m = np.zeros(len(frames))
    for t in range(1, len(frames)):
        ref = blurred[0] if reference == "onset" else blurred[t - 1]
        m[t] = np.abs(blurred[t] - ref).mean()
    return m


@pytest.mark.parametrize("reference", ["onset", "previous"])
@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_motion_intensity_matches_reference(reference, sigma):
    frames = moving_blob_clip(12)
    got = motion_intensity(frames, reference, sigma)
    assert got.dtype == np.float64 and got[0] == 0
    assert np.all(got[1:] > 0)
    np.testing.assert_allclose(got, reference_motion(frames, reference, sigma), rtol=1e-5)


def test_motion_intensity_gray_inputs_agree():
    rgb = moving_blob_clip(6)
    gray = (rgb.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.float32)
    want = motion_intensity(rgb)
    np.testing.assert_allclose(motion_intensity(gray), want, rtol=1e-5)
    np.testing.assert_allclose(motion_intensity(gray[..., None]), want, rtol=1e-5)
    np.testing.assert_allclose(motion_intensity(np.repeat(gray[..., None], 3, axis=3)), want, rtol=1e-5)


def test_motion_intensity_rejects_bad_arguments():
    frames = moving_blob_clip(3)
    with pytest.raises(ValueError, match="onset, previous"):
        motion_intensity(frames, reference="apex")
    with pytest.raises(ValueError, match="sigma"):
        motion_intensity(frames, sigma=0)
    with pytest.raises(ValueError, match="frames must be"):
        motion_intensity(np.zeros((3, 8, 8, 2), np.uint8))


def tied_clip() -> np.ndarray:
    """Frames A, B, A, C, B: exact ties m_0 = m_2 = 0 and m_1 = m_4, with m_1 < m_3."""
    a, b, c = (moving_blob_clip(12)[i] for i in (0, 4, 11))
    return np.stack([a, b, a, c, b])


def test_motion_order_is_stable_on_ties():
    frames = tied_clip()
    m = motion_intensity(frames)
    assert m[0] == m[2] == 0 and m[1] == m[4] and m[1] < m[3]
    np.testing.assert_array_equal(motion_order(frames), [0, 2, 1, 4, 3])
    np.testing.assert_array_equal(motion_order(frames, descending=True), [3, 1, 4, 0, 2])
    assert motion_order(frames).dtype == np.int64


def test_peak_motion_first_on_ties():
    a, b, c = tied_clip()[[0, 1, 3]]
    assert peak_motion(np.stack([a, b, c, c, b])) == 2
    assert peak_motion(np.stack([a, c, a, c]), reference="previous") == 1


@pytest.mark.parametrize("reference", ["onset", "previous"])
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_dynamic_images_midi_equals_pooling_reordered_frames(reference, descending, dtype):
    frames = moving_blob_clip(23, size=56).astype(dtype)
    trdi, midi, order = dynamic_images(frames, reference=reference, descending=descending)
    np.testing.assert_array_equal(order, motion_order(frames, reference, descending))
    assert_close_to(trdi, rank_pool(frames), rtol=1e-6)
    assert_close_to(midi, rank_pool(frames[order]), rtol=1e-6)
    assert_close_to(midi, reference_pool(frames[order]))


def test_rank_pool_pair_rejects_non_permutation():
    frames = random_clip(4, (8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="permutation"):
        rank_pool_pair(frames, [0, 1, 1, 3])


# --- to_uint8 --------------------------------------------------------------------------


def test_to_uint8_min_max_and_rounding():
    di = np.array([[[-1.0, 0.0, 1.0]], [[0.5, -0.5, 0.25]]], np.float32)
    got = to_uint8(di)
    assert got.dtype == np.uint8 and got.shape == di.shape
    # (v + 1) * 127.5, rounded half to even: 0 -> 127.5 -> 128, -0.5 -> 63.75 -> 64
    np.testing.assert_array_equal(got.ravel(), [0, 128, 255, 191, 64, 159])


def test_to_uint8_random_image_spans_full_range():
    di = rankpool.rank_pool(random_clip(10, (16, 16, 3), np.uint8))
    got = to_uint8(di)
    assert got.ravel()[np.argmin(di)] == 0 and got.ravel()[np.argmax(di)] == 255
    want = np.rint((di - di.min()) / (di.max() - di.min()) * 255.0)
    assert np.abs(got - want).max() <= 1


def test_to_uint8_constant_is_zero_and_nan_refused():
    np.testing.assert_array_equal(to_uint8(np.full((4, 4, 3), 7.5)), np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        to_uint8(np.array([0.0, np.nan]))
