"""A small long video on disk: the packaged portrait with expressions at known frames.

Import it from a test or a benchmark (``from tests.spotvideo import write_video``)::

    video = write_video(tmp_path / "v", 90, [Event(20, 26, 34, "surprise", 2.0)])

Each :class:`Event` deforms the face by its emotion's pattern
(:data:`mepipe.synth.faces.PATTERNS`) with a raised-cosine profile from onset to offset;
the head drifts slowly; ``jump`` moves the head for good at a frame (the face track must
detect it again) and ``hidden`` covers the face for a range of frames (the track loses it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mepipe.engine.spotting import SpotSettings
from mepipe.release.longvideo import Video
from mepipe.synth import faces

#: a quick spotting build for tests: DIS flow, a 48 px crop, blocks of 8 pairs
SMALL_SPOTTING = SpotSettings(method="dis", crop=48, block=8, chunk=16)


@dataclass(frozen=True)
class Event:
    """An expression: onset, apex, offset (frame numbers), emotion, apex amplitude in pixels."""

    onset: int
    apex: int
    offset: int
    emotion: str = "surprise"
    amplitude: float = 2.0


def write_video(
    folder: Path,
    count: int,
    events: Sequence[Event] = (),
    *,
    size: tuple[int, int] = (320, 240),
    face_width: float = 140.0,
    first: int = 1,
    drift: float = 0.02,
    jump: tuple[int, float, float] | None = None,
    hidden: tuple[int, int] | None = None,
    missing: Sequence[int] = (),
    name: str = "v1",
    subject: str = "s1",
    fps: float = 30.0,
    seed: int = 0,
    quality: int = 90,
) -> Video:
    """Write ``count`` gray JPEG frames numbered from ``first`` into ``folder``; the Video.

    Parameters
    ----------
    jump : (frame, dx, dy), optional
        From this frame number on, the head is moved by (dx, dy) pixels.
    hidden : (start, stop), optional
        Frame numbers ``[start, stop)`` where the face is covered by a flat patch.
    missing : sequence of int
        Frame numbers not written (a release's missing frames).
    drift : float
        Head drift in pixels per frame, along x.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    look = faces.Look(1.0, 2.0, (0.5, 0.5), 0.0, 1.0, False, (180.0, 180.0, 180.0))
    stage = faces.place(look, size, face_width, True, rng)
    fields = [faces.displacement_field(stage, faces.pattern_for(e.emotion), e.amplitude) for e in events]
    bank = faces.noise_bank(rng, stage.canvas.shape, 2.0, pad=16)
    numbers = np.arange(first, first + count)
    profiles = [faces.temporal_profile(numbers, e.onset, e.apex, e.offset) for e in events]
    rows, cols = stage.roi
    kept, paths = [], []
    for index, number in enumerate(numbers):
        shift = np.array([drift * index, 0.0])
        if jump is not None and number >= jump[0]:
            shift += jump[1:]
        moved = stage.head[..., None] * shift.astype(np.float32)
        for profile, field in zip(profiles, fields):
            moved = moved + np.float32(profile[index]) * field
        frame = faces.render(stage, moved, faces.noise_frame(bank, stage.canvas.shape, rng))
        if hidden is not None and hidden[0] <= number < hidden[1]:
            frame[rows, cols] = 128
        if int(number) in missing:
            continue
        path = folder / f"img{number:05d}.jpg"
        cv2.imwrite(str(path), frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        kept.append(int(number))
        paths.append(path)
    return Video(name, subject, fps, tuple(kept), tuple(paths), expected=count)
