"""Micro-expression spotting in long videos: what is built, spotted and scored from a
release's videos and intervals (:mod:`mepipe.release.longvideo`).

The store (:mod:`mepipe.spot.store`) holds per-frame features from one face track
(:mod:`mepipe.spot.features`); :func:`build_spotting` builds it from videos and
intervals, :func:`build_recipe` from a registered long-video recipe.
"""

from .recipe import build_recipe, spotting_recipe
from .store import SpotSettings, SpotSummary, build_spotting

__all__ = ["SpotSettings", "SpotSummary", "build_recipe", "build_spotting", "spotting_recipe"]
