"""STSTNet (Liong et al. 2019, "Shallow triple stream three-dimensional CNN for
micro-expression recognition"), as published, and its registry entry ``ststnet``.

Three parallel 3x3 convolutions (padding 2) into 3, 5 and 8 channels, each followed by
ReLU, BatchNorm, a 3x3 max-pool of stride 3 (padding 1) and dropout 0.5; the 16 maps
concatenated, average-pooled by 2 and classified by one linear layer of 5 x 5 x 16 = 400
inputs. Parameter names and shapes are those of the authors' code (``conv1..3``,
``bn1..3``, ``fc``), so their per-subject checkpoints (christy1206/STSTNet,
``STSTNet_Weights/<subject>.pth``) load with ``load_state_dict`` unchanged.

Its input is the 28 x 28 flow image of ``mepipe export --format ststnet``
(:func:`mepipe.dataset.ststnet.ststnet_image`, framed as published) as that family's code
reads the PNG:
``cv2.imread``, so the channels are strain, v, u (OpenCV's BGR of the file's RGB u, v,
strain), as float 0-255, not normalised.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from mepipe.dataset.ststnet import STSTNET_SIZE, ststnet_image

from .registry import ModelSpec, register_model

#: channels of the three streams
STREAMS = (3, 5, 8)
#: the alignment fields the export frames the maps with (the published framing)
GEOMETRY = ("landmarks", "transform", "frame_size")


class STSTNet(nn.Module):
    """The published STSTNet on (B, 3, 28, 28) float images; ``forward`` returns logits."""

    def __init__(self, n_classes: int = 3, in_channels: int = 3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, STREAMS[0], kernel_size=3, padding=2)
        self.conv2 = nn.Conv2d(in_channels, STREAMS[1], kernel_size=3, padding=2)
        self.conv3 = nn.Conv2d(in_channels, STREAMS[2], kernel_size=3, padding=2)
        self.bn1 = nn.BatchNorm2d(STREAMS[0])
        self.bn2 = nn.BatchNorm2d(STREAMS[1])
        self.bn3 = nn.BatchNorm2d(STREAMS[2])
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=3, padding=1)
        self.avgpool = nn.AvgPool2d(kernel_size=2, stride=2)
        self.dropout = nn.Dropout(p=0.5)
        # 28 px: conv (padding 2) 30, max-pool 10, average-pool 5
        self.fc = nn.Linear(5 * 5 * sum(STREAMS), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        streams = [
            self.dropout(self.maxpool(bn(self.relu(conv(x)))))
            for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3))
        ]
        return self.fc(torch.flatten(self.avgpool(torch.cat(streams, 1)), 1))


def ststnet_inputs(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``flow`` (N, S, S, 2) and ``strain`` (N, S, S), with the samples' ``landmarks``,
    ``transform`` and ``frame_size`` where the store holds them -> ``image``: uint8
    (N, 28, 28, 3) in OpenCV's channel order (strain, v, u), i.e. the PNG of ``mepipe
    export --format ststnet`` (its default, published framing) as ``cv2.imread`` reads it."""
    landmarks, transform, frame_size = (arrays.get(name) for name in GEOMETRY)
    images = [
        ststnet_image(
            flow,
            strain,
            None if landmarks is None else landmarks[i],
            None if transform is None else transform[i],
            None if frame_size is None else frame_size[i],
        )[..., ::-1]
        for i, (flow, strain) in enumerate(zip(arrays["flow"], arrays["strain"]))
    ]
    return {"image": np.ascontiguousarray(np.stack(images)) if images else np.empty((0, 28, 28, 3), np.uint8)}


def as_read(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W), 0-255 as the published code feeds it."""
    return images.permute(0, 3, 1, 2).to(torch.get_default_dtype())


register_model(
    ModelSpec(
        name="ststnet",
        build=STSTNet,
        arrays=("flow", "strain"),
        fields=GEOMETRY,
        inputs=("image",),
        make_inputs=ststnet_inputs,
        prepare=as_read,
        summary="STSTNet (Liong et al. 2019): three shallow streams on the 28 px u, v, strain image",
        size=STSTNET_SIZE,
        augment=False,
    )
)
