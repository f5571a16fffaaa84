"""Micro-expression spotting in long videos: what is built, spotted and scored from a
release's videos and intervals (:mod:`mepipe.release.longvideo`)."""
