"""The Adaptive Fusion Network (method.md section 4) and its ablation variants.

Two unshared ResNet-18-style streams (hand-written: torchvision is not a dependency) map
the TRDI and the MIDI to feature vectors f_T, f_M of size 8W; a fusion head combines
them and a linear layer classifies. Stream parameter names follow torchvision's
ResNet-18 (``conv1``, ``bn1``, ``layer1.0.conv1``, ...) so a local torchvision state
dict loads into either stream unchanged.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from ..errors import MepipeError
from .defaults import VARIANTS

#: dropout before the classifier and the AFN hidden-size reduction (ours; the paper is silent)
DROPOUT = 0.5
AFN_REDUCTION = 4


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetStream(nn.Module):
    """ResNet-18 trunk ([2, 2, 2, 2] basic blocks, widths W, 2W, 4W, 8W) with global
    average pooling; ``forward`` returns the (B, 8W) feature vector."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [width, 2 * width, 4 * width, 8 * width]
        in_ch = width
        for i, out_ch in enumerate(widths):
            stride = 1 if i == 0 else 2
            layer = nn.Sequential(BasicBlock(in_ch, out_ch, stride), BasicBlock(out_ch, out_ch))
            setattr(self, f"layer{i + 1}", layer)
            in_ch = out_ch
        self.out_features = widths[-1]
        # torchvision's initialisation, so a from-scratch stream matches its ResNet-18
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


class FusionNet(nn.Module):
    """Two-stream dynamic-image classifier.

    Parameters
    ----------
    n_classes : int
    variant : str
        ``afn`` sample-wise softmax weights s = W2 ReLU(W1 [f_T; f_M]), f = w_T f_T +
        w_M f_M; ``trdi`` / ``midi`` one stream only (the other is not built);
        ``concat`` f = [f_T; f_M]; ``mean`` f = (f_T + f_M) / 2; ``global`` two learned
        scalars, softmaxed; ``channel`` g = sigmoid(W [f_T; f_M]), f = g f_T + (1 - g) f_M.
    width : int
        Base channels W of each stream (64 gives ResNet-18).

    Notes
    -----
    ``forward(trdi, midi)`` returns ``(logits, weights)``: ``weights`` is the (B, 2)
    per-sample softmax (w_T, w_M) for ``afn`` and ``None`` for the other variants, which
    have no sample-wise scalar weights.
    """

    def __init__(self, n_classes: int, variant: str = "afn", width: int = 64) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise MepipeError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
        self.variant = variant
        self.trdi_stream = ResNetStream(width) if variant != "midi" else None
        self.midi_stream = ResNetStream(width) if variant != "trdi" else None
        dim = 8 * width
        if variant == "afn":
            self.fusion = nn.Sequential(
                nn.Linear(2 * dim, dim // AFN_REDUCTION), nn.ReLU(inplace=True),
                nn.Linear(dim // AFN_REDUCTION, 2),
            )
        elif variant == "global":
            self.fusion = nn.Parameter(torch.zeros(2))
        elif variant == "channel":
            self.fusion = nn.Linear(2 * dim, dim)
        else:
            self.fusion = None
        self.dropout = nn.Dropout(DROPOUT)
        self.classifier = nn.Linear(2 * dim if variant == "concat" else dim, n_classes)

    def streams(self) -> list[ResNetStream]:
        """The backbone streams that exist for this variant."""
        return [s for s in (self.trdi_stream, self.midi_stream) if s is not None]

    def forward(self, trdi: torch.Tensor, midi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        weights = None
        if self.variant == "trdi":
            f = self.trdi_stream(trdi)
        elif self.variant == "midi":
            f = self.midi_stream(midi)
        else:
            f_t, f_m = self.trdi_stream(trdi), self.midi_stream(midi)
            if self.variant == "afn":
                weights = torch.softmax(self.fusion(torch.cat([f_t, f_m], 1)).float(), 1)
                w = weights.to(f_t.dtype)
                f = w[:, :1] * f_t + w[:, 1:] * f_m
            elif self.variant == "concat":
                f = torch.cat([f_t, f_m], 1)
            elif self.variant == "mean":
                f = (f_t + f_m) / 2
            elif self.variant == "global":
                w = torch.softmax(self.fusion, 0).to(f_t.dtype)
                f = w[0] * f_t + w[1] * f_m
            else:
                g = torch.sigmoid(self.fusion(torch.cat([f_t, f_m], 1)))
                f = g * f_t + (1 - g) * f_m
        return self.classifier(self.dropout(f)), weights

    def global_weights(self) -> list[float] | None:
        """The learned (w_T, w_M) of the ``global`` variant; ``None`` otherwise."""
        if self.variant != "global":
            return None
        return torch.softmax(self.fusion.detach().float(), 0).tolist()


def load_backbone(model: FusionNet, path: str | Path) -> str:
    """Load a local torchvision-style ResNet-18 state dict into every stream of ``model``.

    The classifier (``fc.*``) of the file is ignored. Never downloads.

    Returns
    -------
    str
        One line counting (and naming the first few) missing and unexpected keys.

    Raises
    ------
    MepipeError
        Unreadable file, or a tensor whose shape does not fit the stream (e.g. ``--width``
        other than 64 with ResNet-18 weights).
    """
    try:
        # weights_only: a state dict needs no code execution, and a file from elsewhere gets none
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        raise MepipeError(
            f"cannot read init weights {path} as a tensor state dict (torch.save(model.state_dict())): "
            f"{type(exc).__name__}"
        ) from None
    if not isinstance(state, dict):
        raise MepipeError(f"init weights {path}: expected a state dict, got {type(state).__name__}")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    report = ""
    for stream in model.streams():
        expected = stream.state_dict()
        for key, value in state.items():
            if key in expected and tuple(expected[key].shape) != tuple(value.shape):
                raise MepipeError(
                    f"init weights {path}: {key} has shape {tuple(value.shape)}, the stream "
                    f"expects {tuple(expected[key].shape)} (ResNet-18 weights need --width 64)"
                )
        result = stream.load_state_dict(state, strict=False)
        missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
        report = (
            f"init weights {Path(path).name}: {len(missing)} missing "
            f"({', '.join(missing[:5]) or '-'}{', ...' if len(missing) > 5 else ''}), "
            f"{len(unexpected)} unexpected ({', '.join(unexpected[:5]) or '-'}"
            f"{', ...' if len(unexpected) > 5 else ''}); fc.* ignored"
        )
    return report
