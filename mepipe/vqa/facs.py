"""FACS action-unit names, as ME-VQA's answers spell them (lower case, ``left``/``right``
kept: ``left lip corner puller``).

The names are FACS 2002's (Ekman, Friesen and Hager), action descriptors and head and
eye positions included; docs/vqa.md lists the table.
"""

from __future__ import annotations

from collections.abc import Iterable

from mepipe.release.au import AuToken

#: FACS number -> name, lower case
FACS_NAMES: dict[int, str] = {
    1: "inner brow raiser",
    2: "outer brow raiser",
    4: "brow lowerer",
    5: "upper lid raiser",
    6: "cheek raiser",
    7: "lid tightener",
    8: "lips toward each other",
    9: "nose wrinkler",
    10: "upper lip raiser",
    11: "nasolabial deepener",
    12: "lip corner puller",
    13: "sharp lip puller",
    14: "dimpler",
    15: "lip corner depressor",
    16: "lower lip depressor",
    17: "chin raiser",
    18: "lip pucker",
    19: "tongue show",
    20: "lip stretcher",
    21: "neck tightener",
    22: "lip funneler",
    23: "lip tightener",
    24: "lip pressor",
    25: "lips part",
    26: "jaw drop",
    27: "mouth stretch",
    28: "lip suck",
    29: "jaw thrust",
    30: "jaw sideways",
    31: "jaw clencher",
    32: "lip bite",
    33: "cheek blow",
    34: "cheek puff",
    35: "cheek suck",
    36: "tongue bulge",
    37: "lip wipe",
    38: "nostril dilator",
    39: "nostril compressor",
    41: "lid droop",
    42: "slit",
    43: "eyes closed",
    44: "squint",
    45: "blink",
    46: "wink",
    51: "head turn left",
    52: "head turn right",
    53: "head up",
    54: "head down",
    55: "head tilt left",
    56: "head tilt right",
    57: "head forward",
    58: "head back",
    61: "eyes turn left",
    62: "eyes turn right",
    63: "eyes up",
    64: "eyes down",
    65: "walleye",
    66: "cross-eye",
}
#: a token's side mark -> the word before the name (``A``, asymmetric, and the lip marks
#: ``T``/``B`` name no side)
SIDES: dict[str, str] = {"L": "left", "R": "right"}


def au_name(token: AuToken) -> str:
    """The name of one coded AU, its side kept (``L12`` -> ``left lip corner puller``);
    ``""`` for a number FACS does not name."""
    if token.au is None or token.au not in FACS_NAMES:
        return ""
    side = SIDES.get(token.side, "")
    return f"{side} {FACS_NAMES[token.au]}" if side else FACS_NAMES[token.au]


def au_names(tokens: Iterable[AuToken]) -> list[str]:
    """The names of the AUs coded for certain, in the order written, each once (the
    uncertain ``or`` and ``ref`` tokens left out, as the store's ``au`` leaves them)."""
    names: list[str] = []
    for token in tokens:
        name = au_name(token) if token.certain else ""
        if name and name not in names:
            names.append(name)
    return names
