"""``make doccheck``: every command line of the README and of the docs' shell blocks runs
as written, on small synthetic releases.

The lines are read from the Markdown itself (```` ```sh ````, ```` ```bash ````,
```` ```shell ```` blocks: every line; ```` ```console ````: the lines after ``$ ``), a
trailing ``\\`` joins a line to the next and ``#`` starts a comment. Each ``mepipe`` line
runs in one scratch folder, in page order (the README first), with options appended that
keep it small (``--size 32``, one epoch, ...: a repeated option's last value wins); a
release a line points ``--root`` at (``data/<dataset>``) is synthesised first when no
earlier line made it. A line that cannot run here (a GPU, a cluster, licensed data, a
file no line makes) is in :data:`SKIP` with its reason and is listed as skipped; a skip
that matches no line is an error, so the list stays true as the pages change.

Run: ``python -m tests.doccheck [--keep DIR]``; exit 1 when any line failed.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = ("sh", "bash", "shell", "console")

#: a line's start (after ``mepipe``/``make``, spaces squeezed) -> why it is not run
SKIP = {
    "make demo": "the whole demo (minutes); CI runs `make test`, and test_new_user checks the demo's hint",
    "make test": "the test suite itself",
    "mepipe train samm.zarr --out runs/ablation --variant afn,trdi,midi --seeds 0,1,2 --cluster slurm": "SLURM",
    "mepipe build ... --crop release": "a fragment: options added to the build line above",
    "mepipe build ... --face-window meb": "a fragment: options added to the build line above",
    "mepipe build ... --classes objective": "a fragment: options added to the build line above",
    "mepipe train megc.zarr": "needs a MEGC 2019 composite store of the three licensed releases",
    "mepipe splits megc.zarr": "needs a MEGC 2019 composite store of the three licensed releases",
    "mepipe build --dataset samm --root data/samm --out samm.zarr --cluster slurm": "SLURM",
    "mepipe train demo/casme2.zarr": "needs `make demo`'s store, and a GPU for its 40 epochs x 3 seeds x 4 variants",
    "mepipe spot-eval --truth truth.csv": "an example of files of the reader's own (truth.csv, predictions.csv)",
    "mepipe features casme_sq-face.zarr": "needs backbone.pt, which the page's Python block makes",
    "mepipe spot casme_sq.zarr": "needs a full-length CAS(ME)^2 spotting store (hours on 2 cores)",
    "mepipe spot-recognise casme_sq.zarr": "needs a full-length CAS(ME)^2 spotting store and spot's output",
    "mepipe vqa-eval --truth casme2-vqa/megc-vqa.jsonl": "an example of a predictions file of the reader's own (pred.jsonl)",
}

#: options appended per command (a repeated option's last value wins), keeping each run small
SMALL = {
    "build": ["--size", "32", "--quiet"],
    "train": ["--epochs", "1", "--image-size", "32", "--width", "4", "--batch", "4", "--quiet"],
    "report": ["--quiet"],
    "export": ["--quiet"],
    "check": ["--quick", "--quiet"],
}
SYNTH_CLIPS = ["--subjects", "2", "--clips-per-subject", "3", "--scale", "0.25", "--quiet"]
SYNTH_VIDEOS = ["--subjects", "2", "--videos", "1", "--frames", "600", "--scale", "0.25", "--quiet"]


def command_lines(page: Path) -> list[tuple[int, str]]:
    """``(line number, command)`` of every ``mepipe`` or ``make`` line in the shell blocks of
    ``page``, continuation lines joined and comments dropped."""
    found: list[tuple[int, str]] = []
    kind = None
    pending: tuple[int, str] | None = None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        fence = re.match(r"^\s*```+\s*\{?([\w-]*)\}?", line)
        if fence:
            kind = None if kind is not None else fence.group(1)
            pending = None
            continue
        if kind not in SHELL:
            continue
        text = line.strip()
        if pending is None:
            if kind == "console":
                if not text.startswith("$ "):
                    continue
                text = text[2:]
            if not re.match(r"(mepipe|make)\s", text):
                continue
            pending = (number, "")
        start, so_far = pending
        joined = f"{so_far} {text}".strip()
        if joined.endswith("\\"):
            pending = (start, joined[:-1])
            continue
        pending = None
        words = shlex.split(joined, comments=True)
        found.append((start, " ".join(shlex.quote(w) if w != "..." else w for w in words)))
    return found


def skip_reason(command: str) -> str | None:
    """The reason of the :data:`SKIP` entry whose text starts ``command``, or ``None``."""
    squeezed = " ".join(command.split())
    return next((reason for start, reason in SKIP.items() if squeezed.startswith(start)), None)


def _prepare(words: list[str], work: Path) -> None:
    """Synthesise the release ``--root data/<dataset>`` names when no earlier line made it."""
    if "--root" not in words or "--dataset" not in words:
        return
    root, dataset = words[words.index("--root") + 1], words[words.index("--dataset") + 1]
    if (work / root).exists() or not root.startswith("data/"):
        return
    subprocess.run(_small(["mepipe", "synth", "--dataset", dataset, "--out", root]), cwd=work, check=True)


def _small(words: list[str]) -> list[str]:
    """The command to run: ``mepipe`` as this Python's, with the small options appended."""
    from mepipe.release.registry import recipe_task

    command = words[1]
    extra = list(SMALL.get(command, []))
    if command == "train" and "ststnet" in words:  # its images are 28 px, its width fixed
        extra = ["--epochs", "1", "--batch", "4", "--quiet"]
    long_videos = "--dataset" in words and recipe_task(words[words.index("--dataset") + 1]) == "spotting"
    if command == "build" and long_videos:  # --size is a clip build's
        extra = ["--quiet"]
    if command == "synth":
        extra = SYNTH_VIDEOS if long_videos else SYNTH_CLIPS
    return [sys.executable, "-m", "mepipe", *words[1:], *extra]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.doccheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="Run in this folder (kept) instead of a temporary one.")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="mepipe-doccheck-"))
    work.mkdir(parents=True, exist_ok=True)
    ran, skipped, failed, used = 0, 0, [], set()
    start = time.perf_counter()
    for page in PAGES:
        for number, command in command_lines(page):
            where = f"{page.relative_to(ROOT)}:{number}"
            reason = skip_reason(command)
            if reason is not None:
                used.update(s for s in SKIP if " ".join(command.split()).startswith(s))
                skipped += 1
                print(f"skip  {where}: {command}  ({reason})", flush=True)
                continue
            words = shlex.split(command)
            if words[0] != "mepipe":
                failed.append(f"{where}: {command}: not a mepipe line and not in the skip list")
                continue
            _prepare(words, work)
            result = subprocess.run(_small(words), cwd=work, capture_output=True, text=True, timeout=600)
            ran += 1
            status = "ok  " if result.returncode == 0 else "FAIL"
            print(f"{status}  {where}: {command}", flush=True)
            if result.returncode != 0:
                last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or [""]
                failed.append(f"{where}: {command}: exit {result.returncode}: {last[0]}")
    stale = [start_ for start_ in SKIP if start_ not in used]
    failed += [f"skip list: {start_!r} matches no line of the pages any more" for start_ in stale]
    print(f"{ran} lines run, {skipped} skipped by name, {len(failed)} failed in {time.perf_counter() - start:.0f} s")
    for line in failed:
        print(f"failed: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
