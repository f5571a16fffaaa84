"""The build's stages on arrays: span selection, apex estimation, pooled outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mepipe import rankpool
from mepipe.config import BuildConfig
from mepipe.errors import SampleError, UsageError
from mepipe.recipe import Sample
from mepipe.stages import Clip, frames_needed, pool_clip, span_bounds
from mepipe.store import OK


def sample(onset=10, apex=14, offset=20, repair="") -> Sample:
    return Sample("sub01/EP01", "sub01", "EP01", onset, apex, offset, "happiness", "happiness",
                  repair=repair)


def clip_with_peak(onset=10, offset=20, peak=16, apex=14, size=16) -> Clip:
    """A clip whose motion against the onset grows linearly up to ``peak`` then falls."""
    numbers = np.arange(onset, offset + 1)
    frames = np.full((len(numbers), size, size, 3), 100, np.uint8)
    for i, n in enumerate(numbers):
        frames[i, 4:12, 4:12] = 100 + 8 * max(0, peak - onset - abs(n - peak))
    return Clip(numbers, frames, onset, offset, apex, onset_file=Path("img10.jpg"))


@pytest.mark.parametrize("span, expected", [("onset-apex", (10, 14)), ("onset-offset", (10, 20)),
                                            ("apex-offset", (14, 20))])
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
    np.testing.assert_array_equal(result.images["midi"],
                                  rankpool.to_uint8(rankpool.rank_pool(span[order])))
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
    with pytest.raises(SampleError, match=r"span onset-apex holds 1 frame\(s\) \(10..10\); "
                                          "rank pooling needs at least 2"):
        pool_clip(clip, sample(apex=10), BuildConfig("casme2", size=16))


def test_config_validation():
    with pytest.raises(UsageError, match="--span must be one of"):
        BuildConfig("casme2", span="apex-apex")
    config = BuildConfig("casme2")
    assert BuildConfig.from_dict(config.to_dict()) == config
    assert config.differences(BuildConfig("casme2", size=112)) == ["size: 112 vs 224"]


def test_detection_copy_shows_a_typical_face_at_the_requested_size():
    from mepipe.recipe import get_recipe
    from mepipe.stages import detect_side

    casme2, samm = get_recipe("casme2"), get_recipe("samm")
    # CASME-II faces are ~280 px in 640x480 frames: 120 px needs a 274 px long side
    assert detect_side(casme2, (480, 640, 3), 120) == round(640 * 120 / 280)
    # a release synthesised at half scale has half-size faces: same relative copy
    assert detect_side(casme2, (240, 320, 3), 120) == round(320 * 120 / 140)
    assert detect_side(samm, (1088, 2040), 120) == round(2040 * 120 / 400)
    # never up-scaled: faces already small enough are scanned as they are
    assert detect_side(samm, (272, 510), 120) == 510
