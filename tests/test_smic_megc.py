"""SMIC-HS (labels from folder names) and the MEGC 2019 composite over three releases."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from mepipe.build import build
from mepipe.cli import cli
from mepipe.engine.config import BuildConfig
from mepipe.errors import MepipeError, UsageError
from mepipe.pipelines import get_recipe
from mepipe.release.discover import open_release
from mepipe.release.labels import megc2019_rows
from mepipe.release.recipe import Sample
from mepipe.store import OK
from mepipe.synth import synthesize

ANNOTATIONS = Path(__file__).parent / "data" / "annotations"
smic, megc = get_recipe("smic"), get_recipe("megc2019")
CODES = {"ne": "negative", "po": "positive", "sur": "surprise"}


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _smic_folders(hs: Path, rows, frames=(1, 2)) -> None:
    """SMIC-HS clip folders in the release's own spelling (``s1``, ``s1_ne_01``) with
    placeholder frame files: listing needs only their names."""
    for _, subject, clip, _ in rows:
        number = int(subject[1:])
        folder = hs / f"s{number}" / "micro" / CODES[clip.split("_")[1]] / f"s{number}_{clip.split('_', 1)[1]}"
        folder.mkdir(parents=True)
        for n in frames:
            (folder / f"image{n:06d}.jpg").write_bytes(b"")


def test_smic_names_spelling_and_middle_apex(tmp_path):
    hs = tmp_path / "SMIC_all_raw" / "HS"
    _smic_folders(hs, [("smic", "s03", "s03_sur_02", 2)], frames=(90823, 90824, 90825, 90830))
    (hs / "s3" / "non_micro" / "x" / "s3_x_01").mkdir(parents=True)  # not micro-expressions
    (hs / "s3" / "micro").rename(hs / "s3" / "Micro")  # as some copies spell it
    (sample,) = open_release(smic, tmp_path).samples
    assert (sample.sample_id, sample.subject, sample.clip, sample.emotion) == (
        "s03/s03_sur_02",
        "s03",
        "s03_sur_02",
        "surprise",
    )
    # onset/offset are the folder's first/last frame numbers; the apex is their middle
    assert (sample.onset, sample.apex, sample.offset) == (90823, 90826, 90830)
    assert sample.repair == "apex not annotated (SMIC): middle frame 90826"
    assert smic.clip_dir(sample).as_posix() == "s3/micro/surprise/s3_sur_02"
    assert smic.frame_number("reg_image090823.bmp") == smic.frame_number("image090823.jpg") == 90823


def test_smic_synth_samples_check_build_round_trip(tmp_path):
    report = synthesize("smic", tmp_path / "smic", subjects=2, clips_per_subject=3, scale=0.4, seed=3, progress=False)
    assert report.sheet == tmp_path / "smic" / "SMIC_all_raw" / "HS"
    assert [s.subject for s in report.samples] == ["s01"] * 3 + ["s02"] * 3
    assert {s.emotion for s in report.samples} == {"negative", "positive", "surprise"}
    listed = _run("samples", "--dataset", "smic", "--root", tmp_path / "smic", "--format", "csv")
    assert listed.stdout.splitlines()[1].startswith("s01/s01_ne_01,s01,s01_ne_01,")
    checked = _run("check", "--dataset", "smic", "--root", tmp_path / "smic")
    assert checked.exit_code == 0 and "repaired      6" in checked.stdout
    store = str(tmp_path / "smic.zarr")
    summary = build("smic", tmp_path / "smic", store, size=48, progress=False, workers=1, smic_apex="middle")
    assert summary.ok == 6
    group = zarr.open_group(store)
    assert group.attrs["mepipe"]["frames"] == {"": "SMIC_all_raw/HS"}
    assert all(r.startswith("apex not annotated (SMIC): middle frame") for r in group["repair"][:])
    middle = group["apex_index"][:]
    assert group.attrs["mepipe"]["config"]["smic_apex"] == "middle"
    # the default: the peak-motion estimate, recorded per sample; resuming with the other is refused
    with pytest.raises(MepipeError, match="built with smic_apex='middle'; this build asks smic_apex='motion'"):
        build("smic", tmp_path / "smic", store, size=48, progress=False, workers=1)
    build("smic", tmp_path / "smic", store, size=48, progress=False, workers=1, overwrite=True)
    group = zarr.open_group(store)
    for repair, apex, onset, offset in zip(
        group["repair"][:], group["apex_index"][:], group["onset_index"][:], group["offset_index"][:]
    ):
        assert (
            repair == f"apex not annotated (SMIC): estimated from peak motion intensity; apex estimated at frame {apex}"
        )
        assert onset < apex <= offset
    assert (group["apex_index"][:] != middle).any()
    with pytest.raises(UsageError, match="--smic-apex applies to --dataset megc2019 or smic, not casme2"):
        BuildConfig(dataset="casme2", smic_apex="middle")


def _composite_root(tmp_path: Path) -> Path:
    """The three releases as the official list needs them: the real CASME-II (2014) and SAMM
    sheets, and every listed SMIC clip folder."""
    root = tmp_path / "megc"
    (root / "CASME2").mkdir(parents=True)
    shutil.copy(ANNOTATIONS / "casme2" / "CASME2-coding-20140508.xlsx", root / "CASME2")
    (root / "SAMM").mkdir()
    shutil.copy(ANNOTATIONS / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx", root / "SAMM")
    _smic_folders(root / "SMIC" / "SMIC_all_raw" / "HS", [r for r in megc2019_rows() if r[0] == "smic"])
    return root


def test_composite_is_exactly_the_official_list(tmp_path):
    root = _composite_root(tmp_path)
    samples = open_release(megc, root, locate=False).samples
    assert len(samples) == 442 and not [s for s in samples if s.error]
    assert len({s.subject for s in samples}) == 68
    assert Counter(s.label for s in samples) == {"negative": 250, "positive": 109, "surprise": 83}
    parts = Counter(s.subject.split("/")[0] for s in samples)
    assert parts == {"casme2": 145, "samm": 133, "smic": 164}
    assert [s.sample_id for s in samples[:1]] == ["casme2/sub01/EP02_01f"]
    assert {s.subject for s in samples if s.subject.startswith("samm/")} >= {"samm/006", "samm/037"}
    assert "smic/s01" in {s.subject for s in samples}
    # each sample resolves to its own dataset's recipe and its unprefixed id
    recipe, own, part = megc.resolve(samples[0])
    assert (recipe.name, own.sample_id, own.subject, part) == ("casme2", "sub01/EP02_01f", "sub01", "casme2")
    listed = _run("samples", "--dataset", "megc2019", "--root", root, "--format", "csv")
    assert len(listed.stdout.splitlines()) == 443


def test_composite_sample_missing_from_a_release_is_kept_as_failed(tmp_path):
    root = _composite_root(tmp_path)
    shutil.rmtree(root / "SMIC" / "SMIC_all_raw" / "HS" / "s20")
    samples = open_release(megc, root, locate=False).samples
    missing = [s for s in samples if s.error]
    assert len(samples) == 442 and len(missing) == 22
    assert missing[0].sample_id.startswith("smic/s20/") and missing[0].label in ("negative", "positive", "surprise")
    assert "listed in MEGC 2019 but not in the SMIC-HS release" in missing[0].error


def test_composite_synth_build_and_train(tmp_path):
    report = synthesize(
        "megc2019", tmp_path / "megc", subjects=2, clips_per_subject=1, scale=0.4, seed=5, progress=False
    )
    # the members' sheets code action units (SMIC's folders hold none), read back as the build reads them
    coded = sorted(s.subject for s in report.samples if s.au)
    assert coded == ["006", "007", "sub01", "sub02"], coded  # SAMM's and CASME-II's subjects
    checked = _run("check", "--dataset", "megc2019", "--root", tmp_path / "megc", "--quick")
    assert "frames smic: " in checked.stdout and "frames samm: " in checked.stdout
    store = tmp_path / "megc.zarr"
    summary = build("megc2019", tmp_path / "megc", str(store), size=48, progress=False, workers=2)
    assert (summary.total, summary.ok) == (442, 6)
    group = zarr.open_group(str(store))
    ok = np.flatnonzero(group["status"][:] == OK)
    subjects = sorted({str(group["subject"][i]) for i in ok})
    assert [s.split("/")[0] for s in subjects] == ["casme2", "casme2", "samm", "samm", "smic", "smic"]
    assert group.attrs["mepipe"]["frames"] == {
        "casme2": "CASME2/CASME2_RAW_selected",
        "samm": "SAMM/SAMM",
        "smic": "SMIC/SMIC_all_raw/HS",
    }
    # the cross-dataset AU protocol has targets: the members' AUs, each sample's own
    vocabulary = group.attrs["mepipe"]["au_vocabulary"]
    assert vocabulary == sorted({int(p) for s in report.samples for p in s.au.split("+") if p})
    assert len(vocabulary) >= 3
    multihot = group["au_multihot"][:]
    for i in ok:
        aus = [int(p) for p in str(group["au"][i]).split("+") if p]
        assert [u for u, on in zip(vocabulary, multihot[i]) if on] == sorted(aus)
    assert multihot[ok].any(axis=1).sum() >= 4  # the casme2 and samm samples
    # SAMM's grey frames and the others' colour frames end up as the same 3-channel images
    assert group["trdi"][ok[2]].shape == group["trdi"][ok[0]].shape == (48, 48, 3)
    pytest.importorskip("torch")
    from mepipe.train import train

    metrics = train(
        store,
        tmp_path / "run",
        epochs=1,
        batch=4,
        width=4,
        image_size=32,
        device="cpu",
        subjects=["samm/006"],
        progress=False,
    )
    assert metrics["folds"][0]["subject"] == "samm/006"


def test_composite_refuses_sheet_and_frames_options(tmp_path):
    root = _composite_root(tmp_path)
    result = _run("check", "--dataset", "megc2019", "--root", root, "--frames", root)
    assert result.exit_code == 2
    assert "the megc2019 composite finds its three releases under --root" in result.stderr


def test_probe_sample_of_every_recipe_labels_without_ids():
    # label_of must cope with samples built from a store row alone
    for name in ("casme2", "samm", "smic"):
        assert get_recipe(name).label_of(Sample("", "", "", 0, None, 0, "x", "x"), "megc2019") is None
