"""Optical flow and its strain, onset -> apex (``flow``) and apex -> offset (``flow_apex_offset``).

Computed on the aligned frames at the output size by :func:`mepipe.imaging.flow.optical_flow`
with the method ``--flow`` names and its parameters (:func:`mepipe.imaging.flow.flow_parameters`,
both recorded in the store's ``attrs["mepipe"]["flow"]``), and
:func:`mepipe.imaging.flow.strain` of it; ``docs/arrays.md`` and ``docs/flow.md``. An
apex -> offset span of fewer than 2 frames holds NaN, and a note in the sample's
``repair`` says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mepipe.arrays.registry import AlignedClip, ArraySet, ArraySpec, Computed, Thumbnail

# OpenCV (mepipe.imaging.flow, .flowcolor) is loaded where a set is computed or pictured,
# not where a store is read


def _specs(flow: str, strain_name: str) -> tuple[ArraySpec, ArraySpec]:
    # NaN where not built: no flow is not zero motion
    return (
        ArraySpec(flow, "float32", ("size", "size", 2), ("y", "x", "component"), fill=np.nan),
        ArraySpec(strain_name, "float32", ("size", "size"), ("y", "x"), fill=np.nan),
    )


def _flow(first: np.ndarray, second: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    # a gray store's frames are (S, S, 1); the flow takes (S, S) or RGB (S, S, 3)
    from mepipe.imaging.flow import flow_parameters, optical_flow, strain

    if first.ndim == 3 and first.shape[-1] == 1:
        first, second = first[..., 0], second[..., 0]
    field = optical_flow(first, second, method, flow_parameters(method))
    return field, strain(field)


def _provenance(options: Mapping[str, Any]) -> dict[str, Any]:
    from mepipe.imaging.flow import flow_parameters

    method = options["flow"]
    return {"flow": {"method": method, "parameters": flow_parameters(method)}}


def _onset_apex(clip: AlignedClip) -> Computed:
    flow, strain_map = _flow(clip.frame(clip.onset), clip.frame(clip.apex), clip.options["flow"])
    return Computed({"flow": flow, "strain": strain_map})


def _apex_offset(clip: AlignedClip) -> Computed:
    held = len(clip.known_between(clip.apex, clip.offset))
    if held < 2:
        side = clip.frames.shape[1]
        return Computed(
            {
                "flow_apex_offset": np.full((side, side, 2), np.nan, np.float32),
                "strain_apex_offset": np.full((side, side), np.nan, np.float32),
            },
            (f"apex->offset span holds {held} frame ({clip.apex}..{clip.offset}): its flow and strain are NaN",),
        )
    flow, strain_map = _flow(clip.frame(clip.apex), clip.frame(clip.offset), clip.options["flow"])
    return Computed({"flow_apex_offset": flow, "strain_apex_offset": strain_map})


def _flow_thumb(flow: np.ndarray) -> tuple[np.ndarray, str]:
    from mepipe.imaging.flowcolor import flow_picture

    picture, top = flow_picture(flow)
    return picture, f"onset->apex flow, full brightness (99th percentile) = {top:.2f} px"


def _strain_thumb(strain_map: np.ndarray) -> tuple[np.ndarray, str]:
    from mepipe.imaging.flowcolor import strain_picture

    picture, top = strain_picture(strain_map)
    return picture, f"optical strain, brightest (99th percentile) = {top:.3f}"


def _flow_key(side: int) -> np.ndarray:
    from mepipe.imaging.flowcolor import flow_key

    return flow_key(side)


FLOW = ArraySet(
    "flow",
    _specs("flow", "strain"),
    frames=lambda span: (span.apex,),
    compute=_onset_apex,
    summary="onset -> apex optical flow and its strain",
    options=("flow",),
    provenance=_provenance,
    thumbnails=(
        Thumbnail(
            "flow",
            _flow_thumb,
            key=_flow_key,
            key_note="direction as hue (right red, down yellow-green, left cyan, up violet: image coordinates), "
            "magnitude as brightness, scaled per sample (the tooltip gives the scale); strain: inferno, 0 black.",
        ),
        Thumbnail("strain", _strain_thumb),
    ),
)
FLOW_APEX_OFFSET = ArraySet(
    "flow_apex_offset",
    _specs("flow_apex_offset", "strain_apex_offset"),
    frames=lambda span: (span.apex, span.offset),
    compute=_apex_offset,
    summary="apex -> offset optical flow and its strain",
    options=("flow",),
    provenance=_provenance,
)
