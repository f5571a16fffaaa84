"""The spotter registry: the built-ins, plug-ins from the group ``mepipe.spotters``, and
one-line errors for an unknown name, a broken plug-in and a name claimed twice
(:mod:`mepipe.spot.registry`). tests/test_extend_spotter.py runs a plug-in on a store."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.errors import UsageError
from mepipe.release.plugins import SPOTTERS
from mepipe.spot.registry import SpotOption, Spotter, get_spotter, spotter_listing, spotter_names

from .test_extend_recipe import write_distribution


def test_the_built_ins_are_registered_without_importing_their_work():
    assert spotter_names()[:2] == ["baseline", "softnet"]
    softnet = get_spotter("softnet")
    assert softnet.needs == ("torch",) and [o.name for o in softnet.options] == ["epochs", "seed"]
    assert get_spotter("baseline").needs == () and get_spotter("baseline").options == ()
    listing = spotter_listing()
    assert "baseline: thresholded peaks" in listing and "(needs PyTorch; options epochs=10, seed=0)" in listing


def test_an_unknown_spotter_is_one_line_naming_the_known_ones(tmp_path):
    result = CliRunner().invoke(cli, ["spot", str(tmp_path), "--out", str(tmp_path / "p.csv"), "--spotter", "nope"])
    assert result.exit_code != 0
    assert "unknown spotter 'nope'; known: baseline, softnet" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_options_are_the_declared_ones_parsed_to_their_types():
    spotter = get_spotter("softnet")
    assert spotter.parse_options({}) == {"epochs": 10, "seed": 0}
    assert spotter.parse_options({"epochs": "3", "seed": -2}) == {"epochs": 3, "seed": -2}
    with pytest.raises(UsageError, match="spotter softnet takes no option width; it takes epochs, seed"):
        spotter.parse_options({"width": 4})
    with pytest.raises(UsageError, match="option epochs is at least 1, not 0"):
        spotter.parse_options({"epochs": "0"})
    with pytest.raises(UsageError, match="spotter baseline takes no option seed; it takes none"):
        get_spotter("baseline").parse_options({"seed": 1})
    flag = SpotOption("flip", False, "flip")
    assert [flag.parse(v) for v in ("yes", "0", True)] == [True, False, True]
    with pytest.raises(UsageError, match="option flip takes bool values, not 'maybe'"):
        flag.parse("maybe")


def test_a_broken_plug_in_is_one_line_and_the_others_still_work(installed, tmp_path):
    write_distribution(
        installed,
        "broken_spotters",
        {"broken_spotters.py": "import not_a_module\n"},
        {"broken": "broken_spotters:SPOTTER"},
        version="0.3",
        group=SPOTTERS,
    )
    assert spotter_names() == ["baseline", "softnet", "broken"]
    with pytest.raises(UsageError) as caught:
        get_spotter("broken")
    assert str(caught.value) == (
        "spotter 'broken' cannot be loaded from the entry point broken = broken_spotters:SPOTTER of group "
        "mepipe.spotters (distribution broken_spotters 0.3): ModuleNotFoundError: No module named 'not_a_module'"
    )
    assert get_spotter("baseline").name == "baseline"
    assert "broken: cannot be loaded (--spotter broken says why)" in spotter_listing()
    result = CliRunner().invoke(cli, ["spot", str(tmp_path), "--out", str(tmp_path / "p.csv"), "--spotter", "broken"])
    assert result.exit_code != 0 and result.output.count("\n") == 1
    assert "distribution broken_spotters 0.3" in result.output


def test_a_name_claimed_twice_or_an_object_that_is_no_spotter_is_refused(installed):
    module = (
        "from mepipe.spot.registry import Spotter\n"
        "class Other(Spotter):\n    name = 'baseline'\n"
        "SPOTTER = Other()\nNOT_ONE = object()\n"
    )
    write_distribution(
        installed,
        "lab_spotters",
        {"lab_spotters.py": module},
        {"baseline": "lab_spotters:SPOTTER", "odd": "lab_spotters:NOT_ONE"},
        group=SPOTTERS,
    )
    with pytest.raises(UsageError, match=r"spotter 'baseline' is registered twice: the built-in spotter .* and the "):
        get_spotter("baseline")
    with pytest.raises(UsageError, match=r"spotter 'odd' from the entry point odd = .* is not a spotter named 'odd'"):
        get_spotter("odd")
    assert get_spotter("softnet").name == "softnet"


def test_the_contract_s_spot_is_to_be_written():
    class Nothing(Spotter):
        name = "nothing"

    with pytest.raises(NotImplementedError):
        Nothing().spot(".")
