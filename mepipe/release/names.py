"""Names as compared across spellings: the sheet, the disk, macOS and case-insensitive copies."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath


def folded(name: str) -> str:
    """A file name as compared across spellings: NFC, case-folded."""
    return unicodedata.normalize("NFC", name).casefold()


def find_folder(base: Path, relative: PurePosixPath) -> Path | None:
    """``base / relative`` as spelled on disk, or ``None`` when there is no such folder.

    The sheet and the disk may spell the same name in different Unicode forms (macOS
    writes NFD, spreadsheets hold NFC) or cases (``Sub01``, a copy made on a
    case-insensitive disk): the exact spelling is tried first, then each level is
    matched by :func:`folded` name.
    """
    for form in ("NFC", "NFD"):
        spelled = base / unicodedata.normalize(form, str(relative))
        if spelled.is_dir():
            return spelled
    current = base
    for part in relative.parts:
        try:
            match = next((e.name for e in os.scandir(current) if folded(e.name) == folded(part) and e.is_dir()), None)
        except OSError:
            return None
        if match is None:
            return None
        current = current / match
    return current
