"""``mepipe report``: one HTML page to look at every sample of a store before training.

``DIR/index.html`` opens in any browser without a server or network: its thumbnails are
small JPEG files under ``DIR/thumbs/``, loaded lazily, and the sorting and filtering is
a few lines of inline JavaScript. At the top: counts, failures and repairs grouped by
kind, the quality flags (:mod:`mepipe.report.quality`) with their thresholds, the store's
provenance; below, one row per sample. After TRDI and MIDI come the pictures the store's
array sets declare (:attr:`mepipe.arrays.ArraySet.thumbnails`), each legend once at the
top: a store with ``flow`` shows its onset->apex flow (direction as hue, magnitude as
brightness, with the colour wheel as key) and strain (:mod:`mepipe.imaging.flowcolor`).

The page is written by :func:`write_report`; :func:`render_page` is the pure part
(rows in, HTML text out).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import zarr

from mepipe._shared.progress import Progress
from mepipe._shared.text import join_repairs, split_repairs
from mepipe.arrays import Thumbnail, thumbnails
from mepipe.errors import UsageError
from mepipe.imaging.flow import recorded_method
from mepipe.release.labels import label_problem
from mepipe.report import quality
from mepipe.report.summary import reason_kind
from mepipe.store import FAILED, OK, STATUS_NAMES, array, open_store, read_array, read_columns, store_attrs

#: thumbnail side, pixels
THUMB_PX = 96
#: stored images shown per sample, in column order (the quality flags read them too)
THUMBS = ("onset", "apex", "trdi", "midi")
THUMB_DIR = "thumbs"
JPEG_QUALITY = 90
#: per-sample geometry arrays read for the flags, where the store has them
GEOMETRY = ("transform", "landmarks", "frame_size", "detect_step")
#: default thread cap: each thread loads its own landmark model (about 100 MB; dlib objects
#: must not be shared between threads), and zarr's one event loop serialises reads anyway
MAX_WORKERS = 8


@dataclass
class Row:
    """One sample as the page shows it."""

    index: int
    sample_id: str
    subject: str
    label: str
    status: str
    n_frames: int
    error: str = ""
    repairs: list[str] = field(default_factory=list)
    thumbs: dict[str, str] = field(default_factory=dict)
    #: tooltip per thumbnail (the flow's scale, ...)
    notes: dict[str, str] = field(default_factory=dict)
    measures: quality.Measures | None = None
    flags: list[quality.Flag] = field(default_factory=list)


def default_out(store: str) -> str:
    """Where ``mepipe build`` suggests the report of ``store`` go: ``<name>-report`` beside
    a local store, in the working directory for a remote one."""
    name = str(store).rstrip("/")
    stem = name.rsplit("/", 1)[-1].removesuffix(".zarr") or "store"
    if "://" in name:
        return f"{stem}-report"
    return str(Path(name).with_name(f"{stem}-report"))


def write_report(store: str, out: str | Path, *, workers: int | None = None, progress: bool = True) -> Path:
    """Write ``out/index.html`` and its thumbnails for every sample of ``store``.

    Parameters
    ----------
    store : str
        Path or URL of a store built by ``mepipe build``.
    out : path
        Folder for the page (created; an earlier report's files there are overwritten).
    workers : int, optional
        Threads reading samples and writing thumbnails; one per core by default, at most
        :data:`MAX_WORKERS`.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    Path
        The page, ``out/index.html``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; the report needs a folder")
    group = open_store(store)
    table = read_columns(group)
    present = set(group.array_keys())
    lacking = [name for name in THUMBS if name not in present]
    if lacking:
        raise UsageError(f"{store}: the report shows {', '.join(THUMBS)}; this store has no {', '.join(lacking)}")
    geometry = {name: read_array(group, name) for name in GEOMETRY if name in present}
    (out / THUMB_DIR).mkdir(parents=True, exist_ok=True)
    rows = _rows(table)
    pictures = {thumb.array: thumb for thumb in thumbnails() if thumb.array in present}
    images = {name: array(group, name) for name in (*THUMBS, *pictures)}
    for thumb in pictures.values():
        if thumb.key is not None:
            _write_png(thumb.key(THUMB_PX), out / THUMB_DIR / _key_file(thumb))
    todo = [row for row in rows if row.status == STATUS_NAMES[OK]]

    def work(row: Row) -> Row:
        return _fill(row, images, pictures, geometry, out)

    with Progress(len(todo), "report", enabled=progress) as bar:
        with ThreadPoolExecutor(workers or min(os.cpu_count() or 1, MAX_WORKERS)) as pool:
            for _ in pool.map(work, todo):
                bar.update(True)
    page = render_page(rows, store_attrs(group), quality.unavailable(present), str(store))
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def _rows(table: Mapping[str, np.ndarray]) -> list[Row]:
    return [
        Row(
            index=i,
            sample_id=str(table["sample_id"][i]),
            subject=str(table["subject"][i]),
            label=str(table["label"][i]),
            status=STATUS_NAMES.get(int(table["status"][i]), str(table["status"][i])),
            n_frames=int(table["n_frames"][i]),
            error=str(table["error"][i]),
            repairs=split_repairs(str(table["repair"][i])),
        )
        for i in range(len(table["status"]))
    ]


def _key_file(thumb: Thumbnail) -> str:
    """The legend of a thumbnail, under :data:`THUMB_DIR`."""
    return f"{thumb.array}_key.png"


def _fill(
    row: Row,
    images: Mapping[str, zarr.Array],
    pictures: Mapping[str, Thumbnail],
    geometry: Mapping[str, np.ndarray],
    out: Path,
) -> Row:
    """Thumbnails, measures and flags of one ok sample (run in a worker thread)."""
    pixels = {name: np.asarray(images[name][row.index]) for name in images}
    for name, image in pixels.items():
        relative = f"{THUMB_DIR}/{row.index:06d}_{name}.jpg"
        if name in pictures:
            image, row.notes[name] = pictures[name].picture(image)
        _write_thumb(image, out / relative)
        row.thumbs[name] = relative
    sample = {name: values[row.index] for name, values in geometry.items()}
    row.measures = quality.measure(
        pixels["onset"],
        pixels["apex"],
        pixels["trdi"],
        join_repairs(row.repairs),
        transform=sample.get("transform"),
        frame_size=sample.get("frame_size"),
        landmarks=sample.get("landmarks"),
        detect_step=str(sample["detect_step"]) if "detect_step" in sample else None,
    )
    row.flags = quality.flags(row.measures)
    return row


def _write_png(image: np.ndarray, path: Path) -> None:
    path.write_bytes(cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes())


def _write_thumb(image: np.ndarray, path: Path) -> None:
    small = cv2.resize(image, (THUMB_PX, THUMB_PX), interpolation=cv2.INTER_AREA)
    if small.ndim == 3 and small.shape[2] == 3:
        small = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    _, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    path.write_bytes(encoded.tobytes())


# ----------------------------------------------------------------------------- the page

_RULES = {rule.key: rule for rule in quality.RULES}

_STYLE = """
body { font: 13px/1.4 system-ui, sans-serif; margin: 1em 1.5em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin: 1em 0 .3em; }
.boxes { display: flex; flex-wrap: wrap; gap: 1em 2em; align-items: flex-start; }
.boxes section { min-width: 18em; max-width: 46em; overflow-wrap: anywhere; }
table.small td, table.small th { padding: 1px 8px 1px 0; text-align: left; vertical-align: top; }
table.small th { white-space: nowrap; }
table.small td { overflow-wrap: anywhere; }  /* a sha256 wraps inside its box */
.count { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #176617; } .failed { color: #a31515; } .pending { color: #8a6d00; }
.flag { display: inline-block; background: #fde8c8; border: 1px solid #e5a54b;
        border-radius: 3px; padding: 0 4px; margin: 1px 2px 1px 0; }
.note { color: #666; }
.warning { background: #fde8c8; border: 1px solid #e5a54b; padding: .3em .6em; max-width: 60em; }
dt { font-weight: bold; } dd { margin: 0 0 .4em 1.5em; max-width: 60em; }
details pre { background: #f6f6f6; padding: .5em; max-height: 30em; overflow: auto; }
#controls { position: sticky; top: 0; background: #fff; padding: .5em 0; z-index: 2;
            border-bottom: 1px solid #ccc; }
#controls label { margin-right: 1em; }
#samples { border-collapse: collapse; margin-top: .5em; }
#samples th { position: sticky; top: 2.6em; background: #eee; cursor: pointer; z-index: 1;
              text-align: left; padding: 3px 6px; vertical-align: bottom; }
#samples th[data-sort]::after { content: " \\2195"; color: #999; }
#samples td { border-top: 1px solid #ddd; padding: 2px 6px; vertical-align: top; }
#samples td.img { padding: 1px; }
#samples img { display: block; width: 72px; height: 72px; background: #ddd; }  /* the row fits 1400 px */
#samples td.text { min-width: 8em; max-width: 14em; overflow-wrap: anywhere; }
#samples td.id { white-space: nowrap; }
a.filter { cursor: pointer; }
"""

_SCRIPT = """
(function () {
  var table = document.getElementById('samples');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var shown = document.getElementById('shown');
  var filters = ['status', 'subject', 'label', 'flag'];
  function value(name) { return document.getElementById('f-' + name).value; }
  function apply() {
    var count = 0;
    rows.forEach(function (row) {
      var flags = row.dataset.flags ? row.dataset.flags.split(' ') : [];
      var flag = value('flag');
      var keep = filters.slice(0, 3).every(function (name) {
        return !value(name) || row.dataset[name] === value(name);
      }) && (!flag || (flag === '*' ? flags.length > 0 :
                       flag === '-' ? flags.length === 0 : flags.indexOf(flag) >= 0));
      row.hidden = !keep;
      if (keep) { count += 1; }
    });
    shown.textContent = count + ' of ' + rows.length + ' samples shown';
  }
  filters.forEach(function (name) {
    document.getElementById('f-' + name).addEventListener('change', apply);
  });
  Array.prototype.forEach.call(document.querySelectorAll('a.filter'), function (link) {
    link.addEventListener('click', function () {
      filters.forEach(function (name) { document.getElementById('f-' + name).value = ''; });
      document.getElementById('f-' + link.dataset.name).value = link.dataset.value;
      apply();
    });
  });
  var order = {};
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
    if (!th.dataset.sort) { return; }
    th.addEventListener('click', function () {
      var numeric = th.dataset.sort === 'num';
      var sign = order[column] = -(order[column] || -1);
      function key(row) {
        var cell = row.cells[column];
        var text = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent;
        return numeric ? (text === '' ? -Infinity : parseFloat(text)) : text.toLowerCase();
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * sign;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
  apply();
})();
"""


def render_page(rows: Sequence[Row], attrs: Mapping[str, Any], unavailable: Mapping[str, str], store: str) -> str:
    """The report page as HTML text.

    Parameters
    ----------
    rows : sequence of Row
        Every sample, in store order, ok ones with thumbnails, measures and flags.
    attrs : mapping
        The store's ``attrs["mepipe"]``.
    unavailable : mapping
        Flag key -> why this store cannot support it (:func:`mepipe.report.quality.unavailable`).
    store : str
        The store's path or URL, for the title.
    """
    title = f"mepipe report: {attrs.get('dataset', '?')} store {store}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        *_label_warning(rows, attrs),
        '<div class="boxes">',
        _counts(rows),
        _grouped(
            "Failures by reason",
            Counter(reason_kind(r.error) for r in rows if r.status == STATUS_NAMES[FAILED]),
            "status",
            STATUS_NAMES[FAILED],
        ),
        _grouped(
            "Repairs by kind (samples)", Counter(kind for r in rows for kind in {reason_kind(p) for p in r.repairs})
        ),
        _provenance(attrs),
        *_keys(rows),
        "</div>",
        _flag_summary(rows, unavailable),
        _controls(rows),
        _table(rows),
        f"<script>{_SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _counts(rows: Sequence[Row]) -> str:
    status = Counter(row.status for row in rows)
    ok = STATUS_NAMES[OK]
    repaired = sum(1 for row in rows if row.status == ok and row.repairs)
    flagged = sum(1 for row in rows if row.flags)
    lines = [
        ("samples", len(rows), "", ""),
        ("ok", status[ok], "status", ok),
        ("of them repaired", repaired, "", ""),
        ("flagged", flagged, "flag", "*"),
    ]
    lines += [(name, count, "status", name) for name, count in sorted(status.items()) if name != ok]
    body = "".join(
        f'<tr><th>{_link(escape(name), key, value) if key else escape(name)}</th><td class="count">{count}</td></tr>'
        for name, count, key, value in lines
    )
    return f'<section><h2>Samples</h2><table class="small">{body}</table></section>'


def _grouped(title: str, kinds: Counter, key: str = "", value: str = "") -> str:
    """A table of counts per kind (of failure or repair, see :func:`reason_kind`)."""
    if not kinds:
        return f'<section><h2>{escape(title)}</h2><p class="note">none</p></section>'
    body = "".join(
        f'<tr><td class="count">{count}</td><td>{escape(kind)}</td></tr>' for kind, count in kinds.most_common()
    )
    heading = _link(escape(title), key, value) if key else escape(title)
    return f'<section><h2>{heading}</h2><table class="small">{body}</table></section>'


def _flag_summary(rows: Sequence[Row], unavailable: Mapping[str, str]) -> str:
    counts = Counter(flag.key for row in rows for flag in row.flags)
    body = []
    for rule in quality.RULES:
        if rule.key in unavailable:
            count, note = "&ndash;", f'<span class="note">{escape(unavailable[rule.key])}</span>'
        else:
            count, note = str(counts[rule.key]), ""
        body.append(
            f'<tr><td class="count">{count}</td><th>{_link(escape(rule.title), "flag", rule.key)}</th>'
            f"<td>{escape(rule.threshold)} {note}</td></tr>"
        )
    why = "".join(f"<dt>{escape(rule.title)}</dt><dd>{escape(rule.why)}</dd>" for rule in quality.RULES)
    return (
        "<section><h2>Quality flags</h2>"
        '<p class="note">Samples flagged per rule, computed from what the store holds '
        "(ok samples only). Click a name to show only those samples.</p>"
        f'<table class="small">{"".join(body)}</table>'
        f"<details><summary>why these thresholds</summary><dl>{why}</dl></details></section>"
    )


def _label_warning(rows: Sequence[Row], attrs: Mapping[str, Any]) -> list[str]:
    """A banner when the store's samples cannot score a classifier (blank labels, one class)."""
    problem = label_problem([row.label for row in rows], str(attrs.get("classes", "?")))
    if not problem:
        return []
    return [f'<p class="warning" id="label-warning">warning: this store cannot be trained on: {escape(problem)}</p>']


def _crop(config: Mapping[str, Any]) -> str:
    """The store's crop in words (docs/crops.md); stores from before the option were aligned."""
    if config.get("crop", "aligned") == "release":
        return f"release: registered crops resized whole, {'padded' if config.get('keep_aspect') else 'stretched'}"
    return f"aligned: face window {config.get('face_window', 'canonical')}"


def _provenance(attrs: Mapping[str, Any]) -> str:
    versions = attrs.get("versions", {})
    facts = [
        ("dataset", attrs.get("dataset")),
        ("sheet", attrs.get("sheet")),
        ("sheet sha256", attrs.get("sheet_sha256")),
        ("span", attrs.get("span")),
        ("size", attrs.get("size")),
        ("classes", attrs.get("classes")),
        ("crop", _crop(attrs.get("config", {}))),
        ("arrays", ", ".join(attrs.get("config", {}).get("arrays", ())) or None),
        ("flow", _flow_method(attrs.get("flow"))),
        ("created", attrs.get("created")),
        ("built by mepipe", attrs.get("version")),
        ("versions", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))),
    ]
    body = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(str(value))}</td></tr>" for name, value in facts if value is not None
    )
    config = escape(json.dumps(attrs.get("config", {}), indent=2, sort_keys=True))
    return (
        "<section><h2>Provenance</h2>"
        f'<table class="small">{body}</table>'
        f"<details><summary>full configuration</summary><pre>{config}</pre></details>"
        "</section>"
    )


def _flow_method(flow: Mapping[str, Any] | None) -> str | None:
    if not flow:
        return None
    parameters = ", ".join(f"{k}={v}" for k, v in sorted(flow.get("parameters", {}).items()))
    # the parameters name the method: stores of before tvl1-fast recorded it as tvl1
    method = recorded_method(str(flow.get("method")), flow.get("parameters")) or flow.get("method")
    return f"{method} ({parameters})"


def _link(text: str, name: str, value: str) -> str:
    """A link that sets the filter ``name`` to ``value`` (text already escaped)."""
    return f'<a class="filter" href="#samples" data-name="{escape(name)}" data-value="{escape(value)}">{text}</a>'


def _select(name: str, label: str, options: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<option value="{escape(v)}">{escape(t)}</option>' for v, t in options)
    return f'<label>{escape(label)} <select id="f-{name}">{items}</select></label>'


def _controls(rows: Sequence[Row]) -> str:
    def values(attr: str) -> list[tuple[str, str]]:
        return [("", "all")] + [(v, v) for v in sorted({getattr(r, attr) for r in rows})]

    flags = [("", "all"), ("*", "any flag"), ("-", "no flag")]
    flags += [(rule.key, rule.title) for rule in quality.RULES]
    return (
        '<div id="controls">'
        + _select("status", "status", values("status"))
        + _select("subject", "subject", values("subject"))
        + _select("label", "label", values("label"))
        + _select("flag", "flag", flags)
        + '<span id="shown"></span></div>'
    )


_COLUMNS = (
    ("#", "num"),
    ("onset", ""),
    ("apex", ""),
    ("TRDI", ""),
    ("MIDI", ""),
    ("sample", "text"),
    ("subject", "text"),
    ("label", "text"),
    ("frames", "num"),
    ("status", "text"),
    ("motion px", "num"),
    ("off face", "num"),
    ("past frame", "num"),
    ("flags", "text"),
    ("repairs", "text"),
    ("error", "text"),
)


def _shown(rows: Sequence[Row]) -> tuple[Thumbnail, ...]:
    """The array sets' thumbnails some row has, in store order."""
    return tuple(thumb for thumb in thumbnails() if any(thumb.array in row.thumbs for row in rows))


def _thumb_names(rows: Sequence[Row]) -> tuple[str, ...]:
    """The thumbnail columns: the images, then the array sets' pictures where a row has them."""
    return (*THUMBS, *(thumb.array for thumb in _shown(rows)))


def _keys(rows: Sequence[Row]) -> list[str]:
    """A section per legend of the thumbnails shown (the flow's colour wheel)."""
    return [
        f"<section><h2>{escape(thumb.array.capitalize())} key</h2>"
        f'<img src="{THUMB_DIR}/{escape(_key_file(thumb))}" width="{THUMB_PX}" height="{THUMB_PX}" '
        f'alt="{escape(thumb.array)} key"><p class="note">{escape(thumb.key_note)}</p></section>'
        for thumb in _shown(rows)
        if thumb.key is not None
    ]


def _table(rows: Sequence[Row]) -> str:
    names = _thumb_names(rows)
    extra = tuple((name, "") for name in names[len(THUMBS) :])
    columns = (*_COLUMNS[:5], *extra, *_COLUMNS[5:])
    head = "".join(
        f'<th data-sort="{kind}">{escape(name)}</th>' if kind else f"<th>{escape(name)}</th>" for name, kind in columns
    )
    body = "\n".join(_row(row, names) for row in rows)
    return f'<table id="samples"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


def _number(value: float | None, percent: bool = False) -> str:
    if value is None:
        return '<td class="count" data-v=""></td>'
    text = f"{value:.0%}" if percent else f"{value:.2f}"
    return f'<td class="count" data-v="{value:.6g}">{text}</td>'


def _row(row: Row, names: Sequence[str] = THUMBS) -> str:
    cells = [f'<td class="count">{row.index}</td>']
    for name in names:
        if name in row.thumbs:
            note = f' title="{escape(row.notes[name])}"' if name in row.notes else ""
            cells.append(
                f'<td class="img"><img src="{escape(row.thumbs[name])}" loading="lazy" '
                f'width="{THUMB_PX}" height="{THUMB_PX}" alt="{name}"{note}></td>'
            )
        else:
            cells.append('<td class="img"></td>')
    measures = row.measures or quality.Measures()
    flags = "".join(
        f'<span class="flag" title="{escape(_RULES[f.key].threshold)}">'
        f"{escape(_RULES[f.key].title)}: {escape(f.detail)}</span>"
        for f in row.flags
    )
    cells += [
        f'<td class="id">{escape(row.sample_id)}</td>',
        f"<td>{escape(row.subject)}</td>",
        f"<td>{escape(row.label)}</td>",
        f'<td class="count">{row.n_frames if row.status == STATUS_NAMES[OK] else ""}</td>',
        f'<td class="{escape(row.status)}">{escape(row.status)}</td>',
        _number(measures.head_motion),
        _number(measures.off_face, percent=True),
        _number(measures.window_outside, percent=True),
        f'<td class="text">{flags}</td>',
        f'<td class="text">{"<br>".join(escape(r) for r in row.repairs)}</td>',
        f'<td class="text">{escape(row.error)}</td>',
    ]
    keys = " ".join(f.key for f in row.flags)
    return (
        f'<tr data-status="{escape(row.status)}" data-subject="{escape(row.subject)}" '
        f'data-label="{escape(row.label)}" data-flags="{keys}">{"".join(cells)}</tr>'
    )
