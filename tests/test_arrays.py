"""--arrays: flow, strain, sequences and aligned landmarks in a store, added to a finished
store, covered by resume, verify, shards and the readers."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from mepipe._shared.testhook import KILL_AFTER
from mepipe.arrays import IMAGES, derived_arrays, set_names
from mepipe.arrays.sequence import sequence_numbers
from mepipe.build import build
from mepipe.cli import cli
from mepipe.dataset import open_dataset
from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import Clip, pool_clip
from mepipe.errors import MepipeError, UsageError
from mepipe.imaging import align, flow
from mepipe.pipelines import get_recipe
from mepipe.release import frames
from mepipe.release.discover import open_release
from mepipe.release.recipe import Sample
from mepipe.store import OK, SHEET_FIELDS, Alignment, name_clashes
from mepipe.store.verify import verify_store

EVERY = ",".join(set_names())
FLOW = ",".join((*IMAGES, "flow"))
#: the flow every test but those comparing with OpenCV's defaults builds with: 12x cheaper
FAST = "tvl1-fast"


def file_digests(store: str | Path, names) -> dict[str, str]:
    """sha256 of every file under the arrays ``names`` of a store."""
    root = Path(store)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for name in names
        for path in sorted((root / name).rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def every_store(casme2_release, tmp_path_factory) -> str:
    """The small CASME-II release built with every array at size 64."""
    store = str(tmp_path_factory.mktemp("arrays") / "every.zarr")
    build(
        "casme2", casme2_release, store, size=64, progress=False, workers=2, arrays=EVERY, sequence_frames=5, flow=FAST
    )
    return store


def test_new_names_never_shadow_a_field():
    assert name_clashes() == []
    assert "clip" in SHEET_FIELDS and "clip" not in derived_arrays()


def test_unknown_array_is_one_line_listing_the_valid_ones(casme2_release, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--dataset",
            "casme2",
            "--root",
            str(casme2_release),
            "--out",
            str(tmp_path / "x.zarr"),
            "--arrays",
            "trdi,optflow",
        ],
    )
    assert result.exit_code != 0
    assert result.output == (
        "mepipe: error: --arrays: unknown 'optflow'; valid: trdi, midi, onset, apex, flow, "
        "flow_apex_offset, sequence, landmarks_aligned\n"
    )
    with pytest.raises(UsageError, match="names no array"):
        BuildConfig(dataset="casme2", arrays=" , ")


def test_schema_of_every_array(every_store):
    group = zarr.open_group(every_store, mode="r")
    n = group["sample_id"].shape[0]
    expected = {
        "flow": ("float32", (n, 64, 64, 2), ("sample", "y", "x", "component")),
        "strain": ("float32", (n, 64, 64), ("sample", "y", "x")),
        "flow_apex_offset": ("float32", (n, 64, 64, 2), ("sample", "y", "x", "component")),
        "strain_apex_offset": ("float32", (n, 64, 64), ("sample", "y", "x")),
        "sequence": ("uint8", (n, 5, 64, 64, 3), ("sample", "t", "y", "x", "channel")),
        "landmarks_aligned": ("float32", (n, 68, 2), ("sample", "landmark", "xy")),
    }
    for name, (dtype, shape, dims) in expected.items():
        array = group[name]
        assert (str(array.dtype), array.shape, tuple(array.metadata.dimension_names)) == (dtype, shape, dims)
        assert array.chunks == (1, *shape[1:]), name  # one chunk per sample
    attrs = group.attrs["mepipe"]
    assert attrs["config"]["arrays"] == list(set_names()) and attrs["config"]["sequence_frames"] == 5
    assert attrs["flow"] == {"method": FAST, "parameters": flow.flow_parameters(FAST)}
    assert set(group["status"][:]) == {OK}
    assert verify_store(every_store).ok


def test_flow_strain_sequence_and_landmarks_against_references(every_store, casme2_release):
    group = zarr.open_group(every_store, mode="r")
    recipe = get_recipe("casme2")
    release = open_release(recipe, casme2_release)
    for index, sample in enumerate(release.samples):
        found = frames.clip_frames(sample, recipe, Path(release.frame_roots[""]))
        matrix = group["transform"][index]
        onset, apex, offset = (int(group[k][index]) for k in ("onset_index", "apex_index", "offset_index"))
        # the flow of the stored aligned onset and apex, and its strain
        expected = flow.optical_flow(group["onset"][index], group["apex"][index], FAST)
        np.testing.assert_allclose(group["flow"][index], expected, atol=1e-5)
        np.testing.assert_allclose(group["strain"][index], flow.strain(group["flow"][index]), atol=1e-6)
        # the sequence: aligned frames at round(linspace(0, n - 1, T)) of onset..apex
        numbers = [n for n in found.numbers if onset <= n <= apex]
        picked = [numbers[int(k)] for k in np.round(np.linspace(0, len(numbers) - 1, 5))]
        by_number = dict(zip(found.numbers, found.paths))
        sources = [cv2.cvtColor(cv2.imread(str(by_number[n])), cv2.COLOR_BGR2RGB) for n in picked]
        warped = align.warp_clip(np.stack(sources), matrix, 64)
        np.testing.assert_array_equal(group["sequence"][index], warped)
        np.testing.assert_array_equal(group["sequence"][index][0], group["onset"][index])
        np.testing.assert_array_equal(group["sequence"][index][-1], group["apex"][index])
        # the apex -> offset flow, from the aligned apex and offset frame
        last = align.warp_clip(cv2.cvtColor(cv2.imread(str(by_number[offset])), cv2.COLOR_BGR2RGB)[None], matrix, 64)
        np.testing.assert_allclose(
            group["flow_apex_offset"][index], flow.optical_flow(group["apex"][index], last[0], FAST), atol=1e-5
        )
        # landmarks: x' = a x + b y + c, y' = d x + e y + f
        x, y = group["landmarks"][index].astype(np.float64).T
        (a, b, c), (d, e, f) = matrix
        np.testing.assert_allclose(
            group["landmarks_aligned"][index], np.stack([a * x + b * y + c, d * x + e * y + f], axis=1), atol=1e-3
        )


def test_sequence_index_rule():
    # meb / pytorchvideo's uniform subsample; a short span repeats frames
    assert sequence_numbers(np.arange(10, 20), 4).tolist() == [10, 13, 16, 19]
    assert sequence_numbers(np.array([5, 6, 7]), 5).tolist() == [5, 5, 6, 7, 7]  # 0, .5, 1, 1.5, 2 rounded half to even
    assert sequence_numbers(np.array([5]), 3).tolist() == [5, 5, 5]


def test_short_apex_offset_span_keeps_the_rest_and_says_why():
    rng = np.random.default_rng(0)
    aligned = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    alignment = Alignment(np.array([[1.0, 0, 0], [0, 1.0, 0]]), np.zeros((68, 2), np.float32), (32, 32), "scaled")
    clip = Clip(np.array([4, 5, 6]), aligned, 4, 6, 6, onset_file=Path("img4.jpg"), alignment=alignment)
    sample = Sample(sample_id="s/c", subject="s", clip="c", onset=4, apex=6, offset=6, emotion="joy", label="joy")
    config = BuildConfig(dataset="casme2", size=32, arrays=EVERY, sequence_frames=3, flow=FAST)
    result = pool_clip(clip, sample, config)
    assert result.status == OK
    assert np.isnan(result.images["flow_apex_offset"]).all() and np.isnan(result.images["strain_apex_offset"]).all()
    assert np.isfinite(result.images["flow"]).all() and result.images["trdi"].any()
    assert result.repair == "apex->offset span holds 1 frame (6..6): its flow and strain are NaN"
    np.testing.assert_array_equal(result.images["sequence"], aligned)


def test_arrays_added_to_a_finished_store_leave_it_untouched(casme2_store, casme2_release, tmp_path):
    store = tmp_path / "yesterday.zarr"
    shutil.copytree(casme2_store, store)
    group = zarr.open_group(str(store), mode="r")
    kept = [*IMAGES, "checksum", "transform", "status", "repair"]
    before = file_digests(store, kept)
    size = group.attrs["mepipe"]["size"]
    summary = build("casme2", casme2_release, str(store), size=size, progress=False, arrays=FLOW, flow=FAST)
    assert summary.added == summary.total and summary.built == 0 and summary.added_sets == ("flow",)
    assert summary.frames == 2 * summary.total  # only the onset and the apex were decoded
    assert file_digests(store, kept) == before
    assert verify_store(str(store)).ok
    group = zarr.open_group(str(store), mode="r")
    assert np.isfinite(group["flow"][:]).all() and (group["checksum_flow"][:] != "").all()
    assert group.attrs["mepipe"]["added"]["flow"]["version"]
    # the same arrays as a store built with flow from the start
    fresh = tmp_path / "fresh.zarr"
    build("casme2", casme2_release, str(fresh), size=size, progress=False, arrays=FLOW, flow=FAST)
    fresh_group = zarr.open_group(str(fresh), mode="r")
    for name in (*IMAGES, "flow", "strain", "checksum", "checksum_flow"):
        np.testing.assert_array_equal(group[name][:], fresh_group[name][:], err_msg=name)
    # a rerun adds nothing; dropping an array is refused in one line
    again = build("casme2", casme2_release, str(store), size=size, progress=False, arrays=FLOW, flow=FAST)
    assert again.built == again.added == 0
    with pytest.raises(MepipeError) as caught:
        build("casme2", casme2_release, str(store), size=size, progress=False)
    assert str(caught.value) == (
        f"{store} holds flow, which --arrays trdi,midi,onset,apex leaves out; a build never removes arrays: "
        "pass --arrays trdi,midi,onset,apex,flow to keep them, or --overwrite to rebuild the store without them"
    )


def test_default_flow_of_a_store_is_opencvs_default_tvl1(casme2_store, casme2_release, tmp_path):
    """The stored default flow, on the stored aligned onset and apex, against OpenCV's defaults."""
    store = tmp_path / "default.zarr"
    shutil.copytree(casme2_store, store)
    build("casme2", casme2_release, str(store), size=64, progress=False, arrays=FLOW)
    group = zarr.open_group(str(store), mode="r")
    assert group.attrs["mepipe"]["flow"] == {"method": "tvl1", "parameters": flow.flow_parameters("tvl1")}
    opencv = cv2.optflow.DualTVL1OpticalFlow_create()
    for index in range(group["status"].shape[0]):
        gray = [cv2.cvtColor(group[name][index], cv2.COLOR_RGB2GRAY) for name in ("onset", "apex")]
        reference = opencv.calc(gray[0], gray[1], None)
        np.testing.assert_allclose(group["flow"][index], reference, atol=1e-5)
        np.testing.assert_allclose(group["strain"][index], flow.strain(reference), atol=1e-5)


def _as_written_before_tvl1_fast(store: Path, parameters: bool) -> None:
    """Rewrite a tvl1-fast store's attributes as mepipe wrote them before that name: the fast
    setting called ``tvl1``, with its parameters recorded or (older still) without."""
    group = zarr.open_group(str(store), mode="r+", use_consolidated=False)
    attrs = dict(group.attrs["mepipe"])
    attrs["config"] = {**attrs["config"], "flow": "tvl1"}
    if parameters:
        attrs["flow"] = {"method": "tvl1", "parameters": attrs["flow"]["parameters"]}
    else:
        del attrs["flow"]
    group.attrs["mepipe"] = attrs


@pytest.mark.parametrize("parameters", [True, False], ids=["params-recorded", "no-params"])
def test_stores_of_before_read_as_tvl1_fast_and_never_mix_two_flows(casme2_store, casme2_release, tmp_path, parameters):
    store = tmp_path / "old.zarr"
    shutil.copytree(casme2_store, store)
    build("casme2", casme2_release, str(store), size=64, progress=False, arrays=FLOW, flow=FAST)
    _as_written_before_tvl1_fast(store, parameters)
    # resumed as tvl1-fast: nothing to do
    again = build("casme2", casme2_release, str(store), size=64, progress=False, arrays=FLOW, flow=FAST)
    assert again.built == again.added == 0
    # the default flow (OpenCV's defaults) is refused in one line, resumed or added
    for arrays in (FLOW, f"{FLOW},flow_apex_offset"):
        with pytest.raises(MepipeError) as caught:
            build("casme2", casme2_release, str(store), size=64, progress=False, arrays=arrays)
        assert str(caught.value) == (
            f"{store} was built with flow='tvl1-fast'; this build asks flow='tvl1'; "
            "rerun with --overwrite to replace it, or choose another --out"
        )
    # parameters that are no method's
    group = zarr.open_group(str(store), mode="r+", use_consolidated=False)
    attrs = dict(group.attrs["mepipe"])
    attrs["flow"] = {"method": "tvl1", "parameters": {**flow.flow_parameters("tvl1"), "warps": 4}}
    group.attrs["mepipe"] = attrs
    with pytest.raises(MepipeError) as caught:
        build("casme2", casme2_release, str(store), size=64, progress=False, arrays=FLOW, flow=FAST)
    assert str(caught.value).startswith(f"{store} holds flow made with parameters no --flow method uses (tvl1: ")
    assert "\n" not in str(caught.value)


def test_verify_and_resume_cover_the_added_arrays(casme2_store, casme2_release, tmp_path):
    store = tmp_path / "s.zarr"
    shutil.copytree(casme2_store, store)
    size = zarr.open_group(str(store), mode="r").attrs["mepipe"]["size"]
    build("casme2", casme2_release, str(store), size=size, progress=False, arrays=FLOW, flow=FAST)
    reference = zarr.open_group(str(store), mode="r")["flow"][:]
    # damaged flow: reported by verify, rebuilt by the next build
    chunk = store / "flow" / "c" / "1" / "0" / "0" / "0"
    chunk.write_bytes(b"\0" * 16)
    report = verify_store(str(store))
    assert [(i, reason.split(":")[0]) for i, _, reason in report.damaged] == [(1, "unreadable chunk")]
    # an add interrupted before its checksums were written: verify names it, a build adds it
    group = zarr.open_group(str(store), mode="r+", use_consolidated=False)
    group["checksum_flow"][2] = ""
    report = verify_store(str(store))
    assert (2, "flow: not built yet (a build adding them was interrupted; rerun it)") in [
        (i, reason) for i, _, reason in report.damaged
    ]
    summary = build("casme2", casme2_release, str(store), size=size, progress=False, arrays=FLOW, flow=FAST)
    assert (summary.repaired_damage, summary.added) == (1, 1)
    assert verify_store(str(store)).ok
    np.testing.assert_array_equal(zarr.open_group(str(store), mode="r")["flow"][:], reference)


def test_shards_compaction_and_consolidated_metadata_cover_the_new_arrays(casme2_release, tmp_path):
    store = tmp_path / "sharded.zarr"
    release = casme2_release
    build("casme2", release, str(store), size=64, progress=False, shard=4)
    before = file_digests(store, IMAGES)
    build("casme2", release, str(store), size=64, progress=False, shard=4, arrays=FLOW + ",sequence", flow=FAST)
    assert file_digests(store, IMAGES) == before  # the images were not even rewritten
    group = zarr.open_consolidated(str(store), mode="r")
    n = group["sample_id"].shape[0]
    for name in ("flow", "strain", "sequence"):
        assert group[name].shards[0] == 4 and group[name].chunks[0] == 1, name
        assert len(list((store / name / "c").iterdir())) == -(-n // 4), name  # one file per shard
    assert group["checksum_sequence"].chunks == (n,)
    assert verify_store(str(store)).ok
    ds = open_dataset(str(store))
    assert ds["flow"].dims == ("sample", "y", "x", "component")
    assert ds["sequence"].dims == ("sample", "t", "y", "x", "channel")


def test_killed_add_resumes(casme2_store, casme2_release, tmp_path):
    store = tmp_path / "killed.zarr"
    shutil.copytree(casme2_store, store)
    command = [
        sys.executable, "-m", "mepipe", "build", "--dataset", "casme2", "--root", str(casme2_release),
        "--out", str(store), "--size", "64", "--workers", "1", "--quiet", "--arrays", FLOW + ",sequence", "--flow", FAST,
    ]  # fmt: skip
    # killed (SIGKILL, by the build itself) once the first sample's new arrays are committed
    killed = subprocess.run(command, env={**os.environ, KILL_AFTER: "1"}, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    group = zarr.open_group(str(store), mode="r", use_consolidated=False)
    done = (group["checksum_flow"][:] != "") & (group["checksum_sequence"][:] != "")
    assert done.sum() == 1 and len(done) > 1
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"to {len(done) - done.sum()} samples (what they held untouched)" in result.stdout
    assert verify_store(str(store)).ok


def test_readers_serve_the_new_arrays(every_store):
    torch = pytest.importorskip("torch")
    from mepipe.dataset import TorchDataset

    ds = open_dataset(every_store)
    assert ds["strain"].dims == ("sample", "y", "x")
    assert ds["landmarks_aligned"].dims == ("sample", "landmark", "xy")
    arrays = ("flow", "strain", "sequence", "landmarks_aligned", "trdi")
    item = TorchDataset(every_store, arrays=arrays)[0]
    assert item["flow"].shape == (2, 64, 64) and item["flow"].dtype == torch.float32
    assert item["strain"].shape == (1, 64, 64)
    assert item["sequence"].shape == (3, 5, 64, 64) and item["sequence"].dtype == torch.uint8
    assert item["landmarks_aligned"].shape == (68, 2)
    np.testing.assert_array_equal(item["flow"].numpy(), np.moveaxis(ds["flow"][0].values, -1, 0))
    text = CliRunner().invoke(cli, ["inspect", every_store]).output
    assert "  flow                     float32  (9, 64, 64, 2) (sample, y, x, component)" in text
    assert "  sequence                 uint8    (9, 5, 64, 64, 3) (sample, t, y, x, channel)" in text


def test_ststnet_export_reads_back_as_their_loaders_read_it(every_store, tmp_path):
    from mepipe.dataset.export import export
    from mepipe.dataset.ststnet import ststnet_image
    from tests.test_ststnet import _check_both_loaders, read_as_htnet

    group = zarr.open_group(every_store, mode="r")
    ids = [str(s) for s in group["sample_id"][:]]
    for framing in ("published", "store"):
        out = tmp_path / framing
        summary = export(every_store, out, "ststnet", classes="3", progress=False, framing=framing)
        table = {r["sample_id"]: r for r in _read_csv(out / "samples.csv")}
        assert summary.exported == len(table) > 0
        _check_both_loaders(out, sorted({r["subject"] for r in table.values()}))
        maps = read_as_htnet(out)
        for sample_id, row in table.items():
            index = ids.index(sample_id)
            name = f"{row['subject']}_{row['clip']} .png"  # CASME-II's names are the published ones
            geometry = [group[k][index] for k in ("landmarks", "transform", "frame_size")]
            expected = ststnet_image(group["flow"][index], group["strain"][index], *geometry, framing=framing)
            np.testing.assert_array_equal(maps[name][1], cv2.cvtColor(expected, cv2.COLOR_RGB2BGR))
        assert json.loads((out / "export.json").read_text())["ststnet"]["framing"] == framing


def test_published_framing_of_the_apex_crops_as_dlib_finds_it(every_store, tmp_path):
    """The exported 224 px apex crops: eye centres 0.45-0.58 of the side apart, as published."""
    from mepipe.dataset.export import export

    out = tmp_path / "x"
    export(every_store, out, "ststnet", classes="3", progress=False)
    finder = align.aligner()
    shares = []
    for path in sorted((out / "combined_datasets_whole").iterdir()):
        points = finder.landmarks(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
        shares.append(np.hypot(*(points[42:48].mean(axis=0) - points[36:42].mean(axis=0))) / 224)
    assert shares and all(0.45 <= s <= 0.58 for s in shares), shares


def test_npz_export_carries_every_array(every_store, tmp_path):
    from mepipe.dataset.export import export

    export(every_store, tmp_path / "npz", "npz", progress=False)
    group = zarr.open_group(every_store, mode="r")
    for name in (*IMAGES, *derived_arrays()):
        archive = np.load(tmp_path / "npz" / f"{name}.npz")
        np.testing.assert_array_equal(archive["images"], group[name][:], err_msg=name)


def test_ststnet_export_needs_flow(casme2_store, tmp_path):
    from mepipe.dataset.export import export

    with pytest.raises(UsageError) as caught:
        export(casme2_store, tmp_path / "x", "ststnet", progress=False)
    assert str(caught.value) == (
        f"--format ststnet: {casme2_store} holds no flow; add it with mepipe build ... --arrays "
        "trdi,midi,onset,apex,flow (only the flow is computed)"
    )


def _read_csv(path) -> list[dict]:
    import csv

    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def deformed_release(tmp_path_factory):
    """A CASME-II release of one clip whose frames are the packaged face deformed by a
    known field (tests/deform.py): a sub-pixel shift plus a 2 px bump at 224 px, growing
    from onset to apex and held to the offset. PNG frames: no JPEG loss in the truth."""
    from mepipe.synth import synthesize
    from tests.deform import face_clip

    root = tmp_path_factory.mktemp("deformed")
    synthesize("casme2", root, subjects=1, clips_per_subject=1, scale=1.0, seed=5, progress=False)
    recipe = get_recipe("casme2")
    release = open_release(recipe, root)
    sample = release.samples[0]
    folder = frames.frame_folder(sample, recipe, Path(release.frame_roots[""]))
    for path in folder.iterdir():
        path.unlink()
    steps = sample.apex - sample.onset
    clip = face_clip(n_frames=steps + 1, bump=2.0, shift=(0.3, -0.2))
    for number in range(sample.onset, sample.offset + 1):
        frame = clip.frames[min(number - sample.onset, steps)]
        cv2.imwrite(str(folder / f"img{number}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return root, clip, steps


@pytest.mark.parametrize("method", ["tvl1", "dis"])
def test_stored_flow_is_accurate_on_a_deformed_real_face(deformed_release, tmp_path, method):
    from tests.deform import output_flow

    root, clip, steps = deformed_release
    store = str(tmp_path / "face.zarr")
    build("casme2", root, store, size=224, progress=False, arrays=FLOW, flow=method)
    group = zarr.open_group(store, mode="r")
    assert group["status"][0] == OK, group["error"][0]
    stored, matrix = group["flow"][0], group["transform"][0]
    truth = output_flow(clip.true_flow, matrix, 224, t=steps)
    face = np.zeros((224, 224), np.uint8)
    # the face: inside the hull of the true landmarks, in output pixels
    points = (clip.points @ matrix[:, :2].T + matrix[:, 2]).astype(np.int32)
    cv2.fillConvexPoly(face, cv2.convexHull(points), 1)
    face = face.astype(bool)
    epe = np.hypot(*(stored - truth).transpose(2, 0, 1))
    assert epe[face].mean() < 0.15, epe[face].mean()
    # the bump: its displacement (over the global shift) at its centre, within 20 %
    linear = matrix[:, :2]
    centre = clip.centre @ linear.T + matrix[:, 2]
    far = clip.true_flow(np.array([-1e4, -1e4]), steps) @ linear.T  # the shift alone
    x, y = np.round(centre).astype(int)
    bump_true = truth[y, x] - far
    bump_got = stored[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 2).mean(axis=0) - far
    assert np.hypot(*(bump_got - bump_true)) < 0.2 * np.hypot(*bump_true), (bump_got, bump_true)
    # strain peaks at the bump: within two bump widths of its centre
    strain = cv2.GaussianBlur(group["strain"][0], (0, 0), 2.0)
    peak = np.unravel_index(np.argmax(np.where(face, strain, 0)), strain.shape)
    sigma = clip.sigma * np.hypot(*linear[0])
    assert np.hypot(peak[1] - centre[0], peak[0] - centre[1]) < 2 * sigma, (peak, centre, sigma)


def test_flow_pictures_and_the_report_page(every_store, tmp_path):
    from mepipe.imaging.flowcolor import flow_key, flow_picture, strain_picture
    from mepipe.report.page import write_report

    # hue turns with the direction, brightness follows the magnitude, NaN is black
    field = np.zeros((2, 3, 2), np.float32)
    field[0, 0], field[0, 1], field[0, 2] = (2, 0), (1, 0), (0, 2)  # right, right at half, down
    field[1, 0], field[1, 1], field[1, 2] = (-2, 0), (0, -2), (np.nan, np.nan)  # left, up, none
    picture, top = flow_picture(field)
    hsv = cv2.cvtColor(picture, cv2.COLOR_RGB2HSV).astype(int)
    assert top == 2.0
    assert picture[0, 0].tolist() == [255, 0, 0]  # right: red at full brightness
    assert abs(hsv[0, 1, 2] - 128) <= 1 and hsv[0, 1, 0] == 0  # half the magnitude: half as bright
    assert [hsv[0, 2, 0], hsv[1, 0, 0], hsv[1, 1, 0]] == [45, 90, 135]  # down, left, up: 90, 180, 270 degrees
    assert picture[1, 2].tolist() == [0, 0, 0]
    key = flow_key(33)
    assert key[16, 32].tolist() == [255, 0, 0] and key[0, 0].tolist() == [255, 255, 255]
    heat, peak = strain_picture(np.array([[0.0, 0.5], [1.0, np.nan]], np.float32))
    assert peak == pytest.approx(np.percentile([0, 0.5, 1, 0], 99))
    half = round(255 * 0.5 / peak)
    inferno = cv2.applyColorMap(np.array([[0, half, 255]], np.uint8), cv2.COLORMAP_INFERNO)[0, :, ::-1]
    assert heat[0, 0].tolist() == heat[1, 1].tolist() == inferno[0].tolist()  # 0 and NaN
    assert heat[0, 1].tolist() == inferno[1].tolist() and heat[1, 0].tolist() == inferno[2].tolist()

    page = write_report(every_store, tmp_path / "report", progress=False)
    html = page.read_text()
    n = zarr.open_group(every_store, mode="r")["sample_id"].shape[0]
    for name in ("flow", "strain"):
        assert len(list((tmp_path / "report" / "thumbs").glob(f"*_{name}.jpg"))) == n
        assert f"<th>{name}</th>" in html
    assert "<th>MIDI</th><th>flow</th><th>strain</th>" in html
    assert (tmp_path / "report" / "thumbs" / "flow_key.png").is_file() and "Flow key" in html
    assert 'title="onset-&gt;apex flow, full brightness (99th percentile) = ' in html


def test_gray_store_with_flow_and_sequences(samm_release, tmp_path):
    store = str(tmp_path / "samm.zarr")
    build(
        "samm",
        samm_release,
        store,
        size=32,
        gray=True,
        progress=False,
        arrays=f"{FLOW},sequence",
        sequence_frames=3,
        flow=FAST,
    )
    group = zarr.open_group(store, mode="r")
    n = group["sample_id"].shape[0]
    assert set(group["status"][:]) == {OK}, group["error"][:]
    assert group["flow"].shape == (n, 32, 32, 2) and group["sequence"].shape == (n, 3, 32, 32, 1)
    np.testing.assert_allclose(
        group["flow"][0], flow.optical_flow(group["onset"][0][..., 0], group["apex"][0][..., 0], FAST), atol=1e-5
    )
    assert verify_store(store).ok


def test_a_sample_ending_at_its_apex_keeps_its_arrays_and_says_why(casme2_release, tmp_path):
    root = tmp_path / "release"
    shutil.copytree(casme2_release, root)
    recipe = get_recipe("casme2")
    sheet = recipe.find_sheet(root)
    samples = recipe.read(sheet)
    short = next(i for i, s in enumerate(samples) if s.apex is not None and s.apex > s.onset)
    samples[short] = replace(samples[short], offset=samples[short].apex, extra={})  # written from its fields
    recipe.write_sheet(samples, sheet)
    store = str(tmp_path / "short.zarr")
    build("casme2", root, store, size=32, progress=False, arrays=f"{FLOW},flow_apex_offset", flow=FAST)
    group = zarr.open_group(store, mode="r")
    assert set(group["status"][:]) == {OK}
    assert np.isnan(group["flow_apex_offset"][short]).all() and np.isnan(group["strain_apex_offset"][short]).all()
    assert np.isfinite(group["flow"][short]).all() and group["trdi"][short].any()
    apex = samples[short].apex
    assert (
        str(group["repair"][short]) == f"apex->offset span holds 1 frame ({apex}..{apex}): its flow and strain are NaN"
    )
    others = [i for i in range(len(samples)) if i != short]
    assert np.isfinite(group["flow_apex_offset"].oindex[others]).all()
    assert verify_store(store).ok


def test_cli_exports_ststnet_and_npz(every_store, tmp_path):
    outputs = {}
    for fmt in ("ststnet", "npz"):
        result = CliRunner().invoke(
            cli, ["export", every_store, "--out", str(tmp_path / fmt), "--format", fmt, "--quiet"]
        )
        assert result.exit_code == 0, result.output
        outputs[fmt] = result.output
    assert outputs["ststnet"].startswith("exported 9 samples (flow, strain) as ststnet to ")
    held = sorted(p.name for p in (tmp_path / "npz").glob("*.npz"))
    assert held == sorted(f"{name}.npz" for name in (*IMAGES, *derived_arrays()))
