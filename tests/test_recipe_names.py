"""Nothing in ``mepipe/`` names a recipe (docs/extending.md): what differs between datasets
is an attribute or a method of the recipe, read through the registry, so a new recipe
changes no line of mepipe.

The check reads every string literal of ``mepipe/`` from the source (docstrings left out,
as comments are) and fails on one that is a recipe's name: code deciding by a dataset's
name (``dataset == "samm"``, ``("smic", "megc2019")``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the recipes' names, from the modules of pipelines/ (as the registry lists them)
RECIPES = frozenset(p.stem for p in (ROOT / "pipelines").glob("[!_]*.py"))
#: the literals allowed, each (module, name it is assigned to, why): the demo is a user of
#: mepipe and picks two releases to show; "megc2019" is also a class set's name, spelled once
ALLOWED = {
    ("mepipe/demo.py", "DATASETS"): "the demo's choice of releases",
    ("mepipe/demo.py", "ARRAYS"): "the demo's choice of releases",
    ("mepipe/demo.py", "main"): "the demo trains on one of its two releases",
    ("mepipe/release/labels.py", "MEGC2019_SET"): "the class set of the official list, one constant",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _owner(tree: ast.Module, node: ast.AST) -> str:
    """The top-level name whose statement holds ``node``: a function's or an assignment's."""
    for statement in tree.body:
        if any(child is node for child in ast.walk(statement)):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                return statement.name
            if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                return ",".join(t.id for t in targets if isinstance(t, ast.Name))
    return ""


def recipe_literals(path: Path, root: Path = ROOT) -> list[str]:
    """``module:line: 'name' (in owner)`` for each string literal of ``path`` that is a recipe's name."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree)
    module = path.relative_to(root).as_posix()
    return sorted(
        f"{module}:{node.lineno}: {node.value!r} (in {_owner(tree, node)})"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in RECIPES
        and id(node) not in skip
        and (module, _owner(tree, node)) not in ALLOWED
    )


def test_no_recipe_is_named_outside_the_recipes():
    assert len(RECIPES) >= 10 and {"samm", "smic", "megc2019", "casme_sq"} <= RECIPES
    found = [hit for path in sorted((ROOT / "mepipe").rglob("*.py")) for hit in recipe_literals(path)]
    assert found == []


def test_the_check_sees_a_recipe_named_in_code(tmp_path):
    probe = tmp_path / "mepipe" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(
        '"""Reads samm stores."""\n'
        "# samm's subjects\n"
        "def spell(dataset, subject):\n"
        '    """Spelled as the list does for "samm"."""\n'
        '    return subject.lstrip("0") if dataset == "samm" else subject\n'
        'APEX = ("smic", "megc2019")\n'
        'NOTE = f"{APEX} and casme2"\n'
        'WHO = f"{NOTE}" + "casme2"\n'
    )
    assert recipe_literals(probe, tmp_path) == [
        "mepipe/probe.py:5: 'samm' (in spell)",
        "mepipe/probe.py:6: 'megc2019' (in APEX)",
        "mepipe/probe.py:6: 'smic' (in APEX)",
        "mepipe/probe.py:8: 'casme2' (in WHO)",
    ]
