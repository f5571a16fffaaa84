"""Dataset recipes against the real annotation sheets (copies in tests/data)."""

import csv
import hashlib
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path, PurePosixPath

import openpyxl
import pytest

from mepipe.errors import UsageError
from mepipe.pipelines import get_recipe, recipe_names
from mepipe.release.recipe import Sample
from mepipe.release.sheet import write_table

DATA = Path(__file__).parent / "data"
CASME2_2014 = DATA / "annotations/casme2/CASME2-coding-20140508.xlsx"
CASME2_2019 = DATA / "annotations/casme2/CASME2-coding-20190701.xlsx"
SAMM = DATA / "annotations/samm/SAMM_Micro_FACS_Codes_v2.xlsx"
CASME3 = DATA / "annotations/casme3/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
MEGC = Path(__file__).parents[1] / "mepipe/data/megc2019/combined_3class_gt.csv"

casme2, samm, mmew, casme3 = (get_recipe(n) for n in ("casme2", "samm", "mmew", "casme3"))
#: every registered clip recipe of a single release (not a composite)
SINGLE_RELEASES = [r for r in map(get_recipe, recipe_names("recognition")) if not r.parts]


def test_provenance_hashes():
    table = (DATA / "PROVENANCE.md").read_text()
    listed = re.findall(r"^\| `(annotations/[^`]+)` \|.*\| `([0-9a-f]{64})` \|$", table, re.MULTILINE)
    assert len(listed) == 16
    for name, digest in listed:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_registry():
    assert {"casme2", "samm", "mmew", "casme3"} <= set(recipe_names())
    assert (samm.color, samm.resolution, samm.fps) == ("gray", (2040, 1088), 200)
    assert (casme2.color, casme2.resolution, casme2.fps) == ("rgb", (640, 480), 200)
    assert (mmew.color, mmew.resolution, mmew.fps) == ("rgb", (1920, 1080), 90)
    assert (casme3.color, casme3.fps) == ("rgb", 30)


@pytest.mark.parametrize(
    "recipe, sheet, classes, counts",
    [
        (
            casme2,
            CASME2_2014,
            "raw",
            {"others": 99, "disgust": 63, "happiness": 32, "repression": 27, "surprise": 25, "sadness": 7, "fear": 2},
        ),
        (
            casme2,
            CASME2_2019,
            "raw",
            {"others": 99, "disgust": 63, "happiness": 32, "repression": 27, "surprise": 28, "sadness": 4, "fear": 2},
        ),
        (casme2, CASME2_2014, "5", {"others": 99, "disgust": 63, "happiness": 32, "repression": 27, "surprise": 25}),
        (casme2, CASME2_2019, "5", {"others": 99, "disgust": 63, "happiness": 32, "repression": 27, "surprise": 28}),
        (casme2, CASME2_2014, "3", {"negative": 90, "positive": 32, "surprise": 25}),
        (casme2, CASME2_2014, "megc2019", {"negative": 88, "positive": 32, "surprise": 25}),
        (casme2, CASME2_2019, "megc2019", {"negative": 88, "positive": 32, "surprise": 25}),
        (
            samm,
            SAMM,
            "raw",
            {
                "anger": 57,
                "other": 26,
                "happiness": 26,
                "surprise": 15,
                "contempt": 12,
                "disgust": 9,
                "fear": 8,
                "sadness": 6,
            },
        ),
        (samm, SAMM, "5", {"anger": 57, "other": 26, "happiness": 26, "surprise": 15, "contempt": 12}),
        (samm, SAMM, "3", {"negative": 92, "positive": 26, "surprise": 15}),
        (samm, SAMM, "megc2019", {"negative": 92, "positive": 26, "surprise": 15}),
        (
            casme3,
            CASME3,
            "raw",
            {"disgust": 250, "surprise": 187, "others": 161, "fear": 86, "anger": 64, "sad": 57, "happy": 55},
        ),
        (casme3, CASME3, "3", {"negative": 457, "surprise": 187, "positive": 55}),
    ],
)
def test_class_counts(recipe, sheet, classes, counts):
    samples = recipe.read(sheet, classes)
    assert Counter(s.label for s in samples) == counts
    assert set(counts) <= set(recipe.class_sets.get(classes, counts))


def test_megc2019_is_exactly_the_official_list():
    with MEGC.open() as handle:
        official = {(d, s, c, int(label)) for d, s, c, label in csv.reader(handle)}
    names = ("negative", "positive", "surprise")
    ours = {("casme2", s.subject, s.clip, names.index(s.label)) for s in casme2.read(CASME2_2014, "megc2019")}
    ours |= {("samm", str(int(s.subject)), s.clip, names.index(s.label)) for s in samm.read(SAMM, "megc2019")}
    assert ours == {row for row in official if row[0] != "smic"}


def test_casme2_rows_in_sheet_order_with_ids():
    samples = casme2.read(CASME2_2014)
    assert len(samples) == 255 and len({s.sample_id for s in samples}) == 255
    first = samples[0]
    assert (first.sample_id, first.subject, first.clip, first.onset, first.apex, first.offset, first.row) == (
        "sub01/EP02_01f",
        "sub01",
        "EP02_01f",
        46,
        59,
        86,
        2,
    )
    assert [s.row for s in samples] == list(range(2, 257))
    assert {s.subject for s in samples} == {f"sub{i:02d}" for i in range(1, 27)}
    assert not any(s.error for s in samples)


def test_quirks_are_repaired_and_recorded():
    by_id = {s.sample_id: s for s in casme2.read(CASME2_2014)}
    slash = by_id["sub04/EP12_01f"]
    assert (slash.onset, slash.apex, slash.offset) == (261, None, 321)
    assert slash.repair == "apex '/' missing: estimated from peak motion intensity"
    same = by_id["sub05/EP09_05f"]
    assert (same.apex, same.repair) == (None, "apex 69 == onset: estimated from peak motion intensity")
    assert by_id["sub05/EP16_04f"].apex == 181 and by_id["sub05/EP16_04f"].repair == ""  # apex == offset is fine
    assert sum(bool(s.repair) for s in by_id.values()) == 2

    by_id = {s.sample_id: s for s in samm.read(SAMM)}
    assert by_id["028/028_4_1"].apex is None
    assert by_id["028/028_4_1"].repair == (
        "apex 1143 outside onset..offset 1071..1134: estimated from peak motion intensity"
    )
    assert by_id["032/032_3_1"].repair == (
        "apex 1930 outside onset..offset 4896..4970: estimated from peak motion intensity"
    )
    # meb's third SAMM apex fix, applied as a recorded erratum (docs/errata.md)
    assert by_id["032/032_3_2"].apex is None
    assert by_id["032/032_3_2"].repair.startswith("erratum: apex 5127 set aside (1 frame after onset 5126;")
    assert sum(bool(s.repair) for s in by_id.values()) == 3


def test_casme3_ids_quirks_and_folders():
    samples = casme3.read(CASME3)
    assert len(samples) == 860 and len({s.sample_id for s in samples}) == 860
    by_id = {s.sample_id: s for s in samples}
    assert [s.sample_id for s in samples[2:4]] == ["spNO.1/e_62", "spNO.1/e_96"]
    assert casme3.clip_dir(by_id["spNO.1/b_166"]) == PurePosixPath("spNO.1/b/color")
    assert casme3.frame_name(by_id["spNO.1/b_166"], 175) == "175.jpg"
    # meb's index fixes, applied as recorded errata (docs/errata.md); without them these
    # rows failed: onset 3647 after offset 2694, offset 0 (twice)
    assert by_id["spNO.216/d_2647"].repair == (
        "erratum: onset 3647 -> 2647 (after its apex 2668 and offset 2694: a typo, meb's fix)"
    )
    assert by_id["spNO.40/e_1812"].offset == 1845 and by_id["spNO.40/e_2327"].offset == 2403
    assert by_id["spNO.214/c_5"].offset == 34
    assert sum(bool(s.error) for s in samples) == 0
    assert (
        by_id["spNO.149/d_112"].repair == "apex 83 outside onset..offset 112..358: estimated from peak motion intensity"
    )
    assert sum(s.repair.endswith("== onset: estimated from peak motion intensity") for s in samples) == 55
    assert Counter(s.emotion for s in samples)["others"] == 161  # 'Others' lower-cased


def test_xlsx_and_csv_export_give_identical_samples():
    assert casme2.read(CASME2_2014) == casme2.read(CASME2_2014.with_suffix(".csv"))
    assert samm.read(SAMM, "5") == samm.read(SAMM.with_suffix(".csv"), "5")


def test_unpadded_csv_export_normalises_subjects(tmp_path):
    # Excel's CSV export turns the text cell '006' into 6
    lines = SAMM.with_suffix(".csv").read_text().splitlines()
    unpadded = lines[:14] + [re.sub(r"^0+", "", line) for line in lines[14:]]
    (tmp_path / "samm.csv").write_text("\n".join(unpadded) + "\n")
    assert unpadded[14].startswith("6,006_1_2,")
    assert samm.read(tmp_path / "samm.csv") == samm.read(SAMM)
    rows = [
        [int(s.subject[3:]), s.clip, None, s.onset, s.apex, s.offset, None, 4, s.emotion]
        for s in casme2.read(CASME2_2014)[:20]
    ]
    write_table(tmp_path / "casme2.xlsx", casme2.layout, rows)
    assert [s.subject for s in casme2.read(tmp_path / "casme2.xlsx")] == [
        s.subject for s in casme2.read(CASME2_2014)[:20]
    ]


@pytest.mark.parametrize(
    "recipe, sheet",
    [(casme2, CASME2_2014), (casme2, CASME2_2019), (samm, SAMM), (casme3, CASME3), (samm, SAMM.with_suffix(".csv"))],
)
def test_write_sheet_round_trip(tmp_path, recipe, sheet):
    samples = recipe.read(sheet)
    out = tmp_path / recipe.sheet_file
    recipe.write_sheet(samples, out)
    again = recipe.read(out)
    assert again == samples
    assert [s.extra["raw"] for s in again] == [s.extra["raw"] for s in samples]


def test_written_sheets_keep_release_quirks(tmp_path):
    samm.write_sheet(samm.read(SAMM), tmp_path / "samm.xlsx")
    book = openpyxl.load_workbook(tmp_path / "samm.xlsx", read_only=True)
    assert book.sheetnames == ["MICRO_ONLY"]
    rows = list(book["MICRO_ONLY"].iter_rows(values_only=True))
    original = list(openpyxl.load_workbook(SAMM, read_only=True)["MICRO_ONLY"].iter_rows(values_only=True))
    assert [tuple(c for c in r if c is not None) for r in rows[:14]] == [
        tuple(c for c in r if c is not None) for r in original[:14]
    ]

    casme2.write_sheet(casme2.read(CASME2_2019), tmp_path / "casme2.xlsx")
    header, *_ = openpyxl.load_workbook(tmp_path / "casme2.xlsx", read_only=True)["Sheet1"].iter_rows(values_only=True)
    assert header == (
        "Subject",
        "Filename",
        None,
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        None,
        "Action Units",
        "Estimated Emotion",
        "Objective Classes",
    )


@pytest.mark.parametrize("recipe", [casme2, samm, mmew, casme3])
def test_write_sheet_without_raw_cells(tmp_path, recipe):
    # samples as the synthesiser makes them: fields only
    subject = {"casme2": "sub03", "samm": "007", "mmew": "S04", "casme3": "spNO.2"}[recipe.name]
    clip = {"casme2": "EP01_2f", "samm": "007_5_1", "mmew": "S04-01-002", "casme3": "c_40"}[recipe.name]
    emotion = recipe.class_sets["5" if "5" in recipe.class_sets else "6"][0]
    made = [
        Sample(f"{subject}/{clip}", subject, clip, 40, 47, 60, emotion, emotion),
        Sample(f"{subject}/x_9", subject, "x_9", 9, None, 30, "surprise", "surprise"),
    ]
    recipe.write_sheet(made, tmp_path / recipe.sheet_file)
    read = recipe.read(recipe.find_sheet(tmp_path))
    expected = [
        replace(made[0], row=read[0].row),
        replace(made[1], row=read[1].row, repair="apex '/' missing: estimated from peak motion intensity"),
    ]
    assert read == expected
    assert read[1].row == read[0].row + 1


def test_sheet_errors_keep_the_row(tmp_path):
    rows = [
        ["01", "EP01", None, 10, 12, 30, None, 4, "happiness"],
        ["01", "EP02", None, 50, 40, 20, None, 4, "Disgust "],
        ["01", "EP01", None, 10, 12, 30, None, 4, "happiness"],
        ["02", "EP03", None, "?", 12, 30, None, 4, "others"],
        ["02", "EP04", None, 7, 9, 7, None, 4, "others"],
    ]
    path = write_table(tmp_path / "s.xlsx", casme2.layout, rows)
    samples = casme2.read(path)
    assert [s.error for s in samples] == [
        "",
        "sheet row 3: onset 50 after offset 20",
        "sheet row 4: duplicate of row 2 (sub01/EP01)",
        "sheet row 5: onset '?' is not a frame number",
        "sheet row 6: onset == offset 7: 1 frame cannot be rank-pooled",
    ]
    assert samples[1].emotion == "disgust"
    assert [s.sample_id for s in samples][:3] == ["sub01/EP01", "sub01/EP02", "sub01/EP01@row4"]


def test_class_sets_and_label_of():
    with pytest.raises(UsageError) as err:
        samm.read(SAMM, "6")
    assert str(err.value) == "unknown class set '6' for SAMM; valid: raw, 5, 3, megc2019, objective"
    with pytest.raises(UsageError, match="valid: raw, 6, 3$"):
        mmew.label_of(Sample("S01/a", "S01", "a", 1, 2, 3, "fear", "fear"), "megc2019")
    raw = {s.sample_id: s for s in casme2.read(CASME2_2014)}
    assert casme2.label_of(raw["sub01/EP02_01f"], "3") == "positive"
    assert casme2.label_of(raw["sub04/EP12_01f"], "3") == "negative"
    assert casme2.label_of(raw["sub04/EP12_01f"], "megc2019") is None  # left out of the official list
    assert casme2.label_of(raw["sub01/EP03_02"], "5") == "others"
    assert casme2.label_of(raw["sub01/EP03_02"], "3") is None
    fear = Sample("006/x", "006", "x", 1, 2, 3, "fear", "fear")
    assert (samm.label_of(fear, "3"), samm.label_of(fear, "5"), casme2.label_of(fear, "3")) == ("negative", None, None)
    for recipe in (casme2, samm, mmew, casme3):
        for name, classes in recipe.class_sets.items():
            assert set(recipe.label_maps.get(name, {}).values()) <= set(classes)


@pytest.mark.parametrize(
    "recipe, name, number",
    [
        (casme2, "img46.jpg", 46),
        (casme2, "reg_img46.jpg", 46),
        (casme2, "img123.JPG", 123),
        (casme2, "Thumbs.db", None),
        (casme2, "img.jpg", None),
        (samm, "006_05562.jpg", 5562),
        (samm, "006_12349.jpg", 12349),
        (samm, "notes.txt", None),
        (mmew, "1.jpg", 1),
        (mmew, "17.jpg", 17),
        (mmew, ".DS_Store", None),
        (casme3, "175.jpg", 175),
        (casme3, "depth_175.png", None),
    ],
)
def test_frame_number(recipe, name, number):
    assert recipe.frame_number(name) == number


@pytest.mark.parametrize("recipe", SINGLE_RELEASES, ids=lambda r: r.name)
def test_frame_name_parses_back(recipe):
    sample = Sample("006/006_1_2", "006", "006_1_2", 5562, None, 5600, "anger", "anger")
    assert [recipe.frame_number(recipe.frame_name(sample, n)) for n in (1, 46, 5562, 12349)] == [1, 46, 5562, 12349]
    assert samm.frame_name(sample, 83) == "006_00083.jpg"


def test_clip_dirs():
    sample = Sample("sub01/EP02_01f", "sub01", "EP02_01f", 46, 59, 86, "happiness", "happiness")
    assert casme2.clip_dirs(sample) == (
        PurePosixPath("sub01/EP02_01f"),
        PurePosixPath("01/EP02_01f"),
        PurePosixPath("1/EP02_01f"),
    )
    assert casme2.frame_dir(sample) == PurePosixPath("CASME2_RAW_selected/sub01/EP02_01f")
    assert samm.frame_dir(Sample("006/006_1_2", "006", "006_1_2", 1, 2, 3, "anger", "anger")) == PurePosixPath(
        "SAMM/006/006_1_2"
    )
    others = Sample("S03/S03-07-001", "S03", "S03-07-001", 1, 2, 3, "others", "others")
    assert [str(p) for p in mmew.clip_dirs(others)] == [
        "others/S03-07-001",
        "repression/S03-07-001",
        "S03/others/S03-07-001",
        "S03/repression/S03-07-001",
    ]


def test_find_sheet(tmp_path):
    with pytest.raises(UsageError) as err:
        casme2.find_sheet(tmp_path)
    assert str(err.value) == (
        f"no CASME-II release at {tmp_path}: expected CASME2-coding-20190701.xlsx or CASME2-coding-*.xlsx "
        f"or CASME2-coding-*.csv in it or up to 4 folders below; make one with `mepipe synth --dataset casme2 --out {tmp_path}`"
    )
    (tmp_path / "annotations").mkdir()
    old = tmp_path / "annotations" / "CASME2-coding-20140508.xlsx"
    old.write_bytes(CASME2_2014.read_bytes())
    assert casme2.find_sheet(tmp_path) == old
    with pytest.raises(UsageError, match="not a folder; make one with `mepipe synth --dataset samm"):
        samm.find_sheet(tmp_path / "missing")


def test_mmew_sheet_with_inferred_header(tmp_path):
    header = [
        "Subject",
        "Filename",
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        "Action Units",
        "Estimated Emotion",
        "remarks",
    ]
    rows = [
        [1, "S01-01-001", 10, 15, 30, "12", "Happiness", None],
        [3, "S03-07-002", 5, "/", 20, "4", "others", "blink"],
    ]
    path = write_table(tmp_path / "MMEW_Micro_Exp.xlsx", header, rows)
    samples = mmew.read(mmew.find_sheet(tmp_path))
    assert [(s.sample_id, s.apex, s.emotion) for s in samples] == [
        ("S01/S01-01-001", 15, "happiness"),
        ("S03/S03-07-002", None, "others"),
    ]
    assert [s.sample_id for s in mmew.read(path, "6")] == ["S01/S01-01-001"]
    assert mmew.frame_dir(samples[0]) == PurePosixPath("Micro_Expression/happiness/S01-01-001")


DFME = DATA / "annotations/dfme/training_full_with_AU.xlsx"


def test_dfme_reads_its_three_sheets():
    dfme = get_recipe("dfme")
    samples = dfme.read(DFME)
    assert Counter(s.extra["split"] for s in samples) == {"training": 1856, "testA": 474, "testB": 299}
    assert len({s.sample_id for s in samples}) == 2629 and not any(s.error or s.repair for s in samples)
    by_split = {
        split: {s.subject for s in samples if s.extra["split"] == split} for split in ("training", "testA", "testB")
    }
    assert [len(v) for v in by_split.values()] == [176, 42, 41]
    assert not (by_split["training"] & by_split["testA"]) and not (by_split["testA"] & by_split["testB"])
    assert Counter(dfme.clip_fps(s) for s in samples) == {500: 993, 200: 831, 300: 805}
    first = samples[0]
    assert (first.sample_id, first.onset, first.apex, first.offset, first.emotion, first.action_units) == (
        "sub0003/sub0003_01",
        109,
        199,
        228,
        "anger",
        "23",
    )
    # 0-based: an onset of 0 is a frame, not a missing cell
    zero = next(s for s in samples if s.sample_id == "sub0008/sub0008_01")
    assert (zero.onset, zero.apex, zero.offset, zero.extra["split"]) == (0, 95, 195, "testA")
    assert dfme.frame_name(zero, 0) == "00000.png" and dfme.frame_number("00195.png") == 195
    assert dfme.clip_dirs(zero)[0] == PurePosixPath("DFME_testA/sub0008_01")
    assert dfme.frame_dir(zero) == PurePosixPath("DFME/DFME_testA/sub0008_01")
    assert Counter(s.label for s in dfme.read(DFME, "3")) == {"negative": 1871, "surprise": 447, "positive": 311}
    assert Counter(s.label for s in dfme.read(DFME, "7"))["disgust"] == 548 + 129 + 58


def test_dfme_sheets_round_trip(tmp_path):
    dfme = get_recipe("dfme")
    samples = dfme.read(DFME)
    dfme.write_sheet(samples, tmp_path / dfme.sheet_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "testA_full_with_AU.xlsx",
        "testB_full_with_AU.xlsx",
        "training_full_with_AU.xlsx",
    ]
    again = dfme.read(dfme.find_sheet(tmp_path))
    assert again == samples and [s.extra for s in again] == [s.extra for s in samples]
    # the digest covers every split's sheet, not only the one named
    before, training = dfme.digest(tmp_path / dfme.sheet_file), (tmp_path / dfme.sheet_file).read_bytes()
    dfme.write_sheet(samples[:-1], tmp_path / dfme.sheet_file)  # one testB row fewer
    assert (tmp_path / dfme.sheet_file).read_bytes() == training
    assert dfme.digest(tmp_path / dfme.sheet_file) != before
