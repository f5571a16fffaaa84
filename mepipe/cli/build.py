"""The ``build`` command: a release in, a store out."""

from __future__ import annotations

import shlex
from dataclasses import fields
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mepipe.arrays import IMAGES, default_features, feature_names, set_names
from mepipe.engine.config import SMIC_APEX, SPANS
from mepipe.errors import UsageError
from mepipe.imaging.flow import FLOW_METHODS
from mepipe.release.au import parse_vocabulary
from mepipe.release.crops import CROPS
from mepipe.release.registry import recipe_names, recipe_task

from .options import class_sets_help, quiet_option, release_root, root_option
from .release import objective_sheet_option
from .scheduling import Placement, dask_options, dask_scheduler
from .store import unscorable

#: ``mepipe build --strict``'s exit status when any sample failed (1: none ok, 2: usage, 3: internal)
STRICT_EXIT = 4


@click.command()
@click.option("--dataset", required=True, type=click.Choice(recipe_names()), help="Dataset recipe.")
@root_option
# a string, not a Path: an fsspec URL (memory://, s3://...) stays as written
@click.option("--out", type=click.Path(), help="Store path or fsspec URL [default: <dataset>.zarr].")
@click.option("--sheet", type=click.Path(path_type=Path), help="Annotation sheet, if not in the release.")
@click.option(
    "--frames",
    type=click.Path(path_type=Path),
    help="Folder holding the <subject>/<clip> folders [default: found under --root].",
)
@click.option("--span", type=click.Choice(SPANS), default="onset-apex", show_default=True, help="Frames pooled.")
@click.option("--size", type=int, default=224, show_default=True, help="Side of the aligned images.")
@click.option(
    "--classes",
    default="raw",
    show_default=True,
    help=f"{class_sets_help()}.",
)
@objective_sheet_option
@click.option(
    "--au-vocabulary",
    help="AUs of the au_multihot targets, e.g. 1,2,4,5,6,7,9,10,12,14,15,17 [default: every AU the release codes].",
)
@dask_options("threads", "threads, processes, sync, or tcp://HOST:PORT of a Dask cluster.")
@click.option(
    "--arrays",
    help=f"Comma-separated arrays the store holds: of a clip dataset, array sets of {', '.join(set_names())} "
    f"[default: {','.join(IMAGES)}]; of a long-video dataset, per-frame features of {', '.join(feature_names())} "
    f"[default: {','.join(default_features())}]. Naming more on a finished store adds them (only the new ones "
    "are computed).",
)
@click.option(
    "--flow",
    type=click.Choice(FLOW_METHODS),
    default=FLOW_METHODS[0],
    show_default=True,
    help="Optical flow method of the flow arrays: tvl1 is DualTVL1 at OpenCV's defaults (the field's) on mepipe's "
    "own solver (OpenCV's flow, ~6x faster), tvl1-opencv OpenCV's own solver, tvl1-fast the same with fewer scales "
    "and iterations (less exact), dis OpenCV's DIS.",
)
@click.option(
    "--smic-apex",
    type=click.Choice(SMIC_APEX),
    default=SMIC_APEX[0],
    show_default=True,
    help="SMIC's unannotated apex (smic, megc2019): motion, the peak-motion estimate (as the composite's "
    "published flows used a spotted apex), or middle, the middle frame.",
)
@click.option(
    "--sequence-frames",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Frames per sample of the sequence array.",
)
@click.option("--gray", is_flag=True, help="One channel instead of three.")
@click.option("--keep-raw", is_flag=True, help="Also store the float32 dynamic images.")
@click.option(
    "--motion",
    "motion_reference",
    type=click.Choice(["onset", "previous"]),
    default="onset",
    show_default=True,
    help="Motion intensity against the onset or the previous frame.",
)
@click.option("--descending", "motion_descending", is_flag=True, help="MIDI orders frames by descending motion.")
@click.option(
    "--crop",
    type=click.Choice(CROPS),
    help="release: keep the release's registered crops, resized whole; aligned: find and align "
    "the face [default: release for a registered-crop frames folder such as Cropped "
    "or SMIC_all_cropped, else aligned; see docs/crops.md].",
)
@click.option("--keep-aspect", is_flag=True, help="--crop release: pad the short side instead of stretching.")
@click.option(
    "--face-window",
    default="canonical",
    show_default=True,
    help="--crop aligned: how much of the output the face box spans: canonical, meb (the box + 2 % "
    "per side) or a share of the side, e.g. 0.8.",
)
@click.option(
    "--shard",
    type=click.IntRange(min=2),
    help="Store the finished images as zarr v3 shards of K samples (one file per shard).",
)
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), help="Spotting: keep frames down to this rate.")
@click.option("--k", "pair_gap", type=click.IntRange(min=1), help="Spotting: frames from i to i+k [default: 0.2 s].")
@click.option("--overwrite", is_flag=True, help="Replace a store built with another configuration.")
@click.option(
    "--strict",
    is_flag=True,
    help=f"Exit {STRICT_EXIT} when any sample failed [default: exit 0 when the build ran, failed samples recorded].",
)
@quiet_option
def build(
    dataset: str,
    root: Path | None,
    out: str | None,
    sheet: Path | None,
    frames: Path | None,
    span: str,
    size: int,
    classes: str,
    objective_sheet: Path | None,
    au_vocabulary: str | None,
    placement: Placement,
    arrays: str,
    flow: str,
    smic_apex: str,
    sequence_frames: int,
    gray: bool,
    keep_raw: bool,
    motion_reference: str,
    motion_descending: bool,
    crop: str | None,
    keep_aspect: bool,
    face_window: str | None,
    shard: int | None,
    fps: float | None,
    pair_gap: int | None,
    overwrite: bool,
    strict: bool,
    quiet: bool,
) -> int:
    """Build (or resume) a store from a dataset release: dynamic images, or spotting features.

    Of a clip dataset: TRDI and MIDI, the aligned onset and apex, and with --arrays optical
    flow, strain, frame sequences and aligned landmarks. Of a long-video dataset: its
    spotting store, per-frame features of every video (--arrays, --flow, --fps, --k). A
    rerun resumes; naming more --arrays adds them; on an existing store, an option not given
    takes the store's recorded value. An option of the other kind of dataset is refused.
    Exit status 0 when the build ran (failed samples are recorded; --strict: 4 when any
    failed), 1 when no sample is ok (of a long-video dataset: when a video failed).
    """

    context = click.get_current_context()
    given = {
        name
        for name in context.params
        if context.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    }
    root = release_root(dataset, root)
    out = out or f"{dataset}.zarr"
    if recipe_task(dataset) == "spotting":
        _refuse(dataset, given - _SPOTTING_PARAMETERS, "clip datasets", "--arrays, --flow, --fps, --k")
        long_video: dict[str, Any] = dict(
            arrays=arrays,
            flow=flow if "flow" in given else None,
            fps=fps,
            k=pair_gap,
            workers=placement.workers,
            overwrite=overwrite,
            progress=not quiet,
        )
        spotted = _run(placement, dataset, root, out, long_video, "video")
        return 0 if spotted is None or spotted.ok else 1
    _refuse(dataset, given & {"fps", "pair_gap"}, "long-video (spotting) datasets", "those of mepipe build --help")
    options: dict[str, Any] = dict(
        sheet=sheet,
        frames=frames,
        workers=placement.workers,
        overwrite=overwrite,
        progress=not quiet,
        shard=shard,
        classes=classes,
        objective_sheet=objective_sheet,
        au_vocabulary=None if au_vocabulary is None else parse_vocabulary(au_vocabulary),
        span=span,
        size=size,
        gray=gray,
        keep_raw=keep_raw,
        motion_reference=motion_reference,
        motion_descending=motion_descending,
        crop=crop,
        keep_aspect=keep_aspect,
        face_window=face_window,
        arrays=arrays or ",".join(IMAGES),
        flow=flow,
        smic_apex=smic_apex,
        sequence_frames=sequence_frames,
    )
    if not overwrite:
        options.update(recorded_options(click.get_current_context(), dataset, out))
    summary = _run(placement, dataset, root, out, options, "sample")
    if summary is None:
        return 0
    click.echo(closing_line(summary, strict))
    if not summary.ok:
        return 1
    return STRICT_EXIT if strict and summary.failed else 0


def _run(placement: Placement, dataset: str, root: Path, out: str, options: dict[str, Any], item: str) -> Any:
    """Run the build on the chosen scheduler, print its summary and where to look at every
    ``item``; ``None`` when ``--dry-run`` only printed a job script."""
    from mepipe.build import build as run_build
    from mepipe.report.page import default_out

    with dask_scheduler(placement) as chosen:
        if chosen is None:
            return None
        summary = run_build(dataset, root, out, scheduler=chosen, **options)
    click.echo(summary.format())
    click.echo(
        f"look at every {item}: mepipe report {shlex.quote(summary.store)} --out {shlex.quote(default_out(summary.store))}"
    )
    return summary


def closing_line(summary: Any, strict: bool) -> str:
    """The build's last line: how many samples are ok and failed, and whether its samples
    can score a classifier (:func:`mepipe.release.labels.label_problem`)."""
    problem = unscorable(summary.store)
    exit_note = f" (--strict: exit {STRICT_EXIT})" if strict and summary.failed else ""
    return f"built {summary.store}: {summary.ok} of {summary.total} samples ok, {summary.failed} failed{exit_note}" + (
        f"; warning: {problem}, so mepipe train refuses it" if problem else ""
    )


def recorded_options(ctx: click.Context, dataset: str, out: str) -> dict[str, Any]:
    """The options of an existing store at ``out`` that this command line leaves at their
    defaults: a plain rerun takes the store's recorded values (``--arrays`` added since, a
    ``--size``), and only an option given with another value is refused."""
    from mepipe.engine.config import BuildConfig
    from mepipe.errors import MepipeError
    from mepipe.store import open_store, store_attrs

    try:
        attrs = store_attrs(open_store(out))
        recorded = BuildConfig.from_store(attrs)
    except (MepipeError, TypeError, ValueError):
        return {}  # no store there (or not one this build can read): the build says so
    if recorded.dataset != dataset:
        return {}
    taken = {}
    for name in BuildConfig.options():
        source = ctx.get_parameter_source(name)
        if source in (click.core.ParameterSource.DEFAULT, None) and name in ctx.params:
            taken[name] = getattr(recorded, name)
    # the flow: the method the store's recorded parameters and implementation name (stores
    # made before mepipe's own TV-L1 read as tvl1-opencv), said where it is not the default
    if attrs.get("flow") and "flow" in taken and taken["flow"] != ctx.params.get("flow"):
        click.echo(f"note: {out} holds flow made by {taken['flow']}: resuming with --flow {taken['flow']}", err=True)
    return taken


#: the parameters of ``mepipe build`` a long-video dataset takes
_SPOTTING_PARAMETERS = {
    *("dataset", "root", "out", "arrays", "flow", "fps", "pair_gap", "overwrite", "quiet", "strict"),
    *(f.name for f in fields(Placement)),
}


def _refuse(dataset: str, wrong: set[str], kind: str, instead: str) -> None:
    """One line naming the options given that do not apply to ``dataset``'s task."""
    if not wrong:
        return
    command = click.get_current_context().command
    flags = [opt for p in command.params if p.name in wrong for opt in p.opts[:1]]
    verb = "applies" if len(flags) == 1 else "apply"
    raise UsageError(f"{', '.join(flags)} {verb} to {kind} only, and {dataset} is not one; its options: {instead}")


COMMANDS = [build]
