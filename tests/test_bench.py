"""The training benchmark runs end to end at its tiniest size (figures are not checked)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")


def test_train_bench_tiny_prints_both_paths_and_the_anchor(tmp_path, capsys):
    from bench.train import main

    main(["--tiny", "--device", "cpu", "--out", str(tmp_path), "--repeats", "1"])
    out = capsys.readouterr().out
    for row in ("sequential", "folds at once", "plain two-stream, batch 8"):
        assert any(line.startswith(row) and float(line[32:42]) > 0 for line in out.splitlines()), out
    assert (tmp_path / "folds-at-once" / "metrics.json").is_file()
