"""Small text forms several rooms share: one-line messages, repair lists, file names."""

from __future__ import annotations

from collections.abc import Iterable

#: how a sample's repairs are joined in its ``repair`` field
REPAIR_SEPARATOR = "; "


def one_line(text: object) -> str:
    """``text`` with every run of whitespace, newlines included, as one space."""
    return " ".join(str(text).split())


def join_repairs(repairs: Iterable[str]) -> str:
    """Repairs as stored in a sample's ``repair`` field; empty when there are none."""
    return REPAIR_SEPARATOR.join(repairs)


def split_repairs(repair: str) -> list[str]:
    """A stored ``repair`` field as its separate repairs (the inverse of :func:`join_repairs`)."""
    return [part.strip() for part in repair.split(REPAIR_SEPARATOR.strip()) if part.strip()]


def safe_name(name: str) -> str:
    """``name`` as a portable file name: ASCII letters, digits, ``-_.``; the rest ``_``."""
    name = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)
    return "_" if name in ("", ".", "..") else name
