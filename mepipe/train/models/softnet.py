"""SOFTNet (Liong et al. 2021, "Shallow optical flow three-stream CNN for macro- and
micro-expression spotting from long videos"), as published, and its registry entry
``softnet`` (a spotting model: ``task="spotting"``).

Three streams, one per channel of the 42 x 42 region image (u, v, strain): a 5 x 5
convolution (``same`` padding) into 3, 5 and 8 channels with ReLU, each max-pooled 3 x 3
(stride 3) to 14 x 14; the 16 maps concatenated, max-pooled 2 x 2 to 7 x 7, flattened
(784), a dense layer of 400 with ReLU and one linear output: the window's spotting score,
regressed on its pseudo-label (1 when the window overlaps an expression) with MSE. That
is the authors' Keras code (genbing99/SoftNet-SpotME, ``training.py``), including its
5 x 5 kernels, Keras's initialisation (Glorot-uniform weights, zero biases), and its input:
``|u|``, ``|v|`` and strain after the nose's motion is subtracted (the spotting store holds
them subtracted, signed), each channel of each image min-max normalised to [0, 1]
(``cv2.normalize(NORM_MINMAX)``).
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import ModelSpec, register_model

#: channels of the three streams (u, v, strain)
STREAMS = (3, 5, 8)
#: the region image's side
SIZE = 42
#: the dense layer's width
HIDDEN = 400


class SOFTNet(nn.Module):
    """The published SOFTNet on (B, 3, 42, 42) float images (u, v, strain); ``forward``
    returns (B, outputs) scores (one by default)."""

    def __init__(self, outputs: int = 1) -> None:
        super().__init__()
        self.streams = nn.ModuleList(nn.Conv2d(1, channels, kernel_size=5, padding=2) for channels in STREAMS)
        self.pool = nn.MaxPool2d(kernel_size=3, stride=3)
        self.merged_pool = nn.MaxPool2d(kernel_size=2, stride=2)
        # 42 px: conv (same) 42, max-pool 14, max-pool 7
        self.dense = nn.Linear((SIZE // 6) ** 2 * sum(STREAMS), HIDDEN)
        self.out = nn.Linear(HIDDEN, outputs)
        self.relu = nn.ReLU()
        for module in (*self.streams, self.dense, self.out):
            # Keras's defaults, which the published training starts from
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = [self.pool(self.relu(conv(x[:, c : c + 1]))) for c, conv in enumerate(self.streams)]
        merged = torch.flatten(self.merged_pool(torch.cat(maps, 1)), 1)
        return self.out(self.relu(self.dense(merged)))


def as_published(images: torch.Tensor) -> torch.Tensor:
    """Region images (B, 42, 42, 3) u, v, strain, as the spotting store holds them ->
    float (B, 3, 42, 42): ``|u|``, ``|v|``, strain, each channel of each image min-max
    scaled to [0, 1] (a flat channel becomes 0), missing values (NaN) as 0."""
    x = torch.nan_to_num(images.to(torch.get_default_dtype()).permute(0, 3, 1, 2), nan=0.0)
    x = torch.cat([x[:, :2].abs(), x[:, 2:]], 1)
    low = x.amin(dim=(2, 3), keepdim=True)
    span = x.amax(dim=(2, 3), keepdim=True) - low
    return torch.where(span > 0, (x - low) / torch.where(span > 0, span, 1.0), 0.0)


register_model(
    ModelSpec(
        name="softnet",
        task="spotting",
        build=SOFTNet,
        arrays=("images",),
        inputs=("images",),
        prepare=as_published,
        summary="SOFTNet (Liong et al. 2021): three shallow streams on the 42 px u, v, strain region image, "
        "one spotting score per window",
        size=SIZE,
        min_size=SIZE,
        augment=False,
    )
)
