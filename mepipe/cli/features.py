"""``mepipe features``: a video backbone over a spotting store's face stream, written as
one feature array per video and ActionFormer annotation files per LOSO fold."""

from __future__ import annotations

from pathlib import Path

import click

from mepipe.errors import require
from mepipe.release.longvideo import TYPES

from .options import quiet_option


@click.command("features")
@click.argument("store", type=click.Path(path_type=Path))
@click.option(
    "--backbone",
    required=True,
    type=click.Path(path_type=Path),
    help="A local file: a TorchScript archive (torch.jit.save) mapping float (B, C, T, H, W) to (B, D), "
    "or with --model the weights (state dict) of a registered model. Nothing is downloaded.",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The folder to write into.")
@click.option(
    "--model", default=None, help="A model registered in mepipe.train.models that --backbone holds weights of."
)
@click.option(
    "--outputs", type=click.IntRange(min=1), default=1, show_default=True, help="--model: its n_classes (last layer)."
)
@click.option("--length", type=click.IntRange(min=1), default=16, show_default=True, help="Frames per window.")
@click.option("--stride", type=click.IntRange(min=1), default=4, show_default=True, help="Frames between windows.")
@click.option(
    "--size", type=click.IntRange(min=8), default=None, help="Resize the 128 px faces to this side (224: VideoMAE)."
)
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True, help="Windows per forward pass.")
@click.option("--device", default="cpu", show_default=True, help="cpu, or cuda (cuda:N).")
@click.option(
    "--types",
    default=",".join(TYPES),
    show_default=True,
    help="Interval types annotated, in label_id order (comma-separated).",
)
@click.option(
    "--array",
    type=click.Choice(("face", "face_gray")),
    default=None,
    help="The face stream to read [default: the store's, face first].",
)
@quiet_option
def features(
    store: Path,
    backbone: Path,
    out: Path,
    model: str | None,
    outputs: int,
    length: int,
    stride: int,
    size: int | None,
    batch: int,
    device: str,
    types: str,
    array: str | None,
    quiet: bool,
) -> None:
    """Run a video backbone over the face-stream windows of a spotting STORE.

    Writes OUT/features/<video>.npy (one row per window of LENGTH frames, STRIDE apart),
    OUT/annotations/loso_<subject>.json (ActionFormer's layout, one file per
    leave-one-subject-out fold: the subject's videos validation, the others training)
    and OUT/features.json (how they were made). The store needs the face stream: rerun
    its mepipe build with face added to its --arrays.
    """
    require("torch", "PyTorch", "mepipe features", "train")
    from mepipe.train.features import extract_features

    summary = extract_features(
        str(store),
        backbone,
        out,
        model=model,
        outputs=outputs,
        length=length,
        stride=stride,
        size=size,
        batch=batch,
        device=device,
        types=tuple(t.strip() for t in types.split(",") if t.strip()),
        array=array,
        progress=not quiet,
    )
    click.echo(summary.format())


COMMANDS = [features]
