"""The Adaptive Fusion Network (docs/method.md section 4) and its ablation variants.

Two unshared ResNet-18-style streams (hand-written: torchvision is not a dependency) map
the TRDI and the MIDI to feature vectors f_T, f_M of size 8W; a fusion head combines
them and a linear layer classifies. Stream parameter names follow torchvision's
ResNet-18 (``conv1``, ``bn1``, ``layer1.0.conv1``, ...) so a local torchvision state
dict loads into either stream unchanged.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from mepipe.errors import MepipeError

from .defaults import VARIANTS

#: dropout before the classifier and the AFN hidden-size reduction (ours; the paper is silent)
DROPOUT = 0.5
AFN_REDUCTION = 4


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` as float32 if it is of a lower precision (bf16 under autocast), else unchanged."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


class FoldMask(NamedTuple):
    """Which rows of a folds-at-once batch are real, for BatchNorm in training mode.

    Attributes
    ----------
    rows : torch.Tensor or None
        (B, K) bool: row ``b`` of fold ``k`` is a real sample. Rows of an idle fold are all
        True (padding copies, so its statistics stay finite; nothing of it is kept).
        ``None`` when every active fold fills all B rows.
    active : torch.Tensor or None
        (K,) bool: the folds that train at this step; the others keep their running
        statistics. ``None`` when all do.
    """

    rows: torch.Tensor | None
    active: torch.Tensor | None


class FoldBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm over K folds' channels side by side (K x C channels, fold-major).

    Each channel belongs to one fold, so the usual per-channel statistics are already
    per fold. A :class:`FoldMask` restricts them to a fold's real rows (its batch may be
    shorter than the others') and leaves idle folds' running statistics untouched.
    """

    # torch types these optional (BatchNorm without running statistics, or with a cumulative
    # average); this one is always built with both
    running_mean: torch.Tensor
    running_var: torch.Tensor
    momentum: float

    def __init__(self, channels: int, folds: int = 1) -> None:
        super().__init__(channels * folds)
        self.folds = folds

    def forward(self, x: torch.Tensor, mask: FoldMask | None = None) -> torch.Tensor:
        if mask is None or not self.training:
            return super().forward(x)
        if mask.active is None:
            if mask.rows is None:  # every fold active, every row real
                return super().forward(x)
            return self._masked(x, mask.rows, self.running_mean, self.running_var)
        # idle folds: update copies and take the active folds' part (the op may keep the
        # buffers it was given for its backward pass, so they are not changed after it)
        mean, var = self.running_mean.clone(), self.running_var.clone()
        if mask.rows is None:
            y = F.batch_norm(x, mean, var, self.weight, self.bias, True, self.momentum, self.eps)
        else:
            y = self._masked(x, mask.rows, mean, var)
        keep = mask.active.repeat_interleave(self.num_features // self.folds)
        with torch.no_grad():
            self.running_mean.copy_(torch.where(keep, mean, self.running_mean))
            self.running_var.copy_(torch.where(keep, var, self.running_var))
        return y

    def _masked(
        self, x: torch.Tensor, rows: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor
    ) -> torch.Tensor:
        # the arithmetic of batch_norm, with sums over the real rows only
        b, channels, h, w = x.shape
        # statistics in float32 at least, as batch_norm keeps them under autocast
        xf = at_least_float32(x)
        m = rows.to(xf.dtype).repeat_interleave(channels // self.folds, 1)[:, :, None, None]
        n = m.sum(0, keepdim=True) * (h * w)
        mean = (xf * m).sum((0, 2, 3), keepdim=True) / n
        var = ((xf - mean).square() * m).sum((0, 2, 3), keepdim=True) / n
        with torch.no_grad():
            running_mean.lerp_(mean.flatten(), self.momentum)
            running_var.lerp_((var * n / (n - 1)).flatten(), self.momentum)
        y = (xf - mean) * torch.rsqrt(var + self.eps)
        return (y * self.weight[:, None, None] + self.bias[:, None, None]).to(x.dtype)


class FoldLinear(nn.Module):
    """K independent linear layers applied to (K, B, in) -> (K, B, out), one batched matmul.

    Initialised like ``nn.Linear`` (uniform in +-1/sqrt(in) for weights and bias).
    """

    def __init__(self, in_features: int, out_features: int, folds: int = 1) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(folds, out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(folds, out_features).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias[:, None, :], x, self.weight.transpose(1, 2))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, folds: int = 1) -> None:
        super().__init__()
        k = folds
        self.conv1 = nn.Conv2d(in_ch * k, out_ch * k, 3, stride, 1, bias=False, groups=k)
        self.bn1 = FoldBatchNorm2d(out_ch, k)
        self.conv2 = nn.Conv2d(out_ch * k, out_ch * k, 3, 1, 1, bias=False, groups=k)
        self.bn2 = FoldBatchNorm2d(out_ch, k)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch * k, out_ch * k, 1, stride, bias=False, groups=k), FoldBatchNorm2d(out_ch, k)
            )

    def forward(self, x: torch.Tensor, mask: FoldMask | None = None) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample[1](self.downsample[0](x), mask)
        out = self.relu(self.bn1(self.conv1(x), mask))
        out = self.bn2(self.conv2(out), mask)
        return self.relu(out + identity)


class ResNetStream(nn.Module):
    """ResNet-18 trunk ([2, 2, 2, 2] basic blocks, widths W, 2W, 4W, 8W) with global
    average pooling.

    With ``folds`` = K it is K independent trunks in one network: every convolution has
    ``groups=K`` and K times the channels, fold k owning the k-th block of channels.
    ``forward`` takes (B, K*3, H, W) and returns the (K, B, 8W) feature vectors.
    """

    # set by name in __init__ (their names are the state_dict keys of torchvision's ResNet)
    layer1: nn.Sequential
    layer2: nn.Sequential
    layer3: nn.Sequential
    layer4: nn.Sequential

    def __init__(self, width: int = 64, folds: int = 1) -> None:
        super().__init__()
        self.folds = folds
        self.conv1 = nn.Conv2d(3 * folds, width * folds, 7, 2, 3, bias=False, groups=folds)
        self.bn1 = FoldBatchNorm2d(width, folds)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [width, 2 * width, 4 * width, 8 * width]
        in_ch = width
        for i, out_ch in enumerate(widths):
            stride = 1 if i == 0 else 2
            layer = nn.Sequential(BasicBlock(in_ch, out_ch, stride, folds), BasicBlock(out_ch, out_ch, 1, folds))
            setattr(self, f"layer{i + 1}", layer)
            in_ch = out_ch
        self.out_features = widths[-1]
        # torchvision's initialisation, so a from-scratch stream matches its ResNet-18
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor, mask: FoldMask | None = None) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x), mask)))
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in layer:
                x = block(x, mask)
        pooled = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return pooled.view(len(x), self.folds, self.out_features).transpose(0, 1)


class FusionNet(nn.Module):
    """Two-stream dynamic-image classifier, or K independent ones trained side by side.

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
    folds : int
        K models in one (see :meth:`stack`): grouped convolutions, fold-major channels,
        batched linear layers. Every parameter and buffer has the fold as the outer
        block of its first axis.

    Notes
    -----
    ``forward(trdi, midi, keep, mask)`` returns ``(logits, weights)``: ``weights`` is the
    per-sample softmax (w_T, w_M) for ``afn`` and ``None`` for the other variants, which
    have no sample-wise scalar weights. With one fold, inputs are (B, 3, H, W) and
    outputs (B, C) and (B, 2); with K folds, (B, K*3, H, W) in and (K, B, C), (K, B, 2)
    out. ``keep`` is dropout's mask (1 keeps a feature), drawn by the caller so that it
    comes from the fold's own generator; without it there is no dropout.
    """

    def __init__(self, n_classes: int, variant: str = "afn", width: int = 64, folds: int = 1) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise MepipeError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
        self.variant, self.n_classes, self.width, self.folds = variant, n_classes, width, folds
        self.trdi_stream = ResNetStream(width, folds) if variant != "midi" else None
        self.midi_stream = ResNetStream(width, folds) if variant != "trdi" else None
        dim = 8 * width
        #: afn, channel: layers (:meth:`_fusion_layers`); global: two logits per fold
        #: (:meth:`_fusion_logits`); concat, mean: none
        self.fusion: nn.Module | nn.Parameter | None
        if variant == "afn":
            self.fusion = nn.Sequential(
                FoldLinear(2 * dim, dim // AFN_REDUCTION, folds),
                nn.ReLU(inplace=True),
                FoldLinear(dim // AFN_REDUCTION, 2, folds),
            )
        elif variant == "global":
            self.fusion = nn.Parameter(torch.zeros(folds, 2))
        elif variant == "channel":
            self.fusion = FoldLinear(2 * dim, dim, folds)
        else:
            self.fusion = None
        #: size of the fused feature vector, which dropout masks
        self.features = 2 * dim if variant == "concat" else dim
        self.classifier = FoldLinear(self.features, n_classes, folds)

    def streams(self) -> list[ResNetStream]:
        """The backbone streams that exist for this variant."""
        return [s for s in (self.trdi_stream, self.midi_stream) if s is not None]

    def forward(
        self,
        trdi: torch.Tensor,
        midi: torch.Tensor,
        keep: torch.Tensor | None = None,
        mask: FoldMask | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        weights = None
        inputs = ((self.trdi_stream, trdi), (self.midi_stream, midi))
        features = [stream(images, mask) for stream, images in inputs if stream is not None]
        if len(features) == 1:  # the trdi or midi variant: one stream
            (f,) = features
        else:
            f_t, f_m = features
            if self.variant == "afn":
                weights = torch.softmax(at_least_float32(self._fusion_layers()(torch.cat([f_t, f_m], -1))), -1)
                w = weights.to(f_t.dtype)
                f = w[..., :1] * f_t + w[..., 1:] * f_m
            elif self.variant == "concat":
                f = torch.cat([f_t, f_m], -1)
            elif self.variant == "mean":
                f = (f_t + f_m) / 2
            elif self.variant == "global":
                w = torch.softmax(at_least_float32(self._fusion_logits()), -1).to(f_t.dtype)[:, None, :]
                f = w[..., :1] * f_t + w[..., 1:] * f_m
            else:
                g = torch.sigmoid(self._fusion_layers()(torch.cat([f_t, f_m], -1)))
                f = g * f_t + (1 - g) * f_m
        if keep is not None:
            f = f * keep.to(f.dtype) / (1 - DROPOUT)
        logits = self.classifier(f)
        if self.folds == 1:
            return logits[0], None if weights is None else weights[0]
        return logits, weights

    def global_weights(self) -> list[float] | None:
        """The learned (w_T, w_M) of the ``global`` variant (one fold); ``None`` otherwise."""
        if self.variant != "global":
            return None
        return torch.softmax(self._fusion_logits().detach().float()[0], 0).tolist()

    def _fusion_layers(self) -> nn.Module:
        if not isinstance(self.fusion, nn.Module):
            raise MepipeError(f"the {self.variant} variant has no fusion layers")
        return self.fusion

    def _fusion_logits(self) -> nn.Parameter:
        if not isinstance(self.fusion, nn.Parameter):
            raise MepipeError(f"the {self.variant} variant has no fusion logits")
        return self.fusion

    @classmethod
    def stack(cls, models: list[FusionNet]) -> FusionNet:
        """One K-fold network holding the K one-fold ``models`` (same variant and width)."""
        first = models[0]
        with torch.device("meta"):
            stacked = cls(first.n_classes, first.variant, first.width, folds=len(models))
        states = [m.state_dict() for m in models]
        state = {
            key: value if value.dim() == 0 else torch.cat([s[key] for s in states]) for key, value in states[0].items()
        }
        stacked.load_state_dict(state, assign=True)
        return stacked

    def unstack(self) -> list[FusionNet]:
        """The K folds as separate one-fold networks (copies, on this network's device)."""
        parts = {
            key: value if value.dim() == 0 else value.chunk(self.folds) for key, value in self.state_dict().items()
        }
        models = []
        for k in range(self.folds):
            with torch.device("meta"):
                model = type(self)(self.n_classes, self.variant, self.width)
            model.load_state_dict(
                {key: (v if isinstance(v, torch.Tensor) else v[k]).clone() for key, v in parts.items()}, assign=True
            )
            models.append(model)
        return models


def dropout_keep(n: int, features: int, generator: torch.Generator) -> torch.Tensor:
    """Dropout's keep mask for ``n`` samples, drawn on CPU from a fold's ``generator``.

    Drawing it from the fold's generator (not the global or the device's RNG) gives the
    same mask whether the fold trains alone or beside others, and on any device.
    """
    return torch.rand(n, features, generator=generator) >= DROPOUT


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
