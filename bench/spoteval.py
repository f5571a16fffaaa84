"""The spotting evaluator's matching on a video with thousands of predictions.

:func:`mepipe.spot.evaluate.match` considers, for each interval, only the predictions
whose onset can reach IoU 0.5 (a window found by binary search). The baseline, in the same
run, builds every (interval, prediction) pair's IoU first, as a plain implementation
does, then runs the same augmenting paths. Both must find the same number of matches.
Prints medians and ratios; asserts nothing.
"""

from __future__ import annotations

import argparse
from functools import partial

import numpy as np

from bench.kernel import median_ms
from mepipe.spot.evaluate import match, overlaps_enough

#: (intervals, predictions) per video: CAS(ME)^2-like, a dense spotter, a frame-wise one
CASES = ((10, 300), (30, 3000), (60, 20000))


def all_pairs_count(truth: list[tuple[int, int]], preds: list[tuple[int, int]]) -> int:
    """The size of a maximum matching from every pair's test (Kuhn's algorithm, recursive)."""
    edges = [[j for j, p in enumerate(preds) if overlaps_enough(*t, *p)] for t in truth]
    holder: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j not in seen:
                seen.add(j)
                if j not in holder or augment(holder[j], seen):
                    holder[j] = i
                    return True
        return False

    return sum(augment(i, set()) for i in range(len(truth)))


def case(intervals: int, predictions: int, rng: np.random.Generator) -> tuple[list, list]:
    frames = 100 * intervals + 1000
    onsets = np.sort(rng.choice(frames - 80, intervals, replace=False))
    truth = [(int(o), int(o + rng.integers(8, 60))) for o in onsets]
    starts = rng.integers(0, frames - 80, predictions)
    preds = [(int(s), int(s + rng.integers(8, 60))) for s in starts]
    return truth, preds


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.spoteval", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(27)
    print("one video, one type; medians; all pairs = every IoU tested, then the same matching")
    print(f"{'intervals':>9} {'predictions':>11} {'matched':>7} {'windowed':>10} {'all pairs':>10} {'speed-up':>9}")
    for intervals, predictions in CASES:
        truth, preds = case(intervals, predictions, rng)
        found = len(match(truth, preds))
        if found != all_pairs_count(truth, preds):
            raise SystemExit("bench.spoteval: the two matchings disagree")
        windowed = median_ms(partial(match, truth, preds), args.repeats)
        plain = median_ms(partial(all_pairs_count, truth, preds), max(1, args.repeats // 2))
        print(
            f"{intervals:>9} {predictions:>11} {found:>7} {windowed:>7.2f} ms {plain:>7.1f} ms {plain / windowed:>8.1f}x"
        )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
