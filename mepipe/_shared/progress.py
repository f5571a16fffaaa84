"""Progress of long work: a bar on a terminal, plain lines in a log, counts either way.

A bar redraws itself with carriage returns, which a SLURM log or ``> log 2>&1`` keeps
as thousands of fragments. So when stderr is not a terminal, progress is written as a
plain line every ``step`` of the work (10 % by default) or every ``interval`` seconds,
whichever comes first, with counts, rate and ETA, and a last line when the work ends.
``MEPIPE_PROGRESS=bar|lines|off`` overrides the choice (``lines`` on a terminal, say,
for a ``tmux`` session whose scrollback is read later).
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, TextIO

from tqdm import tqdm

MODES = ("bar", "lines", "off")


def progress_mode(stream: TextIO, enabled: bool = True) -> str:
    """How progress is shown on ``stream``: ``bar``, ``lines`` or ``off``."""
    if not enabled:
        return "off"
    chosen = os.environ.get("MEPIPE_PROGRESS", "").strip().lower()
    if chosen in MODES:
        return chosen
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "lines"


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _rate(per_second: float) -> str:
    if not math.isfinite(per_second):
        return "-"
    return f"{per_second:.1f}" if per_second >= 10 else f"{per_second:.3g}"


class Progress:
    """Counts work as it lands and shows it on stderr.

    Parameters
    ----------
    total : int
        Items expected.
    desc : str
        Label in front of the bar or line.
    enabled : bool
        Show progress at all (counting happens either way).
    unit : str
        What an item is (``clip``, ``step``), in the bar and the lines.
    outcomes : bool
        Count ok and failed items (builds, checks); off for work without failures
        (training steps).
    step : float or None
        In line mode, a line each time this fraction of ``total`` is done; ``None`` for
        lines only every ``interval`` seconds and at the end.
    interval : float
        In line mode, the longest time between two lines, in seconds.
    stream : file, optional
        Where progress goes; stderr by default.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        enabled: bool = True,
        *,
        unit: str = "clip",
        outcomes: bool = True,
        step: float | None = 0.1,
        interval: float = 60.0,
        stream: TextIO | None = None,
    ) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.outcomes = outcomes
        self.ok = 0
        self.failed = 0
        self.done = 0
        self._step = step
        self._interval = interval
        self._stream = stream if stream is not None else sys.stderr
        self._values: dict[str, Any] = {}
        self._start = self._last = time.monotonic()
        self._next = self._threshold(0)
        self.mode = progress_mode(self._stream, enabled)
        self._bar = None
        if self.mode == "bar":
            self._bar = tqdm(total=total, desc=desc, unit=unit, file=self._stream, dynamic_ncols=True, smoothing=0.1)
        elif self.mode == "lines" and step is not None:
            # work counted in steps announces its size; work shown only at its end does not
            self._write(f"{desc}: {total} {self._units(total)}")

    def update(self, ok: bool = True, count: int = 1) -> None:
        """``count`` more items done (one by default); ``ok=False`` counts them as failed."""
        if count <= 0:
            return
        self.done += count
        if ok:
            self.ok += count
        else:
            self.failed += count
        if self._bar is not None:
            if self.outcomes:
                self._bar.set_postfix(ok=self.ok, failed=self.failed, refresh=False)
            self._bar.update(count)
        elif self.mode == "lines":
            now = time.monotonic()
            if self.done < self.total and (self.done >= self._next or now - self._last >= self._interval):
                self._write(self._line(now))
                self._next = self._threshold(self.done)

    def note(self, **values: Any) -> None:
        """Values shown after the counts (a training loss, say), kept until replaced."""
        self._values.update(values)
        if self._bar is not None:
            self._bar.set_postfix(
                {**({"ok": self.ok, "failed": self.failed} if self.outcomes else {}), **self._values}, refresh=False
            )

    def close(self) -> None:
        """End the bar, or write the last line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.mode == "lines":
            self.mode = "closed"
            self._write(self._line(time.monotonic(), final=True))

    def _threshold(self, done: int) -> float:
        if self._step is None or self.total <= 0:
            return math.inf
        size = max(1, math.ceil(self.total * self._step))
        return (done // size + 1) * size

    def _units(self, n: int) -> str:
        return self.unit if n == 1 else self.unit + "s"

    def _line(self, now: float, final: bool = False) -> str:
        elapsed = now - self._start
        rate = self.done / elapsed if elapsed > 0 else math.inf
        parts = [f"{self.desc}: {self.done}/{self.total} {self._units(self.total)}"]
        if final:
            parts[0] += f" in {_clock(elapsed)}"
        elif self.total:
            parts[0] += f" ({100 * self.done / self.total:.0f}%)"
        if self.outcomes:
            parts.append(f"{self.ok} ok, {self.failed} failed")
        parts.append(f"{_rate(rate)} {self._units(2)}/s")
        if not final:
            left = (self.total - self.done) / rate if rate > 0 else math.inf
            parts.append(f"elapsed {_clock(elapsed)}, eta {_clock(left)}")
        parts += [f"{key} {value}" for key, value in self._values.items()]
        return ", ".join(parts)

    def _write(self, line: str) -> None:
        self._last = time.monotonic()
        print(line, file=self._stream, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
