"""The package's rooms and the import contract between them.

Every import statement of ``mepipe/`` and ``pipelines/`` (installed as ``mepipe.pipelines``)
is read from the source, those inside functions included and those under
``if TYPE_CHECKING:`` left out, and resolved to the module it names. Then:

* no module imports, directly or through others, a module that imports it back;
* a room imports only rooms in layers below its own (:data:`LAYERS`, top first; rooms
  sharing a layer do not import each other);
* nothing in ``mepipe/`` imports the recipes (``mepipe.pipelines``): the registry,
  :mod:`mepipe.release.registry`, finds them at run time, as it finds a plug-in's, so a
  recipe depends on mepipe and never the other way round (and mypy checks
  ``pipelines/`` as it sits, without the installed mapping);
* only the training room and the torch view of a store import torch;
* at most 12 modules sit directly in ``mepipe/``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: top first; a room may import the rooms of any layer below its own, and nothing above
LAYERS: list[set[str]] = [
    {"__main__"},
    {"cli"},
    {"demo"},
    # spotting sits on training: its learned spotters and spot-then-recognise train models
    {"spot"},
    # ME-VQA reads clip stores through the dataset room
    {"build", "train", "vqa"},
    {"engine", "dataset", "report", "synth"},
    {"pipelines"},
    {"store"},
    {"arrays"},
    {"imaging", "release"},
    {"errors"},
    {"_shared"},
]
#: the modules allowed to import torch: the training room and the torch views of the stores
TORCH_ALLOWED = ("mepipe.train", "mepipe.dataset.torch_view")


def _modules() -> dict[str, Path]:
    found = {}
    for base, package in ((ROOT / "mepipe", "mepipe"), (ROOT / "pipelines", "mepipe.pipelines")):
        for path in base.rglob("*.py"):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(tree: ast.AST):
    """Import nodes anywhere in ``tree``, skipping ``if TYPE_CHECKING:`` bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve(name: str) -> str | None:
    """The longest known module prefix of a dotted name (``None`` outside mepipe)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> tuple[set[str], set[str]]:
    """(mepipe modules, top-level external packages) that ``module`` imports."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    inside, outside = set(), set()
    for node in _statements(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from x import y` imports module x.y when there is one, else a name of x
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        for target in targets:
            if target.split(".")[0] == "mepipe":
                resolved = _resolve(target)
                if resolved is not None and resolved != module:
                    inside.add(resolved)
            else:
                outside.add(target.split(".")[0])
    return inside, outside


GRAPH = {module: imports_of(module)[0] for module in MODULES}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(module: str) -> int:
    name = room(module)
    return next(i for i, rooms in enumerate(LAYERS) if name in rooms)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


def test_every_module_is_in_a_room_of_the_contract():
    rooms = {room(m) for m in MODULES if m != "mepipe"}
    assert rooms <= set().union(*LAYERS), rooms - set().union(*LAYERS)


def test_no_import_cycles():
    assert cycles(GRAPH) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_rooms_import_only_layers_below():
    wrong = []
    for module, targets in GRAPH.items():
        if module == "mepipe":
            continue
        for target in targets:
            if target == "mepipe" or room(target) == room(module):
                continue
            if layer(target) <= layer(module):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def recipe_importers(graph: dict[str, set[str]]) -> list[str]:
    """``module -> recipe`` for each module outside the recipes that imports one of them."""
    return sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if room(module) != "pipelines"
        for target in targets
        if room(target) == "pipelines"
    )


def test_nothing_in_the_package_imports_the_recipes():
    assert recipe_importers(GRAPH) == []
    # the scan sees imports of recipes: the composite's of its member's module
    assert "mepipe.pipelines.smic" in GRAPH["mepipe.pipelines.megc2019"]
    probe = {"mepipe.engine.graph": {"mepipe.pipelines", "mepipe.release.registry"}}
    assert recipe_importers(probe) == ["mepipe.engine.graph -> mepipe.pipelines"]


def test_torch_only_in_training_and_the_torch_view():
    importers = sorted(m for m in MODULES if "torch" in imports_of(m)[1])
    assert importers, "the training room imports torch: the scan must see it"
    assert [m for m in importers if not m.startswith(TORCH_ALLOWED)] == []


def test_reading_a_store_loads_no_numerics():
    # the array sets' declarations are read by the store; their computing parts load
    # numba, dlib and OpenCV only where a set is computed or pictured
    probe = "import sys, mepipe.store, mepipe.dataset; print(sorted({'numba', 'dlib', 'cv2'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_few_modules_directly_in_the_package():
    direct = list((ROOT / "mepipe").glob("*.py"))
    assert len(direct) <= 12, sorted(p.name for p in direct)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from mepipe.store import open_store", {"mepipe.store"}),
        ("from mepipe.release import frames", {"mepipe.release.frames"}),
        ("def f():\n    from mepipe.engine.graph import build_graph", {"mepipe.engine.graph"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from mepipe.build import build", set()),
    ],
)
def test_imports_are_read_as_written(tmp_path, monkeypatch, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    monkeypatch.setitem(MODULES, "mepipe.probe", path)
    assert imports_of("mepipe.probe")[0] == expected


def test_the_development_page_shows_the_layers_the_contract_checks():
    # docs/development.md's table, row by row: the layer's rooms, top first
    text = (ROOT / "docs" / "development.md").read_text()
    rows = [line.strip() for line in text.splitlines() if line.strip().startswith("| ") and "`" in line]
    table = [{room.strip("` ") for room in row.split("|")[2].split(",")} for row in rows]
    assert table == LAYERS
