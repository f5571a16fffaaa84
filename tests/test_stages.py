"""The build's stages on arrays: span selection, apex estimation, pooled outputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import Clip, frames_needed, place_clip, pool_clip, span_bounds
from mepipe.errors import SampleError, UsageError
from mepipe.imaging import rankpool
from mepipe.imaging.align import similarity_from_landmarks
from mepipe.pipelines import get_recipe
from mepipe.release.recipe import Sample
from mepipe.store import FAILED, OK, SampleResult, create_store, write_sample
from mepipe.synth import faces


def sample(onset=10, apex=14, offset=20, repair="") -> Sample:
    return Sample("sub01/EP01", "sub01", "EP01", onset, apex, offset, "happiness", "happiness", repair=repair)


def clip_with_peak(onset=10, offset=20, peak=16, apex=14, size=16) -> Clip:
    """A clip whose motion against the onset grows linearly up to ``peak`` then falls."""
    numbers = np.arange(onset, offset + 1)
    frames = np.full((len(numbers), size, size, 3), 100, np.uint8)
    for i, n in enumerate(numbers):
        frames[i, 4:12, 4:12] = 100 + 8 * max(0, peak - onset - abs(n - peak))
    return Clip(numbers, frames, onset, offset, apex, onset_file=Path("img10.jpg"))


@pytest.mark.parametrize(
    "span, expected", [("onset-apex", (10, 14)), ("onset-offset", (10, 20)), ("apex-offset", (14, 20))]
)
def test_span_bounds(span, expected):
    assert span_bounds(span, 10, 14, 20) == expected


def test_frames_needed_always_holds_the_onset():
    assert frames_needed(14, 10, 20, "onset-apex") == list(range(10, 15))
    assert frames_needed(14, 10, 20, "apex-offset") == [10, *range(14, 21)]
    assert frames_needed(None, 10, 20, "apex-offset") == list(range(10, 21))


def test_pool_clip_matches_rank_pooling_of_the_span():
    clip = clip_with_peak()
    result = pool_clip(clip, sample(), BuildConfig("casme2", size=16))
    assert result.status == OK and result.n_frames == 5 and result.apex_index == 14
    span = clip.frames[:5]
    np.testing.assert_array_equal(result.images["trdi"], rankpool.to_uint8(rankpool.rank_pool(span)))
    order = rankpool.motion_order(span)
    np.testing.assert_array_equal(result.images["midi"], rankpool.to_uint8(rankpool.rank_pool(span[order])))
    np.testing.assert_array_equal(result.images["onset"], clip.frames[0])
    np.testing.assert_array_equal(result.images["apex"], clip.frames[4])


def test_missing_apex_is_estimated_from_peak_motion_and_recorded():
    clip = clip_with_peak(peak=17, apex=None)
    result = pool_clip(clip, sample(apex=None, repair="apex '/' missing"), BuildConfig("casme2", size=16))
    assert result.apex_index == 17 and result.n_frames == 8
    assert result.repair == "apex '/' missing; apex estimated at frame 17"


def test_keep_raw_stores_float_images():
    result = pool_clip(clip_with_peak(), sample(), BuildConfig("casme2", size=16, keep_raw=True))
    assert result.images["trdi_raw"].dtype == np.float32
    np.testing.assert_array_equal(rankpool.to_uint8(result.images["trdi_raw"]), result.images["trdi"])


def test_span_of_one_frame_fails_with_reason():
    clip = clip_with_peak(apex=10)
    with pytest.raises(
        SampleError,
        match=r"span onset-apex holds 1 frame\(s\) \(10..10\); "
        "rank pooling needs at least 2",
    ):
        pool_clip(clip, sample(apex=10), BuildConfig("casme2", size=16))


def test_config_validation():
    with pytest.raises(UsageError, match="--span must be one of"):
        BuildConfig("casme2", span="apex-apex")
    config = BuildConfig("casme2")
    assert BuildConfig.from_dict(config.to_dict()) == config
    assert config.differences({"config": BuildConfig("casme2", size=112).to_dict()}) == [("size", 112, 224)]


def test_detection_copy_shows_a_typical_face_at_the_requested_size():
    from mepipe.engine.stages import detect_side
    from mepipe.pipelines import get_recipe

    casme2, samm = get_recipe("casme2"), get_recipe("samm")
    # CASME-II faces are ~280 px in 640x480 frames: 120 px needs a 274 px long side
    assert detect_side(casme2, (480, 640, 3), 120) == round(640 * 120 / 280)
    # a release synthesised at half scale has half-size faces: same relative copy
    assert detect_side(casme2, (240, 320, 3), 120) == round(320 * 120 / 140)
    assert detect_side(samm, (1088, 2040), 120) == round(2040 * 120 / 400)
    # never up-scaled: faces already small enough are scanned as they are
    assert detect_side(samm, (272, 510), 120) == 510


def bilen_weights(count: int) -> np.ndarray:
    """alpha_t = 2(T - t + 1) - (T + 1)(H_T - H_{t-1}), t = 1..T (docs/method.md, section 3)."""
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, count + 1))])
    t = np.arange(1, count + 1)
    return 2.0 * (count - t + 1) - (count + 1) * (harmonic[count] - harmonic[t - 1])


def test_motion_at_the_frame_edge_never_leaks_outside_it(tmp_path):
    # the subject near the left edge, so the canonical window reaches past the frame; the
    # only motion is a band along that edge changing brightness (a shoulder, a collar)
    look = faces.Look(
        size=1.0, angle=4.0, centre=(0.17, 0.6), brightness=0.0, gamma=1.0, mirror=False, backdrop=(170.0, 175.0, 180.0)
    )
    stage = faces.place(look, (640, 480), 250, False, np.random.default_rng(0))
    steps = np.array([0, 40, 120, 80, 20, 60])  # distinct sizes: motion order = order of size
    frames = np.repeat(cv2.cvtColor(stage.canvas, cv2.COLOR_BGR2RGB)[None], len(steps), axis=0)
    frames[:, :, :10] = (60 + steps)[:, None, None, None]
    numbers = np.arange(10, 10 + len(steps))
    clip = Clip(numbers, frames, 10, int(numbers[-1]), int(numbers[-1]), onset_file=Path("img10.jpg"))
    config = BuildConfig("casme2", size=64, keep_raw=True)
    aligned = place_clip(clip, get_recipe("casme2"), config)
    result = pool_clip(aligned, sample(onset=10, apex=15, offset=15), config)
    store = create_store(str(tmp_path / "s.zarr"), [sample(), sample()], size=64, keep_raw=True, attrs={})
    write_sample(store, 0, result)
    write_sample(store, 1, SampleResult(status=FAILED, error="no face found"))

    # the alignment as recorded, and nothing recorded for the failed sample
    transform, landmarks = store["transform"][0], store["landmarks"][0]
    assert store["detect_step"][0] == "scaled" and store["detect_step"][1] == ""
    np.testing.assert_array_equal(store["frame_size"][:], [[480, 640], [-1, -1]])
    assert np.isnan(store["transform"][1]).all() and np.isnan(store["landmarks"][1]).all()
    assert np.abs(landmarks - stage.points).max() < 4.0
    np.testing.assert_allclose(transform, similarity_from_landmarks(landmarks, 64), atol=1e-4)

    # an independent reference from the recorded transform: warp with a constant border,
    # pool with Bilen's weights in time order (TRDI) and by size of change (MIDI)
    warped = np.stack(
        [
            cv2.warpAffine(
                f, transform, (64, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )
            for f in frames
        ]
    ).astype(np.float64)
    alpha = bilen_weights(len(frames))
    trdi = np.tensordot(alpha, warped, axes=1)
    midi = np.tensordot(alpha, warped[np.argsort(np.abs(steps), kind="stable")], axes=1)
    scale = np.abs(trdi).max()
    np.testing.assert_allclose(store["trdi_raw"][0], trdi, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(store["midi_raw"][0], midi, rtol=0, atol=1e-5 * scale)

    # output pixels whose bilinear source lies wholly outside the frame pool to exactly 0
    ys, xs = np.mgrid[0:64, 0:64]
    source = np.stack([xs, ys, np.ones_like(xs)], axis=-1) @ cv2.invertAffineTransform(transform).T
    margin = 1 + 1 / 16  # cv2 rounds source coordinates to 1/32 px
    outside = (
        (source[..., 0] < -margin)
        | (source[..., 0] > 640 - 1 + margin)
        | (source[..., 1] < -margin)
        | (source[..., 1] > 480 - 1 + margin)
    )
    assert outside.mean() > 0.1
    for name in ("trdi_raw", "midi_raw"):
        assert (store[name][0][outside] == 0).all()
        assert np.abs(store[name][0][~outside]).max() > 0.1 * scale  # the band itself moves
    # replicated edge rows would have smeared the band's motion over them
    replicated = np.stack(
        [
            cv2.warpAffine(f, transform, (64, 64), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            for f in frames
        ]
    )
    assert np.abs(np.tensordot(alpha, replicated.astype(np.float64), axes=1)[outside]).max() > 0.1 * scale
