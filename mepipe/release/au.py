"""Action units as the sheets write them: ``4+L10``, ``1A+2B+L14C``, ``(R6 or R12)+R15``, ``?``.

The sheets spell each coded action unit (AU) as a FACS number with optional marks:

* a side or part before it: ``L``/``R`` (unilateral left/right), ``A`` (asymmetric: both
  sides, stronger on one), ``T``/``B`` (top/bottom lip, FACS's marks for lip AUs such as
  ``T18``, ``B23``), or two sides joined by ``/`` (``A/L12``: asymmetric or left);
* an intensity after it, ``A`` (trace) to ``E`` (maximum), or two joined by ``/`` (``10A/B``).

Marks never change which AU was coded, so every such token is *certain*. Three forms are
not: ``X or Y`` (also in brackets, ``(R6 or R12)``) codes one of them and so neither for
certain; ``ref(X)`` is SAMM's, left undefined by its sheet's key and papers, and is
kept as an uncertain token of its own kind (docs/labels.md says why); ``?`` (CASME-II 2014:
"not coded") codes none. A term that is none of these (SAMM's ``soft focus``) is kept as an
unreadable token with a warning; a string whose brackets do not balance is unreadable as
a whole. Nothing here raises on sheet text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mepipe.errors import UsageError

#: FACS 2002 action unit and action descriptor numbers (3 and 40 are unused; 51-58 head,
#: 61-66 eye positions)
FACS_AUS: frozenset[int] = frozenset([1, 2, *range(4, 40), *range(41, 47), *range(51, 59), *range(61, 67)])
#: meb's cross-dataset AU protocol: the 12 AUs common to its six datasets
MEB_AUS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)

# other sheets write the same with an ``AU`` prefix (``AU12``, ``AU 4``) or the side after
# the number (``12L``): read alike, so a new release's sheet is not silently lost
_SIMPLE = re.compile(
    r"(?P<side>[LRATB](?:/[LRATB])?)?\s*(?:AU\s*)?(?P<au>\d+)\s*(?P<intensity>[A-E](?:/[A-E])?)?\s*(?P<after>[LR])?",
    re.IGNORECASE,
)
#: what separates the terms of a cell, outside brackets: ``+`` (every sheet read), or a
#: comma or semicolon (lists such as ``1, 2, 4``)
_SEPARATORS = "+,;"
_REF = re.compile(r"ref\s*\((?P<inner>[^()]*)\)", re.IGNORECASE)
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)


@dataclass(frozen=True)
class AuToken:
    """One coded term of an AU string.

    Attributes
    ----------
    text : str
        The term as written (``L14C``, ``R6`` of ``(R6 or R12)``, ``ref(7B)``).
    au : int or None
        The FACS number; ``None`` for an unreadable term.
    side : str
        ``L``, ``R``, ``A``, ``T``, ``B``, two of them as written (``A/L``), or ``""``.
    intensity : str
        ``A``..``E``, two as written (``A/B``), or ``""``.
    certain : bool
        Whether the sheet codes this AU for certain (see the module notes).
    kind : str
        ``"au"``, ``"or"`` (one alternative of an ``or``), ``"ref"`` or ``"unreadable"``.
    """

    text: str
    au: int | None
    side: str = ""
    intensity: str = ""
    certain: bool = True
    kind: str = "au"


def parse_action_units(text: Any) -> tuple[list[AuToken], list[str]]:
    """The tokens of one sheet cell and the warnings reading it gave.

    Parameters
    ----------
    text : str, int or None
        The cell (``12`` arrives as a number from Excel).

    Returns
    -------
    tokens : list of AuToken
        In the order written.
    warnings : list of str
        Why a term (or the whole string) could not be read; empty when all was read.

    Examples
    --------
    >>> tokens, warnings = parse_action_units("1+R2+L12 or L14")
    >>> [(t.au, t.side, t.certain, t.kind) for t in tokens]
    [(1, '', True, 'au'), (2, 'R', True, 'au'), (12, 'L', False, 'or'), (14, 'L', False, 'or')]
    >>> certain_aus(tokens), warnings
    ([1, 2], [])
    >>> parse_action_units(12)[0][0].au  # Excel hands over a number
    12
    >>> parse_action_units("4+X9")[1]
    ["action units '4+X9': 'X9' is not an AU code, ignored"]
    """
    cell = _cell(text)
    if cell in ("", "?"):
        return [], []
    if cell.count("(") != cell.count(")"):
        return [AuToken(cell, None, certain=False, kind="unreadable")], [
            f"action units {cell!r}: unbalanced brackets, no AU read"
        ]
    tokens: list[AuToken] = []
    warnings: list[str] = []
    for term in _terms(cell):
        if not term:
            warnings.append(f"action units {cell!r}: an empty term between separators")
            continue
        ref = _REF.fullmatch(term)
        if ref:
            inner = _simple(ref.group("inner").strip(), term)
            tokens.append(_uncertain(inner, term, "ref") if inner.au is not None else inner)
            continue
        bare = term[1:-1].strip() if term.startswith("(") and term.endswith(")") else term
        options = _OR.split(bare)
        if len(options) > 1:
            tokens += [_uncertain(_simple(o.strip(), o.strip()), o.strip(), "or") for o in options]
            continue
        tokens.append(_simple(bare, term))
    for token in tokens:
        if token.kind == "unreadable":
            warnings.append(f"action units {cell!r}: {token.text!r} is not an AU code, ignored")
        elif token.au is not None and token.au not in FACS_AUS:
            warnings.append(f"action units {cell!r}: AU {token.au} is not a FACS action unit")
    return tokens, warnings


def certain_aus(tokens: Iterable[AuToken]) -> list[int]:
    """The AU numbers coded for certain, ascending, each once."""
    return sorted({t.au for t in tokens if t.certain and t.au is not None})


def au_text(aus: Iterable[int]) -> str:
    """AU numbers as the ``au`` field holds them: ``1+2+14`` (``""`` for none)."""
    return "+".join(str(a) for a in aus)


def tokens_text(tokens: Sequence[AuToken]) -> str:
    """Tokens as stored in a store's ``au_tokens`` field: a JSON list (``""`` for none)."""
    return json.dumps([asdict(t) for t in tokens], separators=(",", ":")) if tokens else ""


def tokens_from_text(text: str) -> list[AuToken]:
    """The inverse of :func:`tokens_text`."""
    return [AuToken(**item) for item in json.loads(text)] if text else []


def parse_vocabulary(text: str) -> tuple[int, ...]:
    """``--au-vocabulary 1,2,4``: FACS numbers, ascending; a one-line error otherwise.

    >>> parse_vocabulary("12,1, 4")
    (1, 4, 12)
    >>> parse_vocabulary("1,3")
    Traceback (most recent call last):
    mepipe.errors.UsageError: --au-vocabulary: AU 3 is not a FACS action unit
    """
    found = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        if not part.isdigit():
            raise UsageError(f"--au-vocabulary: {part!r} is not an AU number (give e.g. 1,2,4,12)")
        if int(part) not in FACS_AUS:
            raise UsageError(f"--au-vocabulary: AU {int(part)} is not a FACS action unit")
        found.append(int(part))
    if not found:
        raise UsageError("--au-vocabulary: no AU numbers given (give e.g. 1,2,4,12)")
    return tuple(sorted(set(found)))


def multihot(au_fields: Sequence[str], vocabulary: Sequence[int]) -> np.ndarray:
    """uint8 ``(N, K)``: 1 where the sample's ``au`` field holds the vocabulary's AU.

    >>> multihot(["1+2", "", "12+17"], (1, 2, 12))
    array([[1, 1, 0],
           [0, 0, 0],
           [0, 0, 1]], dtype=uint8)
    """
    place = {au: k for k, au in enumerate(vocabulary)}
    out = np.zeros((len(au_fields), len(vocabulary)), dtype=np.uint8)
    for i, field in enumerate(au_fields):
        for part in filter(None, str(field).split("+")):
            k = place.get(int(part))
            if k is not None:
                out[i, k] = 1
    return out


def release_vocabulary(au_fields: Iterable[str]) -> tuple[int, ...]:
    """Every AU coded for certain in some sample, ascending (the default vocabulary)."""
    return tuple(sorted({int(p) for field in au_fields for p in str(field).split("+") if p}))


def _cell(text: Any) -> str:
    if text is None:
        return ""
    if isinstance(text, float) and text.is_integer():
        return str(int(text))
    return " ".join(str(text).split())


def _terms(cell: str) -> list[str]:
    """Split on :data:`_SEPARATORS` outside brackets, each term stripped."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in cell:
        depth += (char == "(") - (char == ")")
        if char in _SEPARATORS and depth == 0:
            terms.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    terms.append("".join(current).strip())
    return terms


def _simple(term: str, written: str) -> AuToken:
    match = _SIMPLE.fullmatch(term)
    if not match or (match.group("side") and match.group("after")):
        return AuToken(written, None, certain=False, kind="unreadable")
    return AuToken(
        written,
        int(match.group("au")),
        (match.group("side") or match.group("after") or "").upper(),
        (match.group("intensity") or "").upper(),
    )


def _uncertain(token: AuToken, written: str, kind: str) -> AuToken:
    if token.au is None:
        return token
    return AuToken(written, token.au, token.side, token.intensity, certain=False, kind=kind)
