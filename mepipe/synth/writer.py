"""Synthetic datasets in a release's exact layout, for tests, demos and benchmarks.

Everything dataset-specific comes from the recipe: where the sheet lives and how it is
written, folders, frame names, resolution and colour. The sheet is written first and
read back with the same recipe; frames are rendered for the samples *as read*, so they
land exactly where a build will look for them.

Each clip is rendered from its own random generator, seeded by ``(seed, sample id)``:
the bytes written do not depend on thread scheduling.
"""

from __future__ import annotations

import csv
import hashlib
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mepipe._shared.progress import Progress
from mepipe.errors import UsageError
from mepipe.release.recipe import CompositeRecipe, Recipe, Sample, SynthStyle
from mepipe.release.registry import get_recipe
from mepipe.synth import faces

#: JPEG quality of the written frames: close to what the releases ship
JPEG_QUALITY = 90
#: accepted ``scale`` range: below it the face is too small for the build's detector
SCALE_RANGE = (0.1, 2.0)
#: default clip lengths (frames), inclusive
CLIP_LENGTHS = (12, 30)
#: side file beside the sheet: each clip's blinks, head jerks and profile shape
MOTION_FILE = "synth_motion.csv"
#: AU strings made-up samples cycle over: the sheets' spellings (sides, intensities, or, ?)
AU_STRINGS = ("4+L10", "12", "1+R2+25", "L12 or L14", "6+12", "1A+2B+L14C", "?")


@dataclass(frozen=True)
class SynthReport:
    """What :func:`synthesize` wrote.

    Attributes
    ----------
    root : Path
        The release folder.
    sheet : Path
        The annotation sheet, where the recipe's ``find_sheet`` looks.
    samples : tuple of Sample
        Every sheet row as the recipe reads it back (rows with ``error`` have no frames).
    frames : int
        Frame files written.
    """

    root: Path
    sheet: Path
    samples: tuple[Sample, ...]
    frames: int


def synthesize(
    dataset: str,
    out: Path,
    *,
    subjects: int = 3,
    clips_per_subject: int = 4,
    like_sheet: Path | None = None,
    scale: float = 1.0,
    seed: int = 0,
    classes: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> SynthReport:
    """Write a synthetic release of ``dataset`` under ``out``.

    Parameters
    ----------
    dataset : str
        Recipe name (``casme2``, ``samm``, ``mmew``, ...).
    out : Path
        A new or empty folder.
    subjects, clips_per_subject : int
        Size of the dataset made up when ``like_sheet`` is not given.
    like_sheet : Path, optional
        A real annotation sheet: every row is reproduced (same subjects, clips, frame
        numbers, emotions and quirks); ``subjects``, ``clips_per_subject`` and
        ``classes`` are then unused.
    scale : float
        Frame size relative to the release's resolution (faces and motions scale too).
    seed : int
        Same seed and arguments, same bytes.
    classes : str, optional
        Class set whose emotions the clips cycle over; the recipe's first by default.
    workers : int, optional
        Rendering threads; all cores by default.
    progress : bool
        Show a progress bar on stderr.

    Raises
    ------
    UsageError
        Unknown dataset or class set, bad sizes or scale, ``out`` not empty.
    """
    recipe = get_recipe(dataset)
    out = Path(out)
    _check_args(recipe, out, subjects, clips_per_subject, like_sheet, scale, classes, workers)
    if isinstance(recipe, CompositeRecipe):
        return _synthesize_composite(recipe, out, subjects, clips_per_subject, scale, seed, workers, progress)
    if like_sheet is not None:
        samples = recipe.read(Path(like_sheet), "raw")
    else:
        chosen = classes or next(iter(recipe.class_sets))
        samples = make_samples(
            recipe, recipe.synth_style, subjects, clips_per_subject, chosen, np.random.default_rng(seed)
        )
    return _write_release(recipe, out, samples, scale, seed, workers, progress)


def _write_release(
    recipe: Recipe,
    out: Path,
    samples: list[Sample],
    scale: float,
    seed: int,
    workers: int | None,
    progress: bool,
) -> SynthReport:
    """Write ``samples`` as a ``recipe`` release in ``out``: sheet, then frames."""
    sheet = out / recipe.sheet_file
    if recipe.sheetless:
        # the folders are the annotations: render, then read them back
        frames = _render_all(recipe, out, samples, scale, seed, workers, progress)
        return SynthReport(root=out, sheet=sheet, samples=tuple(recipe.read(sheet, "raw")), frames=frames)
    recipe.write_sheet(samples, sheet)
    written = tuple(recipe.read(sheet, "raw"))
    frames = _render_all(recipe, out, [s for s in written if not s.error], scale, seed, workers, progress)
    write_motion_table([s for s in written if not s.error], seed, scale, sheet.parent / MOTION_FILE)
    return SynthReport(root=out, sheet=sheet, samples=written, frames=frames)


def _synthesize_composite(
    recipe: CompositeRecipe,
    out: Path,
    subjects: int,
    clips_per_subject: int,
    scale: float,
    seed: int,
    workers: int | None,
    progress: bool,
) -> SynthReport:
    """Each member release in ``out/<member>``, holding listed samples of the composite:
    the first ``subjects`` subjects of each member, their first ``clips_per_subject`` clips."""
    rng = np.random.default_rng(seed)
    written: list[Sample] = []
    frames = 0
    for name, rows in recipe.listed(subjects, clips_per_subject).items():
        part = get_recipe(name)
        emotions = dict(zip(part.class_sets["3"], class_emotions(part, "3")))
        samples: list[Sample] = []
        for subject, clip, label in rows:
            length = int(rng.integers(CLIP_LENGTHS[0], CLIP_LENGTHS[1] + 1))
            onset = int(rng.integers(part.synth_style.onsets[0], part.synth_style.onsets[1] + 1))
            apex = onset + int(round(rng.uniform(0.3, 0.6) * (length - 1)))
            emotion = emotions[label]
            # the members' AUs make the composite's vocabulary (SMIC codes none: its folders drop them)
            samples.append(
                Sample(
                    f"{subject}/{clip}",
                    subject,
                    clip,
                    onset,
                    apex,
                    onset + length - 1,
                    emotion,
                    emotion,
                    action_units=made_up_aus(len(samples)),
                )
            )
        report = _write_release(part, out / name.upper(), samples, scale, seed, workers, progress)
        written += report.samples
        frames += report.frames
    return SynthReport(root=out, sheet=out, samples=tuple(written), frames=frames)


def make_samples(
    recipe: Recipe,
    style: SynthStyle,
    subjects: int,
    clips_per_subject: int,
    classes: str,
    rng: np.random.Generator,
) -> list[Sample]:
    """Made-up samples: emotions cycling over the class set, clips of 12..30 frames,
    AU strings cycling over :data:`AU_STRINGS` and, for releases with objective classes,
    classes cycling over 1..7.

    Raises
    ------
    UsageError
        A class set whose classes no known emotion maps to (``megc2019`` is a sample
        list, not an emotion rule).
    """
    emotions = class_emotions(recipe, classes)
    # class_emotions gave one emotion per class, so each has its class
    labels = {emotion: recipe.label_of(_probe(emotion), classes) or "" for emotion in emotions}
    samples: list[Sample] = []
    for s in range(subjects):
        subject = style.subject.format(n=style.first_subject + s)
        for index in range(1, clips_per_subject + 1):
            which = (s * clips_per_subject + index - 1) % len(emotions)
            emotion = emotions[which]
            clip = style.clip.format(subject=subject, index=index, emotion=which + 1, emotion_name=emotion)
            length = int(rng.integers(CLIP_LENGTHS[0], CLIP_LENGTHS[1] + 1))
            onset = int(rng.integers(style.onsets[0], style.onsets[1] + 1))
            apex = onset + int(round(rng.uniform(0.3, 0.6) * (length - 1)))
            samples.append(
                Sample(
                    sample_id=f"{subject}/{clip}",
                    subject=subject,
                    clip=clip,
                    onset=onset,
                    apex=apex,
                    offset=onset + length - 1,
                    emotion=emotion,
                    label=labels[emotion],
                    action_units=made_up_aus(len(samples)),
                    objective_class=str(len(samples) % 7 + 1) if "objective" in recipe.class_sets else "",
                )
            )
    return samples


def made_up_aus(index: int) -> str:
    """The action units of the ``index``-th made-up sample of a release: :data:`AU_STRINGS` in turn."""
    return AU_STRINGS[index % len(AU_STRINGS)]


def class_emotions(recipe: Recipe, classes: str) -> list[str]:
    """One emotion (lower case, the recipe's spelling) per class of ``classes``, in class order."""
    recipe.check_classes(classes)
    if classes == "raw":
        raise UsageError(f"class set 'raw' has no fixed classes; choose one of {', '.join(recipe.class_sets)}")
    labels = {e: recipe.label_of(_probe(e), classes) for e in faces.EMOTIONS}
    emotions = []
    for name in recipe.class_sets[classes]:
        found = next((e for e, label in labels.items() if label == name), None)
        if found is None:
            raise UsageError(
                f"class set {classes!r} of {recipe.title} cannot be synthesised: no emotion maps to {name!r}"
            )
        emotions.append(found)
    return emotions


def _probe(emotion: str) -> Sample:
    # label_of looks at the emotion (and, for sample lists, the ids): a sample with no ids
    return Sample("", "", "", 0, None, 0, emotion, emotion)


def _check_args(
    recipe: Recipe,
    out: Path,
    subjects: int,
    clips_per_subject: int,
    like_sheet: Path | None,
    scale: float,
    classes: str | None,
    workers: int | None,
) -> None:
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        raise UsageError(f"--scale must be in [{SCALE_RANGE[0]}, {SCALE_RANGE[1]}], got {scale}")
    if subjects < 1 or clips_per_subject < 1:
        raise UsageError(
            f"--subjects and --clips-per-subject must be at least 1, got {subjects} and {clips_per_subject}"
        )
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if like_sheet is not None and classes is not None:
        raise UsageError("--classes applies to made-up samples; --like-sheet reproduces every row of the sheet")
    if like_sheet is not None and (recipe.sheetless or recipe.parts):
        raise UsageError(f"{recipe.title} has no annotation sheet to imitate: its folders are its annotations")
    if like_sheet is not None and not Path(like_sheet).is_file():
        raise UsageError(f"--like-sheet {like_sheet}: no such file")
    if classes is not None:
        recipe.check_classes(classes)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out} is not an empty folder; synth writes a release into a new one")


def _render_all(
    recipe: Recipe,
    root: Path,
    samples: list[Sample],
    scale: float,
    seed: int,
    workers: int | None,
    progress: bool,
) -> int:
    width, height = recipe.resolution
    size = (max(round(width * scale), 1), max(round(height * scale), 1))
    stages = _Stages(recipe, size, recipe.face_width * scale, seed, Counter(s.subject for s in samples))
    # clips sharing a folder (one long recording, CAS(ME)^3) may share frame numbers: one
    # task renders them in sheet order, so the last one's frame wins in every run
    folders: dict[Path, list[Sample]] = {}
    for sample in samples:
        folders.setdefault(root / recipe.frame_dir(sample), []).append(sample)
    # subject by subject: only the stages of subjects in flight are held in memory
    groups = sorted(folders.items(), key=lambda item: item[1][0].subject)

    def work(group: tuple[Path, list[Sample]]) -> int:
        folder, clips = group
        folder.mkdir(parents=True, exist_ok=True)
        written = set()
        for sample in clips:
            stage = stages.acquire(sample.subject)
            try:
                written |= _render_clip(recipe, folder, sample, stage, scale, seed)
            finally:
                stages.release(sample.subject)
        return len(written)

    total = 0
    with Progress(len(samples), f"synth {recipe.name}", enabled=progress) as bar:
        with ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
            # results in submission order: the bar is updated from this thread only
            for (_, clips), count in zip(groups, pool.map(work, groups)):
                total += count
                for _ in clips:
                    bar.update(True)
    return total


def _render_clip(
    recipe: Recipe,
    folder: Path,
    sample: Sample,
    stage: faces.Stage,
    scale: float,
    seed: int,
) -> set[str]:
    """Write the clip's frames into ``folder``; the file names written."""
    rng = np.random.default_rng(_seed(seed, "clip", sample.sample_id))
    pattern = faces.pattern_for(sample.emotion)
    amplitude = rng.uniform(*pattern.amplitude) * scale
    angle = rng.uniform(0, 2 * np.pi)
    drift = rng.uniform(0.5, 1.5) * scale * np.array([np.cos(angle), np.sin(angle)])
    peak = sample.apex if sample.apex is not None else (sample.onset + sample.offset) // 2
    numbers = range(sample.onset, sample.offset + 1)
    frames = faces.expression_frames(
        stage,
        pattern,
        amplitude,
        numbers,
        (sample.onset, peak, sample.offset),
        tuple(drift),
        rng,
        motion=clip_motion(sample, seed, scale),
    )
    names = set()
    for number, frame in zip(numbers, frames):
        name = recipe.frame_name(sample, number)
        # the release's format: JPEG mostly, PNG for DFME
        png = name.lower().endswith(".png")
        _, encoded = cv2.imencode(
            ".png" if png else ".jpg", frame, [] if png else [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
        # open() rather than cv2.imwrite: cv2 cannot write to non-ASCII paths on Windows
        with open(folder / name, "wb") as handle:
            handle.write(encoded.tobytes())
        names.add(name)
    return names


def clip_motion(sample: Sample, seed: int, scale: float) -> faces.ClipMotion:
    """The clip's blinks, head jerks and profile shape, from its own generator.

    Seeded by ``(seed, "motion", sample id)``, apart from the clip's rendering
    generator: the side file and the frames agree without passing anything between
    threads.
    """
    rng = np.random.default_rng(_seed(seed, "motion", sample.sample_id))
    return faces.random_motion(rng, sample.onset, sample.offset, scale)


def write_motion_table(samples: list[Sample], seed: int, scale: float, path: Path) -> None:
    """One row per rendered clip, in sheet order: what :func:`clip_motion` put in it.

    ``blinks`` is ``frame:half_width:amplitude`` and ``jerks`` ``frame:half_width:dx:dy``
    (frame numbers, frames, pixels), several separated by ``;``.
    """
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sample_id", "onset", "offset", "rise", "fall", "blinks", "jerks"])
        for sample in samples:
            m = clip_motion(sample, seed, scale)
            writer.writerow(
                [
                    sample.sample_id,
                    sample.onset,
                    sample.offset,
                    f"{m.rise:.4f}",
                    f"{m.fall:.4f}",
                    ";".join(f"{c}:{w}:{a:.3f}" for c, w, a in m.blinks),
                    ";".join(f"{c}:{w}:{dx:.3f}:{dy:.3f}" for c, w, dx, dy in m.jerks),
                ]
            )


def _seed(seed: int, *key: str) -> list[int]:
    digest = hashlib.blake2b("\0".join(key).encode("utf-8"), digest_size=8).digest()
    return [seed, int.from_bytes(digest, "little")]


class _Stages:
    """Each subject's neutral frame, built on first use and dropped after its last clip."""

    def __init__(self, recipe: Recipe, size: tuple[int, int], face_width: float, seed: int, uses: Counter) -> None:
        self._recipe, self._size, self._face_width, self._seed = recipe, size, face_width, seed
        self._uses = uses
        self._stages: dict[str, faces.Stage] = {}
        self._lock = threading.Lock()

    def acquire(self, subject: str) -> faces.Stage:
        with self._lock:
            if subject not in self._stages:
                rng = np.random.default_rng(_seed(self._seed, "subject", subject))
                self._stages[subject] = faces.place(
                    faces.random_look(rng), self._size, self._face_width, self._recipe.color == "gray", rng
                )
            return self._stages[subject]

    def release(self, subject: str) -> None:
        with self._lock:
            self._uses[subject] -= 1
            if not self._uses[subject]:
                del self._stages[subject]
