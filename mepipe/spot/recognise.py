"""Spot-then-recognise: every spotted micro-expression classified by a model that never saw
its subject, scored as MEGC 2025 does (:mod:`mepipe.spot.strs`).

For each leave-one-subject-out fold (one test subject):

1. **training clips**: annotated micro-expressions of the *other* subjects with a MEGC
   class (negative, positive, surprise): by default the long-video release's own
   intervals, cut from its videos (:func:`release_clips`); or the samples of a clip store
   built by ``mepipe build`` (:func:`store_clips`);
2. **test clips**: every spotted micro interval of the test subject's videos, cut from
   the long video's frames, onset to offset (:func:`spotted_clips`);
3. a fresh model of the registry (AFN by default) trained on 1 and predicting 2 by the
   trainer's own :func:`mepipe.train.loop.train_fold`;
4. each prediction's ``emotion`` set to the class recognised; then the evaluator's
   matching and :func:`mepipe.spot.strs.strs`.

A clip cut from a long video becomes a model's inputs through the clip pipeline's own
stages, not a second implementation: :func:`mepipe.engine.stages.frames_needed` picks the
frames, :func:`~mepipe.engine.stages.place_clip` finds the face on the onset frame and
warps every frame with that one transform, :func:`~mepipe.engine.stages.pool_clip`
estimates a missing apex at peak motion (:func:`mepipe.imaging.rankpool.peak_motion`:
every spotted interval, which has none) and computes TRDI and MIDI
(:func:`mepipe.imaging.rankpool.dynamic_images`), with the build options of
:class:`~mepipe.engine.config.BuildConfig` (a clip store's own, when training on one). A
clip that cannot be cut (no face on its onset frame) is recorded with the reason and
skipped: a training clip is left out of every fold, a spotted one stays unrecognised
(its ``emotion`` empty, a miss wherever it matches an interval with a class).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mepipe._shared.progress import Progress
from mepipe.arrays.registry import array_owners
from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import Clip, frames_needed, place_clip, pool_clip
from mepipe.errors import MepipeError, SampleError, UsageError
from mepipe.release import frames
from mepipe.release.labels import MEGC2019_SET
from mepipe.release.longvideo import Interval, LongVideoRecipe, Video
from mepipe.release.recipe import Sample
from mepipe.spot.evaluate import Evaluation, Truth, evaluate, metrics
from mepipe.spot.registry import DEFAULT_SPOTTER
from mepipe.spot.strs import CLASSES, RECOGNISER_CLASSES, StrsScore, strs
from mepipe.store.spotting import open_spotting_store, video_names
from mepipe.train.defaults import RECOGNISE_SIZE, RECOGNISE_TRAINING

if TYPE_CHECKING:
    from mepipe.train.options import TrainOptions

#: side of the aligned clips cut by default (small: CPU-fast; a clip store's own when given)
SIZE = RECOGNISE_SIZE
#: the training run by default: small and quick on a CPU, never tuned on a test subject
TRAINING: Mapping[str, Any] = RECOGNISE_TRAINING
#: the interval types recognised (MEGC 2025: micro-expressions)
TYPES = ("micro",)


def megc_class(emotion: str) -> str:
    """An interval's MEGC class: its emotion where it is one of :data:`CLASSES`, else ``""``
    (``others``, none: spotting only)."""
    emotion = emotion.strip().lower()
    return emotion if emotion in CLASSES else ""


@dataclass(frozen=True)
class Clips:
    """Clips as a model eats them: the store arrays of each, and who it is.

    Attributes
    ----------
    arrays : dict of str to ndarray
        Array name -> ``(N, ...)``: what a clip store holds for each sample (``trdi``,
        ``midi``, ...; the alignment's ``landmarks``, ``transform``, ``frame_size`` where
        the model reads them).
    ids : tuple of str
        Each clip's id: ``<video>/<onset>-<offset>`` for a cut, a store's sample id.
    subjects : tuple of str
        Each clip's subject.
    labels : tuple of str
        Each clip's MEGC class (training clips); ``""`` for clips to recognise.
    failed : dict
        Clip id -> why it could not be cut (left out, not dropped silently).
    """

    arrays: dict[str, np.ndarray]
    ids: tuple[str, ...]
    subjects: tuple[str, ...]
    labels: tuple[str, ...]
    failed: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def cut_config(dataset: str, model: str, size: int = SIZE, **options: Any) -> BuildConfig:
    """The build options clips are cut with: the array sets ``model`` eats, at ``size``."""
    from mepipe.train.models import get_model

    owners = array_owners()
    sets = tuple(dict.fromkeys(owners[name].name for name in get_model(model).arrays))
    return BuildConfig(dataset=dataset, size=size, arrays=sets, **options)


def cut_clip(
    video: Video,
    onset: int,
    offset: int,
    apex: int | None,
    recipe: LongVideoRecipe,
    config: BuildConfig,
    sample_id: str = "",
) -> dict[str, np.ndarray]:
    """One interval of a long video as a clip store's arrays for it.

    Parameters
    ----------
    video : Video
        The long video (its frames on disk).
    onset, offset : int
        The interval, inclusive, in the release's frame numbers.
    apex : int or None
        The annotated apex; ``None`` (or a frame not on disk): estimated at peak motion.
    recipe : LongVideoRecipe
        The release's recipe (colour, typical face width for the detector).
    config : BuildConfig
        How to align and pool (:func:`cut_config`, or a clip store's own).
    sample_id : str
        The clip's id, for the record.

    Returns
    -------
    dict
        The arrays of ``config.arrays`` and the alignment's ``landmarks``,
        ``transform``, ``frame_size``.

    Raises
    ------
    SampleError
        Fewer than 2 frames on disk in the interval, a frame that cannot be decoded, no
        face on the onset frame (the message names the file).
    """
    numbers = np.asarray(video.numbers, dtype=np.int64)
    inside = numbers[(numbers >= onset) & (numbers <= offset)]
    if inside.size < 2:
        raise SampleError(f"{video.name} frames {onset}..{offset}: {inside.size} on disk, a clip needs 2")
    first, last = int(inside[0]), int(inside[-1])
    if apex is not None and apex not in set(inside.tolist()):
        apex = None
    wanted = frames_needed(apex, first, last, config.span, config.arrays, inside, config.set_options())
    by_number = dict(zip(video.numbers, video.paths))
    clip = Clip(
        np.asarray(wanted, dtype=np.int64),
        frames.FrameFiles([by_number[n] for n in wanted], recipe.color, bgr=True),
        first,
        last,
        apex,
        onset_file=by_number[first],
        available=inside,
    )
    sample = Sample(sample_id, video.subject, sample_id, first, apex, last, "", "")
    result = pool_clip(place_clip(clip, recipe, config), sample, config)
    arrays = dict(result.images)
    if result.alignment is not None:
        arrays.update(
            landmarks=np.asarray(result.alignment.landmarks, dtype=np.float32),
            transform=np.asarray(result.alignment.transform, dtype=np.float64),
            frame_size=np.asarray(result.alignment.frame_size, dtype=np.int64),
        )
    return arrays


def _cut_all(
    jobs: Sequence[tuple[str, str, str, Video | None, int, int, int | None]],
    recipe: LongVideoRecipe,
    config: BuildConfig,
    desc: str,
    progress: bool,
) -> Clips:
    """``(id, subject, label, video, onset, offset, apex)`` each cut; failures recorded."""
    cut: list[dict[str, np.ndarray]] = []
    ids, subjects, labels = [], [], []
    failed: dict[str, str] = {}
    with Progress(len(jobs), desc, enabled=progress, unit="clip") as bar:
        for clip_id, subject, label, video, onset, offset, apex in jobs:
            if video is None:
                failed[clip_id] = "its video has no frames in the release"
                bar.update(False)
                continue
            try:
                cut.append(cut_clip(video, onset, offset, apex, recipe, config, clip_id))
            except SampleError as exc:
                failed[clip_id] = str(exc)
                bar.update(False)
                continue
            ids.append(clip_id)
            subjects.append(subject)
            labels.append(label)
            bar.update()
    names = list(cut[0]) if cut else []
    arrays = {name: np.stack([c[name] for c in cut]) for name in names}
    return Clips(arrays, tuple(ids), tuple(subjects), tuple(labels), failed)


def release_clips(
    intervals: Iterable[Interval],
    videos: Mapping[str, Video],
    recipe: LongVideoRecipe,
    config: BuildConfig,
    types: Sequence[str] = TYPES,
    progress: bool = False,
) -> Clips:
    """The annotated intervals of ``types`` with a MEGC class, cut as clips: training data.

    Intervals whose row has an error (not placed in its video) or no class are not
    training data and are skipped; one whose video is absent or whose face is not found
    is recorded in ``failed``. The sheet's apex is used where it has one.
    """
    jobs = [
        (
            f"{i.video}/{i.onset}-{i.offset}",
            i.subject,
            megc_class(i.emotion),
            videos.get(i.video),
            i.onset,
            i.offset,
            i.apex,
        )
        for i in intervals
        if i.type in types and not i.error and megc_class(i.emotion)
    ]
    return _cut_all(jobs, recipe, config, "cut training clips", progress)


def spotted_clips(
    predictions: Sequence[Interval],
    videos: Mapping[str, Video],
    subjects: Mapping[str, str],
    recipe: LongVideoRecipe,
    config: BuildConfig,
    types: Sequence[str] = TYPES,
    progress: bool = False,
) -> tuple[Clips, list[int]]:
    """The predictions of ``types`` cut as clips to recognise (apex at peak motion).

    Returns the clips and, for each, its index in ``predictions``.
    """
    chosen = [k for k, p in enumerate(predictions) if p.type in types]
    jobs = [
        (
            _spot_id(predictions[k], k),
            subjects[predictions[k].video],
            "",
            videos.get(predictions[k].video),
            predictions[k].onset,
            predictions[k].offset,
            None,
        )
        for k in chosen
    ]
    clips = _cut_all(jobs, recipe, config, "cut spotted clips", progress)
    index = dict(zip((job[0] for job in jobs), chosen))
    return clips, [index[i] for i in clips.ids]


def _spot_id(span: Interval, index: int) -> str:
    return f"{span.video}/{span.onset}-{span.offset} (prediction {index + 1})"


def store_clips(path: str | Path, classes: str = MEGC2019_SET, model: str | None = None) -> tuple[Clips, BuildConfig]:
    """The samples of a clip store (``mepipe build``) as training clips, in the three MEGC
    classes, with the build options the store was made with (spotted intervals are cut with
    them, so both sides' inputs are made alike; only the arrays ``model`` eats).

    Raises
    ------
    UsageError
        The store's class set ``classes`` is not negative, positive, surprise.
    """
    from mepipe.store import array
    from mepipe.train.data import check_store
    from mepipe.train.defaults import DEFAULT_MODEL
    from mepipe.train.models import get_model

    spec = get_model(model or DEFAULT_MODEL)
    group, selection = check_store(path, classes, None, spec.name)
    if tuple(selection.class_names) != CLASSES:
        raise UsageError(
            f"{path}: class set {classes} is {', '.join(selection.class_names)}; spot-then-recognise needs "
            f"{', '.join(CLASSES)} (try --clip-classes megc2019 or 3)"
        )
    rows = selection.rows
    names = (*spec.arrays, *(n for n in spec.fields if n in group))
    arrays = {name: np.asarray(array(group, name).oindex[rows]) for name in names}
    labels = tuple(str(label) for label in selection.labels)
    clips = Clips(
        arrays,
        tuple(str(s) for s in selection.fields["sample_id"]),
        tuple(str(s) for s in selection.fields["subject"]),
        labels,
    )
    # its own options, computing only the arrays the model eats
    config = BuildConfig.from_store(selection.provenance)
    return clips, replace(config, arrays=cut_config(config.dataset, spec.name, config.size).arrays)


# ---------------------------------------------------------------- recognising


@dataclass(frozen=True)
class FoldRecord:
    """One test subject's fold.

    Attributes
    ----------
    subject : str
        The test subject.
    trained_on : tuple of str
        Ids of the training clips the model was fitted on (none of the test subject's).
    recognised : tuple of str
        Ids of the test subject's clips it classified.
    classes : dict
        Training clips per class.
    skipped : str
        Why no model was trained (too few training clips), ``""`` if one was.
    """

    subject: str
    trained_on: tuple[str, ...]
    recognised: tuple[str, ...]
    classes: dict[str, int]
    skipped: str = ""


def recognise_loso(
    training: Clips,
    test: Clips,
    options: TrainOptions,
    seed: int = 0,
    progress: bool = False,
) -> tuple[list[str], list[FoldRecord]]:
    """Classify every test clip with a model trained on the other subjects' clips only.

    Parameters
    ----------
    training : Clips
        Labelled clips (every subject's: each fold leaves its test subject's out).
    test : Clips
        Clips to recognise, each of one subject.
    options : TrainOptions
        The training run (model, epochs, batch, lr, width, device).
    seed : int
        The run seed; fold ``k`` (the ``k``-th test subject in sorted order) trains from
        :func:`mepipe.train.loop.fold_seed` ``(seed, k)``.

    Returns
    -------
    classes : list of str
        The class recognised for each test clip (``""`` where its fold could not train).
    folds : list of FoldRecord
    """
    from mepipe.train.data import Fold, memory_data
    from mepipe.train.loop import resolve_device, train_fold
    from mepipe.train.models import get_model

    spec = get_model(options.model)
    recognised = [""] * len(test)
    if not len(test):
        return recognised, []
    if len(training):
        mismatched = [n for n in spec.arrays if training.arrays[n].shape[1:] != test.arrays[n].shape[1:]]
        if mismatched:
            raise MepipeError(f"training and spotted clips differ in the shape of {', '.join(mismatched)}")
    names = (*spec.arrays, *(n for n in spec.fields if n in test.arrays))
    arrays = {
        n: np.concatenate([training.arrays[n], test.arrays[n]]) if len(training) else test.arrays[n] for n in names
    }
    # the clips to recognise get class 0 as a placeholder: only training rows are learnt from
    labels = [CLASSES.index(label) if label else 0 for label in training.labels] + [0] * len(test)
    data = memory_data(
        arrays,
        labels,
        [*training.subjects, *test.subjects],
        [*training.ids, *test.ids],
        CLASSES,
        spec.name,
        "megc",
    )
    device = resolve_device(options.device)
    offset = len(training)
    folds = []
    for index, subject in enumerate(sorted(set(test.subjects))):
        train_rows = np.asarray(
            [r for r, (s, label) in enumerate(zip(training.subjects, training.labels)) if s != subject and label],
            dtype=np.int64,
        )
        test_rows = np.asarray([offset + r for r, s in enumerate(test.subjects) if s == subject], dtype=np.int64)
        counts = {c: sum(training.labels[r] == c for r in train_rows) for c in CLASSES}
        trained_on = tuple(str(i) for i in data.sample_ids[train_rows])
        ids = tuple(str(i) for i in data.sample_ids[test_rows])
        if len(train_rows) < 2:
            why = f"{len(train_rows)} training clips of other subjects with a class; a model needs 2"
            folds.append(FoldRecord(subject, trained_on, (), counts, why))
            continue
        fold = Fold(index, subject, train_rows, test_rows)
        result = train_fold(data, fold, options, seed, device, progress)
        for row, probs in zip(test_rows, result.probs):
            recognised[row - offset] = CLASSES[int(np.argmax(probs))]
        folds.append(FoldRecord(subject, trained_on, ids, counts))
    return recognised, folds


# ---------------------------------------------------------------- a spotting store


@dataclass(frozen=True)
class SpotRecognition:
    """What :func:`spot_recognise` found.

    Attributes
    ----------
    predictions : list of Interval
        The spotted intervals, each micro one's ``emotion`` the class recognised.
    evaluation : Evaluation
        The evaluator's counts and matches of them against the store's intervals.
    score : StrsScore
        STRS and its two F1s.
    folds : list of FoldRecord
    not_cut : dict
        Clip id -> why it could not be cut (training or spotted clips).
    training : str
        Where the training clips came from.
    """

    predictions: list[Interval]
    evaluation: Evaluation
    score: StrsScore
    folds: list[FoldRecord]
    not_cut: dict[str, str]
    training: str

    def record(self, **about: Any) -> dict[str, Any]:
        """The JSON record: the evaluator's (:func:`mepipe.spot.evaluate.metrics`), ``strs``,
        and ``recognition`` (where the training clips came from, each fold's counts and the
        clips not cut)."""
        out = metrics(self.evaluation, **about)
        out["strs"] = self.score.as_dict()
        out["recognition"] = {
            "training": self.training,
            "folds": {
                f.subject: {
                    "trained_on": len(f.trained_on),
                    "classes": f.classes,
                    "recognised": len(f.recognised),
                    **({"skipped": f.skipped} if f.skipped else {}),
                }
                for f in self.folds
            },
            "not_cut": dict(self.not_cut),
        }
        return out


def store_subjects(path: str | Path) -> dict[str, str]:
    """Video -> subject of every video a spotting store built."""
    root = open_spotting_store(path)
    return {n: str(root[f"videos/{n}"].attrs["subject"]) for n in video_names(root) if f"videos/{n}" in root}


def spot_recognise(
    store: str | Path,
    recipe: LongVideoRecipe,
    release: str | Path,
    predictions: Sequence[Interval] | None = None,
    *,
    options: TrainOptions | None = None,
    size: int = SIZE,
    clips: str | Path | None = None,
    clip_classes: str = MEGC2019_SET,
    seed: int = 0,
    pred_source: str = "predictions",
    spotter: str = DEFAULT_SPOTTER,
    progress: bool = False,
) -> SpotRecognition:
    """Spot-then-recognise a spotting store's videos, leave one subject out, and score STRS.

    Parameters
    ----------
    store : str or Path
        The spotting store (:mod:`mepipe.store.spotting`): the truth, each video's subject, and
        the baseline spotter's features.
    recipe : LongVideoRecipe
        The release's recipe (``mepipe.pipelines.casme_sq`` ...).
    release : str or Path
        The release the store was built from: the frames clips are cut from.
    predictions : sequence of Interval, optional
        Spotted intervals (``mepipe spot``'s, another spotter's); default: ``spotter``'s,
        leave one subject out.
    options : TrainOptions, optional
        The training run; default :data:`TRAINING` (small, CPU).
    size : int
        Side of the clips cut (ignored with ``clips``: the clip store's own build options).
    clips : str or Path, optional
        Train on this clip store's samples instead of the release's own intervals.
    clip_classes : str
        The clip store's class set that gives the MEGC classes.
    seed : int
        The training seed.
    pred_source : str
        The predictions' file, for messages.
    spotter : str
        Without ``predictions``: the registered spotter (:mod:`mepipe.spot.registry`) that
        spots the store, with its default options.
    progress : bool
        Bars for the clips cut and each fold's training, on stderr.

    Raises
    ------
    MepipeError
        A prediction naming a video the store does not hold (naming the row), a store
        video the release lacks.
    """
    from mepipe.spot.evaluate import truth_intervals
    from mepipe.spot.registry import get_spotter
    from mepipe.store.spotting import read_intervals
    from mepipe.train.run import training_options

    chosen = options or training_options(**TRAINING)
    truth: Truth = truth_intervals(store)
    subjects = store_subjects(store)
    if predictions is None:
        predictions = get_spotter(spotter).spot(Path(store)).spans
        pred_source = f"the {spotter} spotter"
    for k, pred in enumerate(predictions):
        if pred.video not in subjects:
            named = f"{pred_source}: row {pred.row}" if pred.row else f"{pred_source}: prediction {k + 1}"
            raise MepipeError(f"{named}: video {pred.video!r} is not in the store {store}")
    videos = {v.name: v for v in recipe.videos(Path(release))}
    absent = sorted(set(subjects) - set(videos))
    if absent:
        raise MepipeError(
            f"{release}: no frames of the store's videos {', '.join(absent[:5])}; is it the release {store} was built from?"
        )
    if clips is None:
        config = cut_config(recipe.name, chosen.model, size)
        training = release_clips(read_intervals(open_spotting_store(store)), videos, recipe, config, progress=progress)
        source = f"the release's annotated micro-expressions ({len(training)} clips)"
    else:
        training, config = store_clips(clips, clip_classes, chosen.model)
        source = f"clip store {clips} ({len(training)} clips)"
    test, where = spotted_clips(predictions, videos, subjects, recipe, config, progress=progress)
    classes, folds = recognise_loso(training, test, chosen, seed, progress)
    # a class the predictions came with is not this recogniser's: cleared, then filled
    labelled = [replace(p, emotion="") if p.type in TYPES else p for p in predictions]
    for k, label in zip(where, classes):
        labelled[k] = replace(labelled[k], emotion=label)
    evaluation = evaluate(truth, labelled, pred_source)
    return SpotRecognition(
        labelled,
        evaluation,
        strs(evaluation, classes=RECOGNISER_CLASSES, dataset=recipe.name),
        folds,
        {**training.failed, **test.failed},
        source,
    )
