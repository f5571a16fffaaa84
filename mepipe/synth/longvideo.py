"""Synthetic long videos in a spotting release's exact layout, for tests, demos and benchmarks.

A neutral face (the packaged portrait, placed per subject as :mod:`mepipe.synth.faces`
does for clips) holds still but for: micro- and macro-expressions at the intervals of the
sheet written beside it, eye blinks, a slow head drift and brief head jerks. Everything
dataset-specific comes from the recipe: the sheet's format, folders, frame names and
numbering (CAS(ME)^3's missing frames), frame rate, resolution and colour. The sheet is
written first and read back with the recipe; the frames are rendered for the intervals
*as read*.

Each video is rendered from its own generator, seeded by ``(seed, video)``: the bytes do
not depend on thread scheduling. ``synth_events.csv`` beside the sheet lists what each
video holds, the emotion of every expression included (SAMM-LV's sheet has no emotion
column).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from mepipe._shared.progress import Progress
from mepipe.errors import UsageError
from mepipe.release.longvideo import Interval, LongVideoRecipe, Video, read_lengths, write_lengths
from mepipe.synth import faces
from mepipe.synth.writer import JPEG_QUALITY, SCALE_RANGE

#: default size: videos per subject and frames per video (the issue's "short by default")
VIDEOS, FRAMES = 2, 600
#: expressions of each type per video, at least
PER_TYPE = 2
#: longest macro-expression made up, frames
MACRO_CAP = 300
#: macro-expressions move this many times as far as micro-expressions
MACRO_GAIN = 3.0
#: the events file written beside the sheet
EVENTS_FILE = "synth_events.csv"
#: AUs written for an expression of each pattern (the FACS units the pattern moves)
PATTERN_AUS = {
    "happiness": "6+12",
    "surprise": "1+2",
    "disgust": "9+10",
    "repression": "14+24",
    "anger": "4",
    "contempt": "R12",
    "sadness": "1+15",
    "fear": "1+2+4+20",
    "others": "7",
}


@dataclass(frozen=True)
class VideoPlan:
    """One made-up video: its frames, expressions and other motion.

    Attributes
    ----------
    video, subject : str
        Names as the release spells them.
    numbers : tuple of int
        The frame numbers written (gaps where the release misses frames).
    intervals : tuple of Interval
        The expressions, in onset order; ``emotion`` is the rendered one even where the
        release's sheet codes none.
    blinks : tuple of (centre, half_width, amplitude)
        Eye blinks: frame number, frames, pixels.
    jerks : tuple of (centre, half_width, dx, dy)
        Brief head displacements that return: frame number, frames, pixels.
    drift : tuple of (amplitude_x, amplitude_y, period, phase)
        The slow head drift as a sum of sinusoids: pixels, frames, radians.
    """

    video: str
    subject: str
    numbers: tuple[int, ...]
    intervals: tuple[Interval, ...]
    blinks: tuple[tuple[int, int, float], ...] = ()
    jerks: tuple[tuple[int, int, float, float], ...] = ()
    drift: tuple[tuple[float, float, float, float], ...] = field(default=())


@dataclass(frozen=True)
class LongSynthReport:
    """What :func:`synthesize_long` wrote.

    Attributes
    ----------
    root, sheet : Path
        The release folder and its sheet.
    intervals : tuple of Interval
        The sheet as the recipe reads it back.
    plans : tuple of VideoPlan
        What each video holds.
    frames : int
        Frame files written.
    """

    root: Path
    sheet: Path
    intervals: tuple[Interval, ...]
    plans: tuple[VideoPlan, ...]
    frames: int


def synthesize_long(
    recipe: LongVideoRecipe,
    out: Path,
    *,
    subjects: int = 2,
    scale: float = 1.0,
    seed: int = 0,
    videos: int | None = None,
    frames: int = FRAMES,
    like_sheet: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> LongSynthReport:
    """Write a synthetic long-video release of ``recipe`` under ``out``.

    Parameters
    ----------
    recipe : LongVideoRecipe
    out : Path
        A new or empty folder.
    subjects : int
        Subjects made up (with ``like_sheet``: the sheet's first ``subjects``).
    scale : float
        Frame size relative to the release's resolution.
    seed : int
        Same seed and arguments, same bytes.
    videos : int, optional
        Videos per subject: :data:`VIDEOS` made up, or with ``like_sheet`` the first
        ``videos`` of each subject's (all by default).
    frames : int
        Frames per made-up video; each holds at least
        :data:`PER_TYPE` micro- and macro-expressions of the sheet's lengths
        (:attr:`~mepipe.release.longvideo.LongVideoRecipe.durations`, macro capped at
        :data:`MACRO_CAP` frames and to what fits).
    like_sheet : Path, optional
        A real sheet: its videos (of the first ``subjects`` subjects) at their full
        lengths (from the frames-per-video list beside it, else to the last offset and a
        second more), holding its intervals as the recipe reads them.
    workers : int, optional
        Rendering threads; all cores by default.
    progress : bool
        Show a progress bar on stderr.

    Raises
    ------
    UsageError
        Bad sizes or scale, ``out`` not empty, a video too short for its expressions.
    """
    out = Path(out)
    _check(recipe, out, subjects, scale, videos, like_sheet, workers)
    if like_sheet is not None:
        plans = plans_like(recipe, Path(like_sheet), subjects, videos, seed, scale)
    else:
        plans = [
            plan_video(recipe, s, v, frames, scale, np.random.default_rng(_seed(seed, "plan", str(s), str(v))))
            for s in range(subjects)
            for v in range(VIDEOS if videos is None else videos)
        ]
    sheet = out / (recipe.synth_sheet_file or recipe.sheet_file)
    planned = [i for p in plans for i in p.intervals]
    blinks = [(p.video, c - w, c + w) for p in plans for c, w, _ in p.blinks]
    recipe.write_sheet(planned, sheet, blinks)
    if recipe.lengths_file:
        write_lengths({p.video: p.numbers[-1] - recipe.first_frame + 1 for p in plans}, out / recipe.lengths_file)
    frames_root = out / recipe.frames_dirs[0]
    extents = {p.video: (p.numbers[0], p.numbers[-1]) for p in plans}
    written = recipe.read_intervals(sheet, extents)
    _write_events(plans, sheet.parent / EVENTS_FILE)
    # render what the sheet says, with the emotions the sheet may not hold
    emotion = {(i.video, i.onset, i.type): i.emotion for i in planned}
    by_video: dict[str, list[Interval]] = {}
    for interval in written:
        if not interval.error:
            chosen = emotion.get((interval.video, interval.onset, interval.type), interval.emotion)
            by_video.setdefault(interval.video, []).append(_with(interval, chosen))
    count = 0
    with Progress(len(plans), f"synth {recipe.name}", enabled=progress, unit="video", outcomes=False) as bar:
        with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
            jobs = [(p, by_video.get(p.video, [])) for p in plans]
            for n in pool.map(lambda job: render_video(recipe, frames_root, job[0], job[1], scale, seed), jobs):
                count += n
                bar.update()
    return LongSynthReport(out, sheet, tuple(written), tuple(plans), count)


def plan_video(
    recipe: LongVideoRecipe, subject: int, index: int, frames: int, scale: float, rng: np.random.Generator
) -> VideoPlan:
    """A made-up video: :data:`PER_TYPE` micro- and macro-expressions at random places
    (not overlapping), blinks every few seconds, a jerk or two and a slow drift."""
    video, subject_name = recipe.synth_names(subject, index)
    first = recipe.first_frame + recipe.missing_at_start
    numbers = list(range(first, first + frames))
    if recipe.missing_at_start:
        # the release misses frames mid-video too: two single frames
        for gap in rng.choice(np.arange(10, frames - 10), size=2, replace=False):
            numbers.remove(first + int(gap))
    lengths = _lengths(recipe, frames, rng)
    margin = max(2, round(0.05 * frames))
    free = frames - 2 * margin - sum(length for _, length in lengths)
    gaps = np.floor(rng.dirichlet(np.ones(len(lengths) + 1)) * free).astype(int)
    emotions = recipe.emotions or ("others",)
    intervals = []
    start = first + margin
    for (kind, length), gap in zip(lengths, gaps):
        onset = start + int(gap)
        apex = onset + int(round(rng.uniform(0.3, 0.6) * (length - 1)))
        emotion = str(emotions[int(rng.integers(len(emotions)))])
        intervals.append(
            Interval(
                video=video,
                subject=subject_name,
                type=kind,
                onset=onset,
                apex=apex,
                offset=onset + length - 1,
                aus=PATTERN_AUS[_pattern_name(emotion)],
                emotion=emotion,
            )
        )
        start = onset + length
    intervals = [_with_name(recipe, i, k) for k, i in enumerate(intervals, start=1)]
    return VideoPlan(
        video,
        subject_name,
        tuple(numbers),
        tuple(intervals),
        *_motion(recipe, numbers, scale, rng),
    )


def plans_like(
    recipe: LongVideoRecipe, sheet: Path, subjects: int, videos: int | None, seed: int, scale: float
) -> list[VideoPlan]:
    """The videos of a real sheet's first ``subjects`` subjects (their first ``videos``,
    all for ``None``), at full length, holding its intervals (as read, repairs applied;
    rows with errors are left out)."""
    lengths_file = sheet.parent / recipe.lengths_file if recipe.lengths_file else None
    lengths = read_lengths(lengths_file) if lengths_file is not None and lengths_file.is_file() else {}
    extents = recipe.extents_from_lengths(lengths) if lengths else None
    intervals = [i for i in recipe.read_intervals(sheet, extents) if not i.error]
    chosen = list(dict.fromkeys(i.subject for i in intervals))[:subjects]
    by_video: dict[str, list[Interval]] = {}
    for interval in intervals:
        if interval.subject in chosen:
            by_video.setdefault(interval.video, []).append(interval)
    if videos is not None:
        kept: dict[str, int] = {}
        for video in list(by_video):
            subject = by_video[video][0].subject
            kept[subject] = kept.get(subject, 0) + 1
            if kept[subject] > videos:
                del by_video[video]
    plans = []
    for video, held in by_video.items():
        rng = np.random.default_rng(_seed(seed, "like", video))
        last = (
            recipe.first_frame + lengths[video] - 1
            if video in lengths
            else max(i.offset for i in held) + int(recipe.fps)
        )
        emotions = recipe.emotions or ("others",)
        held = [i if i.emotion else _with(i, str(emotions[int(rng.integers(len(emotions)))])) for i in held]
        numbers = list(range(recipe.first_frame, last + 1))
        plans.append(
            VideoPlan(video, held[0].subject, tuple(numbers), tuple(held), *_motion(recipe, numbers, scale, rng))
        )
    return plans


def render_video(
    recipe: LongVideoRecipe, frames_root: Path, plan: VideoPlan, intervals: Sequence[Interval], scale: float, seed: int
) -> int:
    """Write one video's frames; how many were written."""
    width, height = recipe.resolution
    size = (max(round(width * scale), 1), max(round(height * scale), 1))
    look_rng = np.random.default_rng(_seed(seed, "subject", plan.subject))
    stage = faces.place(faces.random_look(look_rng), size, recipe.face_width * scale, recipe.color == "gray", look_rng)
    rng = np.random.default_rng(_seed(seed, "video", plan.video))
    numbers = np.asarray(plan.numbers)
    moving = []
    for interval in intervals:
        pattern = faces.pattern_for(interval.emotion)
        gain = MACRO_GAIN if interval.type == "macro" else 1.0
        # each expression its own generator: one more or less leaves the others' frames alone
        own = np.random.default_rng(_seed(seed, "expression", plan.video, interval.name))
        amplitude = own.uniform(*pattern.amplitude) * gain * scale
        peak = interval.apex if interval.apex is not None else (interval.onset + interval.offset) // 2
        profile = faces.temporal_profile(numbers, interval.onset, peak, interval.offset)
        moving.append((profile, faces.displacement_field(stage, pattern, amplitude)))
    for centre, half_width, amplitude in plan.blinks:
        moving.append(
            (faces.pulse(numbers, centre, half_width), faces.displacement_field(stage, faces.BLINK, amplitude))
        )
    shift = np.zeros((len(numbers), 2))
    for ax, ay, period, phase in plan.drift:
        wave = np.sin(2 * np.pi * (numbers - numbers[0]) / period + phase)
        shift += wave[:, None] * np.array([ax, ay])
    for centre, half_width, dx, dy in plan.jerks:
        shift += faces.pulse(numbers, centre, half_width)[:, None] * np.array([dx, dy])
    folder = frames_root / recipe.video_dir(plan.video, plan.subject)
    folder.mkdir(parents=True, exist_ok=True)
    bank = faces.noise_bank(rng, stage.canvas.shape, 2.0, pad=16)
    head = stage.head[..., None]
    for i, number in enumerate(plan.numbers):
        moved = head * shift[i].astype(np.float32)
        for profile, displacement in moving:
            if profile[i] > 0:
                moved = moved + np.float32(profile[i]) * displacement
        frame = faces.render(stage, moved, faces.noise_frame(bank, stage.canvas.shape, rng))
        _, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        with open(folder / recipe.frame_name(plan.video, number), "wb") as handle:
            handle.write(encoded.tobytes())
    return len(plan.numbers)


def videos_planned(recipe: LongVideoRecipe, root: Path, plans: Sequence[VideoPlan]) -> list[Video]:
    """The videos ``plans`` describe, as :meth:`LongVideoRecipe.videos` should find them."""
    frames_root = Path(root) / recipe.frames_dirs[0]
    out = []
    for plan in sorted(plans, key=lambda p: p.video):
        folder = frames_root / recipe.video_dir(plan.video, plan.subject)
        paths = tuple(folder / recipe.frame_name(plan.video, n) for n in plan.numbers)
        out.append(Video(plan.video, plan.subject, recipe.fps, plan.numbers, paths))
    return out


def _lengths(recipe: LongVideoRecipe, frames: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """Types and lengths of a video's expressions, in video order: the sheet's lengths,
    macro ones capped to what the video holds."""
    micro_low, micro_high = recipe.durations["micro"]
    macro_low, macro_high = recipe.durations["macro"]
    micro = [int(rng.integers(micro_low, micro_high + 1)) for _ in range(PER_TYPE)]
    # room left for the macro-expressions, with a gap of 5 % of the video around each
    room = frames - sum(micro) - round(0.05 * frames) * (2 * PER_TYPE + 2)
    cap = min(MACRO_CAP, room // PER_TYPE)
    if cap < max(micro_high, 3):
        # gaps take 30 % of a video; the rest must hold 2 micro and 2 macro of a micro's length
        needed = int(np.ceil(2 * PER_TYPE * max(micro_high, 3) / 0.7))
        raise UsageError(
            f"--frames {frames} is too short for {PER_TYPE} micro- and {PER_TYPE} macro-expressions of "
            f"{recipe.title}'s lengths (micro {micro_low}-{micro_high} frames): use at least {needed}"
        )
    macro = [min(int(rng.integers(macro_low, macro_high + 1)), cap) for _ in range(PER_TYPE)]
    kinds = [("micro", n) for n in micro] + [("macro", n) for n in macro]
    order = rng.permutation(len(kinds))
    return [kinds[k] for k in order]


def _motion(
    recipe: LongVideoRecipe, numbers: Sequence[int], scale: float, rng: np.random.Generator
) -> tuple[tuple, tuple, tuple]:
    """Blinks every 2-6 s, the first early (0.1-0.15 s each way), one or two jerks (0.03-0.08 s), and a
    drift of two slow sinusoids (periods 4-20 s, 1-3 px at full scale)."""
    first, last = numbers[0], numbers[-1]
    fps = recipe.fps
    blinks = []
    # the first within the video's first half (3 s of SAMM-LV's 200 fps are 600 frames)
    at = first + int(rng.uniform(0.1, 0.5) * min(3 * fps, last - first))
    while at < last - fps * 0.2:
        half = max(1, round(rng.uniform(0.1, 0.15) * fps))
        blinks.append((int(at), half, float(rng.uniform(*faces.BLINK.amplitude) * scale)))
        at += int(rng.uniform(2, 6) * fps)
    jerks = []
    for _ in range(int(rng.integers(1, 3))):
        angle, size = rng.uniform(0, 2 * np.pi), rng.uniform(2.0, 5.0) * scale
        half = max(1, round(rng.uniform(0.03, 0.08) * fps))
        centre = int(rng.integers(first + half, max(last - half, first + half + 1)))
        jerks.append((centre, half, float(size * np.cos(angle)), float(size * np.sin(angle))))
    drift = tuple(
        (
            float(rng.uniform(1, 3) * scale),
            float(rng.uniform(1, 3) * scale),
            float(rng.uniform(4, 20) * fps),
            float(rng.uniform(0, 2 * np.pi)),
        )
        for _ in range(2)
    )
    return tuple(blinks), tuple(jerks), drift


def _write_events(plans: Sequence[VideoPlan], path: Path) -> None:
    """One row per expression, blink and jerk: ``kind, video, onset, apex, offset, emotion,
    dx, dy`` (blinks and jerks: onset/offset their centre -/+ half width, apex the centre)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["kind", "video", "onset", "apex", "offset", "emotion", "dx", "dy"])
        for plan in plans:
            for i in plan.intervals:
                writer.writerow([i.type, plan.video, i.onset, i.apex, i.offset, i.emotion, "", ""])
            for centre, half, _ in plan.blinks:
                writer.writerow(["blink", plan.video, centre - half, centre, centre + half, "", "", ""])
            for centre, half, dx, dy in plan.jerks:
                writer.writerow(
                    ["jerk", plan.video, centre - half, centre, centre + half, "", f"{dx:.3f}", f"{dy:.3f}"]
                )


def _pattern_name(emotion: str) -> str:
    pattern = faces.pattern_for(emotion)
    return next(name for name, p in faces.PATTERNS.items() if p is pattern)


def _with(interval: Interval, emotion: str) -> Interval:
    return replace(interval, emotion=emotion)


def _with_name(recipe: LongVideoRecipe, interval: Interval, index: int) -> Interval:
    name = recipe.expression_name(interval.video, interval.subject, index) or f"{interval.video}_{interval.onset}"
    return replace(interval, name=name)


def _check(
    recipe: LongVideoRecipe,
    out: Path,
    subjects: int,
    scale: float,
    videos: int | None,
    like_sheet: Path | None,
    workers: int | None,
) -> None:
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise UsageError(f"--scale must be in [{SCALE_RANGE[0]}, {SCALE_RANGE[1]}], got {scale}")
    if subjects < 1 or (videos is not None and videos < 1):
        raise UsageError(f"--subjects and --videos must be at least 1, got {subjects} and {videos}")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if like_sheet is not None and not Path(like_sheet).is_file():
        raise UsageError(f"--like-sheet {like_sheet}: no such file")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out} is not an empty folder; synth writes a release into a new one")


def _seed(seed: int, *key: str) -> list[int]:
    digest = hashlib.blake2b("\0".join(key).encode("utf-8"), digest_size=8).digest()
    return [seed, int.from_bytes(digest, "little")]
