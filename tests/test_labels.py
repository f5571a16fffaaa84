"""Labels beyond the emotion: action units as the sheets write them, their multi-hot
targets in a store, and objective classes."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import zarr
from click.testing import CliRunner

from mepipe.build import build
from mepipe.cli import cli
from mepipe.dataset import open_dataset
from mepipe.errors import MepipeError
from mepipe.pipelines import get_recipe
from mepipe.release.au import (
    MEB_AUS,
    AuToken,
    au_text,
    certain_aus,
    multihot,
    parse_action_units,
    tokens_from_text,
    tokens_text,
)
from mepipe.release.sheet import read_table

DATA = Path(__file__).parent / "data" / "annotations"
casme2, samm, casme3 = get_recipe("casme2"), get_recipe("samm"), get_recipe("casme3")
CASME2_2014 = DATA / "casme2" / "CASME2-coding-20140508.xlsx"
CASME2_2019 = DATA / "casme2" / "CASME2-coding-20190701.xlsx"
SAMM = DATA / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx"
CASME3 = DATA / "casme3" / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
AU_SHEETS = [
    (CASME2_2014, "Action Units", (), 68),
    (CASME2_2019, "Action Units", (), 74),
    (SAMM, "Action Units", (), 97),
    (CASME3, "AU", ("label",), 90),
]


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _summary(text):
    """``(au, [(au, side, intensity, certain, kind), ...], warning count)`` of one string."""
    tokens, warnings = parse_action_units(text)
    return au_text(certain_aus(tokens)), [(t.au, t.side, t.intensity, t.certain, t.kind) for t in tokens], len(warnings)


@pytest.mark.parametrize(
    ("text", "au", "tokens"),
    [
        ("4+L10", "4+10", [(4, "", "", True, "au"), (10, "L", "", True, "au")]),
        ("1+R2+25", "1+2+25", [(1, "", "", True, "au"), (2, "R", "", True, "au"), (25, "", "", True, "au")]),
        ("1A+2B+L14C", "1+2+14", [(1, "", "A", True, "au"), (2, "", "B", True, "au"), (14, "L", "C", True, "au")]),
        ("A12+A7", "7+12", [(12, "A", "", True, "au"), (7, "A", "", True, "au")]),
        ("A1B+A2C", "1+2", [(1, "A", "B", True, "au"), (2, "A", "C", True, "au")]),
        ("(R6 or R12)+R15", "15", [(6, "R", "", False, "or"), (12, "R", "", False, "or"), (15, "R", "", True, "au")]),
        ("(R6 or R12) + R15", "15", [(6, "R", "", False, "or"), (12, "R", "", False, "or"), (15, "R", "", True, "au")]),
        ("L12 or L14", "", [(12, "L", "", False, "or"), (14, "L", "", False, "or")]),
        (
            "R14A or 17A or 24A",
            "",
            [(14, "R", "A", False, "or"), (17, "", "A", False, "or"), (24, "", "A", False, "or")],
        ),
        ("10A/B", "10", [(10, "", "A/B", True, "au")]),
        ("4A/B", "4", [(4, "", "A/B", True, "au")]),
        ("A/L12", "12", [(12, "A/L", "", True, "au")]),
        ("ref(7B)+43", "43", [(7, "", "B", False, "ref"), (43, "", "", True, "au")]),
        ("7B+ ref(43)", "7", [(7, "", "B", True, "au"), (43, "", "", False, "ref")]),
        ("ref(L10)+A12B", "12", [(10, "L", "", False, "ref"), (12, "A", "B", True, "au")]),
        ("L12 + 61", "12+61", [(12, "L", "", True, "au"), (61, "", "", True, "au")]),
        ("12+15 ", "12+15", [(12, "", "", True, "au"), (15, "", "", True, "au")]),
        ("T18+39", "18+39", [(18, "T", "", True, "au"), (39, "", "", True, "au")]),
        ("B23", "23", [(23, "B", "", True, "au")]),
        (
            "16+23+2+1",
            "1+2+16+23",
            [(16, "", "", True, "au"), (23, "", "", True, "au"), (2, "", "", True, "au"), (1, "", "", True, "au")],
        ),
        ("?", "", []),
        (12, "12", [(12, "", "", True, "au")]),
        (12.0, "12", [(12, "", "", True, "au")]),
        (None, "", []),
    ],
)
def test_au_rules(text, au, tokens):
    assert _summary(text)[:2] == (au, tokens)
    assert _summary(text)[2] == 0


@pytest.mark.parametrize(
    ("text", "au", "warning"),
    [
        ("R14+17+soft focus", "14+17", "'soft focus' is not an AU code, ignored"),
        ("4+(7", "", "unbalanced brackets, no AU read"),
        ("abc", "", "'abc' is not an AU code, ignored"),
        ("12X+4", "4", "'12X' is not an AU code, ignored"),
        ("4++7", "4+7", "an empty term between separators"),
        ("3+4", "3+4", "AU 3 is not a FACS action unit"),
    ],
)
def test_unreadable_strings_keep_their_text_and_warn(text, au, warning):
    tokens, warnings = parse_action_units(text)
    assert au_text(certain_aus(tokens)) == au
    assert len(warnings) == 1 and warnings[0] == f"action units {text!r}: {warning}"


def _reference_au(text) -> str:
    """An independent reading of the rules: drop ``ref(...)`` and every term holding
    ``or``, then take each remaining term's one number."""
    if text is None or str(text).strip() == "?":
        return ""
    kept = [t for t in re.sub(r"ref\([^)]*\)", "", str(text)).split("+") if " or " not in t]
    numbers = [re.findall(r"\d+", t) for t in kept]
    return "+".join(str(n) for n in sorted({int(found[0]) for found in numbers if len(found) == 1}))


@pytest.mark.parametrize(
    ("sheet", "column", "sheets", "distinct"), AU_SHEETS, ids=["casme2-2014", "casme2-2019", "samm", "casme3"]
)
def test_every_au_string_of_the_real_sheets(sheet, column, sheets, distinct):
    table = read_table(sheet, {"au": (column,)}, sheets)
    strings = {cells[table.columns["au"]] for _, cells in table.rows}
    assert len(strings) == distinct
    warned = []
    for text in strings:
        tokens, warnings = parse_action_units(text)
        au = au_text(certain_aus(tokens))
        assert au == _reference_au(text), text
        assert tokens_from_text(tokens_text(tokens)) == tokens
        if warnings:
            warned.append(text)
    # one string in all four sheets holds a term that is not an AU code
    assert warned == (["R14+17+soft focus"] if sheet == SAMM else [])


def test_samples_carry_the_text_the_au_and_the_tokens():
    by_id = {s.sample_id: s for s in samm.read(SAMM)}
    sample = by_id["007/007_6_5"]
    assert (sample.action_units, sample.au) == ("(R6 or R12) + R15", "15")
    assert tokens_from_text(sample.au_tokens)[2] == AuToken("R15", 15, "R")
    soft = by_id["026/026_5_1"]
    assert (soft.au, soft.au_warning) == (
        "14+17",
        "sheet row 135: action units 'R14+17+soft focus': 'soft focus' is not an AU code, ignored",
    )
    unsure = [s for s in casme2.read(CASME2_2014) if s.action_units == "?"]
    assert len(unsure) == 5 and {s.au for s in unsure} == {""} and not any(s.au_warning for s in unsure)
    # the 2019 sheet fills the five in
    revised = {s.sample_id: s for s in casme2.read(CASME2_2019)}
    assert all(revised[s.sample_id].au for s in unsure)


def test_multihot_follows_the_au_field():
    targets = multihot(["4+10", "", "1+2+14", "12"], MEB_AUS)
    assert targets.dtype == np.uint8 and targets.shape == (4, 12)
    assert [np.array(MEB_AUS)[row == 1].tolist() for row in targets] == [[4, 10], [], [1, 2, 14], [12]]


def test_objective_classes_of_the_real_sheets(tmp_path):
    counts = {
        "casme2-2014": (casme2, CASME2_2014, {"1": 25, "2": 15, "3": 99, "4": 26, "5": 20, "6": 1, "7": 69}),
        # the 2019 sheet's own column (datasets.md, section 1.4)
        "casme2-2019": (casme2, CASME2_2019, {"1": 30, "2": 18, "3": 93, "4": 15, "5": 18, "6": 2, "7": 79}),
        "samm": (samm, SAMM, {"1": 24, "2": 13, "3": 20, "4": 8, "5": 3, "6": 7, "7": 84}),
    }
    for recipe, sheet, expected in counts.values():
        samples = recipe.read(sheet, "objective")
        assert Counter(s.label for s in samples) == expected
    assert Counter(s.label for s in casme3.read(CASME3, "objective"))["7"] == 373  # Roman VII
    # the separate sheet named explicitly wins over the 2019 column: 37 rows differ
    named = casme2.read(CASME2_2019, "objective", objective_sheet=DATA / "casme2" / "CASME2-ObjectiveClasses.xlsx")
    own = casme2.read(CASME2_2019, "objective")
    assert sum(a.label != b.label for a, b in zip(named, own)) == 37
    # a 2014 sheet without its ObjectiveClasses sheet beside it has none
    shutil.copy(CASME2_2014, tmp_path)
    with pytest.raises(Exception, match="holds no objective classes"):
        casme2.read(tmp_path / CASME2_2014.name, "objective")


def test_objective_bad_input_is_one_line(tmp_path):
    shutil.copy(CASME2_2014, tmp_path)
    lone = _run("samples", "--dataset", "casme2", "--sheet", tmp_path / CASME2_2014.name, "--classes", "objective")
    assert lone.exit_code == 2
    assert (
        lone.stderr == f"mepipe: error: --classes objective: {tmp_path / CASME2_2014.name} holds no objective classes\n"
    )
    smic = _run("samples", "--dataset", "smic", "--root", tmp_path, "--classes", "objective")
    assert smic.stderr == (
        "mepipe: error: --classes objective: SMIC-HS has no objective classes (CASME-II, SAMM and CAS(ME)^3 publish them)\n"
    )
    missing = _run("samples", "--dataset", "casme2", "--sheet", CASME2_2014, "--objective-sheet", tmp_path / "x.xlsx")
    assert missing.stderr == f"mepipe: error: --objective-sheet {tmp_path / 'x.xlsx'}: no such file\n"
    listed = _run(
        "samples", "--dataset", "casme2", "--sheet", CASME2_2014, "--classes", "objective", "--format", "csv"
    ).stdout.splitlines()
    assert listed[1].endswith(",12,12,1") and len(listed) == 256


def test_store_holds_the_action_units_and_their_targets(casme2_release, casme2_store, tmp_path):
    group = zarr.open_group(casme2_store)
    vocabulary = group.attrs["mepipe"]["au_vocabulary"]
    au = [str(a) for a in group["au"][:]]
    assert vocabulary == sorted({int(p) for a in au for p in a.split("+") if p})  # the release's AUs
    assert group["au_multihot"].dtype == np.uint8
    assert np.array_equal(group["au_multihot"][:], multihot(au, vocabulary))
    ds = open_dataset(casme2_store)
    assert ds["au_unit"].values.tolist() == vocabulary
    assert {"action_units", "au", "au_tokens", "au_warning", "objective_class"} <= set(ds.coords)
    first = ds.isel(sample=0)
    assert [int(u) for u, on in zip(ds["au_unit"].values, first["au_multihot"].values) if on] == [
        int(p) for p in str(first["au"].values).split("+") if p
    ]
    # objective classes from the ObjectiveClasses sheet synth writes beside the coding sheet
    objective = open_dataset(casme2_store, classes="objective")
    assert objective.attrs["class_names"] == [str(n) for n in range(1, 8)]
    assert list(objective["label"].values) == list(objective["objective_class"].values)
    # a fixed vocabulary, meb's 12; an AU outside FACS is refused in one line
    out = tmp_path / "meb.zarr"
    build = ("build", "--dataset", "casme2", "--root", casme2_release, "--size", "32", "--quiet", "--workers", "1")
    built = _run(*build, "--out", out, "--au-vocabulary", ",".join(map(str, MEB_AUS)))
    assert built.exit_code == 0, built.output
    meb = zarr.open_group(str(out))
    assert meb.attrs["mepipe"]["au_vocabulary"] == list(MEB_AUS)
    assert np.array_equal(meb["au_multihot"][:], multihot([str(a) for a in meb["au"][:]], MEB_AUS))
    bad = _run(*build, "--out", tmp_path / "x.zarr", "--au-vocabulary", "1,2,3")
    assert bad.exit_code == 2 and bad.stderr == "mepipe: error: --au-vocabulary: AU 3 is not a FACS action unit\n"
    pytest.importorskip("torch")
    from mepipe.dataset import TorchDataset

    item = TorchDataset(str(out))[1]
    assert item["au_multihot"].tolist() == meb["au_multihot"][int(TorchDataset(str(out)).rows[1])].tolist()


def test_resuming_after_the_objective_sheet_changed_is_refused(casme2_release, tmp_path):
    """The ObjectiveClasses sheet is not the coding sheet, whose checksum the store keeps:
    the stored classes themselves are compared on resume."""
    release = tmp_path / "release"
    shutil.copytree(casme2_release, release)
    store = str(tmp_path / "s.zarr")
    build("casme2", release, store, size=32, progress=False, scheduler="sync", classes="objective")
    sheet = release / "CASME2-ObjectiveClasses.xlsx"
    book = openpyxl.load_workbook(sheet)
    cell = book.active.cell(row=2, column=3)
    cell.value = cell.value % 7 + 1
    book.save(sheet)
    with pytest.raises(MepipeError) as caught:
        build("casme2", release, store, size=32, progress=False, scheduler="sync", classes="objective")
    assert "objective_class differs in 1 of 9 samples" in str(caught.value)
    assert "label differs in 1 of 9 samples" in str(caught.value)


@pytest.mark.parametrize(
    "text, au, sides",
    [
        # forms no sheet read here uses, as other releases and lab copies write them
        ("AU12", "12", [""]),
        ("AU4+AU7", "4+7", ["", ""]),
        ("AU 6 + AU 12", "6+12", ["", ""]),
        ("1, 2, 4", "1+2+4", ["", "", ""]),
        ("1;2", "1+2", ["", ""]),
        ("12L", "12", ["L"]),
        ("12BR", "12", ["R"]),
        ("(AU6 or AU12)+AU15", "15", ["", "", ""]),
        ("L12R", "", [""]),  # two sides: unreadable, not a guess
    ],
)
def test_other_spellings_of_action_units(text, au, sides):
    tokens, warnings = parse_action_units(text)
    assert au_text(certain_aus(tokens)) == au
    assert [t.side for t in tokens] == sides
    assert bool(warnings) == (au == "")
