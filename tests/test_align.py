"""Onset-anchored alignment, with real dlib on a real photograph (mepipe/data/astronaut.png)."""

import json
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest

from mepipe.errors import MepipeError, SampleError
from mepipe.imaging import align

DATA = Path(str(resources.files("mepipe").joinpath("data")))
FACE_CENTRE = (220.0, 121.0)  # centre of the stored face box (175, 76)-(265, 166)
SIZE = 224


def _apply(matrix, points):
    return np.asarray(points, float) @ matrix[:, :2].T + matrix[:, 2]


def _eye_centres(points):
    """Ground-truth eye centres, image-left first (a mirror swaps which eye that is)."""
    eyes = np.stack([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])
    return eyes[np.argsort(eyes[:, 0])]


@pytest.fixture(scope="module")
def photo():
    return cv2.cvtColor(cv2.imread(str(DATA / "astronaut.png")), cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def truth():
    return np.array(json.loads((DATA / "astronaut_landmarks.json").read_text())["points"], float)


def place(photo, truth, angle, scale, target, canvas, mirror=False, gray=False):
    """The photo's top (the real face; the HOG detector's false hit lies below y=335)
    rotated, scaled and moved to ``target`` on a mid-gray canvas; returns the image and
    the known ground-truth landmarks in it."""
    crop, points = photo[:300], truth.copy()
    if mirror:
        crop = crop[:, ::-1]
        points[:, 0] = crop.shape[1] - 1 - points[:, 0]
    centre = (crop.shape[1] - 1 - FACE_CENTRE[0], FACE_CENTRE[1]) if mirror else FACE_CENTRE
    matrix = cv2.getRotationMatrix2D(centre, angle, scale)
    matrix[:, 2] += np.subtract(target, centre)
    if gray:
        crop = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    image = cv2.warpAffine(np.ascontiguousarray(crop), matrix, canvas, borderValue=(128, 128, 128))
    return image, _apply(matrix, points)


RGB, SAMM = (1280, 960), (2040, 1088)
PLACEMENTS = {
    "rgb-rot7-x1.6": dict(angle=7, scale=1.6, target=(700, 520), canvas=RGB),
    "rgb-mirror-rot-12": dict(angle=-12, scale=1.3, target=(400, 300), canvas=RGB, mirror=True),
    "rgb-small-rot3": dict(angle=3, scale=0.9, target=(300, 260), canvas=(640, 480)),
    "samm-gray-rot-5-x3.5": dict(angle=-5, scale=3.5, target=(1100, 560), canvas=SAMM, gray=True),
    "samm-gray-mirror-rot10-x3": dict(angle=10, scale=3.0, target=(800, 500), canvas=SAMM, gray=True, mirror=True),
}


@pytest.fixture(scope="module")
def placed(photo, truth):
    """Each placement's image, true landmarks and detection, detected once per module."""
    results = {}
    for name, spec in PLACEMENTS.items():
        image, points = place(photo, truth, **spec)
        results[name] = (image, points, align.aligner(SIZE).detect(image))
    return results


def test_model_path_finds_the_shipped_model_and_names_a_missing_one():
    assert align.model_path().stat().st_size > 50_000_000
    with pytest.raises(MepipeError, match="no_such_model.dat") as caught:
        align.model_path("no_such_model.dat")
    assert "\n" not in str(caught.value)


def test_landmarks_on_the_photograph_match_the_stored_ones(photo, truth):
    found = align.aligner(SIZE).landmarks(photo)
    assert found.shape == (68, 2) and found.dtype == np.float64
    assert np.abs(found - truth).max() <= 2.0


def test_canonical_layout_keeps_the_whole_face_inside(truth):
    aligned = _apply(align.similarity_from_landmarks(truth, SIZE), truth)
    assert aligned.min() > 0.05 * SIZE and aligned.max() < 0.95 * SIZE
    left, right, mouth = align.canonical_points(SIZE)
    assert left[1] == right[1] < mouth[1] and left[0] < mouth[0] < right[0]


@pytest.mark.parametrize("angle, scale, shift, mirror", [(25, 2.5, (40, -300), False), (-40, 0.3, (7, 9), True)])
def test_similarity_cancels_any_placement_of_the_landmarks(truth, angle, scale, shift, mirror):
    points = truth * [-1, 1] if mirror else truth
    placement = cv2.getRotationMatrix2D((0, 0), angle, scale)
    placement[:, 2] = shift
    direct = align.similarity_from_landmarks(points, SIZE)
    placed = align.similarity_from_landmarks(_apply(placement, points), SIZE)
    composed = placed[:, :2] @ placement
    composed[:, 2] += placed[:, 2]
    np.testing.assert_allclose(composed, direct, atol=1e-9)


def test_scale_follows_the_less_foreshortened_distance(truth):
    # squashing the face sideways (a turned head) must not shrink the eye-to-mouth span
    squashed = truth.copy()
    centre_x = truth[:, 0].mean()
    squashed[:, 0] = centre_x + 0.5 * (truth[:, 0] - centre_x)
    matrix = align.similarity_from_landmarks(squashed, SIZE)
    left, right, mouth = _apply(
        matrix, [squashed[36:42].mean(0), squashed[42:48].mean(0), (squashed[48] + squashed[54]) / 2]
    )
    c_left, c_right, c_mouth = align.canonical_points(SIZE)
    span = np.hypot(*(mouth - (left + right) / 2))
    assert span == pytest.approx(np.hypot(*(c_mouth - (c_left + c_right) / 2)))
    assert np.hypot(*(right - left)) < 0.9 * np.hypot(*(c_right - c_left))


@pytest.mark.parametrize("name", PLACEMENTS)
def test_known_placement_puts_true_eyes_on_the_canonical_spots(placed, name):
    image, points, face = placed[name]
    assert face["step"] == "scaled"
    eyes = _apply(align.similarity_from_landmarks(face["landmarks"], SIZE), _eye_centres(points))
    tilt = np.degrees(np.arctan2(*(eyes[1] - eyes[0])[::-1]))
    assert abs(tilt) < 1.0
    assert np.linalg.norm(eyes - align.canonical_points(SIZE)[:2], axis=1).max() < 2.0


def test_one_transform_for_the_whole_clip(placed):
    image, _, face = placed["rgb-small-rot3"]
    # later frames: the first shifted right by 1 and 2 px (a drifting head)
    frames = np.stack([np.roll(image, shift, axis=1) for shift in (0, 1, 2)])
    aligned, info = align.align_clip(frames, size=SIZE)
    np.testing.assert_array_equal(info["landmarks"], face["landmarks"])
    matrix = align.similarity_from_landmarks(face["landmarks"], SIZE)
    np.testing.assert_allclose(info["matrix"], matrix)
    inner = (slice(20, -20), slice(20, -20))
    for shift in (1, 2):
        # frame t is frame 0 moved by t px, so warping it by M is warping frame 0 by M o shift
        moved = info["matrix"] @ np.array([[1, 0, shift], [0, 1, 0], [0, 0, 1]], float)
        expected = cv2.warpAffine(image, moved, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        difference = np.abs(aligned[shift].astype(int) - expected)[inner]
        assert difference.max() <= 1
        # re-detecting per frame would have cancelled the shift
        assert np.abs(aligned[shift].astype(int) - aligned[0])[inner].mean() > 1.0


def test_reference_frame_chooses_where_the_face_is_found(placed):
    image, _, face = placed["rgb-small-rot3"]
    frames = [image, np.roll(image, 5, axis=0)]
    _, info = align.align_clip(frames, size=SIZE, reference=1)
    np.testing.assert_allclose(info["landmarks"], face["landmarks"] + [0, 5], atol=1.0)


def test_the_largest_face_is_the_subject(photo, truth):
    image, points = place(photo, truth, angle=0, scale=2.0, target=(1100, 360), canvas=(1600, 720))
    image[420:720, :512] = photo[:300]  # the same face at half the size, bottom left
    found = align.aligner(SIZE).landmarks(image)
    assert np.linalg.norm(found - points, axis=1).mean() < 2.0


@pytest.mark.parametrize("kind", ["uniform", "noise"])
def test_no_face_is_a_one_line_sample_error(kind):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (480, 640, 3), np.uint8)
    if kind == "uniform":
        image[:] = 128
    with pytest.raises(SampleError, match="no face found") as caught:
        align.align_clip(image[None])
    assert "\n" not in str(caught.value)


def test_unsupported_frame_is_a_sample_error(photo):
    with pytest.raises(SampleError, match="uint8"):
        align.aligner().landmarks(photo.astype(np.float32))


def test_threads_give_the_serial_results_without_crashing(placed):
    names = list(PLACEMENTS)[:4]

    def work(name):
        return align.aligner(SIZE).landmarks(placed[name][0]), id(align.aligner(SIZE))

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, names))
    for name, (points, _) in zip(names, results):
        np.testing.assert_array_equal(points, placed[name][2]["landmarks"])
    assert len({ident for _, ident in results}) > 1


def test_gray_frames_become_three_identical_channels_or_one(placed):
    image, _, face = placed["samm-gray-rot-5-x3.5"]
    frames = np.stack([image, image[::-1]])
    matrix = align.similarity_from_landmarks(face["landmarks"], SIZE)
    rgb = align.warp_clip(frames, matrix, SIZE)
    assert rgb.shape == (2, SIZE, SIZE, 3) and rgb.dtype == np.uint8
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    single = align.warp_clip(frames[..., None], matrix, SIZE, gray=True)
    assert single.shape == (2, SIZE, SIZE, 1)
    np.testing.assert_array_equal(single[..., 0], rgb[..., 0])
    assert not np.array_equal(rgb[0], rgb[1])


def test_rgb_frames_warp_into_a_preallocated_output(placed):
    image, _, face = placed["rgb-small-rot3"]
    matrix = align.similarity_from_landmarks(face["landmarks"], SIZE)
    out = np.zeros((1, SIZE, SIZE, 3), np.uint8)
    assert align.warp_clip(image[None], matrix, SIZE, out=out) is out
    expected = cv2.warpAffine(image, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(out[0], expected)
    gray = align.warp_clip(image[None], matrix, SIZE, gray=True)
    np.testing.assert_array_equal(gray[0, :, :, 0], cv2.cvtColor(expected, cv2.COLOR_RGB2GRAY))


@pytest.mark.parametrize("size", [224, 64])
def test_landmarks_of_an_aligned_frame_need_no_detection(photo, truth, size):
    """The canonical box puts the predictor on the aligned face: it finds the photo's true
    landmarks, and a shift of the image shifts them by as much."""
    matrix = align.similarity_from_landmarks(truth, size)
    aligned = align.warp_clip(photo[None], matrix, size)[0]
    found = align.aligned_landmarks(aligned)
    expected = _apply(matrix, truth)
    assert np.mean(np.hypot(*(found - expected).T)) < 0.01 * size
    moved = cv2.warpAffine(
        aligned, np.float64([[1, 0, 0.05 * size], [0, 1, 0]]), (size, size), borderMode=cv2.BORDER_REPLICATE
    )
    shift = (align.aligned_landmarks(moved) - found).mean(axis=0)
    np.testing.assert_allclose(shift, [0.05 * size, 0], atol=0.003 * size)


@pytest.mark.parametrize("gray", [False, True])
def test_warping_bgr_frames_gives_the_bytes_of_warping_rgb_ones(photo, gray):
    # the build warps frames as OpenCV decodes them (BGR) and swaps the small output
    matrix = np.array([[0.83, 0.12, -40.3], [-0.12, 0.83, 15.7]])
    frames = np.stack([photo, photo[::-1].copy()])
    bgr = np.ascontiguousarray(frames[..., ::-1])
    expected = align.warp_clip(frames, matrix, 96, gray=gray)
    np.testing.assert_array_equal(align.warp_clip(bgr, matrix, 96, gray=gray, bgr=True), expected)


def test_the_packaged_detector_is_dlibs_own():
    # loaded from a file for speed; it must stay the detector dlib builds
    import pickle

    import dlib

    packaged = dlib.fhog_object_detector(str(align.DETECTOR))
    assert pickle.dumps(packaged) == pickle.dumps(dlib.get_frontal_face_detector())


def test_threads_share_one_predictor_and_find_the_same_landmarks(photo):
    image = photo[:335]
    serial = align.FaceAligner(SIZE).detect(image)["landmarks"]
    with ThreadPoolExecutor(4) as pool:
        found = list(
            pool.map(lambda _: (align.FaceAligner(SIZE).detect(image)["landmarks"], align._predictor()), range(8))
        )
    for landmarks, predictor in found:
        np.testing.assert_array_equal(landmarks, serial)
        assert predictor is align._predictor()


@pytest.mark.parametrize("gray", [False, True])
@pytest.mark.parametrize("bgr", [False, True])
@pytest.mark.parametrize("size", [32, 224])  # a 4th channel pays at 224 px, not at 32
def test_colour_frames_warp_to_the_bytes_of_a_three_channel_warp(photo, gray, bgr, size):
    # warp_clip may pad colour frames to 4 channels (OpenCV vectorises those); the
    # reference is the plain 3-channel warp of the RGB frame, converted as asked
    assert align._four_channels_pay(photo.shape, size) == (size == 224)
    rng = np.random.default_rng(size)
    frames = np.stack([photo, photo[::-1], rng.integers(0, 256, photo.shape, dtype=np.uint8)])
    source = np.ascontiguousarray(frames[..., ::-1]) if bgr else frames
    for angle in (-0.3, 0.1):
        scale = 1.7 * size / photo.shape[1]
        cos, sin = scale * np.cos(angle), scale * np.sin(angle)
        matrix = np.array([[cos, sin, -0.2 * size], [-sin, cos, 0.1 * size]])
        got = align.warp_clip(source, matrix, size, gray=gray, bgr=bgr)
        for frame, warped in zip(frames, got):
            expected = cv2.warpAffine(
                frame, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
            )
            if gray:
                expected = cv2.cvtColor(expected, cv2.COLOR_RGB2GRAY)[..., None]
            np.testing.assert_array_equal(warped, expected)
