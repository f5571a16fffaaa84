"""Input normalisation and paired augmentation, on tensors.

Normalisation: uint8 -> [0, 1] -> (x - mean) / std per channel, with the ImageNet
statistics when a pretrained backbone is loaded (that is what its first layer saw) and
mean = std = 0.5 otherwise (maps [0, 1] to [-1, 1]; a dynamic image's 128, "no change",
lands near 0).

Augmentation: the TRDI and MIDI of one sample describe the same face, so they must see
the *same* geometric transform. One random affine matrix is drawn per sample and applied
to the channel-stacked pair with a single ``grid_sample``, which makes sharing the
transform structural rather than a matter of replaying random draws.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PLAIN_MEAN = (0.5, 0.5, 0.5)
PLAIN_STD = (0.5, 0.5, 0.5)

#: rotation range (degrees), smallest crop side (fraction of the image), flip probability
MAX_ROTATION = 10.0
MIN_CROP = 0.85
FLIP_P = 0.5


def normalise(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float32, per-channel standardised."""
    x = images.permute(0, 3, 1, 2).float().div_(255)
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def random_affine(n: int, generator: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    """``n`` random (2, 3) matrices for ``affine_grid``: flip, rotation, crop.

    Each maps output coordinates to input coordinates in [-1, 1]: a horizontal flip with
    probability ``FLIP_P``, a rotation uniform in +-``MAX_ROTATION`` degrees and a square
    crop of side uniform in [``MIN_CROP``, 1] at a random position inside the image.
    Draws on CPU from ``generator`` so results do not depend on the device.
    """
    u = torch.rand(n, 5, generator=generator, dtype=torch.float64)
    flip = torch.where(u[:, 0] < FLIP_P, -1.0, 1.0)
    angle = (2 * u[:, 1] - 1) * math.radians(MAX_ROTATION)
    scale = MIN_CROP + (1 - MIN_CROP) * u[:, 2]
    shift = (2 * u[:, 3:5] - 1) * (1 - scale)[:, None]
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([
        torch.stack([cos * flip, -sin, shift[:, 0]], 1),
        torch.stack([sin * flip, cos, shift[:, 1]], 1),
    ], 1)
    return theta.float().to(device)


def apply_affine(theta: torch.Tensor, *images: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Warp each (B, C, H, W) tensor of ``images`` by the per-sample matrices ``theta``.

    All tensors go through one ``grid_sample`` (stacked on channels), so sample ``i`` of
    every tensor gets exactly transform ``theta[i]``. Pixels from outside the image are
    zero, i.e. the normalisation mean.
    """
    stacked = torch.cat(images, 1)
    grid = F.affine_grid(theta.to(stacked.dtype), list(stacked.shape), align_corners=False)
    warped = F.grid_sample(stacked, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return tuple(torch.split(warped, [x.shape[1] for x in images], 1))
