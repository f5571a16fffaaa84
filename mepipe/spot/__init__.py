"""Micro-expression spotting in long videos: spotters, scoring, spot-then-recognise.

A spotting store is built like any store (``mepipe build --dataset casme_sq``:
:func:`mepipe.build.build`, the graph of :mod:`mepipe.engine.spotting`), its format is
:mod:`mepipe.store.spotting`, its readers are :mod:`mepipe.dataset`'s. This room holds what
is about spotting itself: the baseline (:mod:`~mepipe.spot.baseline`) and learned
(:mod:`~mepipe.spot.learned`) spotters, the MEGC evaluator (:mod:`~mepipe.spot.evaluate`),
STRS (:mod:`~mepipe.spot.strs`) and spot-then-recognise (:mod:`~mepipe.spot.recognise`).
:class:`SpotSettings` and :func:`build_spotting` are importable here under their old names.
"""

from mepipe.engine.spotting import SpotSettings, SpotSummary, build_spotting

__all__ = ["SpotSettings", "SpotSummary", "build_spotting"]
