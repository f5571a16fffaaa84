"""The build's configuration: every choice that shapes the arrays, in one record.

Defaults follow ``docs/method.md``; each value is stored in the store it produced, and a
rebuild into an existing store must use the same values (or ``--overwrite``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from mepipe.errors import UsageError
from mepipe.imaging.align import window_fraction
from mepipe.imaging.flow import FLOW_METHODS
from mepipe.release.crops import CROPS
from mepipe.store import ARRAY_SETS, IMAGES

SPANS = ("onset-apex", "onset-offset", "apex-offset")
MOTION_REFERENCES = ("onset", "previous")
#: the choices that shape only the derived set named: compared with a store's own only
#: where both hold that set
SET_CHOICES = {"flow": ("flow", "flow_apex_offset"), "sequence_frames": ("sequence",)}


def parse_arrays(arrays: str | Sequence[str]) -> tuple[str, ...]:
    """``--arrays`` as names in store order (:data:`~mepipe.store.ARRAY_SETS`), each once.

    Raises
    ------
    UsageError
        An unknown name (the line lists the valid ones), or none at all.
    """
    names = [a.strip() for a in arrays.split(",")] if isinstance(arrays, str) else [str(a).strip() for a in arrays]
    names = [a for a in names if a]
    unknown = [a for a in names if a not in ARRAY_SETS]
    if unknown:
        raise UsageError(f"--arrays: unknown {', '.join(map(repr, unknown))}; valid: {', '.join(ARRAY_SETS)}")
    if not names:
        raise UsageError(f"--arrays names no array; valid: {', '.join(ARRAY_SETS)}")
    return tuple(a for a in ARRAY_SETS if a in names)


@dataclass(frozen=True)
class BuildConfig:
    """Choices that determine a store's contents.

    Attributes
    ----------
    dataset : str
        Recipe name (``casme2``, ``samm``, ``mmew``, ``casme3``, ``smic``, ``megc2019``:
        :func:`mepipe.pipelines.recipe_names`).
    classes : str
        Class set of the recipe (``raw``, ``5``, ``3``, ``megc2019``, ...).
    span : str
        Frames pooled: ``onset-apex`` (default), ``onset-offset`` or ``apex-offset``.
    size : int
        Side of the aligned square output.
    gray : bool
        Keep one channel instead of three.
    keep_raw : bool
        Also store the float32 dynamic images.
    motion_reference : str
        ``onset`` (``|frame - onset|``) or ``previous`` (consecutive-frame difference).
    motion_descending : bool
        Order frames by descending motion for MIDI (default ascending). Bilen's weights
        peak mid-clip, so neither order gives the strongest motion the largest weight
        (docs/method.md).
    motion_sigma : float
        Gaussian blur sigma before the motion difference.
    detect_face_px : int
        Face detection first runs on a copy scaled so that a face of the release's
        typical width is about this wide: HOG finds faces from 80 px, and its cost grows
        with the pixels it scans. Fallbacks (``align.DETECT_STEPS``) run only when that
        finds no face.
    crop : str
        ``aligned`` (the face found on the onset and aligned) or ``release`` (the
        release's registered crops resized whole); docs/crops.md.
    keep_aspect : bool
        ``release`` crops: pad the short side instead of stretching.
    face_window : str
        ``aligned`` crops: how much of the output the face box spans, ``canonical``,
        ``meb`` or a share of the side (``"0.8"``); see
        :func:`mepipe.imaging.align.window_fraction`.
    au_vocabulary : tuple of int, optional
        The AUs of the store's ``au_multihot`` columns, in order; default: every AU
        the build's samples code for certain.
    arrays : tuple of str
        What the store holds (``--arrays``, :func:`parse_arrays`): default the images
        ``trdi, midi, onset, apex``; also ``flow``, ``flow_apex_offset``, ``sequence``,
        ``landmarks_aligned`` (``docs/arrays.md``).
    flow : str
        Optical flow method of the flow sets (``tvl1``, ``tvl1-fast`` or ``dis``).
    sequence_frames : int
        Frames per sample of ``sequence``.
    """

    dataset: str
    classes: str = "raw"
    span: str = "onset-apex"
    size: int = 224
    gray: bool = False
    keep_raw: bool = False
    motion_reference: str = "onset"
    motion_descending: bool = False
    motion_sigma: float = 1.0
    detect_face_px: int = 120
    crop: str = "aligned"
    keep_aspect: bool = False
    face_window: str = "canonical"
    au_vocabulary: tuple[int, ...] | None = None
    arrays: tuple[str, ...] = IMAGES
    flow: str = FLOW_METHODS[0]
    sequence_frames: int = 8

    def __post_init__(self) -> None:
        object.__setattr__(self, "arrays", parse_arrays(self.arrays))
        if self.flow not in FLOW_METHODS:
            raise UsageError(f"--flow must be one of {', '.join(FLOW_METHODS)}, not {self.flow!r}")
        if not 1 <= self.sequence_frames <= 256:
            raise UsageError(f"--sequence-frames must be between 1 and 256, not {self.sequence_frames}")
        if self.au_vocabulary is not None:
            # stored as a JSON list; compared as a tuple
            object.__setattr__(self, "au_vocabulary", tuple(int(a) for a in self.au_vocabulary))
        if self.span not in SPANS:
            raise UsageError(f"--span must be one of {', '.join(SPANS)}, not {self.span!r}")
        if self.motion_reference not in MOTION_REFERENCES:
            raise UsageError(
                f"motion reference must be one of {', '.join(MOTION_REFERENCES)}, not {self.motion_reference!r}"
            )
        if not 16 <= self.size <= 2048:
            raise UsageError(f"--size must be between 16 and 2048 pixels, not {self.size}")
        if self.detect_face_px < 80:
            raise UsageError(
                f"detection face size must be at least 80 px (dlib HOG's window), not {self.detect_face_px}"
            )
        if self.motion_sigma <= 0:
            raise UsageError(f"motion sigma must be positive, not {self.motion_sigma}")
        if self.crop not in CROPS:
            raise UsageError(f"--crop must be one of {', '.join(CROPS)}, not {self.crop!r}")
        # a number given from Python is recorded as the text the CLI would record
        object.__setattr__(self, "face_window", str(self.face_window))
        try:
            window_fraction(self.face_window)
        except ValueError as exc:
            raise UsageError(f"--face-window: {exc}") from None
        if self.crop == "release" and self.face_window != "canonical":
            raise UsageError("--face-window applies to --crop aligned; --crop release keeps the release's crop")
        if self.crop == "aligned" and self.keep_aspect:
            raise UsageError("--keep-aspect applies to --crop release; --crop aligned outputs the face window")

    @property
    def window(self) -> float | None:
        """The face window's share of the output side; ``None`` for the canonical layout."""
        return window_fraction(self.face_window)

    @property
    def channels(self) -> int:
        return 1 if self.gray else 3

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["arrays"] = list(self.arrays)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BuildConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def differences(self, other: BuildConfig) -> list[str]:
        """``name: ours vs theirs`` for each field that differs and shapes what both hold:
        ``arrays`` is left out (a build adds arrays to a store, see ``mepipe.build``), and
        a choice of :data:`SET_CHOICES` counts only where both hold its set."""
        return [
            f"{f.name}: {getattr(other, f.name)!r} vs {getattr(self, f.name)!r}"
            for f in fields(self)
            if f.name != "arrays"
            and getattr(self, f.name) != getattr(other, f.name)
            and (f.name not in SET_CHOICES or {*self.arrays} & {*other.arrays} & {*SET_CHOICES[f.name]})
        ]
