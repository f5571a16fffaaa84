"""The built-in spotters, declared on the contract of :mod:`mepipe.spot.registry`.

``baseline`` (:mod:`mepipe.spot.baseline`) and ``softnet`` (:mod:`mepipe.spot.learned`).
This module imports neither: a spotter is read for ``--help`` and its ``needs`` checked
before its work, PyTorch's included, is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mepipe.spot.registry import SpotOption, SpotResult, Spotter


class Baseline(Spotter):
    """Thresholded peaks of the facial cells' displacement, each subject's videos with
    settings chosen on the other subjects (:func:`mepipe.spot.baseline.spot_loso`)."""

    name = "baseline"
    description = "thresholded peaks of the facial cells' displacement, macro then micro"

    def spot(self, store: Path, *, progress: bool = False, **options: Any) -> SpotResult:
        from mepipe.spot.baseline import MIN_TUNING_SUBJECTS, spot_loso, store_videos

        self.parse_options(options)
        videos, _ = store_videos(store)
        found = spot_loso(videos, progress=progress)
        subjects = len(found.settings)
        how = (
            "settings by nested leave-one-subject-out"
            if subjects - 1 >= MIN_TUNING_SUBJECTS
            else "settings by fixed defaults (too few subjects)"
        )
        return SpotResult(found.spans, subjects, how)


class Learned(Spotter):
    """A spotting model of :mod:`mepipe.train.models` trained on the other subjects'
    windows (:func:`mepipe.spot.learned.spot_learned`)."""

    needs = ("torch",)
    options = (
        SpotOption("epochs", 10, "passes over the windows", minimum=1),
        SpotOption("seed", 0, "initial weights and sampling"),
    )

    def __init__(self, name: str, description: str) -> None:
        self.name, self.description = name, description

    def spot(self, store: Path, *, progress: bool = False, **options: Any) -> SpotResult:
        from mepipe.spot.learned import LearnedSettings, spot_learned

        chosen = self.parse_options(options)
        settings = LearnedSettings(epochs=chosen["epochs"], seed=chosen["seed"], model=self.name)
        learned = spot_learned(store, settings, progress=progress)
        notes = tuple(
            f"{subject}: no {' or '.join(missing)} interval to train on, none spotted"
            for subject, missing in learned.untrained.items()
        )
        return SpotResult(learned.spans, len(learned.trained_on), f"{self.name} trained without each subject", notes)


BASELINE = Baseline()
SOFTNET = Learned("softnet", "SOFTNet trained on the other subjects' windows")
