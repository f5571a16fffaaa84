"""``export``: a store as plain files that other micro-expression code reads.

* ``png``: ``OUT/<array>/<label>/<subject>_<clip>.png``, the layout of torchvision's
  ``ImageFolder`` and most published MER code (names made portable: ``/`` and other odd
  characters become ``_``);
* ``npz``: ``OUT/<array>.npz`` per array (by default every per-sample array the store
  holds: images, flow, strain, sequences, aligned landmarks), holding ``images`` (the
  array's values, as stored), the int ``label`` (index into ``class_names``),
  ``label_name``, ``sample_id``, ``subject`` and ``clip``;
* ``ststnet``: the onset->apex flow as the STSTNet family reads it
  (:func:`mepipe.dataset.ststnet.ststnet_image`, framed as the published files by default;
  christy1206/STSTNet ``main.py``, wangzhifengharrison/HTNet
  ``HTNet_for_three_datasets_confusion_matrix.py``, tony19980810/CausalNet ``main_train.py``):
  ``OUT/norm_u_v_os/<sub>/u_train|u_test/<label>/<sub>_<filename_o> .png`` (the
  leave-one-subject-out folders, each sample in its subject's ``u_test`` and in every other
  subject's ``u_train``; ``OUT/three_norm_u_v_os``, HTNet's name for them, is a link to
  it), ``OUT/STSNet_whole_norm_u_v_os/<sub>_<filename_o> .png`` (every sample once, the
  set HTNet and CausalNet cut their patches from; the space before ``.png`` is theirs),
  ``OUT/combined_3_class2_for_optical_flow.csv`` (their sample table, named as the
  published one: member dataset, ``sub``, ``filename_o``, ``imagename``) and
  ``OUT/combined_datasets_whole/<imagename>`` (the 224 px apex crops, which HTNet finds
  its patch centres on).

All write ``OUT/samples.csv`` (one row per exported sample, in the npz files' order: ids,
subject for leave-one-subject-out splits, label, frame indices and, for png, each image's
path in ``<array>_path``), ``OUT/left_out.csv`` (samples not exported because they failed
or are still pending, with the reason) and ``OUT/export.json`` (what was exported from
which store; it marks the folder as an export that a later one may replace).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zarr

from mepipe._shared.progress import Progress
from mepipe._shared.text import safe_name
from mepipe.dataset.select import Selection, select_samples
from mepipe.dataset.ststnet import (
    EYE_HEIGHT,
    EYE_SHARE,
    FRAMINGS,
    apex_image,
    as_pandas_reads,
    framing_box,
    published_names,
    ststnet_image,
)
from mepipe.errors import MepipeError, UsageError
from mepipe.store import OK, STATUS_NAMES, array, held_sets, image_names, open_store

FORMATS = ("png", "npz", "ststnet")
MARKER = "export.json"
#: the folders and table of the ``ststnet`` layout, as the codebases name them; HTNet reads
#: the folds as ``three_norm_u_v_os``, STSTNet as ``norm_u_v_os``
STSTNET_FOLDS, STSTNET_WHOLE, STSTNET_APEX = "norm_u_v_os", "STSNet_whole_norm_u_v_os", "combined_datasets_whole"
STSTNET_FOLDS_HTNET = "three_norm_u_v_os"
STSTNET_TABLE = "combined_3_class2_for_optical_flow.csv"
STSTNET_COLUMNS = ("dataset", "sub", "filename_o", "label", "apex", "imagename", "sub_filename")
#: samples read per zarr request
_BATCH = 32
CSV_COLUMNS = ("sample_id", "subject", "clip", "emotion", "label", "label_index", "onset", "apex", "offset", "n_frames")


@dataclass
class ExportSummary:
    """What an export wrote, and the samples it left out: (sample_id, status, error)."""

    out: Path
    format: str
    arrays: tuple[str, ...]
    exported: int
    left_out: list[tuple[str, str, str]] = field(default_factory=list)


def _check(group: zarr.Group, store: str, fmt: str, arrays: Sequence[str]) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    held = image_names(group)
    if fmt == "ststnet":
        if "flow" not in held:
            raise UsageError(
                f"--format ststnet: {store} holds no flow; add it with mepipe build ... --arrays "
                f"{','.join((*held_sets(group), 'flow'))} (only the flow is computed)"
            )
        return
    if not arrays:
        raise UsageError("--arrays names no array; give e.g. trdi,midi")
    for name in arrays:
        if name not in held:
            raise UsageError(f"--arrays: {store} has no array {name!r}; it holds {', '.join(held)}")
        dtype = array(group, name).dtype
        if fmt == "png" and dtype != np.uint8:
            raise UsageError(f"--arrays: {name} is {dtype}, which PNG cannot hold; export it with --format npz")


def _png_names(selection: Selection, ok: np.ndarray, fmt: str = "png") -> list[str]:
    """``<label>/<subject>_<clip>.png`` per exported sample (``ststnet``: the STSTNet
    family's ``<sub>_<filename_o> .png``, :func:`_ststnet_rows`); two samples on one name is
    an error (a silent overwrite would lose one)."""
    fields = selection.fields
    if fmt == "ststnet":
        rows = _ststnet_rows(selection, ok)
        stems = [f"{row['loader_sub']}_{row['filename_o']}" for row in rows]
    else:
        stems = [f"{safe_name(fields['subject'][i])}_{safe_name(fields['clip'][i])}" for i in ok]
    names: list[str] = []
    owner: dict[str, str] = {}
    for stem, i in zip(stems, ok):
        name = f"{stem} .png" if fmt == "ststnet" else f"{safe_name(selection.labels[i])}/{stem}.png"
        if name in owner:
            raise MepipeError(
                f"samples {owner[name]} and {fields['sample_id'][i]} both export to {name}; "
                "their names differ only in characters a file name cannot hold"
            )
        owner[name] = fields["sample_id"][i]
        names.append(name)
    return names


def _ststnet_rows(selection: Selection, ok: np.ndarray) -> list[dict[str, str]]:
    """Per exported sample, its names as the published table gives them
    (:func:`mepipe.dataset.ststnet.published_names`), and ``loader_sub``: the ``sub`` as
    HTNet's loader reads it back with pandas (``006`` -> ``6`` where every ``sub`` is a
    number, as in a SAMM-only export), which its file names must start with."""
    fields = selection.fields
    dataset = str(selection.provenance.get("dataset", ""))
    rows = []
    for i in ok:
        member, sub, clip, imagename = published_names(dataset, str(fields["subject"][i]), str(fields["clip"][i]))
        rows.append({"dataset": member, "sub": safe_name(sub), "filename_o": safe_name(clip), "imagename": imagename})
    for row, read in zip(rows, as_pandas_reads([row["sub"] for row in rows])):
        row["loader_sub"] = read
    return rows


def prepare_folder(out: Path, entries: list[str]) -> None:
    """Make ``out`` ready: new or empty, or an earlier export whose own files are removed.
    Anything else is refused: exporting into it would mix files or erase them."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; export writes a folder")
    if out.is_dir() and any(out.iterdir()):
        try:
            previous = json.loads((out / MARKER).read_text())["entries"]
        except (OSError, ValueError, KeyError, TypeError):
            raise MepipeError(
                f"--out {out} is not empty and holds no mepipe export; choose a new or empty folder"
            ) from None
        for name in previous:
            path = out / Path(name).name  # only the earlier export's own top-level entries
            if path.is_symlink():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)


def write_png(path: Path, image: np.ndarray, suffix: str = ".png") -> None:
    """Write an RGB (or one-channel) uint8 image as ``suffix`` (``.png``, ``.jpg``)."""
    # cv2.imwrite cannot take every path (non-ASCII on some platforms): encode, then write
    pixels = image[..., 0] if image.shape[-1] == 1 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(suffix, pixels)
    if not ok:
        raise MepipeError(f"cannot encode {path} as PNG")
    path.write_bytes(encoded.tobytes())


def _write_ststnet(
    group: zarr.Group, out: Path, selection: Selection, ok: np.ndarray, names: list[str], framing: str, bar: Progress
) -> dict[str, Any]:
    """The ``ststnet`` layout (module notes): whole set, per-subject folds, apex crops.
    Returns what the export's provenance records of it."""
    rows = _ststnet_rows(selection, ok)
    subjects = sorted({row["sub"] for row in rows})
    for name in (STSTNET_WHOLE, STSTNET_APEX):
        (out / name).mkdir(parents=True, exist_ok=True)
    aligned = all(name in group for name in ("landmarks", "transform", "frame_size"))
    framed = 0
    for start in range(0, len(ok), _BATCH):
        batch = ok[start : start + _BATCH]
        at = selection.rows[batch]
        flows = np.asarray(array(group, "flow").oindex[at])
        strains = np.asarray(array(group, "strain").oindex[at])
        apexes = np.asarray(array(group, "apex").oindex[at]) if "apex" in group else None
        geometry = [
            np.asarray(array(group, name).oindex[at]) if aligned else None
            for name in ("landmarks", "transform", "frame_size")
        ]
        for k, i in enumerate(batch):
            row, name = rows[start + k], names[start + k]
            landmarks, transform, frame_size = (values[k] if values is not None else None for values in geometry)
            box = framing_box(landmarks, transform, flows.shape[1], framing)
            framed += box is not None
            image = ststnet_image(flows[k], strains[k], landmarks, transform, frame_size, framing)
            whole = out / STSTNET_WHOLE / name
            write_png(whole, image)
            label = str(int(selection.label_index[i]))
            for subject in subjects:
                split = "u_test" if subject == row["sub"] else "u_train"
                path = out / STSTNET_FOLDS / subject / split / label / name
                path.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(whole, path)
            if apexes is not None:
                write_png(out / STSTNET_APEX / row["imagename"], apex_image(apexes[k], box), ".jpg")
            bar.update(True)
    write_csv(
        out / STSTNET_TABLE,
        STSTNET_COLUMNS,
        [
            [
                row["dataset"],
                row["sub"],
                row["filename_o"],
                int(selection.label_index[i]),
                int(selection.fields["apex_index"][i]),
                row["imagename"],
                f"{row['sub']}_{row['filename_o']}",
            ]
            for row, i in zip(rows, ok)
        ],
    )
    return {
        "framing": framing,
        **({"eye_share": EYE_SHARE, "eye_height": EYE_HEIGHT} if framing == "published" else {}),
        "framed_by_landmarks": framed,
        "whole_map": len(ok) - framed,
        STSTNET_FOLDS_HTNET: _alias(out / STSTNET_FOLDS, out / STSTNET_FOLDS_HTNET),
    }


def _link_or_copy(source: Path, target: Path) -> None:
    """``target`` as a hard link to ``source`` (one file's bytes on disk, on every
    filesystem that has hard links), or a copy where links are refused (FAT, exFAT)."""
    try:
        target.hardlink_to(source)
    except OSError:
        shutil.copyfile(source, target)


def _alias(folder: Path, alias: Path) -> str:
    """A second name for ``folder``: a symbolic link, or where the filesystem or the
    platform refuses one (Windows without the privilege, FAT), the same tree of hard
    links (copies as the last resort). Returns which it made."""
    try:
        alias.symlink_to(folder.name, target_is_directory=True)
        return "symbolic link"
    except OSError:
        pass
    for path in sorted(folder.rglob("*")):
        target = alias / path.relative_to(folder)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(path, target)
    return "hard links"


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write ``rows`` under ``header`` as a CSV file."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def export(
    store: str,
    out: str | Path,
    fmt: str = "png",
    arrays: Sequence[str] | None = None,
    classes: str | None = None,
    progress: bool = True,
    framing: str = "published",
) -> ExportSummary:
    """Write the ok samples of ``store`` under ``out`` as PNG folders or npz archives.

    Parameters
    ----------
    store : str
        A store written by ``mepipe build``.
    out : path
        A new or empty folder, or an earlier export (its files are replaced).
    fmt : str
        ``png``, ``npz`` or ``ststnet`` (see the module notes for the layouts).
    arrays : sequence of str, optional
        Arrays to export; png takes the uint8 ones only (default ``trdi, midi``), npz any
        (default: every one the store holds); ststnet always exports the flow.
    classes : str, optional
        Class set; samples outside it are not exported. Default: the store's own.
    progress : bool
        Show a progress bar on stderr.
    framing : str
        ``ststnet``: ``published`` cuts the face from the stored maps as the published
        files frame it (:func:`mepipe.dataset.ststnet.framing_box`), ``store`` keeps the
        store's own window.

    Returns
    -------
    ExportSummary
        Failed and pending samples are left out and listed in ``left_out``.
    """
    out = Path(out)
    group = open_store(str(store))
    if fmt == "ststnet":
        arrays = ("flow", "strain")
    elif arrays is None:
        arrays = image_names(group) if fmt == "npz" else ("trdi", "midi")
    arrays = tuple(arrays)
    _check(group, store, fmt, arrays)
    if framing not in FRAMINGS:
        raise UsageError(f"--framing must be one of {', '.join(FRAMINGS)}, not {framing!r}")
    selection = select_samples(group, classes, ok_only=False)
    fields = selection.fields
    ok = np.flatnonzero(fields["status"] == OK)
    if not len(ok):
        raise MepipeError(f"{store}: no ok samples in class set {selection.classes} to export")
    left_out = [
        (str(fields["sample_id"][i]), STATUS_NAMES.get(int(fields["status"][i]), "?"), str(fields["error"][i]))
        for i in np.flatnonzero(fields["status"] != OK)
    ]
    names = _png_names(selection, ok, fmt) if fmt != "npz" else []
    files = {
        "png": list(arrays),
        "npz": [f"{name}.npz" for name in arrays],
        "ststnet": [STSTNET_FOLDS, STSTNET_FOLDS_HTNET, STSTNET_WHOLE, STSTNET_APEX, STSTNET_TABLE],
    }[fmt]
    entries = [*files, "samples.csv", "left_out.csv", MARKER]
    prepare_folder(out, entries)
    record = {
        "store": str(store),
        "format": fmt,
        "arrays": list(arrays),
        "classes": selection.classes,
        "class_names": selection.class_names,
        "entries": entries,
        "mepipe": selection.provenance,
    }
    # written first (a later export may replace an interrupted one), again when complete
    (out / MARKER).write_text(json.dumps(record, indent=1) + "\n")

    label_index = selection.label_index
    stored = {name: array(group, name) for name in arrays}
    stacked = (
        {name: np.empty((len(ok), *node.shape[1:]), node.dtype) for name, node in stored.items()}
        if fmt == "npz"
        else {}
    )
    with Progress(len(ok), f"export {fmt}", enabled=progress) as bar:
        if fmt == "ststnet":
            record["ststnet"] = _write_ststnet(group, out, selection, ok, names, framing, bar)
            (out / MARKER).write_text(json.dumps(record, indent=1) + "\n")
        for start in range(0, len(ok) if fmt != "ststnet" else 0, _BATCH):
            batch = ok[start : start + _BATCH]
            rows = selection.rows[batch]
            for name in arrays:
                images = np.asarray(stored[name].oindex[rows])
                if fmt == "npz":
                    stacked[name][start : start + len(batch)] = images
                    continue
                for k, image in enumerate(images):
                    path = out / name / names[start + k]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    write_png(path, image)
            for _ in batch:
                bar.update(True)
    # dict[str, Any]: to mypy, arrays unpacked as keywords could also fill allow_pickle (a bool)
    strings: dict[str, Any] = {key: fields[key][ok] for key in ("sample_id", "subject", "clip")}
    for name, images in stacked.items():
        np.savez_compressed(
            out / f"{name}.npz",
            images=images,
            label=label_index[ok],
            label_name=selection.labels[ok],
            class_names=np.array(selection.class_names),
            **strings,
        )

    table = []
    for k, i in enumerate(ok):
        row = [
            fields["sample_id"][i],
            fields["subject"][i],
            fields["clip"][i],
            fields["emotion"][i],
            selection.labels[i],
            int(label_index[i]),
            int(fields["onset_index"][i]),
            int(fields["apex_index"][i]),
            int(fields["offset_index"][i]),
            int(fields["n_frames"][i]),
        ]
        if fmt == "png":
            row += [f"{name}/{names[k]}" for name in arrays]
        elif fmt == "ststnet":
            row.append(f"{STSTNET_WHOLE}/{names[k]}")
        table.append(row)
    paths = {"png": [f"{name}_path" for name in arrays], "npz": [], "ststnet": ["flow_path"]}[fmt]
    write_csv(out / "samples.csv", [*CSV_COLUMNS, *paths], table)
    write_csv(out / "left_out.csv", ("sample_id", "status", "error"), left_out)
    return ExportSummary(out=out, format=fmt, arrays=arrays, exported=len(ok), left_out=left_out)
