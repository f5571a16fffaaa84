"""The published STSTNet check: the authors' per-subject checkpoints on the published
leave-one-subject-out folds, through ``build_model("ststnet", 3)``.

Each subject folder of ``--folds`` (HTNet's ``datasets/three_norm_u_v_os``, the
``norm_u_v_os`` layout that ``mepipe export --format ststnet`` also writes) holds
``u_test/<label>/*.png``; each is read as the published code reads it (``cv2.imread``:
strain, v, u as float 0-255), the subject's checkpoint ``--weights/<subject>.pth``
(christy1206/STSTNet ``STSTNet_Weights``) is loaded with ``load_state_dict`` (strict) and
predicts its test images in eval mode. Predictions of all subjects are pooled and scored
once (:func:`mepipe.train.metrics.scores`); the paper's figures are UF1 0.7209 and UAR
0.725 over 442 samples (3 classes: negative, positive, surprise).

Nothing is downloaded or copied: both folders are given at run time::

    python -m bench.ststnet --weights STSTNet/STSTNet_Weights --folds HTNet/datasets/three_norm_u_v_os
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from mepipe.train.metrics import scores
from mepipe.train.models import build_model, get_model

#: the published figures (Liong et al. 2019; STSTNet_python_logfile.txt)
PUBLISHED = {"uf1": 0.7209, "uar": 0.725, "n": 442}
CLASSES = 3


def subject_predictions(weights: Path, subject_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) labels of one subject's ``u_test`` images under its own checkpoint."""
    paths = sorted((subject_dir / "u_test").glob("*/*.png"))
    if not paths:
        raise SystemExit(f"bench.ststnet: {subject_dir}/u_test holds no <label>/*.png")
    images = []
    for path in paths:
        image = cv2.imread(str(path))
        if image is None:
            raise SystemExit(f"bench.ststnet: cannot read {path}")
        images.append(image)
    true = np.array([int(p.parent.name) for p in paths])
    checkpoint = weights / f"{subject_dir.name}.pth"
    if not checkpoint.is_file():
        raise SystemExit(f"bench.ststnet: no checkpoint {checkpoint} for subject {subject_dir.name}")
    model = build_model("ststnet", CLASSES)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    model.eval()
    with torch.no_grad():
        logits = model(get_model("ststnet").prepare(torch.from_numpy(np.stack(images))))
    return true, logits.argmax(1).numpy()


def check(weights: Path, folds: Path) -> dict:
    """Pooled scores of every subject folder of ``folds``, and the subjects' count."""
    subjects = sorted(p for p in folds.iterdir() if (p / "u_test").is_dir())
    if not subjects:
        raise SystemExit(f"bench.ststnet: {folds} holds no <subject>/u_test folders")
    pairs = [subject_predictions(weights, s) for s in subjects]
    true = np.concatenate([t for t, _ in pairs])
    pred = np.concatenate([p for _, p in pairs])
    result = scores(true, pred, CLASSES)
    result["subjects"] = len(subjects)
    return result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ststnet", description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", type=Path, required=True, help="folder of <subject>.pth checkpoints")
    parser.add_argument("--folds", type=Path, required=True, help="folder of <subject>/u_test/<label>/*.png")
    args = parser.parse_args(argv)
    result = check(args.weights, args.folds)
    print(f"{'':<10}{'n':>6}{'UF1':>9}{'UAR':>9}{'accuracy':>10}")
    print(f"{'mepipe':<10}{result['n']:>6}{result['uf1']:>9.4f}{result['uar']:>9.4f}{result['accuracy']:>10.4f}")
    print(f"{'published':<10}{PUBLISHED['n']:>6}{PUBLISHED['uf1']:>9.4f}{PUBLISHED['uar']:>9.4f}{'':>10}")
    print(f"{result['subjects']} subjects, checkpoints from {args.weights}, folds from {args.folds}")


if __name__ == "__main__":
    main(sys.argv[1:])
