"""Input standardisation and paired augmentation, on tensors.

Standardisation: each dynamic image is shifted so that its median is 0 and scaled to
unit standard deviation, one offset and one scale over all its channels. The store's
uint8 images are per-image min-max scaled (docs/method.md section 3), so "no change", a DI's
physical zero, lands at a different grey level in every image (about 100 to 157 on the
synthetic CASME-II) and the gain varies twenty-fold with clip length and motion. Most
pixels of a face do not move, so the median recovers that zero; undoing offset and gain
is what lets a small network compare images across samples (on a synthetic store, a
leave-one-subject-out nearest-centroid classifier on the uint8 images goes from 33 % to
92 % accuracy, the same as on the raw float DIs). One statistic for all channels keeps
the colour balance the min-max kept. The same transform is used with ImageNet weights:
their first layer expects roughly zero-mean, unit-variance inputs, which this gives.

Augmentation: the TRDI and MIDI of one sample describe the same face, so they must see
the *same* geometric transform. One random affine matrix is drawn per sample and applied
to the channel-stacked pair with a single ``grid_sample``, which makes sharing the
transform structural rather than a matter of replaying random draws.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: rotation range (degrees), smallest crop side (fraction of the image), flip probability
MAX_ROTATION = 10.0
MIN_CROP = 0.85
FLIP_P = 0.5
#: floor of the scale (one grey level): a constant image becomes zeros, not NaN
MIN_SCALE = 1.0 / 255


def standardise(images: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 dynamic images -> (B, 3, H, W) float, zero median, unit std.

    The float type is torch's default (float32 unless a caller, such as the float64
    equivalence test of the folds-at-once path, sets another).

    Per image, over all pixels and channels: ``(x - median(x)) / rms(x - median(x))``
    (see the module docstring for why), with ``x`` the grey levels / 255 and the scale
    floored at ``MIN_SCALE``.
    """
    x = images.permute(0, 3, 1, 2).to(torch.get_default_dtype()).div_(255)
    flat = x.flatten(1)
    centred = flat - flat.median(1, keepdim=True).values
    scale = centred.pow(2).mean(1, keepdim=True).sqrt_().clamp_(min=MIN_SCALE)
    return (centred / scale).view_as(x)


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
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, shift[:, 0]], 1),
            torch.stack([sin * flip, cos, shift[:, 1]], 1),
        ],
        1,
    )
    return theta.float().to(device)


def apply_affine(theta: torch.Tensor, *images: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Warp each (B, C, H, W) tensor of ``images`` by the per-sample matrices ``theta``.

    All tensors go through one ``grid_sample`` (stacked on channels), so sample ``i`` of
    every tensor gets exactly transform ``theta[i]``. Pixels from outside the image are
    zero, i.e. "no change" in a standardised dynamic image.
    """
    stacked = torch.cat(images, 1)
    grid = F.affine_grid(theta.to(stacked.dtype), list(stacked.shape), align_corners=False)
    warped = F.grid_sample(stacked, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return tuple(torch.split(warped, [x.shape[1] for x in images], 1))
