"""The per-sample stages of a build: frames -> aligned clip -> dynamic images and the
other arrays ``--arrays`` asks for (flow, strain, sequences, aligned landmarks).

Each stage is a plain function of its inputs, so each can be tested alone and the Dask
graph (``graph.py``) only wires them together. A stage that cannot go on raises
:class:`~mepipe.errors.SampleError`; the graph turns that into a failed sample.

Only the frames the asked arrays need are decoded (:func:`frames_needed`: what each array
set of :mod:`mepipe.arrays` declares), one at a time as they are warped; every set is
computed from those aligned frames, at the output size, with the one transform found on
the onset frame (:func:`compute_sets`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from mepipe._shared.text import join_repairs
from mepipe.arrays import IMAGES, AlignedClip, Span, derived_names, get_set
from mepipe.engine.config import BuildConfig
from mepipe.errors import MepipeError, SampleError
from mepipe.imaging import align, rankpool, resize
from mepipe.release import frames
from mepipe.release.recipe import Recipe, Sample
from mepipe.store import OK, Alignment, SampleResult, Stored


class Framing(Protocol):
    """What the alignment stages read of a release: a clip recipe's, or a long-video
    recipe's for clips cut from its videos (:mod:`mepipe.spot.recognise`)."""

    @property
    def face_width(self) -> float:
        """Typical face width in pixels at the release's full resolution."""
        ...

    @property
    def resolution(self) -> tuple[int, int]:
        """(width, height) of the release's frames."""
        ...


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
    #: every frame number the release has for the sample (``numbers`` are the decoded
    #: ones); default: ``numbers``
    available: np.ndarray | None = field(default=None, kw_only=True)
    #: the record of a sample already built, whose arrays are being added to
    stored: Stored | None = field(default=None, kw_only=True)

    @property
    def known(self) -> np.ndarray:
        """The frame numbers the release has (``available``, else ``numbers``)."""
        return self.numbers if self.available is None else self.available

    def frame(self, number: int) -> np.ndarray:
        """The (aligned) frame numbered ``number``; it must be among ``numbers``."""
        return self.frames[int(np.searchsorted(self.numbers, number))]


def span_bounds(span: str, onset: int, apex: int, offset: int) -> tuple[int, int]:
    """First and last frame number pooled for ``span`` (inclusive)."""
    return {
        "onset-apex": (onset, apex),
        "onset-offset": (onset, offset),
        "apex-offset": (apex, offset),
    }[span]


def span_numbers(numbers: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The frame numbers among ``numbers`` within ``lo..hi`` (inclusive)."""
    numbers = np.asarray(numbers)
    return numbers[(numbers >= lo) & (numbers <= hi)]


def frames_needed(
    apex: int | None,
    onset: int,
    offset: int,
    span: str,
    arrays: Sequence[str] = IMAGES,
    available: np.ndarray | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[int]:
    """Frame numbers to decode for the sets ``arrays``: the onset, and those each set
    declares (:attr:`mepipe.arrays.ArraySet.frames`: the span for TRDI/MIDI, the apex for
    its image and the onset->apex flow, ...), among ``available`` (default every number of
    onset..offset); ``options`` are the build's (:meth:`BuildConfig.set_options`; default
    :class:`BuildConfig`'s defaults). All of onset..offset when the apex must first be
    estimated from motion."""
    if apex is None:
        return list(range(onset, offset + 1))
    lo, hi = span_bounds(span, onset, apex, offset)
    known = np.arange(onset, offset + 1) if available is None else np.asarray(available)
    if options is None:
        options = BuildConfig(dataset="").set_options()
    view = Span(onset, apex, offset, lo, hi, known, options)
    wanted = {onset}
    for name in arrays:
        wanted.update(int(n) for n in get_set(name).frames(view))
    return sorted(wanted)


def load_clip(sample: Sample, recipe: Recipe, root: Path, config: BuildConfig, stored: Stored | None = None) -> Clip:
    """The frames a sample needs, from its folder under the frames root ``root``, found
    by the numbers in their file names; they are decoded as :func:`place_clip` warps them.
    With ``stored`` (arrays added to a sample already built), the frames its new sets
    need, around the apex it was built with.

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
    apex = found.apex if stored is None else stored.apex
    arrays = config.arrays if stored is None else stored.sets
    wanted = frames_needed(apex, onset, offset, config.span, arrays, np.asarray(found.numbers), config.set_options())
    by_number = dict(zip(found.numbers, found.paths))
    files = frames.FrameFiles([by_number[n] for n in wanted], recipe.color, bgr=True)
    return Clip(
        np.asarray(wanted, dtype=np.int64),
        files,
        onset,
        offset,
        apex,
        tuple(found.repairs),
        onset_file=by_number[onset],
        available=np.asarray(found.numbers, dtype=np.int64),
        stored=stored,
    )


def detect_side(recipe: Framing, frame_shape: tuple[int, ...], face_px: int) -> int:
    """Long side of the face detector's copy of a frame, so that a face of the release's
    typical width (scaled with the frame, for re-sized releases) is about ``face_px``."""
    height, width = frame_shape[:2]
    expected = recipe.face_width * width / recipe.resolution[0]
    return max(1, round(max(height, width) * min(1.0, face_px / expected)))


def place_clip(clip: Clip, recipe: Framing, config: BuildConfig) -> Clip:
    """Put every frame of the clip into the output window, and record how in ``alignment``.

    Aligned crops: every frame warped with the one similarity transform found on the
    onset frame (:func:`mepipe.imaging.align.align_clip` does the same on arrays), the
    transform, the landmarks and the detection step recorded. ``crop="release"``:
    :func:`keep_registration`. A sample getting arrays added: its stored transform again.

    Raises
    ------
    SampleError
        No usable face on the onset frame (the message names its file), or a frame that
        cannot be decoded (named likewise).
    """
    source = clip.frames
    bgr = isinstance(source, frames.FrameFiles) and source.bgr
    if clip.stored is not None:
        # arrays added to a built sample: its own transform, so they line up with its images
        if config.crop == "release":
            resized, _ = resize.resize_clip(source, config.size, config.keep_aspect, gray=config.gray, bgr=bgr)
            return replace(clip, frames=resized, alignment=clip.stored.alignment)
        aligned = align.warp_clip(source, clip.stored.alignment.transform, config.size, gray=config.gray, bgr=bgr)
        return replace(clip, frames=aligned, alignment=clip.stored.alignment)
    if config.crop == "release":
        return keep_registration(clip, recipe, config)
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


def keep_registration(clip: Clip, recipe: Framing, config: BuildConfig) -> Clip:
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
    """The arrays ``config.arrays`` asks for (:func:`compute_sets`), with the apex
    estimated from motion where the sheet gives none. With ``clip.stored``, only the
    derived sets being added to a sample already built (``result.added``)."""
    aligned = clip.frames
    if not isinstance(aligned, np.ndarray):
        raise TypeError("pool_clip takes the aligned frames (place_clip's clip), not the frame files")
    if clip.stored is not None:
        images, notes = compute_sets(clip, clip.stored.apex, config, clip.stored.sets)
        return SampleResult(
            status=OK,
            repair=join_repairs([r for r in (clip.stored.repair, *notes) if r]),
            images=images,
            alignment=clip.alignment,
            sets=clip.stored.sets,
            added=True,
        )
    repairs = [r for r in (sample.repair, *clip.repairs) if r]
    apex = clip.apex
    if apex is None:
        apex = int(clip.numbers[rankpool.peak_motion(aligned, sigma=config.motion_sigma)])
        repairs.append(f"apex estimated at frame {apex}")
    lo, hi = span_bounds(config.span, clip.onset, apex, clip.offset)
    images, notes = compute_sets(clip, apex, config, config.arrays)
    return SampleResult(
        status=OK,
        repair=join_repairs(repairs + notes),
        n_frames=len(span_numbers(clip.known, lo, hi)),
        onset_index=clip.onset,
        apex_index=apex,
        offset_index=clip.offset,
        images=images,
        alignment=clip.alignment,
        sets=derived_names(config.arrays),
    )


def compute_sets(
    clip: Clip, apex: int, config: BuildConfig, sets: Sequence[str]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays of the array sets ``sets`` (:mod:`mepipe.arrays`) from an aligned clip,
    and notes for the record; each array checked against its declaration.

    Raises
    ------
    SampleError
        A set that cannot be computed for this sample (its compute says why).
    MepipeError
        A set that computed arrays other than it declares (a defect of that set).
    """
    aligned = clip.frames
    if not isinstance(aligned, np.ndarray):
        raise TypeError("compute_sets takes the aligned frames (place_clip's clip), not the frame files")
    options = config.set_options()
    lo, hi = span_bounds(config.span, clip.onset, apex, clip.offset)
    view = AlignedClip(
        clip.onset,
        apex,
        clip.offset,
        lo,
        hi,
        np.asarray(clip.known),
        options,
        numbers=clip.numbers,
        frames=aligned,
        transform=None if clip.alignment is None else clip.alignment.transform,
        landmarks=None if clip.alignment is None else clip.alignment.landmarks,
    )
    out: dict[str, np.ndarray] = {}
    notes: list[str] = []
    for name in sets:
        array_set = get_set(name)
        computed = array_set.compute(view)
        for spec in array_set.kept(options):
            value = computed.arrays.get(spec.name)
            shape = spec.sample_shape(options)
            if value is None or value.dtype != np.dtype(spec.dtype) or value.shape != shape:
                got = "nothing" if value is None else f"{value.dtype} {value.shape}"
                raise MepipeError(
                    f"array set {name!r} computed {got} for {spec.name}; it declares {spec.dtype} {shape}"
                )
            out[spec.name] = value
        notes.extend(computed.notes)
    return out, notes
