"""Long-video (spotting) recipes against the real sheets (copies in tests/data) and small releases on disk."""

from collections import Counter
from pathlib import Path

import pytest

from mepipe.errors import SheetError, UsageError
from mepipe.release import TASKS, BaseRecipe, Recipe
from mepipe.release.longvideo import Interval, LongVideoRecipe, read_lengths, settle
from mepipe.release.registry import get_recipe, recipe_names
from mepipe.release.sheet import write_table

DATA = Path(__file__).parent / "data/annotations"
CASME_SQ = DATA / "casme_sq/CASME_sq_gt.xlsx"
SAMM_LV = DATA / "samm_lv/SAMMLV_gt.xlsx"
CASME3 = DATA / "casme3/CAS(ME)3_part_A_v2__AU+Emotion.csv"

casme_sq, samm_lv, casme3_lv = (get_recipe(n, LongVideoRecipe) for n in ("casme_sq", "samm_lv", "casme3_lv"))


def _repairs(intervals):
    """How many intervals carry each kind of repair (the text before its first number)."""
    kinds = Counter()
    for interval in intervals:
        for repair in interval.repairs:
            kinds[
                " ".join(w for w in repair.split(":")[0].split() if not w.lstrip("-").replace(".", "").isdigit())
            ] += 1
    return kinds


def test_registry_tasks():
    # each recipe's task is its own attribute, set by its kind; the registry lists by it
    recipes = {name: get_recipe(name, BaseRecipe) for name in recipe_names()}
    assert {r.task for r in recipes.values()} == set(TASKS)
    for task in TASKS:
        assert recipe_names(task) == sorted(name for name, r in recipes.items() if r.task == task)
    for recipe in recipes.values():
        assert isinstance(recipe, LongVideoRecipe) == (recipe.task == "spotting")
        assert isinstance(recipe, Recipe) == (recipe.task == "recognition")
    assert {r.name for r in (casme_sq, samm_lv, casme3_lv)} <= set(recipe_names("spotting"))
    assert [(r.task, r.fps, r.color, r.resolution) for r in (casme_sq, samm_lv, casme3_lv)] == [
        ("spotting", 30.0, "rgb", (640, 480)),
        ("spotting", 200.0, "gray", (2040, 1088)),
        ("spotting", 30.0, "rgb", (1280, 720)),
    ]
    with pytest.raises(UsageError) as err:
        get_recipe("casme2", LongVideoRecipe)
    assert str(err.value) == (
        "dataset 'casme2' is a recognition recipe (Casme2); a spotting recipe is needed here: "
        + ", ".join(recipe_names("spotting"))
    )
    with pytest.raises(UsageError, match="^dataset 'samm_lv' is a spotting recipe \\(SammLv\\); a recognition recipe"):
        get_recipe("samm_lv")


def test_casme_sq_counts_and_repairs():
    intervals = casme_sq.read_intervals(
        CASME_SQ, casme_sq.extents_from_lengths(read_lengths(DATA / "casme_sq/ME2.txt"))
    )
    assert Counter(i.type for i in intervals) == {"micro": 57, "macro": 300}
    assert not [i.error for i in intervals if i.error]
    assert _repairs(intervals) == {
        "offset (not annotated)": 44,
        "offset before apex": 3,
        "apex (not annotated)": 1,
    }
    by_name = {i.name: i for i in intervals}
    assert len(by_name) == 357
    assert by_name["s27/disgust1_5"] == Interval(
        video="s27_0101",
        subject="s27",
        type="macro",
        onset=1221,
        apex=1224,
        offset=1230,
        aus="4+5+7",
        emotion="negative",
        row=170,
        repairs=("offset 1224 before apex 1230: taken as swapped (apex 1224, offset 1230)",),
        name="s27/disgust1_5",
    )
    # 1, anger2_1, 2155, 2163, 0: naming rule1 puts subject 1 in s15; anger2 is video 0402
    ended = by_name["s15/anger2_1"]
    assert (ended.video, ended.onset, ended.apex, ended.offset) == ("s15_0402", 2155, 2163, 2163)
    assert ended.repairs == ("offset 0 (not annotated): ends at its apex 2163",)
    assert by_name["s34/anger1_1"].apex is None
    assert Counter(i.emotion for i in intervals) == {"negative": 126, "positive": 124, "others": 82, "surprise": 25}
    assert len({i.video for i in intervals}) == 95


def test_samm_lv_counts_and_repairs():
    extents = samm_lv.extents_from_lengths(read_lengths(DATA / "samm_lv/SAMM_MEGC.txt"))
    intervals = samm_lv.read_intervals(SAMM_LV, extents)
    assert Counter(i.type for i in intervals) == {"micro": 159, "macro": 343}
    assert _repairs(intervals) == {
        "non-integer frame numbers rounded": 178,
        "onset before the video's first frame": 10,
        "apex (not annotated)": 6,
        "offset past the video's last frame": 2,
        "name 037_4_1 also on sheet row": 1,
    }
    assert [i.error for i in intervals] == [""] * 160 + [
        "sheet row 171: onset 1341 past the video's last frame 1000"
    ] + [""] * 341
    rows = {i.row: i for i in intervals}
    assert (rows[11].onset, rows[11].apex, rows[11].offset) == (566, 648, 743)
    assert rows[11].repairs == (
        "non-integer frame numbers rounded: onset 566.4000000000001 -> 566, apex 647.5999999999999 -> 648, "
        "offset 743.1999999999998 -> 743",
    )
    assert (rows[143].onset, rows[143].offset) == (1, 4123)
    assert rows[339].offset == 5001 and rows[497].offset == 8201
    assert [(rows[r].name, rows[r].type) for r in (506, 507)] == [("037_4_1", "micro"), ("037_4_1#2", "macro")]
    assert all(i.apex is None or i.onset <= i.apex <= i.offset for i in intervals)
    assert len({i.video for i in intervals}) == 147
    assert not [i for i in intervals if i.emotion]


def test_casme3_lv_counts_emotions_and_blinks():
    intervals = casme3_lv.read_intervals(CASME3)
    assert Counter(i.type for i in intervals) == {"micro": 860, "macro": 3346}
    assert not [i.error for i in intervals if i.error]
    assert _repairs(intervals) == {"apex (not annotated)": 1}
    # the JpgIndex sheet beside it gives every micro-expression its emotion ("Others" folded)
    assert Counter(i.emotion for i in intervals if i.type == "micro") == {
        "disgust": 250,
        "surprise": 187,
        "others": 161,
        "fear": 86,
        "anger": 64,
        "sad": 57,
        "happy": 55,
    }
    assert not [i for i in intervals if i.type == "macro" and i.emotion]
    assert len({i.video for i in intervals}) == 956 and len({i.subject for i in intervals}) == 98
    assert len({i.name for i in intervals}) == 4206
    first = intervals[0]
    assert (first.video, first.subject, first.onset, first.apex, first.offset, first.aus) == (
        "spNO.1_a",
        "spNO.1",
        37,
        63,
        65,
        "4+15+R10",
    )
    blinks = casme3_lv.read_blinks(CASME3)
    assert len(blinks) == 841 and blinks[0] == ("spNO.1_a", 357, 372)


@pytest.mark.parametrize(
    "cells, extent, expected",
    [
        ((10, 12, 20), (1, None), (10, 12, 20, ())),
        ((566.4, 647.6, 743.2), (1, None), (566, 648, 743, ("non-integer frame numbers rounded",))),
        ((0, 50, 51), (1, 100), (1, 50, 51, ("onset 0 before the video's first frame 1: starts at 1",))),
        ((10, -1, 20), (1, None), (10, None, 20, ("apex -1 (not annotated): none",))),
        ((10, 15, 0), (1, None), (10, 15, 15, ("offset 0 (not annotated): ends at its apex 15",))),
        ((10, 30, 20), (1, None), (10, 20, 30, ("offset 20 before apex 30: taken as swapped (apex 20, offset 30)",))),
        ((10, 5, 20), (1, None), (10, None, 20, ("apex 5 before onset 10: none",))),
        ((90, 95, 120), (1, 100), (90, 95, 100, ("offset 120 past the video's last frame 100: ends at 100",))),
        ((10, 12, 20), (15, 100), (15, None, 20, ("onset 10 before the video's first frame 15: starts at 15",))),
    ],
)
def test_settle_repairs(cells, extent, expected):
    span = settle(*cells, extent)
    onset, apex, offset, repairs = expected
    assert (span.onset, span.apex, span.offset, span.error) == (onset, apex, offset, "")
    assert [r[: len(want)] for r, want in zip(span.repairs, repairs)] == list(repairs)
    assert len(span.repairs) == len(repairs)


@pytest.mark.parametrize(
    "cells, extent, error",
    [
        (("?", 12, 20), (1, None), "onset '?' is not a frame number"),
        ((30, 12, 20), (1, None), "onset 30 after offset 20"),
        ((10, 0, 0), (1, None), "offset 0 (not annotated) and no apex to end at"),
        ((150, 160, 170), (1, 100), "onset 150 past the video's last frame 100"),
    ],
)
def test_settle_failures_name_the_problem(cells, extent, error):
    assert settle(*cells, extent).error == error


def test_bad_sheet_input_is_one_line(tmp_path):
    bad = tmp_path / "SAMMLV_gt.xlsx"
    write_table(bad, ["Subject", "Filename", "Onset", "Apex", "Offset", "Type"], [["006", "006_1_1", 1, 2, 3, "Mega"]])
    with pytest.raises(SheetError) as err:
        samm_lv.read_intervals(bad)
    assert str(err.value) == f"{bad} row 2: type 'Mega' is neither Micro nor Macro"
    lengths = tmp_path / "ME2.txt"
    lengths.write_text("s15_0101 2051\ns15_0102 many\n")
    with pytest.raises(SheetError) as err:
        read_lengths(lengths)
    assert str(err.value) == f"{lengths} line 2: expected '<video> <frames>', got 's15_0102 many'"
    write_table(tmp_path / "c.xlsx", ["a"], [[1]], sheet="CASFEcode_final")
    with pytest.raises(SheetError) as err:
        casme_sq.read_intervals(tmp_path / "c.xlsx")
    assert (
        str(err.value) == f"{tmp_path / 'c.xlsx'}: no sheet 'naming rule1' or 'naming rule2' (found: CASFEcode_final)"
    )
    with pytest.raises(UsageError, match="no CAS\\(ME\\)\\^2 release at"):
        casme_sq.intervals(tmp_path / "nowhere")


CASME2 = DATA / "casme2/CASME2-coding-20140508"
_EXPECTED = (
    "expected no header row and the columns subject index, expression name, onset, apex, offset, AUs, emotion, "
    "type, self-report"
)


@pytest.mark.parametrize(
    ("sheet", "where", "found"),
    [
        (
            CASME2.with_suffix(".xlsx"),
            f"{CASME2.with_suffix('.xlsx')} sheet 'Sheet1'",
            "Subject, Filename, (blank), OnsetFrame, ApexFrame, OffsetFrame, (blank), Action Units, Estimated Emotion",
        ),
        (
            CASME2.with_suffix(".csv"),  # before: "no CASME2-coding-20140508.csv__naming rule1.csv beside it"
            f"{CASME2.with_suffix('.csv')}",
            "Subject, Filename, (blank), OnsetFrame, ApexFrame, OffsetFrame, (blank), Action Units, Estimated Emotion",
        ),
        (SAMM_LV, f"{SAMM_LV} sheet 'FACS_Movement_Only'", "SAMM Long Videos Dataset - FACS Codes"),
    ],
)
def test_another_datasets_sheet_is_refused_by_the_code_sheets_layout(sheet, where, found):
    """CAS(ME)^2's code sheet has no header: its columns are checked by position before
    any row is read, and a wrong sheet is named in one line with what row 1 holds."""
    with pytest.raises(SheetError) as err:
        casme_sq.read_intervals(sheet)
    assert str(err.value) == f"{where}: not a CAS(ME)^2 code sheet: row 1 holds {found}; {_EXPECTED}"


def test_a_code_sheet_with_a_header_row_is_refused_and_the_real_one_reads(tmp_path):
    import openpyxl

    book = openpyxl.load_workbook(CASME_SQ)
    book["CASFEcode_final"].insert_rows(1)
    for column, name in enumerate(["Subject", "Expression", "Onset", "Apex", "Offset"], start=1):
        book["CASFEcode_final"].cell(1, column, name)
    book.save(tmp_path / "CASME_sq_gt.xlsx")
    with pytest.raises(SheetError) as err:
        casme_sq.read_intervals(tmp_path / "CASME_sq_gt.xlsx")
    assert str(err.value) == (
        f"{tmp_path / 'CASME_sq_gt.xlsx'} sheet 'CASFEcode_final': not a CAS(ME)^2 code sheet: "
        f"row 1 holds Subject, Expression, Onset, Apex, Offset; {_EXPECTED}"
    )
    assert len(casme_sq.read_intervals(CASME_SQ)) == 357


def _touch(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_videos_as_they_sit_on_disk(tmp_path):
    # CAS(ME)^2: a video of s16 filed under s15's folder, a stray file, the frames list
    root = tmp_path / "casme_sq"
    _touch(root / "rawpic/s15/15_0101disgustingteeth", [f"img{n:03d}.jpg" for n in range(1, 31)] + ["Thumbs.db"])
    _touch(root / "rawpic/s15/16_0102eatingworms", [f"img{n:03d}.jpg" for n in (1, 2, 3, 5)])
    (root / "ME2.txt").write_text("s15_0101 30\ns16_0102 5\n")
    videos = casme_sq.videos(root)
    assert [(v.name, v.subject, v.numbers[-1], v.expected, v.missing()) for v in videos] == [
        ("s15_0101", "s15", 30, 30, []),
        ("s16_0102", "s16", 5, 5, [4]),
    ]
    assert videos[1].repairs == ("filed under s15/, another subject's folder: its name says s16",)
    assert videos[0].paths[0] == root / "rawpic/s15/15_0101disgustingteeth/img001.jpg"
    # SAMM-LV: 4 digits, then 5
    root = tmp_path / "samm_lv"
    _touch(root / "SAMM_longvideos/006_1", [f"006_1_{n:04d}.jpg" for n in (9998, 9999, 10000, 10001)])
    (video,) = samm_lv.videos(root)
    assert (video.name, video.subject, video.numbers) == ("006_1", "006", (9998, 9999, 10000, 10001))
    # CAS(ME)^3: file names are numbers, the first 7 and one in the middle missing
    root = tmp_path / "casme3"
    _touch(root / "part_A/spNO.1/a/color", [f"{n}.jpg" for n in range(7, 40) if n != 20])
    _touch(root / "part_A/spNO.1/a/depth", ["7.png"])
    (video,) = casme3_lv.videos(root)
    assert (video.name, video.extent, video.missing(), len(video.numbers)) == ("spNO.1_a", (7, 39), [20], 32)
    write_table(
        root / "CAS(ME)3_part_A_v2.xlsx",
        ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Expression type", "Objective class"],
        [
            ["spNO.1", "a", "0", "10", "30", "4", "Micro-expression", "II"],
            ["spNO.1", "b", "1", "2", "3", "4", "Macro-expression", "II"],
        ],
        sheet="AU+Emotion",
    )
    placed, lost = casme3_lv.intervals(root)
    assert (placed.onset, placed.apex, placed.offset, placed.error) == (7, 10, 30, "")
    assert placed.repairs == ("onset 0 before the video's first frame 7: starts at 7",)
    assert lost.error == "sheet row 3: video spNO.1_b is not in the release"


def test_no_frames_folder_is_one_line(tmp_path):
    with pytest.raises(UsageError) as err:
        samm_lv.videos(tmp_path)
    assert str(err.value) == (
        f"no SAMM Long Videos frames under {tmp_path}: expected a folder SAMM_longvideos or SAMM_LongVideos "
        "or SAMM_Long_Videos in it or below"
    )
