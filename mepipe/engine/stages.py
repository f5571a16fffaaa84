"""The per-sample stages of a build: frames -> aligned clip -> dynamic images.

Each stage is a plain function of its inputs, so each can be tested alone and the Dask
graph (``graph.py``) only wires them together. A stage that cannot go on raises
:class:`~mepipe.errors.SampleError`; the graph turns that into a failed sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from mepipe._shared.text import join_repairs
from mepipe.engine.config import BuildConfig
from mepipe.errors import SampleError
from mepipe.imaging import align, rankpool, resize
from mepipe.release import frames
from mepipe.release.recipe import Recipe, Sample
from mepipe.store import OK, Alignment, SampleResult


@dataclass(frozen=True)
class Clip:
    """The frames of one sample.

    ``numbers`` are the frame numbers of ``frames`` in increasing order; the first is
    always the onset, the frame the alignment is anchored on, and ``onset_file`` is where
    it was read from. ``apex`` is ``None`` when it must be estimated from motion.
    ``frames`` are the source frames (an RGB or gray array, or the files, decoded as the
    alignment reads them) until ``alignment`` is set, and the aligned frames after.
    """

    numbers: np.ndarray
    frames: np.ndarray | frames.FrameFiles
    onset: int
    offset: int
    apex: int | None
    repairs: tuple[str, ...] = field(default=())
    onset_file: Path = field(kw_only=True)
    alignment: Alignment | None = field(default=None, kw_only=True)


def span_bounds(span: str, onset: int, apex: int, offset: int) -> tuple[int, int]:
    """First and last frame number pooled for ``span`` (inclusive)."""
    return {
        "onset-apex": (onset, apex),
        "onset-offset": (onset, offset),
        "apex-offset": (apex, offset),
    }[span]


def frames_needed(apex: int | None, onset: int, offset: int, span: str) -> list[int]:
    """Frame numbers to decode: the span plus the onset, or all of onset..offset when the
    apex must first be estimated from motion."""
    if apex is None:
        return list(range(onset, offset + 1))
    lo, hi = span_bounds(span, onset, apex, offset)
    return sorted({onset, *range(lo, hi + 1)})


def load_clip(sample: Sample, recipe: Recipe, root: Path, config: BuildConfig) -> Clip:
    """The frames a sample needs, from its folder under the frames root ``root``, found
    by the numbers in their file names; they are decoded as :func:`align_clip` warps them.

    Raises
    ------
    SampleError
        The frames cannot be resolved. The message leaves out the sample id: the store's
        row and the build summary show it beside the reason.
    """
    try:
        found = frames.clip_frames(sample, recipe, Path(root))
    except SampleError as exc:
        raise SampleError(frames.sample_reason(sample, exc)) from None
    onset, offset = found.numbers[0], found.numbers[-1]
    wanted = frames_needed(found.apex, onset, offset, config.span)
    by_number = dict(zip(found.numbers, found.paths))
    files = frames.FrameFiles([by_number[n] for n in wanted], recipe.color, bgr=True)
    return Clip(
        np.asarray(wanted, dtype=np.int64),
        files,
        onset,
        offset,
        found.apex,
        tuple(found.repairs),
        onset_file=by_number[onset],
    )


def detect_side(recipe: Recipe, frame_shape: tuple[int, ...], face_px: int) -> int:
    """Long side of the face detector's copy of a frame, so that a face of the release's
    typical width (scaled with the frame, for re-sized releases) is about ``face_px``."""
    height, width = frame_shape[:2]
    expected = recipe.face_width * width / recipe.resolution[0]
    return max(1, round(max(height, width) * min(1.0, face_px / expected)))


def align_clip(clip: Clip, recipe: Recipe, config: BuildConfig) -> Clip:
    """Warp every frame with the one similarity transform found on the onset frame, and
    record that transform, the landmarks and the detection step in ``alignment``; for
    ``crop="release"``, :func:`keep_registration` instead.

    Raises
    ------
    SampleError
        No usable face on the onset frame (the message names its file), or a frame that
        cannot be decoded (named likewise).
    """
    if config.crop == "release":
        return keep_registration(clip, recipe, config)
    source = clip.frames
    bgr = isinstance(source, frames.FrameFiles) and source.bgr
    onset = _rgb_onset(source, bgr)
    side = detect_side(recipe, onset.shape, config.detect_face_px)
    try:
        info = align.aligner(config.size, side, config.window).transform(onset)
    except SampleError as exc:
        # the face is looked for on the onset frame only: that file is the one to look at
        raise SampleError(f"{clip.onset_file}: {exc}") from None
    aligned = align.warp_clip(source, info["matrix"], config.size, gray=config.gray, bgr=bgr)
    alignment = Alignment(
        transform=info["matrix"], landmarks=info["landmarks"], frame_size=info["frame_size"], detect_step=info["step"]
    )
    return replace(clip, frames=aligned, alignment=alignment)


def keep_registration(clip: Clip, recipe: Recipe, config: BuildConfig) -> Clip:
    """Resize every frame whole (the release's registration kept), recording the resize
    matrix as the transform; the onset's landmarks are looked for only for the report, and
    a face not found leaves them NaN (``detect_step`` :data:`mepipe.imaging.align.NO_FACE`), not a failure.

    Raises
    ------
    SampleError
        A frame that cannot be decoded (the message names it).
    """
    source = clip.frames
    bgr = isinstance(source, frames.FrameFiles) and source.bgr
    onset = _rgb_onset(source, bgr)
    side = detect_side(recipe, onset.shape, config.detect_face_px)
    try:
        face = align.aligner(config.size, side).detect(onset)
        landmarks, step = face["landmarks"], face["step"]
    except SampleError:
        landmarks, step = np.full((68, 2), np.nan), align.NO_FACE
    resized, matrix = resize.resize_clip(source, config.size, config.keep_aspect, gray=config.gray, bgr=bgr)
    alignment = Alignment(transform=matrix, landmarks=landmarks, frame_size=onset.shape[:2], detect_step=step)
    return replace(clip, frames=resized, alignment=alignment)


def _rgb_onset(source: np.ndarray | frames.FrameFiles, bgr: bool) -> np.ndarray:
    """The clip's onset frame, RGB or gray, as the face detector reads it."""
    onset = source[0]
    if bgr and onset.ndim == 3:
        onset = cv2.cvtColor(onset, cv2.COLOR_BGR2RGB)  # a copy: the warp reads the BGR one
    return onset


def pool_clip(clip: Clip, sample: Sample, config: BuildConfig) -> SampleResult:
    """TRDI and MIDI of the span, plus the aligned onset and apex frames."""
    aligned = clip.frames
    if not isinstance(aligned, np.ndarray):
        raise TypeError("pool_clip takes the aligned frames (align_clip's clip), not the frame files")
    repairs = [r for r in (sample.repair, *clip.repairs) if r]
    apex = clip.apex
    if apex is None:
        apex = int(clip.numbers[rankpool.peak_motion(aligned, sigma=config.motion_sigma)])
        repairs.append(f"apex estimated at frame {apex}")
    lo, hi = span_bounds(config.span, clip.onset, apex, clip.offset)
    first, last = np.searchsorted(clip.numbers, [lo, hi + 1])
    if last - first < 2:
        raise SampleError(
            f"span {config.span} holds {last - first} frame(s) ({lo}..{hi}); rank pooling needs at least 2"
        )
    span_frames = aligned[first:last]
    trdi, midi, _ = rankpool.dynamic_images(
        span_frames,
        reference=config.motion_reference,
        descending=config.motion_descending,
        sigma=config.motion_sigma,
    )
    images = {
        "trdi": rankpool.to_uint8(trdi),
        "midi": rankpool.to_uint8(midi),
        "onset": aligned[0],
        "apex": aligned[int(np.searchsorted(clip.numbers, apex))],
    }
    if config.keep_raw:
        images["trdi_raw"] = trdi
        images["midi_raw"] = midi
    return SampleResult(
        status=OK,
        repair=join_repairs(repairs),
        n_frames=int(last - first),
        onset_index=clip.onset,
        apex_index=apex,
        offset_index=clip.offset,
        images=images,
        alignment=clip.alignment,
    )
