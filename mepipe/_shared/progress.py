"""A progress bar with done / failed counts and an ETA, whatever runs the work."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """Counts outcomes as they land; a tqdm bar on stderr when ``enabled``.

    Parameters
    ----------
    total : int
        Items expected.
    desc : str
        Label in front of the bar.
    enabled : bool
        Draw the bar (counting happens either way).
    """

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        self.ok = 0
        self.failed = 0
        self._bar = tqdm(
            total=total, desc=desc, unit="clip", file=sys.stderr, disable=not enabled, dynamic_ncols=True, smoothing=0.1
        )

    def update(self, ok: bool) -> None:
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        self._bar.set_postfix(ok=self.ok, failed=self.failed, refresh=False)
        self._bar.update()

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
