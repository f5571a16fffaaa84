"""Run every benchmark in turn: ``python -m bench [names...]``."""

import importlib
import sys

BENCHMARKS = (
    "kernel",
    "discover",
    "detect",
    "startup",
    "perframe",
    "build",
    "arrays",
    "flow",
    "agreement",
    "stages",
    "scale",
    "quality",
    "crops",
    "report",
    "train",
    "models",
    "apex",
    "spoteval",
    "spotting",
    "spotloso",
    "strs",
)
#: those that read the published files, from folders given on their command line
ON_FILES = ("fidelity", "ststnet")


def main(argv: list[str]) -> None:
    for name in argv or BENCHMARKS:
        print(f"\n######## bench.{name}", flush=True)
        importlib.import_module(f"bench.{name}").main([])


if __name__ == "__main__":
    main(sys.argv[1:])
