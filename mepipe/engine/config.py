"""The build's configuration: every choice that shapes the arrays, in one record.

Defaults follow ``docs/method.md``; each value is stored in the store it produced, and a
rebuild into an existing store must use the same values (or ``--overwrite``).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, get_type_hints

import numpy as np

from mepipe.arrays import IMAGES, set_choices, set_names
from mepipe.errors import MepipeError, UsageError
from mepipe.imaging.align import window_fraction
from mepipe.imaging.flow import FLOW_METHODS, recorded_method
from mepipe.release.crops import CROPS
from mepipe.release.registry import get_recipe, recipe_names

SPANS = ("onset-apex", "onset-offset", "apex-offset")
MOTION_REFERENCES = ("onset", "previous")
#: ``--smic-apex`` choices (the default first; pipelines/smic.py), for the recipes whose
#: releases annotate no apex (:func:`unannotated_apex`)
SMIC_APEX = ("motion", "middle")


def unannotated_apex(dataset: str) -> bool:
    """Whether the recipe ``dataset`` annotates no apex (``Recipe.unannotated_apex``: SMIC
    and the composites holding it), so ``--smic-apex`` applies; ``False`` for a name no
    recipe is registered under (a store's record from elsewhere)."""
    try:
        recipe = get_recipe(dataset, object)
    except UsageError:
        return False
    return bool(getattr(recipe, "unannotated_apex", False))


def _unannotated_apex_names() -> list[str]:
    """The registered recipes ``--smic-apex`` applies to, for a message."""
    return [name for name in recipe_names() if unannotated_apex(name)]


def parse_arrays(arrays: str | Sequence[str]) -> tuple[str, ...]:
    """``--arrays`` as names in store order (:func:`mepipe.arrays.set_names`), each once.

    Raises
    ------
    UsageError
        An unknown name (the line lists the valid ones), or none at all.
    """
    given: object = arrays  # from Python, anything: checked here
    if isinstance(given, str):
        names = [a.strip() for a in given.split(",")]
    elif isinstance(given, Sequence) and all(isinstance(a, str) for a in given):
        names = [a.strip() for a in given]
    else:
        raise UsageError(f"arrays must be names, comma-separated or a list of them, not {arrays!r}")
    names = [a for a in names if a]
    valid = set_names()
    unknown = [a for a in names if a not in valid]
    if unknown:
        raise UsageError(f"--arrays: unknown {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    if not names:
        raise UsageError(f"--arrays names no array; valid: {', '.join(valid)}")
    return tuple(a for a in valid if a in names)


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
    crop : str or None
        ``aligned`` (the face found on the onset and aligned) or ``release`` (the
        release's registered crops resized whole); docs/crops.md. ``None`` while a build
        has yet to choose it from the frames (the options of a crop are checked then).
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
    smic_apex : str
        SMIC's unannotated apex (``smic`` and ``megc2019`` builds): ``motion``, the
        peak-motion estimate, or ``middle``, the middle frame (``pipelines/smic.py``).
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
    crop: str | None = "aligned"
    keep_aspect: bool = False
    face_window: str = "canonical"
    au_vocabulary: tuple[int, ...] | None = None
    arrays: tuple[str, ...] = IMAGES
    flow: str = FLOW_METHODS[0]
    sequence_frames: int = 8
    smic_apex: str = SMIC_APEX[0]

    def __post_init__(self) -> None:
        _check_types(self)
        if self.smic_apex not in SMIC_APEX:
            raise UsageError(f"--smic-apex must be one of {', '.join(SMIC_APEX)}, not {self.smic_apex!r}")
        if self.smic_apex != SMIC_APEX[0] and not unannotated_apex(self.dataset):
            raise UsageError(
                f"--smic-apex applies to --dataset {' or '.join(_unannotated_apex_names())}, not {self.dataset}"
            )
        object.__setattr__(self, "arrays", parse_arrays(self.arrays))
        if self.flow not in FLOW_METHODS:
            raise UsageError(f"--flow must be one of {', '.join(FLOW_METHODS)}, not {self.flow!r}")
        if not 1 <= self.sequence_frames <= 256:
            raise UsageError(f"--sequence-frames must be between 1 and 256, not {self.sequence_frames}")
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
        try:
            window_fraction(self.face_window)
        except ValueError as exc:
            raise UsageError(f"--face-window: {exc}") from None
        if self.crop is None:
            return  # the crop's own options are checked once it is chosen
        if self.crop not in CROPS:
            raise UsageError(f"--crop must be one of {', '.join(CROPS)}, not {self.crop!r}")
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
        """The configuration as stored (``attrs["mepipe"]["config"]``): JSON types."""
        values = asdict(self)
        values["arrays"] = list(self.arrays)
        return values

    def set_options(self) -> dict[str, Any]:
        """What the array sets read (:class:`mepipe.arrays.Span`'s ``options``): the
        stored configuration and the channel count."""
        return {**self.to_dict(), "channels": self.channels}

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """The names of the build options (every field but ``dataset``)."""
        return tuple(f.name for f in fields(cls) if f.name != "dataset")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> BuildConfig:
        """The configuration a store records; options it lacks (stores from before them)
        take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @classmethod
    def from_store(cls, attrs: Mapping[str, Any]) -> BuildConfig:
        """The configuration of a store from what it records (``attrs``: its ``config``,
        and the ``flow`` parameters, which decide its flow method, not the name:
        :func:`mepipe.imaging.flow.recorded_method`); stores from before ``--smic-apex``
        took SMIC's middle frame.

        Raises
        ------
        MepipeError
            The store's flow was made with parameters no ``--flow`` method uses.
        """
        values = dict(attrs.get("config", {"dataset": "?"}))
        if "smic_apex" not in values:
            values["smic_apex"] = "middle" if unannotated_apex(str(values.get("dataset"))) else SMIC_APEX[0]
        recorded = attrs.get("flow") or {}
        if "flow" in values:
            method = recorded_method(values["flow"], recorded.get("parameters"))
            if method is None:
                raise MepipeError(
                    f"holds flow made with parameters no --flow method uses ({recorded.get('method')}: "
                    f"{recorded.get('parameters')})"
                )
            values["flow"] = method
        return cls.from_dict(values)

    def differences(self, attrs: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
        """``(option, the store's value, this one's)`` for each option that differs from
        the configuration a store records (``attrs``, its attributes, read by
        :meth:`from_store`) and shapes what both hold: ``arrays`` is left out (a build
        adds arrays to a store), and an option of an array set
        (:func:`mepipe.arrays.set_choices`) counts only where both hold that set."""
        other = BuildConfig.from_store(attrs)
        choices = set_choices()
        return [
            (f.name, getattr(other, f.name), getattr(self, f.name))
            for f in fields(self)
            if f.name != "arrays"
            and getattr(self, f.name) != getattr(other, f.name)
            and (f.name not in choices or {*self.arrays} & {*other.arrays} & {*choices[f.name]})
        ]


#: what each scalar option holds, for the messages
_KINDS = {int: "an integer", float: "a number", bool: "True or False", str: "text"}


@functools.cache
def _field_types() -> dict[str, Any]:
    return get_type_hints(BuildConfig)


def _check_types(config: BuildConfig) -> None:
    """Each scalar option of the kind its field declares (NumPy scalars taken as Python
    ones, so that the stored configuration is JSON); a one-line :class:`UsageError`
    naming the option otherwise."""
    window: object = config.face_window  # from Python, anything: checked here
    if not isinstance(window, bool) and isinstance(window, numbers.Real):
        # a number given from Python is recorded as the text the CLI would record
        object.__setattr__(config, "face_window", str(window))
    for name, kind in _field_types().items():
        value = getattr(config, name)
        if kind is bool:
            fits = isinstance(value, (bool, np.bool_))
        elif kind is int:
            fits = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
        elif kind is float:
            fits = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        elif kind is str:
            fits = isinstance(value, str)
        else:
            continue
        if not fits:
            hint = f" (a class set name such as {str(value)!r})" if name == "classes" else ""
            raise UsageError(f"{name} must be {_KINDS[kind]}{hint}, not {value!r} ({type(value).__name__})")
        if kind is not str:
            object.__setattr__(config, name, kind(value))
    vocabulary: object = config.au_vocabulary
    if vocabulary is not None:
        if isinstance(vocabulary, (str, bytes)) or not isinstance(vocabulary, Iterable):
            vocabulary = [vocabulary]
        assert isinstance(vocabulary, Iterable)
        given = list(vocabulary)
        units = [a for a in given if not isinstance(a, bool) and isinstance(a, numbers.Integral)]
        if len(units) != len(given):
            raise UsageError(f"au_vocabulary must be AU numbers, e.g. (1, 2, 4), not {config.au_vocabulary!r}")
        # stored as a JSON list; compared as a tuple
        object.__setattr__(config, "au_vocabulary", tuple(int(a) for a in units))
