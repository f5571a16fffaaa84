"""The per-sample stages of a build: frames -> aligned clip -> dynamic images and the
other arrays ``--arrays`` asks for (flow, strain, sequences, aligned landmarks).

Each stage is a plain function of its inputs, so each can be tested alone and the Dask
graph (``graph.py``) only wires them together. A stage that cannot go on raises
:class:`~mepipe.errors.SampleError`; the graph turns that into a failed sample.

Only the frames the asked arrays need are decoded (:func:`frames_needed`), one at a time
as they are warped; flow, strain and sequences are computed from those aligned frames, at
the output size, with the one transform found on the onset frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from mepipe._shared.text import join_repairs
from mepipe.engine.config import BuildConfig
from mepipe.errors import SampleError
from mepipe.imaging import align, flow, rankpool, resize
from mepipe.release import frames
from mepipe.release.recipe import Recipe, Sample
from mepipe.store import DERIVED_SETS, IMAGES, OK, Alignment, SampleResult


@dataclass(frozen=True)
class Stored:
    """What the record of a sample already built holds, for adding arrays to it: the
    arrays are computed from the same alignment and apex as the ones it has."""

    alignment: Alignment
    apex: int
    repair: str
    #: the derived sets to add (:data:`~mepipe.store.DERIVED_SETS`)
    sets: tuple[str, ...]


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


def sequence_numbers(numbers: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` frame numbers of a span (its ``numbers``, in order) that ``sequence``
    holds: positions ``round(linspace(0, n - 1, count))``, the uniform subsample of meb
    and pytorchvideo (NumPy's rounding, half to even); a span shorter than ``count``
    repeats frames."""
    numbers = np.asarray(numbers)
    return numbers[np.round(np.linspace(0, len(numbers) - 1, count)).astype(np.int64)]


def span_numbers(numbers: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The frame numbers among ``numbers`` within ``lo..hi`` (inclusive)."""
    numbers = np.asarray(numbers)
    return numbers[(numbers >= lo) & (numbers <= hi)]


def frames_needed(
    apex: int | None,
    onset: int,
    offset: int,
    span: str,
    arrays: tuple[str, ...] = IMAGES,
    available: np.ndarray | None = None,
    sequence_frames: int = 8,
) -> list[int]:
    """Frame numbers to decode for ``arrays``: the onset; the span for TRDI/MIDI; the apex
    for its image and the onset->apex flow; the apex and offset for the apex->offset
    flow; the sequence's frames of the span (picked among ``available``, default every
    number of onset..offset). All of onset..offset when the apex must first be
    estimated from motion."""
    if apex is None:
        return list(range(onset, offset + 1))
    lo, hi = span_bounds(span, onset, apex, offset)
    wanted = {onset}
    if {"trdi", "midi"} & {*arrays}:
        wanted.update(range(lo, hi + 1))
    if {"apex", "flow", "flow_apex_offset"} & {*arrays}:
        wanted.add(apex)
    if "flow_apex_offset" in arrays:
        wanted.add(offset)
    if "sequence" in arrays:
        known = np.arange(onset, offset + 1) if available is None else np.asarray(available)
        wanted.update(int(n) for n in sequence_numbers(span_numbers(known, lo, hi), sequence_frames))
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
    wanted = frames_needed(apex, onset, offset, config.span, arrays, np.asarray(found.numbers), config.sequence_frames)
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


def detect_side(recipe: Recipe, frame_shape: tuple[int, ...], face_px: int) -> int:
    """Long side of the face detector's copy of a frame, so that a face of the release's
    typical width (scaled with the frame, for re-sized releases) is about ``face_px``."""
    height, width = frame_shape[:2]
    expected = recipe.face_width * width / recipe.resolution[0]
    return max(1, round(max(height, width) * min(1.0, face_px / expected)))


def place_clip(clip: Clip, recipe: Recipe, config: BuildConfig) -> Clip:
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
    """The arrays ``config.arrays`` asks for: TRDI and MIDI of the span, the aligned onset
    and apex frames, and the derived sets (:func:`derived`). With ``clip.stored``, only
    the derived sets being added to a sample already built (``result.added``)."""
    aligned = clip.frames
    if not isinstance(aligned, np.ndarray):
        raise TypeError("pool_clip takes the aligned frames (place_clip's clip), not the frame files")
    if clip.stored is not None:
        images, notes = derived(clip, clip.stored.apex, config, clip.stored.sets)
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
    first, last = np.searchsorted(clip.numbers, [lo, hi + 1])
    images = {}
    if {"trdi", "midi"} & {*config.arrays}:
        if last - first < 2:
            raise SampleError(
                f"span {config.span} holds {last - first} frame(s) ({lo}..{hi}); rank pooling needs at least 2"
            )
        trdi, midi, _ = rankpool.dynamic_images(
            aligned[first:last],
            reference=config.motion_reference,
            descending=config.motion_descending,
            sigma=config.motion_sigma,
        )
        images["trdi"], images["midi"] = rankpool.to_uint8(trdi), rankpool.to_uint8(midi)
        if config.keep_raw:
            images["trdi_raw"] = trdi
            images["midi_raw"] = midi
    images["onset"] = aligned[0]
    images["apex"] = clip.frame(apex)
    images = {name: value for name, value in images.items() if name in config.arrays or name.endswith("_raw")}
    sets = tuple(name for name in DERIVED_SETS if name in config.arrays)
    extra, notes = derived(clip, apex, config, sets)
    return SampleResult(
        status=OK,
        repair=join_repairs(repairs + notes),
        n_frames=len(span_numbers(clip.known, lo, hi)),
        onset_index=clip.onset,
        apex_index=apex,
        offset_index=clip.offset,
        images={**images, **extra},
        alignment=clip.alignment,
        sets=sets,
    )


def derived(
    clip: Clip, apex: int, config: BuildConfig, sets: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays of the derived ``sets`` from an aligned clip, and notes for the record.

    ``flow`` / ``flow_apex_offset``: :func:`mepipe.imaging.flow.optical_flow` from the
    aligned onset to the apex (apex to offset) at the output size, and its strain; an
    apex->offset span of fewer than 2 frames holds NaN, and a note says why.
    ``sequence``: the span's frames at :func:`sequence_numbers`. ``landmarks_aligned``: the
    onset landmarks mapped by the clip's transform into output pixels.
    """
    out: dict[str, np.ndarray] = {}
    notes: list[str] = []
    if "flow" in sets:
        out["flow"], out["strain"] = _flow(clip.frame(clip.onset), clip.frame(apex), config.flow)
    if "flow_apex_offset" in sets:
        held = len(span_numbers(clip.known, apex, clip.offset))
        if held < 2:
            size = config.size
            out["flow_apex_offset"] = np.full((size, size, 2), np.nan, np.float32)
            out["strain_apex_offset"] = np.full((size, size), np.nan, np.float32)
            notes.append(f"apex->offset span holds {held} frame ({apex}..{clip.offset}): its flow and strain are NaN")
        else:
            out["flow_apex_offset"], out["strain_apex_offset"] = _flow(
                clip.frame(apex), clip.frame(clip.offset), config.flow
            )
    if "sequence" in sets:
        lo, hi = span_bounds(config.span, clip.onset, apex, clip.offset)
        picked = sequence_numbers(span_numbers(clip.known, lo, hi), config.sequence_frames)
        out["sequence"] = np.stack([clip.frame(int(n)) for n in picked])
    if "landmarks_aligned" in sets:
        if clip.alignment is None:
            raise SampleError("no alignment to map the landmarks with")
        out["landmarks_aligned"] = align.to_output(clip.alignment.landmarks, clip.alignment.transform).astype(
            np.float32
        )
    return out, notes


def _flow(first: np.ndarray, second: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    # a gray store's frames are (S, S, 1); the flow takes (S, S) or RGB (S, S, 3)
    if first.ndim == 3 and first.shape[-1] == 1:
        first, second = first[..., 0], second[..., 0]
    field = flow.optical_flow(first, second, method, flow.flow_parameters(method))
    return field, flow.strain(field)
