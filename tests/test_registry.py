"""Where recipes are found: the built-in ones with or without installation, plug-ins through
the entry-point group ``mepipe.recipes``, and what a clash or a broken plug-in says.

Plug-ins are distributions written into a temporary folder on ``sys.path``
(:func:`tests.test_extend_recipe.write_distribution`): no pip, no network.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from mepipe.errors import UsageError
from mepipe.release import ENTRY_POINT_GROUP, BaseRecipe, Recipe, get_recipe, recipe_names, recipe_task
from mepipe.release.longvideo import LongVideoRecipe
from mepipe.release.registry import BUILT_IN, TASKS

from .test_extend_recipe import LABME, write_distribution

ROOT = Path(__file__).resolve().parents[1]
CASME2_2019 = ROOT / "tests/data/annotations/casme2/CASME2-coding-20190701.xlsx"
BUILT_INS = sorted(p.stem for p in (ROOT / "pipelines").glob("[!_]*.py"))
#: the built-in recipes of each task, by the task each recipe's own class declares
BUILT_IN_SPOTTING = [name for name in BUILT_INS if get_recipe(name, BaseRecipe).task == "spotting"]
BUILT_IN_RECOGNITION = [name for name in BUILT_INS if name not in BUILT_IN_SPOTTING]


def _mepipe(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``mepipe ARGS`` in a fresh process with ``site`` installed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    return subprocess.run([sys.executable, "-m", "mepipe", *args], capture_output=True, text=True, env=env, check=False)


def test_the_built_in_recipes_are_the_modules_of_pipelines():
    assert recipe_names() == BUILT_INS
    assert recipe_names("recognition") == BUILT_IN_RECOGNITION
    assert recipe_names("spotting") == BUILT_IN_SPOTTING
    assert BUILT_IN_SPOTTING and BUILT_IN_RECOGNITION
    for name in BUILT_INS:
        spotting = name in BUILT_IN_SPOTTING
        kind = LongVideoRecipe if spotting else Recipe
        assert not isinstance(get_recipe(name, BaseRecipe), Recipe if spotting else LongVideoRecipe)
        recipe = get_recipe(name, kind)
        assert isinstance(recipe, kind) and recipe.name == name
        assert recipe.task == ("spotting" if spotting else "recognition")
        assert type(recipe).__module__ == f"{BUILT_IN}.{name}"


def test_setup_cfg_registers_each_built_in_recipe_in_the_entry_point_group():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = [line for line in config["options.entry_points"][ENTRY_POINT_GROUP].splitlines() if line.strip()]
    registered = dict(line.replace(" ", "").split("=") for line in lines)
    assert registered == {name: f"{BUILT_IN}.{name}:RECIPE" for name in BUILT_INS}
    # and the installed metadata says what setup.cfg says (rerun the editable install if not)
    installed_names = {
        e.name: e.value for e in metadata.entry_points(group=ENTRY_POINT_GROUP) if e.dist.name == "mepipe"
    }
    assert installed_names == registered


def test_a_bare_checkout_finds_the_built_in_recipes_through_cli_py(tmp_path):
    """No installation: ``python cli.py`` in a copy of the checkout, site-packages holding only
    the dependencies (``-S``: no .pth file, so no editable mepipe either)."""
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__")
    for part in ("mepipe", "pipelines"):
        shutil.copytree(ROOT / part, checkout / part, ignore=ignore)
    shutil.copy(ROOT / "cli.py", checkout)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p.endswith("site-packages"))}

    def bare(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-S", *args], capture_output=True, text=True, env=env, cwd=tmp_path, check=False
        )

    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1], run_name='probe');"
        "import mepipe.pipelines, mepipe.release as r;"
        "print(mepipe.pipelines.__file__); print(','.join(r.recipe_names()))"
    )
    found = bare(["-c", probe, str(checkout / "cli.py")])
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [str(checkout / "pipelines" / "__init__.py"), ",".join(BUILT_INS)]
    listed = bare([str(checkout / "cli.py"), "samples", "--dataset", "casme2", "--sheet", str(CASME2_2019)])
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 1 + 255  # header and the sheet's rows


def test_a_plug_in_named_as_a_built_in_recipe_is_a_one_line_error(installed):
    write_distribution(
        installed,
        "lab_fork",
        {"lab_fork.py": LABME.replace('name = "labme"', 'name = "casme2"')},
        {"casme2": "lab_fork:RECIPE"},
    )
    assert recipe_names() == BUILT_INS  # listed once
    with pytest.raises(UsageError) as raised:
        get_recipe("casme2")
    message = str(raised.value)
    assert message == (
        "dataset recipe 'casme2' is registered twice: the built-in recipe mepipe.pipelines.casme2 and "
        "the entry point casme2 = lab_fork:RECIPE of group mepipe.recipes (distribution lab_fork 1.0); "
        "rename or uninstall one"
    )
    result = _mepipe(installed, "samples", "--dataset", "casme2", "--sheet", str(CASME2_2019))
    assert result.returncode == UsageError.exit_code and result.stdout == ""
    assert result.stderr == f"mepipe: error: {message}\n"


def test_two_plug_ins_of_one_name_are_a_one_line_error(installed):
    for dist in ("lab_a", "lab_b"):
        write_distribution(installed, dist, {f"{dist}.py": LABME}, {"labme": f"{dist}:RECIPE"})
    assert recipe_names().count("labme") == 1
    with pytest.raises(UsageError, match=r"^dataset recipe 'labme' is registered twice: the entry point labme = "):
        get_recipe("labme")


@pytest.mark.parametrize(
    "module, target, error",
    [
        ("import not_a_module\n", "broken:RECIPE", "ModuleNotFoundError: No module named 'not_a_module'"),
        ("RECIPE = 1 / 0\n", "broken:RECIPE", "ZeroDivisionError: division by zero"),
        (LABME, "broken:NOT_THERE", "AttributeError: module 'broken' has no attribute 'NOT_THERE'"),
        ("RECIPE = 'labme'\n", "broken:RECIPE", "is not a recipe named 'labme': it is a str"),
        (LABME.replace('name = "labme"', 'name = "other"'), "broken:RECIPE", "with name 'other'"),
    ],
    ids=["import", "raises", "attribute", "not-a-recipe", "other-name"],
)
def test_a_broken_plug_in_is_a_one_line_error_naming_its_entry_point(installed, module, target, error):
    write_distribution(installed, "broken_dist", {"broken.py": module}, {"labme": target}, version="0.3")
    assert "labme" in recipe_names()  # listed without importing it
    with pytest.raises(UsageError) as raised:
        get_recipe("labme")
    message = str(raised.value)
    assert "\n" not in message and error in message
    assert f"the entry point labme = {target} of group mepipe.recipes (distribution broken_dist 0.3)" in message
    # the others still work, and a listing by task names the broken one
    assert get_recipe("casme2").name == "casme2"
    with pytest.raises(UsageError, match="entry point labme"):
        recipe_names("recognition")


def test_the_command_reports_a_broken_plug_in_on_one_line(installed):
    write_distribution(installed, "broken_dist", {"broken.py": "import not_a_module\n"}, {"labme": "broken:RECIPE"})
    result = _mepipe(installed, "samples", "--dataset", "labme", "--sheet", str(CASME2_2019))
    assert result.returncode == UsageError.exit_code and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("mepipe: error: dataset recipe 'labme' cannot be loaded from the entry point ")
    # every other command still runs
    assert _mepipe(installed, "samples", "--dataset", "casme2", "--sheet", str(CASME2_2019)).returncode == 0


SPOTTING = '''
class LongVideos:
    """Stands for a long-video recipe: a recipe of the other task, not a clip Recipe."""

    task = "spotting"
    name = "lab_lv"
    title = "Lab long videos"


RECIPE = LongVideos()
'''


def test_the_registry_holds_recipes_of_either_task(installed):
    write_distribution(installed, "lab_lv", {"lab_lv.py": SPOTTING}, {"lab_lv": "lab_lv:RECIPE"})
    assert TASKS == ("recognition", "spotting")
    assert "lab_lv" in recipe_names() and recipe_names("spotting") == sorted([*BUILT_IN_SPOTTING, "lab_lv"])
    assert recipe_names("recognition") == BUILT_IN_RECOGNITION
    recipe = get_recipe("lab_lv", object)
    assert (recipe.task, type(recipe).__name__) == ("spotting", "LongVideos")
    assert get_recipe("lab_lv", type(recipe)) is recipe
    assert (recipe_task("lab_lv"), recipe_task("casme2")) == ("spotting", "recognition")
    # where clips are read (check, build, synth), a spotting recipe is a one-line error
    with pytest.raises(UsageError) as raised:
        get_recipe("lab_lv")
    assert str(raised.value) == (
        "dataset 'lab_lv' is a spotting recipe (LongVideos); a recognition recipe is needed here: "
        + ", ".join(BUILT_IN_RECOGNITION)
    )
    with pytest.raises(UsageError, match="^unknown task 'detection'; known: recognition, spotting$"):
        recipe_names("detection")


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(UsageError, match=f"^unknown dataset 'nope'; known: {', '.join(BUILT_INS)}$"):
        get_recipe("nope")
