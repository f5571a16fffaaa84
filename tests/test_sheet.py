"""Sheet tables: header found by content, cells parsed leniently, damaged files one-line errors."""

import zipfile
from pathlib import Path

import pytest

from mepipe.errors import SheetError
from mepipe.release.sheet import cell_int, cell_text, normalise_name, read_table, write_table

DATA = Path(__file__).parent / "data" / "annotations"
SAMM = DATA / "samm" / "SAMM_Micro_FACS_Codes_v2.xlsx"
CASME2 = DATA / "casme2" / "CASME2-coding-20140508.xlsx"
COLUMNS = {"subject": ("Subject",), "clip": ("Filename",), "onset": ("OnsetFrame", "Onset Frame")}


@pytest.mark.parametrize(
    "value, expected",
    [
        (355, 355),
        (355.0, 355),
        ("355", 355),
        (" 355.0 ", 355),
        ("-3", -3),
        ("/", None),
        ("", None),
        (None, None),
        (355.5, None),
        ("12a", None),
        (True, None),
    ],
)
def test_cell_int(value, expected):
    assert cell_int(value) == expected


def test_cell_text_and_names():
    assert cell_text(6.0) == "6"
    assert cell_text("  Anger ") == "Anger"
    assert cell_text(None) == ""
    assert normalise_name("Onset Frame") == normalise_name("OnsetFrame") == "onsetframe"
    assert normalise_name(None) == ""


def test_samm_header_below_preamble():
    table = read_table(SAMM, COLUMNS, ("MICRO_ONLY",))
    assert table.sheet == "MICRO_ONLY"
    assert table.header_row == 14
    assert table.columns == {"subject": 0, "clip": 1, "onset": 3}
    assert [n for n, _ in table.rows] == list(range(15, 174))
    assert table.rows[0][1][:4] == ("006", "006_1_2", 1, 5562)


def test_casme2_spacer_columns_left_out_of_raw():
    table = read_table(CASME2, COLUMNS)
    assert table.header_row == 1
    assert table.names[2] is None and table.names[6] is None
    assert table.columns["onset"] == 3
    assert table.raw(table.rows[0][1]) == {
        "Subject": "01",
        "Filename": "EP02_01f",
        "OnsetFrame": 46,
        "ApexFrame": 59,
        "OffsetFrame": 86,
        "Action Units": 12,
        "Estimated Emotion": "happiness",
    }


def test_csv_export_reads_like_xlsx():
    xlsx = read_table(SAMM, COLUMNS)
    csv = read_table(SAMM.with_suffix(".csv"), COLUMNS)
    assert csv.header_row == xlsx.header_row
    assert [n for n, _ in csv.rows] == [n for n, _ in xlsx.rows]
    assert [cell_int(c[3]) for _, c in csv.rows] == [c[3] for _, c in xlsx.rows]


def test_missing_column_names_file_and_found_columns(tmp_path):
    path = write_table(tmp_path / "s.xlsx", ["Subject", "Filename", "Start"], [["01", "EP01", 3]])
    with pytest.raises(SheetError) as err:
        read_table(path, COLUMNS)
    assert str(err.value) == f"{path}: no column 'OnsetFrame' (found: Subject, Filename, Start)"


def test_two_missing_columns(tmp_path):
    path = write_table(tmp_path / "s.csv", ["Subject", "Name", "Start"], [["01", "EP01", 3]])
    with pytest.raises(SheetError, match=r"no columns 'Filename', 'OnsetFrame' \(found: Subject, Name, Start\)$"):
        read_table(path, COLUMNS)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("random.xlsx", b"\x13\x99not a zip at all", "not an .xlsx workbook (no zip signature)"),
        (
            "image.csv",
            (Path(__file__).parents[1] / "mepipe/data/astronaut.png").read_bytes(),
            "binary file, not a CSV text file",
        ),
        ("image.png", b"\x89PNG\r\n", "unsupported sheet format '.png'; save it as .xlsx or .csv"),
        ("empty.csv", b"", "empty sheet, no header row"),
    ],
)
def test_not_a_spreadsheet(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SheetError) as err:
        read_table(path, COLUMNS)
    assert str(err.value) == f"{path}: {message}"


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(SheetError, match=r"fake\.xlsx: not a readable \.xlsx workbook \(\w+\)$"):
        read_table(path, COLUMNS)


def test_missing_file(tmp_path):
    with pytest.raises(SheetError, match="no such file$"):
        read_table(tmp_path / "nope.xlsx", COLUMNS)


def test_cp1252_csv(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("Subject,Filename,OnsetFrame\n01,Café,3\n".encode("cp1252"))
    assert read_table(path, COLUMNS).rows == ((2, ("01", "Café", "3")),)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_write_table_round_trip(tmp_path, suffix):
    preamble = [("Title", None, "note"), (), ("more",)]
    rows = [["01", "EP01", 3], ["02", None, 7]]
    path = write_table(
        tmp_path / f"s{suffix}", ["Subject", "Filename", "OnsetFrame"], rows, sheet="MICRO_ONLY", preamble=preamble
    )
    table = read_table(path, COLUMNS)
    assert table.header_row == 4
    as_read = [tuple(cell_text(c) or None for c in cells) for _, cells in table.rows]
    assert as_read == [("01", "EP01", "3"), ("02", None, "7")]
    assert [n for n, _ in table.rows] == [5, 6]
    if suffix == ".xlsx":
        assert table.sheet == "MICRO_ONLY"
        assert table.rows[0][1] == ("01", "EP01", 3)  # text stays text, numbers numbers
