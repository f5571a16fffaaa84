"""The examples in the docstrings run and print what they say.

Every module of ``mepipe`` (and its recipes) whose source holds an example (``>>>``) is
run through :mod:`doctest`; no list of modules to keep up to date. The examples use small
in-memory arrays: this whole file takes seconds.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_with_examples() -> list[str]:
    found = []
    for base, package in ((ROOT / "mepipe", "mepipe"), (ROOT / "pipelines", "mepipe.pipelines")):
        for path in sorted(base.rglob("*.py")):
            if ">>> " in path.read_text(encoding="utf-8"):
                parts = list(path.relative_to(base).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                found.append(".".join([package, *parts]))
    return found


MODULES = _modules_with_examples()


def test_the_main_public_functions_have_examples():
    # the numerics, the AU reading, a store read and the folds every trainer uses
    assert {"mepipe.imaging.rankpool", "mepipe.release.au", "mepipe.dataset", "mepipe.dataset.splits"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    if name.startswith("mepipe.train"):
        pytest.importorskip("torch")
    module = importlib.import_module(name)
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testmod(module, optionflags=flags, raise_on_error=False, report=True)
    assert result.attempted > 0, f"{name}: the scan saw '>>> ' but doctest found no example"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (printed above)"
