"""Which kind of store a path holds: clips (recognition) or long videos (spotting).

Every command that reads a store asks here first, so a store of either kind gets the same
one-line messages, and a command that cannot apply to a kind says what to use instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import zarr

from mepipe.errors import MepipeError, UsageError
from mepipe.store.schema import STORE_ATTRS
from mepipe.store.spotting import SPOTTING_ATTRS


def store_kind(path: str | Path) -> str:
    """``clips`` or ``spotting``: the kind of the mepipe store at ``path``.

    Raises
    ------
    MepipeError
        No zarr group there, or one without a mepipe record (one line).
    """
    try:
        group: Any = zarr.open_group(str(path), mode="r")
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, zarr.errors.NodeTypeValidationError):
        raise MepipeError(f"{path}: not a mepipe store (no zarr group there)") from None
    if SPOTTING_ATTRS in group.attrs:
        return "spotting"
    if STORE_ATTRS in group.attrs:
        return "clips"
    raise MepipeError(f"{path}: a zarr group, but not a mepipe store (no {STORE_ATTRS!r} attributes)")


def require_kind(path: str | Path, kind: str, instead: str) -> None:
    """A one-line error unless the store at ``path`` is of ``kind``; ``instead`` says what
    to use on the other kind."""
    found = store_kind(path)
    if found != kind:
        what = "a spotting store (long videos)" if found == "spotting" else "a clip store"
        raise UsageError(f"{path} is {what}: {instead}")
