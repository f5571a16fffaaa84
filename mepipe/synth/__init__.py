"""Synthetic releases in the real layouts: the release writer (:mod:`~mepipe.synth.writer`)
and the synthetic faces and their motion (:mod:`~mepipe.synth.faces`)."""

from mepipe.synth.writer import class_emotions, synthesize

__all__ = ["class_emotions", "synthesize"]
