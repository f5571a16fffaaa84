"""A clip store's labels as ME-VQA records: ``mepipe export STORE --format megc-vqa``.

One JSON line per question, in the MEGC 2025 ME-VQA training file's fields (``image_id``,
``dataset``, ``subject``, ``filename``, ``question``, ``answer`` in lower case), for every
ok sample with an emotion:

* coarse class (:data:`COARSE_Q`): negative, positive, surprise or others, the sample's
  emotion mapped by its dataset's map (:mod:`mepipe.release.classmap`, set ``megc``);
* fine class (:data:`FINE_Q`): the sheet's emotion;
* action units (:data:`AU_Q` for one, :data:`AUS_Q` for several): the FACS names of the
  AUs coded for certain, side kept, comma-separated (:mod:`mepipe.vqa.facs`);
* analysis (:data:`ANALYSIS_Q`): a sentence made from those labels (:func:`analysis`).

A question the labels cannot answer (no AU coded, an emotion no map knows) is not asked
and is counted. Each record also names the clip's aligned onset, apex and offset frames
(PNG) and its onset->apex flow (``.npy``, the store's ``flow``: u, v), written under the
export folder and given relative to it; one the store lacks is left out of the record and
counted, never refused.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mepipe._shared.progress import Progress
from mepipe._shared.text import safe_name
from mepipe.dataset.export import MARKER, prepare_folder, write_png
from mepipe.errors import MepipeError
from mepipe.release.au import tokens_from_text
from mepipe.release.classmap import class_map, normal
from mepipe.release.registry import get_recipe
from mepipe.store import OK, array, open_store, read_fields, store_attrs
from mepipe.vqa.facs import au_names

VQA_FILE = "megc-vqa.jsonl"
COARSE_Q = "What is the coarse expression class?"
FINE_Q = "What is the fine-grained expression class?"
AU_Q = "What is the action unit?"
AUS_Q = "What are the action units?"
ANALYSIS_Q = "Please analyse the micro-expression shown in this video in detail."
#: question -> its kind, as exported and scored
KINDS: dict[str, str] = {COARSE_Q: "coarse", FINE_Q: "fine", AU_Q: "action units", AUS_Q: "action units"}
KINDS[ANALYSIS_Q] = "analysis"
#: the files written beside the records: record key -> (store array, file name)
FILES: dict[str, tuple[str, str]] = {
    "onset_frame": ("onset", "onset.png"),
    "apex_frame": ("apex", "apex.png"),
    "offset_frame": ("offset", "offset.png"),
    "flow": ("flow", "flow_onset_apex.npy"),
}
FOLDER = "clips"
_BATCH = 32


def question_kind(question: str) -> str:
    """``coarse``, ``fine``, ``action units``, ``analysis``, or ``""`` for another question
    (compared without case or surrounding space)."""
    key = " ".join(question.split()).lower()
    return next((kind for q, kind in KINDS.items() if q.lower() == key), "")


def image_id(subject: str, clip: str) -> str:
    """The record's ``image_id``: the clip's name where it starts with its subject (SAMM's
    ``006_1_2``), else ``<subject>_<clip>`` (CASME-II's ``sub01_EP02_01f``), file-safe."""
    return safe_name(clip if clip.startswith(f"{subject}_") else f"{subject}_{clip}")


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def analysis(fine: str, coarse: str | None, aus: Sequence[str]) -> str:
    """The templated analysis answer of a clip's labels, lower case.

    >>> analysis("happiness", "positive", ["cheek raiser", "left lip corner puller"])
    'the face shows cheek raiser and left lip corner puller: a happiness micro-expression, coarse class positive.'
    """
    shown = f"the face shows {_listed(aus)}" if aus else "no action unit is coded"
    return f"{shown}: a {fine} micro-expression" + (f", coarse class {coarse}." if coarse else ".")


def questions(fine: str, coarse: str | None, aus: Sequence[str]) -> list[tuple[str, str]]:
    """``(question, answer)`` for one clip's labels: those the labels answer."""
    out = []
    if coarse:
        out.append((COARSE_Q, coarse))
    out.append((FINE_Q, fine))
    if aus:
        out.append((AU_Q if len(aus) == 1 else AUS_Q, ", ".join(aus)))
    out.append((ANALYSIS_Q, analysis(fine, coarse, aus)))
    return out


@dataclass
class VqaExport:
    """What ``export_vqa`` wrote.

    Attributes
    ----------
    out : Path
        The folder; the records are ``out / VQA_FILE``.
    samples : int
        Clips exported.
    asked : dict
        Question kind -> records written.
    unasked : dict
        Why a question was not asked -> clips.
    missing : dict
        Record key (``offset_frame``, ``flow``, ...) the store has no array for -> records
        without it.
    left_out : int
        Samples not exported: not ok, or without an emotion.
    """

    out: Path
    samples: int
    asked: dict[str, int] = field(default_factory=dict)
    unasked: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    left_out: int = 0


def _dataset(provenance: dict[str, Any]) -> tuple[str, str]:
    """The store's recipe name and the name ME-VQA gives its dataset (MEGC's, ``casme2``)."""
    name = str(provenance.get("dataset", ""))
    try:
        megc = getattr(get_recipe(name, object), "megc_dataset", None)
    except MepipeError:
        megc = None
    return name, str(megc or name)


def export_vqa(store: str, out: str | Path, progress: bool = True) -> VqaExport:
    """Write ``out/megc-vqa.jsonl`` and each clip's frames and flow (module notes).

    Parameters
    ----------
    store : str
        A clip store (``mepipe build``).
    out : path
        A new or empty folder, or an earlier export (its files are replaced).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    VqaExport
    """
    out = Path(out)
    group = open_store(str(store))
    provenance = store_attrs(group)
    recipe_name, dataset = _dataset(provenance)
    fields = read_fields(group)
    emotion = [normal(e) for e in fields["emotion"]]
    rows = [i for i in range(len(emotion)) if fields["status"][i] == OK and emotion[i]]
    if not rows:
        raise MepipeError(f"{store}: no ok sample with an emotion to export")
    ids = [image_id(str(fields["subject"][i]), str(fields["clip"][i])) for i in rows]
    owner: dict[str, str] = {}
    for i, name in zip(rows, ids):
        if name in owner:
            raise MepipeError(f"samples {owner[name]} and {fields['sample_id'][i]} both export as image_id {name}")
        owner[name] = str(fields["sample_id"][i])
    held = {key: name in group for key, (name, _) in FILES.items()}
    entries = [VQA_FILE, FOLDER, MARKER]
    prepare_folder(out, entries)
    (out / MARKER).write_text(json.dumps({"store": str(store), "format": "megc-vqa", "entries": entries}) + "\n")
    coarse_map = class_map("megc")
    summary = VqaExport(out=out, samples=len(rows), left_out=len(emotion) - len(rows))
    asked: Counter[str] = Counter()
    unasked: Counter[str] = Counter()
    lines = []
    with Progress(len(rows), "export megc-vqa", enabled=progress) as bar:
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            stored = {
                key: np.asarray(array(group, FILES[key][0]).oindex[np.asarray(batch, dtype=np.int64)])
                for key in FILES
                if held[key]
            }
            for k, i in enumerate(batch):
                name = ids[start + k]
                folder = out / FOLDER / name
                folder.mkdir(parents=True, exist_ok=True)
                paths = {}
                for key, values in stored.items():
                    path = folder / FILES[key][1]
                    if path.suffix == ".npy":
                        np.save(path, values[k])
                    else:
                        write_png(path, values[k])
                    paths[key] = path.relative_to(out).as_posix()
                coarse = coarse_map.map(emotion[i], recipe_name, f"{store}: sample {fields['sample_id'][i]}")
                if not coarse:
                    unasked[f"coarse: emotion {emotion[i]!r} has no coarse class"] += 1
                aus = au_names(tokens_from_text(str(fields["au_tokens"][i]))) if "au_tokens" in fields else []
                if not aus:
                    unasked["action units: none coded for certain"] += 1
                about = {
                    "image_id": name,
                    "dataset": dataset,
                    "subject": str(fields["subject"][i]),
                    "filename": str(fields["clip"][i]),
                }
                for question, answer in questions(emotion[i], coarse, aus):
                    asked[KINDS[question]] += 1
                    lines.append(json.dumps({**about, "question": question, "answer": answer.lower(), **paths}))
                bar.update(True)
    (out / VQA_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    summary.asked = dict(asked)
    summary.unasked = dict(unasked)
    summary.missing = {key: len(rows) for key, here in held.items() if not here}
    return summary
