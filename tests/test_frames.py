"""Frames found by number, spans resolved against the disk, damaged files rejected by name."""

import unicodedata

import cv2
import numpy as np
import pytest

from mepipe.errors import SampleError
from mepipe.pipelines import get_recipe
from mepipe.release.frames import check_clip, clip_frames, frame_folder, list_frames, read_clip, read_frame
from mepipe.release.recipe import Sample

casme2, samm = get_recipe("casme2"), get_recipe("samm")
RNG = np.random.default_rng(0)
RAW = "CASME2_RAW_selected"


def _sample(clip="EP02_01f", onset=3, apex=5, offset=8, subject="sub01"):
    return Sample(f"{subject}/{clip}", subject, clip, onset, apex, offset, "happiness", "happiness")


def _folder(root, numbers, clip="EP02_01f", name="img{}.png", variant=RAW):
    folder = root / variant / "sub01" / clip
    folder.mkdir(parents=True)
    images = {}
    for n in numbers:
        images[n] = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        ok, data = cv2.imencode(".png", images[n])
        (folder / name.format(n)).write_bytes(data.tobytes())
    return folder, images


def test_list_frames_sorts_by_number_and_skips_non_frames(tmp_path):
    folder, _ = _folder(tmp_path, [100, 9, 10, 1])
    (folder / "Thumbs.db").write_bytes(b"x")
    (folder / "img11.jpg").mkdir()  # a folder named like a frame is not a frame
    frames = list_frames(folder, casme2)
    assert list(frames) == [1, 9, 10, 100]
    assert frames[10] == folder / "img10.png"


def test_list_frames_errors(tmp_path):
    with pytest.raises(SampleError) as err:
        list_frames(tmp_path / "nope", casme2)
    assert str(err.value) == f"no frame folder {tmp_path / 'nope'}"
    folder, _ = _folder(tmp_path, [4])
    (folder / "reg_img4.jpg").write_bytes(b"x")
    with pytest.raises(SampleError, match="two files for frame 4: "):
        list_frames(folder, casme2)


def test_clip_frames_span(tmp_path):
    folder, _ = _folder(tmp_path, range(1, 12))
    frames = clip_frames(_sample(), casme2, tmp_path / RAW)
    assert frames.folder == folder
    assert frames.numbers == tuple(range(3, 9))
    assert frames.paths == tuple(folder / f"img{n}.png" for n in range(3, 9))
    assert (frames.apex, frames.repairs) == (5, ())


def test_cropped_frame_names(tmp_path):
    folder, _ = _folder(tmp_path, range(3, 9), name="reg_img{}.png", variant="Cropped")
    assert clip_frames(_sample(), casme2, tmp_path / "Cropped").paths[0] == folder / "reg_img3.png"


def test_missing_frame_inside_span(tmp_path):
    folder, _ = _folder(tmp_path, [3, 4, 6, 7, 8])
    with pytest.raises(SampleError) as err:
        clip_frames(_sample(), casme2, tmp_path / RAW)
    assert str(err.value) == f"sub01/EP02_01f: frame 5 missing ({folder / 'img5.jpg'})"


def test_offset_past_last_frame_is_clamped(tmp_path):
    _folder(tmp_path, range(1, 7))
    frames = clip_frames(_sample(apex=7, offset=9), casme2, tmp_path / RAW)
    assert frames.numbers == (3, 4, 5, 6)
    assert frames.apex is None
    assert frames.repairs == (
        "offset 9 beyond the last frame on disk: clamped to 6",
        "apex 7 beyond the clamped offset 6: estimated from peak motion intensity",
    )


def test_clamp_to_one_frame_fails(tmp_path):
    folder, _ = _folder(tmp_path, range(1, 4))
    with pytest.raises(SampleError) as err:
        clip_frames(_sample(apex=None), casme2, tmp_path / RAW)
    assert str(err.value) == (
        f"sub01/EP02_01f: offset 8 beyond the last frame 3 in {folder}; fewer than 2 frames from onset 3"
    )


def test_missing_folder_and_sample_error(tmp_path):
    with pytest.raises(SampleError) as err:
        clip_frames(_sample(), casme2, tmp_path / RAW)
    assert str(err.value) == f"sub01/EP02_01f: no frame folder {tmp_path / 'CASME2_RAW_selected/sub01/EP02_01f'}"
    broken = Sample("a/b", "a", "b", 9, None, 3, "x", "x", error="sheet row 7: onset 9 after offset 3")
    with pytest.raises(SampleError, match="^a/b: sheet row 7: onset 9 after offset 3$"):
        clip_frames(broken, casme2, tmp_path / RAW)


@pytest.mark.parametrize("clip", ["../../etc", "/etc"])
def test_frame_dir_cannot_leave_root(tmp_path, clip):
    root = tmp_path / "release"
    root.mkdir()
    with pytest.raises(SampleError, match="leaves the frames root"):
        clip_frames(Sample(f"006/{clip}", "006", clip, 1, None, 5, "x", "x"), samm, root)


def test_non_ascii_paths(tmp_path):
    root = tmp_path / "données"
    folder, images = _folder(root, range(3, 9), clip="EP_é微")
    frames = clip_frames(_sample(clip="EP_é微"), casme2, root / RAW)
    clip = read_clip(frames.paths, "rgb")
    assert np.array_equal(clip[0], images[3][..., ::-1])


def test_read_frame_colour_and_gray(tmp_path):
    bgr = RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "f.png"), bgr)
    assert np.array_equal(read_frame(tmp_path / "f.png", "rgb"), bgr[..., ::-1])
    gray = read_frame(tmp_path / "f.png", "gray")  # libpng's own weights round differently
    assert gray.shape == (6, 8)
    assert np.abs(gray.astype(int) - cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)).max() <= 1
    single = bgr[..., 0].copy()  # SAMM ships one-channel frames
    cv2.imwrite(str(tmp_path / "g.png"), single)
    assert np.array_equal(read_frame(tmp_path / "g.png", "gray"), single)
    assert np.array_equal(read_frame(tmp_path / "g.png", "rgb"), np.repeat(single[..., None], 3, axis=2))
    cv2.imwrite(str(tmp_path / "f.jpg"), bgr)
    assert np.array_equal(read_frame(tmp_path / "f.jpg", "rgb"), cv2.imread(str(tmp_path / "f.jpg"))[..., ::-1])


def test_read_clip_stacks_frames(tmp_path):
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"{i}.jpg")
        cv2.imwrite(str(paths[-1]), RNG.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    for color in ("rgb", "gray"):
        clip = read_clip(paths, color)
        assert clip.dtype == np.uint8 and clip.shape == ((4, 6, 8, 3) if color == "rgb" else (4, 6, 8))
        assert np.array_equal(clip, np.stack([read_frame(p, color) for p in paths]))
    assert check_clip(paths, "gray") == (8, 6)


def _jpeg(path, shape=(6, 8, 3)):
    cv2.imwrite(str(path), RNG.integers(0, 256, shape, dtype=np.uint8))
    return path


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
        (lambda p: p.write_bytes(p.read_bytes()[:-40]), "truncated JPEG (no end marker)"),
        (
            lambda p: p.write_bytes(b"\xff\xd8" + bytes(range(200)) + b"\xff\xd9"),
            "cannot decode image (corrupt or not an image)",
        ),
        (lambda p: _jpeg(p, (7, 8, 3)), "frame size 8x7 differs from the clip's first frame 8x6"),
    ],
)
def test_damaged_frames_are_named(tmp_path, damage, message):
    paths = [_jpeg(tmp_path / f"img{i}.jpg") for i in range(3)]
    damage(paths[1])
    for reader in (read_clip, check_clip):
        with pytest.raises(SampleError) as err:
            reader(paths, "rgb")
        assert str(err.value) == f"{paths[1]}: {message}"


def test_frame_folder_found_in_either_unicode_form(tmp_path):
    recipe = get_recipe("casme2")
    nfc = unicodedata.normalize("NFC", "EP02_été")
    sample = Sample("sub01/" + nfc, "sub01", nfc, 1, 2, 3, "others", "others")
    on_disk = tmp_path / "CASME2_RAW_selected" / "sub01" / unicodedata.normalize("NFD", nfc)
    on_disk.mkdir(parents=True)
    assert frame_folder(sample, recipe, tmp_path / RAW).is_dir()
    assert frame_folder(sample, recipe, tmp_path / RAW).name == on_disk.name
