"""``mepipe report``: the quality measures, each flag on a constructed case, the page itself."""

from __future__ import annotations

import shutil
from html import escape
from pathlib import Path

import cv2
import html5lib
import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.release.sheet_recipe import check_span
from mepipe.report import quality
from mepipe.report.page import GEOMETRY, THUMBS, default_out, write_report
from mepipe.report.summary import reason_kind
from mepipe.store import FAILED

from .geometry import TRANSFORM, add_geometry

SIZE = 64  # the casme2_store fixture's image side
#: sample index -> the one flag constructed on it; the others are clean
CONSTRUCTED = {
    1: "head-motion",
    2: "fallback-detection",
    3: "window-past-frame",
    4: "motion-off-face",
    5: "apex-repaired",
}
FAILED_INDEX = 6
FAILURE = "sub03/EP03_01/img46.jpg: no face found on the 320x240 reference frame (dlib HOG, also upsampled)"
#: a frame only 164 px high: the window's source rows 99..227 reach past its last row
SHORT_FRAME = (164, 400)
APEX_REPAIR = "; ".join([*check_span(10, "/", 30)[3], "apex estimated at frame 17"])


def parse(page: Path):
    """The page parsed by the HTML5 algorithm, failing on any parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(page.read_text(encoding="utf-8"))


def sample_rows(tree) -> dict[str, dict]:
    """Sample id -> the row's data attributes, from the parsed page."""
    rows = {}
    for tr in tree.iter("tr"):
        if "data-status" in tr.attrib:
            sample_id = next(td for td in tr.iter("td") if td.get("class") == "id").text
            rows[sample_id] = {**tr.attrib, "images": [img.get("src") for img in tr.iter("img")]}
    return rows


@pytest.fixture(scope="module")
def constructed(casme2_store, tmp_path_factory) -> str:
    """The CASME-II store with geometry arrays and one bad case per flag (see CONSTRUCTED)."""
    store = str(tmp_path_factory.mktemp("report") / "constructed.zarr")
    shutil.copytree(casme2_store, store)
    group = zarr.open_group(store, mode="r+")
    onset = group["onset"][1]
    # the head moved 5 px right between onset and apex: the onset's transform no longer fits
    group["apex"][1] = cv2.warpAffine(
        onset, np.float64([[1, 0, 5], [0, 1, 0]]), (SIZE, SIZE), borderMode=cv2.BORDER_REPLICATE
    )
    # all the TRDI's energy in a disc in the top-left corner, far from the face
    trdi = np.full((SIZE, SIZE, 3), 128, np.uint8)
    cv2.circle(trdi, (8, 8), 5, (255, 255, 255), -1)
    group["trdi"][4] = trdi
    group["repair"][5] = APEX_REPAIR
    group["status"][FAILED_INDEX] = FAILED
    group["error"][FAILED_INDEX] = FAILURE
    add_geometry(store, detect_step={2: "upsampled"}, frame_size={3: SHORT_FRAME})
    return store


@pytest.fixture(scope="module")
def report(constructed, tmp_path_factory) -> Path:
    return write_report(constructed, tmp_path_factory.mktemp("page") / "out", workers=2, progress=False)


def test_every_sample_has_a_row_with_exactly_its_constructed_flag(constructed, report):
    ids = [str(s) for s in zarr.open_group(constructed, mode="r")["sample_id"][:]]
    rows = sample_rows(parse(report))
    assert sorted(rows) == sorted(ids)
    for index, sample_id in enumerate(ids):
        expected = CONSTRUCTED.get(index, "")
        assert rows[sample_id]["data-flags"] == expected, sample_id
    assert rows[ids[FAILED_INDEX]]["data-status"] == "failed"
    assert rows[ids[FAILED_INDEX]]["images"] == []


def test_page_is_valid_html_and_every_image_link_exists(report):
    rows = sample_rows(parse(report))
    links = [src for row in rows.values() for src in row["images"]]
    assert len(links) == len(THUMBS) * (len(rows) - 1)
    for src in links:
        assert not Path(src).is_absolute()
        image = cv2.imread(str(report.parent / src))
        assert image is not None and image.shape[:2] == (96, 96), src
    text = report.read_text(encoding="utf-8")
    assert text.count('loading="lazy"') == len(links)
    assert "http://" not in text and "https://" not in text  # nothing to fetch: works offline


def test_summary_holds_counts_groups_thresholds_and_provenance(constructed, report):
    text = report.read_text(encoding="utf-8")
    attrs = zarr.open_group(constructed, mode="r").attrs["mepipe"]
    assert attrs["sheet_sha256"] in text
    # grouped as the build's summary groups them: without file names and numbers
    assert f'<td class="count">1</td><td>{escape(reason_kind(FAILURE))}</td>' in text
    assert '<td class="count">1</td><td>apex missing: estimated from peak motion intensity</td>' in text
    assert '<td class="count">1</td><td>apex estimated at frame</td>' in text
    for rule in quality.RULES:
        assert escape(rule.threshold) in text and escape(rule.why) in text
    assert "&gt; 2 px" in text and "&gt; 25%" in text and f"&gt; {quality.OFF_FACE_SHARE:.0%}" in text
    assert "cannot be computed" not in text


def test_measures_of_the_constructed_cases(constructed, report):
    group = zarr.open_group(constructed, mode="r")
    apex_moved = quality.head_motion(group["onset"][1], group["apex"][1])
    assert 4.5 < apex_moved < 5.5
    clean = [quality.head_motion(group["onset"][i], group["apex"][i]) for i in (0, 7, 8)]
    assert max(clean) < 1.0
    # the window covers source rows 99..227 (pixel areas), the frame ends at 163.5
    share = quality.window_outside(TRANSFORM, SHORT_FRAME, SIZE)
    assert share == pytest.approx((227 - 163.5) / 128, abs=1e-6)


@pytest.mark.parametrize(
    "angle, scale, shift, frame",
    [
        (0.0, 0.5, (-50, -50), (400, 400)),
        (17.0, 0.3, (-10, 30), (240, 320)),
        (-40.0, 1.7, (90, -200), (300, 180)),
    ],
)
def test_window_outside_matches_a_pixel_count(angle, scale, shift, frame):
    matrix = cv2.getRotationMatrix2D((0, 0), angle, scale)
    matrix[:, 2] = shift
    # reference: 8x8 sub-pixel points per output pixel, mapped back into the source
    fine = (np.arange(SIZE * 8) + 0.5) / 8 - 0.5
    xs, ys = np.meshgrid(fine, fine)
    inverse = cv2.invertAffineTransform(matrix)
    points = np.stack([xs.ravel(), ys.ravel()], axis=1) @ inverse[:, :2].T + inverse[:, 2]
    height, width = frame
    inside = (
        (points[:, 0] >= -0.5) & (points[:, 0] <= width - 0.5) & (points[:, 1] >= -0.5) & (points[:, 1] <= height - 0.5)
    )
    assert quality.window_outside(matrix, frame, SIZE) == pytest.approx(1 - inside.mean(), abs=2e-3)


def test_off_face_share_of_known_energies():
    image = np.full((SIZE, SIZE, 3), 100, np.uint8)
    mask = np.zeros((SIZE, SIZE), bool)
    mask[:, : SIZE // 2] = True
    image[:2, :5] = 130  # 10 pixels inside the face, deviation 30
    image[:1, -5:] = 60  # 5 pixels outside, deviation -40
    expected = 5 * 40**2 / (5 * 40**2 + 10 * 30**2)
    assert quality.off_face_share(image, mask) == pytest.approx(expected)
    assert quality.off_face_share(np.full((SIZE, SIZE, 1), 7, np.uint8), mask) == 0.0


def test_face_mask_is_the_hull_of_the_mapped_landmarks():
    square = np.array([[120, 120], [180, 120], [180, 180], [120, 180], [150, 150]], float)
    mask = quality.face_mask(square, TRANSFORM, SIZE)
    # source 120..180 is output 10..40 at half scale
    assert mask[10:41, 10:41].all() and mask.sum() == pytest.approx(31 * 31, abs=31 * 2)


def test_apex_repairs_are_found_by_the_release_wording():
    repairs = [
        *check_span(10, "/", 30)[3],
        *check_span(10, 40, 30)[3],
        *check_span(10, 10, 30)[3],
        "apex 50 beyond the clamped offset 45: estimated from peak motion intensity",
        "apex estimated at frame 17",
    ]
    offset = "offset 60 beyond the last frame on disk: clamped to 45"
    assert quality.apex_repairs("; ".join([offset, *repairs])) == tuple(repairs)
    assert quality.apex_repairs(offset) == ()
    assert quality.flags(quality.Measures(apex_repairs=("apex missing",)))[0].key == "apex-repaired"


def test_thresholds_are_strict_and_a_missing_measure_never_flags():
    at = quality.Measures(
        head_motion=quality.HEAD_MOTION_PX,
        window_outside=quality.WINDOW_OUTSIDE_SHARE,
        off_face=quality.OFF_FACE_SHARE,
        detect_step="scaled",
    )
    assert quality.flags(at) == []
    assert quality.flags(quality.Measures()) == []


def test_cli_report_of_a_store_without_geometry_says_which_flags_need_a_rebuild(casme2_store, tmp_path):
    store = str(tmp_path / "old.zarr")
    shutil.copytree(casme2_store, store)
    group = zarr.open_group(store, mode="r+")
    for name in GEOMETRY:  # as a store written before these arrays existed
        if name in group:
            del group[name]
    result = CliRunner().invoke(cli, ["report", store, "--out", str(tmp_path / "old"), "--quiet"])
    assert result.exit_code == 0, result.output
    page = tmp_path / "old" / "index.html"
    assert result.output.strip() == str(page)
    text = page.read_text(encoding="utf-8")
    for key in ("fallback-detection", "window-past-frame", "motion-off-face"):
        assert escape(quality.unavailable({"trdi", "onset", "apex", "repair"})[key]) in text
    assert text.count("rebuild it") == 3
    assert all(row["data-flags"] == "" for row in sample_rows(parse(page)).values())


def test_cli_report_errors_are_one_line(casme2_store, tmp_path):
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(cli, ["report", casme2_store, "--out", str(tmp_path / "file")])
    assert (result.exit_code, result.output) == (
        2,
        f"mepipe: error: --out {tmp_path / 'file'} is a file; the report needs a folder\n",
    )
    missing = tmp_path / "none.zarr"
    result = CliRunner().invoke(cli, ["report", str(missing), "--out", str(tmp_path / "r")])
    assert (result.exit_code, result.output) == (
        1,
        f"mepipe: error: {missing}: not a mepipe store (no zarr group there)\n",
    )


def test_default_out_sits_beside_a_local_store():
    assert default_out("runs/samm.zarr/") == "runs/samm-report"
    assert default_out("samm.zarr") == "samm-report"
    assert default_out("s3://bucket/data/casme2.zarr") == "casme2-report"
