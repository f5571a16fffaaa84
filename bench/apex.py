"""How far ``--smic-apex``'s two choices land from an annotated apex.

SMIC-HS annotates no apex; mepipe takes the build's peak-motion estimate (``motion``, the
default) or the middle frame (``middle``). Their error is measured where the apex is
known: on synthetic CASME-II and SAMM releases (``mepipe synth``: each clip's expression
peaks at its sheet's apex), each clip aligned as the build aligns it, the apex set aside
and estimated as the build estimates a missing one (``rankpool.peak_motion`` on the
aligned onset..offset frames), against the middle frame ``onset + (offset - onset) // 2``.
Printed per dataset: clips, the mean and median absolute error in frames and as a share
of the clip's onset..offset length, and the share within 10 % of the length.
Asserts nothing; ``python -m bench.apex``.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from mepipe.engine.config import BuildConfig
from mepipe.engine.stages import load_clip, place_clip
from mepipe.imaging import rankpool
from mepipe.release.discover import open_release
from mepipe.release.registry import get_recipe
from mepipe.synth import synthesize


def errors(dataset: str, root: Path, size: int) -> dict[str, np.ndarray]:
    """Per clip with an annotated apex: (estimate - apex, middle - apex, onset..offset length)."""
    recipe = get_recipe(dataset)
    release = open_release(recipe, root)
    config = BuildConfig(dataset=dataset, size=size)
    motion, middle, length = [], [], []
    for sample in release.samples:
        if sample.error or sample.apex is None:
            continue
        clip = place_clip(
            load_clip(replace(sample, apex=None), recipe, release.frame_roots[""], config), recipe, config
        )
        estimate = int(clip.numbers[rankpool.peak_motion(clip.frames, sigma=config.motion_sigma)])
        motion.append(estimate - sample.apex)
        middle.append(sample.onset + (sample.offset - sample.onset) // 2 - sample.apex)
        length.append(sample.offset - sample.onset)
    return {"motion": np.array(motion), "middle": np.array(middle), "length": np.array(length, float)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.apex", description=__doc__)
    parser.add_argument("--subjects", type=int, default=4)
    parser.add_argument("--clips", type=int, default=5)
    parser.add_argument("--size", type=int, default=112)
    args = parser.parse_args(argv)
    print(
        f"{'release':9} {'clips':>5} {'choice':>7} {'mean |err| fr':>13} {'median':>7} {'mean / length':>13} {'within 10 %':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for seed, dataset in enumerate(("casme2", "samm")):
            root = Path(tmp) / dataset
            synthesize(
                dataset,
                root,
                subjects=args.subjects,
                clips_per_subject=args.clips,
                scale=0.5,
                seed=seed,
                progress=False,
            )
            measured = errors(dataset, root, args.size)
            for choice in ("motion", "middle"):
                error = np.abs(measured[choice])
                share = error / np.maximum(measured["length"], 1)
                print(
                    f"{dataset:9} {len(error):5d} {choice:>7} {error.mean():13.1f} {np.median(error):7.1f} "
                    f"{share.mean():13.1%} {(share <= 0.1).mean():11.0%}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
