"""LOSO training throughput: sequential folds vs folds at once, beside a plain-model anchor.

Writes a synthetic store (random dynamic images with a class tint; subjects of uneven
size, like CASME-II's), then times ``mepipe.train.train`` end to end both ways on it,
and in the same run a plain two-stream ResNet (the ``concat`` network, no data pipeline)
trained on random tensors at a large batch: the rate the device reaches when it is kept
busy. Prints training samples/s and ratios; asserts nothing.

Presets: ``--tiny`` (seconds, for CI), the default (a CPU-sized run), ``--full`` (the
issue's GPU setting: 26 subjects, 255 samples, 224 px, width 64, 30 epochs, batch 32,
anchor batch 256).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from mepipe.release.recipe import Sample
from mepipe.store import OK, SampleResult, create_store, write_sample
from mepipe.train import train
from mepipe.train.loop import classification_loss, device_name, resolve_device
from mepipe.train.model import FusionNet

OUT = Path(__file__).parent / "out"
CLASSES = ("disgust", "happiness", "others", "repression", "surprise")
PRESETS = {
    # subjects, samples, size, width, epochs, batch, anchor batch, anchor steps
    "tiny": (3, 12, 32, 4, 1, 4, 8, 2),
    "cpu": (8, 48, 32, 8, 2, 16, 64, 5),
    "full": (26, 255, 224, 64, 30, 32, 256, 20),
}


def synthetic_store(path: Path, subjects: int, samples: int, size: int, seed: int = 0) -> None:
    """A CASME-II-like store: ``samples`` spread unevenly over ``subjects``, 5 classes."""
    rng = np.random.default_rng(seed)
    share = rng.dirichlet(np.full(subjects, 2.0))
    counts = np.maximum(1, np.round(share * samples).astype(int))
    entries, labels = [], []
    for s, count in enumerate(counts):
        for k in range(count):
            c = int(rng.integers(len(CLASSES)))
            entries.append(
                Sample(
                    sample_id=f"sub{s + 1:02d}/EP{k:02d}",
                    subject=f"sub{s + 1:02d}",
                    clip=f"EP{k:02d}",
                    onset=1,
                    apex=3,
                    offset=5,
                    emotion=CLASSES[c],
                    label=CLASSES[c],
                )
            )
            labels.append(c)
    shutil.rmtree(path, ignore_errors=True)
    group = create_store(
        str(path),
        entries,
        size=size,
        attrs={
            "version": "bench",
            "dataset": "casme2",
            "classes": "5",
            "class_names": list(CLASSES),
            "size": size,
        },
    )
    for i, c in enumerate(labels):
        images = {}
        for name in ("trdi", "midi", "onset", "apex"):
            image = rng.normal(128, 20, (size, size, 3))
            image[..., c % 3] += 20 * (1 + c // 3)
            images[name] = np.clip(image, 0, 255).astype(np.uint8)
        write_sample(
            group, i, SampleResult(status=OK, n_frames=5, onset_index=1, apex_index=3, offset_index=5, images=images)
        )


def anchor_rate(size: int, width: int, batch: int, steps: int, device: torch.device) -> float:
    """Training samples/s of a plain two-stream ResNet on random tensors (after one warm-up step)."""
    cuda = device.type == "cuda"
    fmt = torch.channels_last if cuda else torch.contiguous_format
    model = FusionNet(len(CLASSES), "concat", width).to(device, memory_format=fmt).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=fmt)
    y = torch.randint(len(CLASSES), (batch,), device=device)
    weights = torch.ones(len(CLASSES), device=device)
    start = 0.0
    for step in range(steps + 1):
        if step == 1:
            if cuda:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            logits, _ = model(x, x)
        loss = classification_loss(logits, y, weights)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    if cuda:
        torch.cuda.synchronize(device)
    return batch * steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    """Print the training throughput table."""
    parser = argparse.ArgumentParser(prog="python -m bench.train", description=__doc__)
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--tiny", action="store_const", const="tiny", dest="preset")
    preset.add_argument("--full", action="store_const", const="full", dest="preset")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=OUT / "train")
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="runs of each path, alternating; the best is shown (the machine may be shared)",
    )
    args = parser.parse_args(argv)
    subjects, samples, size, width, epochs, batch, anchor_batch, steps = PRESETS[args.preset or "cpu"]
    device = resolve_device(args.device)
    store = args.out / "store.zarr"
    synthetic_store(store, subjects, samples, size)
    options = dict(epochs=epochs, batch=batch, width=width, device=args.device, progress=False)
    print(
        f"{args.preset or 'cpu'}: {subjects} subjects, {samples} samples, {size} px, width {width}, "
        f"{epochs} epochs, batch {batch}, on {device_name(device)} ({torch.get_num_threads()} threads)"
    )
    # the anchor first: it also pays the one-time costs (imports, first kernels)
    anchor = max(anchor_rate(size, width, anchor_batch, steps, device) for _ in range(args.repeats))
    rows = {}
    for _ in range(args.repeats):
        for name, together in (("sequential", False), ("folds at once", True)):
            start = time.perf_counter()
            metrics = train(store, args.out / name.replace(" ", "-"), folds_at_once=together, **options)
            best = max(rows.get(name, (0.0, 0.0)), (metrics["samples_per_s"], time.perf_counter() - start))
            rows[name] = best
    sequential = rows["sequential"][0]
    print(f"{'':<32}{'samples/s':>10}{'wall s':>8}{'/ anchor':>10}{'/ sequential':>14}")
    for name, (rate, wall) in rows.items():
        print(f"{name:<32}{rate:>10.1f}{wall:>8.1f}{rate / anchor:>10.2f}{rate / sequential:>14.2f}")
    print(
        f"{f'plain two-stream, batch {anchor_batch}':<32}{anchor:>10.1f}{'':>8}{1:>10.2f}{anchor / sequential:>14.2f}"
    )


if __name__ == "__main__":
    main()
