"""The benchmarks cannot rot unseen: every one imports and is run by ``make bench``; the
code the start-up benchmark times in fresh processes runs; the training benchmark runs end
to end at its tiniest size (figures are not checked)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, ON_FILES

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_make_bench_runs_every_benchmark_module():
    modules = sorted(path.stem for path in BENCH.glob("*.py") if not path.stem.startswith("_"))
    assert sorted((*BENCHMARKS, *ON_FILES)) == modules


@pytest.mark.parametrize("name", (*BENCHMARKS, *ON_FILES))
def test_every_benchmark_imports_and_takes_an_argument_list(name):
    if name in ("train", "models", "ststnet", "strs"):
        pytest.importorskip("torch")
    module = importlib.import_module(f"bench.{name}")
    assert list(inspect.signature(module.main).parameters) == ["argv"]  # bench.__main__ calls main([])


def test_the_start_up_parts_run():
    # each is timed in a fresh process, where a stale import only shows as a failed command
    from bench.startup import PARTS

    for name, code in PARTS.items():
        exec(compile(code, f"<bench.startup part {name!r}>", "exec"), {})


def test_train_bench_tiny_prints_both_paths_and_the_anchor(tmp_path, capsys):
    pytest.importorskip("torch")
    from bench.train import main

    main(["--tiny", "--device", "cpu", "--out", str(tmp_path), "--repeats", "1"])
    out = capsys.readouterr().out
    for row in ("sequential", "folds at once", "plain two-stream, batch 8"):
        assert any(line.startswith(row) and float(line[32:42]) > 0 for line in out.splitlines()), out
    assert (tmp_path / "folds-at-once" / "metrics.json").is_file()
