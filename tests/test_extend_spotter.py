"""Adding a spotter: a lab's spotter in a separate package, run by ``mepipe spot --spotter``.

The worked example that docs/extending.md cites. The lab's package declares one
:class:`~mepipe.spot.registry.Spotter` and names it in the entry-point group
``mepipe.spotters``; nothing in mepipe changes. The package is "installed" as in
tests/test_extend_recipe.py: written into a folder on the import path with its
``*.dist-info`` (no pip, no network). A fresh ``mepipe spot --spotter topframe`` process
finds it from the metadata alone and spots a small spotting store (tests/test_spot_store.py's);
``mepipe spot-eval`` scores the predictions as it scores the built-in spotters'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from mepipe.cli import cli
from mepipe.release.plugins import SPOTTERS
from mepipe.spot.evaluate import read_spans
from mepipe.spot.registry import get_spotter, spotter_names

from .test_extend_recipe import write_distribution
from .test_spot_store import store  # noqa: F401  (the small spotting store, a fixture)

ROOT = Path(__file__).resolve().parents[1]

#: the lab's module: each video's strongest moment as one micro-expression (``top`` of them)
TOPFRAME = '''
"""topframe: each video's frames of largest facial displacement, as micro-expressions."""

from mepipe.spot.baseline import expected_lengths, find_peaks, frame_score, peak_intervals, store_videos
from mepipe.spot.registry import SpotOption, SpotResult, Spotter


class TopFrame(Spotter):
    name = "topframe"
    description = "each video's frame of largest facial displacement, as a micro-expression"
    options = (SpotOption("top", 1, "intervals per video", minimum=1),)

    def spot(self, store, *, progress=False, **options):
        top = self.parse_options(options)["top"]
        videos, _ = store_videos(store)
        spans = []
        for video in videos:
            # the interval's length from the other subjects' intervals: leave one subject out
            lengths = expected_lengths(v for v in videos if v.subject != video.subject)
            score = frame_score(video.flow, video.fps)
            # its local maxima at least one interval apart, the strongest first
            peaks = find_peaks(score, 0.0, max(1, round(lengths["micro"] * video.fps)))
            peaks = peaks[score[peaks].argsort()[::-1][:top]]
            spans += peak_intervals(video, [(int(peak), "micro") for peak in peaks], lengths)
        subjects = len({v.subject for v in videos})
        return SpotResult(spans, subjects, "nothing tuned, lengths from the other subjects")


SPOTTER = TopFrame()
'''


def install_topframe(site: Path) -> None:
    """The lab's spotter package, installed in ``site`` with its ``mepipe.spotters`` entry."""
    write_distribution(
        site,
        "labme_spotters",
        {"labme_spotters/__init__.py": "", "labme_spotters/topframe.py": TOPFRAME},
        {"topframe": "labme_spotters.topframe:SPOTTER"},
        group=SPOTTERS,
    )


def test_a_spotter_in_a_separate_package_spots_a_store_and_is_scored(installed, store, tmp_path):  # noqa: F811
    assert "topframe" not in spotter_names()
    install_topframe(installed)
    assert spotter_names()[-1] == "topframe" and get_spotter("topframe").options[0].name == "top"

    # a fresh process knows it from the package's metadata alone
    pred, metrics = tmp_path / "pred.csv", tmp_path / "metrics.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), str(ROOT), *sys.path])}
    command = [sys.executable, "-m", "mepipe", "spot", str(store), "--out", str(pred), "--spotter", "topframe"]
    spotted = subprocess.run([*command, "--option", "top=2", "--quiet"], capture_output=True, text=True, env=env)
    assert spotted.returncode == 0, spotted.stderr
    assert "in 3 videos of 2 subjects, nothing tuned, lengths from the other subjects" in spotted.stdout
    spans = read_spans(pred)
    assert [(s.video, s.type) for s in spans] == [(v, "micro") for v in ("s1_v1", "s2_v1", "s2_quiet") for _ in "12"]

    scored = CliRunner().invoke(cli, ["spot-eval", "--truth", str(store), "--pred", str(pred), "--out", str(metrics)])
    assert scored.exit_code == 0, scored.output
    record = json.loads(metrics.read_text())
    assert record["micro"]["tp"] + record["micro"]["fp"] == len(spans) == 6
    assert record["micro"]["tp"] + record["micro"]["fn"] == 4
    # the strongest moments are the planted expressions: each video of an expression has both found
    assert record["micro"]["tp"] == 4


def test_its_options_are_checked_and_the_help_lists_it(installed, store, tmp_path):  # noqa: F811
    install_topframe(installed)
    runner = CliRunner()
    listed = " ".join(runner.invoke(cli, ["spot", "--help"]).output.split())
    assert "topframe: each video's frame of largest facial displacement, as a micro-expression (options top=1)" in (
        listed
    )
    for option, message in (
        (["--option", "top=0"], "option top is at least 1, not 0"),
        (["--option", "top=two"], "option top takes int values, not 'two'"),
        (["--epochs", "3"], "spotter topframe takes no option epochs; it takes top"),
    ):
        result = runner.invoke(
            cli, ["spot", str(store), "--out", str(tmp_path / "p.csv"), "--spotter", "topframe", *option]
        )
        assert result.exit_code != 0 and message in result.output, result.output
        assert not (tmp_path / "p.csv").exists()


def test_the_docs_show_this_spotter():
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8").split("## A spotter", 1)[1]
    shown = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert shown.strip() in TOPFRAME
