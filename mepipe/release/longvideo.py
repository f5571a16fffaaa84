"""What a long-video (spotting) release holds: videos, and the intervals its sheet marks.

Every frame number here is the release's own: the sheet's number, which for CAS(ME)^3 is
the file name's number, so a video with missing frames has ``numbers`` with gaps and a
frame's number is never its position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: the interval types a spotting sheet marks
TYPES = ("micro", "macro")


@dataclass(frozen=True)
class Interval:
    """One annotated expression in a long video.

    Attributes
    ----------
    video : str
        The video's name, as :attr:`Video.name`.
    subject : str
        The subject's id, as the release names it.
    type : str
        ``"micro"`` or ``"macro"`` (:data:`TYPES`).
    onset, offset : int
        First and last frame, inclusive, in the release's own numbers.
    apex : int or None
        The apex frame; ``None`` where the sheet has none usable (recorded in ``repairs``).
    aus : str
        The action units as the sheet writes them (``""`` where none).
    emotion : str
        The sheet's emotion text (``""`` where the release has none).
    row : int
        The sheet row it came from (1-based, as a spreadsheet shows it), for messages.
    repairs : tuple of str
        What was fixed in the row (an erratum, offset 0, ...), one text each.
    """

    video: str
    subject: str
    type: str
    onset: int
    apex: int | None
    offset: int
    aus: str = ""
    emotion: str = ""
    row: int = 0
    repairs: tuple[str, ...] = field(default=())

    @property
    def length(self) -> int:
        """Frames from onset to offset, both included."""
        return self.offset - self.onset + 1


@dataclass(frozen=True)
class Video:
    """One long video of a release, found on disk.

    Attributes
    ----------
    name : str
        The video's name, unique in the release (``15_0101disgustingteeth``, ``006_1``,
        ``spNO.1_a``).
    subject : str
        The subject's id.
    fps : float
        Frames per second of the recording.
    numbers : tuple of int
        The frame numbers on disk, increasing (gaps where frames are missing).
    paths : tuple of Path
        The frame files, one per number.
    expected : int or None
        How many frames the release says the video has (its frames-per-video list), where
        it says.
    """

    name: str
    subject: str
    fps: float
    numbers: tuple[int, ...]
    paths: tuple[Path, ...]
    expected: int | None = None

    def missing(self) -> list[int]:
        """Frame numbers absent between the first and last on disk."""
        if not self.numbers:
            return []
        have = set(self.numbers)
        return [n for n in range(self.numbers[0], self.numbers[-1] + 1) if n not in have]
