"""The README stays a short user's guide whose links land; the code cites pages that exist.

Cheap checks on the Markdown sources only: ``make docs`` builds the site itself (with
warnings as errors, which also catches broken links between the docs pages).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_README_LINES = 250

# [text](target): inline Markdown links, targets without spaces
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_SECTION_CITE = re.compile(r"docs/method\.md,? sections? (\d+)(?: and (\d+))?")


def local_links(markdown: str) -> list[str]:
    """Relative link targets of a Markdown text, without their ``#anchor``."""
    targets = []
    for target in _LINK.findall(markdown):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor on the same page
        targets.append(target.split("#", 1)[0])
    return targets


def missing_targets(markdown: str, base: Path) -> list[str]:
    return [target for target in local_links(markdown) if not (base / target).exists()]


def test_readme_is_a_short_guide():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines, at most {MAX_README_LINES}"


def test_every_page_the_readme_links_exists():
    text = README.read_text(encoding="utf-8")
    docs = [target for target in local_links(text) if target.startswith("docs/")]
    assert "docs/method.md" in docs and "docs/api/index.md" in docs, docs
    assert missing_targets(text, ROOT) == []


def test_link_check_sees_a_missing_page_and_skips_urls(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("# here\n")
    text = (
        "[a](docs/here.md) [b](docs/here.md#a-heading) [c](docs/gone.md#x) "
        "[d](https://example.org/x.md) [e](#usage) [f](mailto:someone@example.org)"
    )
    assert local_links(text) == ["docs/here.md", "docs/here.md", "docs/gone.md"]
    assert missing_targets(text, tmp_path) == ["docs/gone.md"]


def test_docstrings_cite_method_sections_that_exist():
    headings = re.findall(r"^## (\d+)\. ", (ROOT / "docs" / "method.md").read_text(encoding="utf-8"), re.M)
    cited, bare = set(), []
    for path in [*(ROOT / "mepipe").rglob("*.py"), *(ROOT / "pipelines").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        bare += [
            f"{path.name}: {line.strip()}" for line in text.splitlines() if re.search(r"(?<!docs/)method\.md", line)
        ]
        for match in _SECTION_CITE.finditer(text):
            cited.update(number for number in match.groups() if number)
    assert bare == [], "cite the page users have: docs/method.md"
    assert cited, "the scan must see the docstrings' citations"
    assert cited <= set(headings), sorted(cited - set(headings))


# a dotted name under mepipe, or a path of a module in the checkout, as docs and docstrings cite them
_DOTTED = re.compile(r"(?<![\w./-])mepipe(?:\.[A-Za-z_]\w*)+")
_PATH = re.compile(r"(?<![\w.-])(?:mepipe|pipelines|bench|tests)/[\w/]+\.py\b")


def _resolves(name: str) -> bool:
    """``mepipe.a.b.c``: the longest prefix that is a module, then attributes of it (a class's
    fields count: a dataclass field without a default is no class attribute)."""
    import importlib
    import importlib.util

    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            if importlib.util.find_spec(module) is None:
                continue
        except ModuleNotFoundError:
            continue
        try:
            found: object = importlib.import_module(module)
        except ImportError as exc:  # an optional dependency (torch) missing: cannot look inside
            return not (exc.name or "").startswith("mepipe")
        for attribute in parts[cut:]:
            fields = {k for klass in getattr(found, "__mro__", ()) for k in getattr(klass, "__annotations__", {})}
            if hasattr(found, attribute):
                found = getattr(found, attribute)
            elif attribute not in fields:
                return False
        return True
    return False


def _cited_texts() -> list[Path]:
    pages = [README, *(ROOT / "docs").glob("*.md"), *(ROOT / "mepipe" / "data").glob("*.md")]
    code = [path for base in ("mepipe", "pipelines", "bench") for path in (ROOT / base).rglob("*.py")]
    return pages + code


def test_modules_and_names_the_docs_and_docstrings_cite_exist():
    from mepipe.release.plugins import ARRAYS, MODELS, RECIPES, SPOT_FEATURES, SPOTTERS

    stale = []
    for path in _cited_texts():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        # the entry-point groups are names, not modules
        cited = sorted(set(_DOTTED.findall(text)) - {RECIPES, ARRAYS, MODELS, SPOTTERS, SPOT_FEATURES})
        stale += [f"{where}: {name}" for name in cited if not _resolves(name)]
        stale += [f"{where}: {file}" for file in sorted(set(_PATH.findall(text))) if not (ROOT / file).exists()]
    assert stale == []


def test_the_citation_check_sees_a_moved_module():
    assert _DOTTED.findall("see `mepipe.align` and mepipe.imaging.align.aligner.") == [
        "mepipe.align",
        "mepipe.imaging.align.aligner",
    ]
    assert not _resolves("mepipe.align") and not _resolves("mepipe.rankpool.warmup")
    assert _resolves("mepipe.imaging.rankpool.warmup") and _resolves("mepipe.release.recipe.Recipe.frames_dirs")
    assert not _resolves("mepipe.release.recipe.Recipe.no_such_field")
    assert _PATH.findall("(mepipe/cluster.py) and tests/test_docs.py") == ["mepipe/cluster.py", "tests/test_docs.py"]


def test_every_api_page_lists_its_rooms_functions():
    # docs/conf.py writes generated/<page>.names.md (every public function and class of the
    # modules the page's autosummary names) at each build; a page shows it by including it
    api = ROOT / "docs" / "api"
    pages = [page for page in sorted(api.glob("*.md")) if page.stem != "index"]
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert re.search(r"^   mepipe[\w.]*$", text, re.M), f"{page.name} names no module"
        assert f"```{{include}} generated/{page.stem}.names.md\n```" in text, page.name


def _figures_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "docs" / "figures.py")
    assert spec is not None and spec.loader is not None
    figures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figures)
    return figures


def test_the_figure_script_makes_the_committed_figures(tmp_path):
    import cv2

    figures = _figures_script()
    # every figure but the training run's (its own test below), the sample at a small size
    figures.main(["--out", str(tmp_path), "--size", "48", "--only", "one-sample,spotting,classes"])
    for name in ("one-sample", "spotting", "classes"):
        made = cv2.imread(str(tmp_path / f"{name}.png"))
        committed = cv2.imread(str(ROOT / "docs" / "figures" / f"{name}.png"))
        assert made is not None and committed is not None, name
        assert made.shape == committed.shape, name  # the same panels; one-sample committed at the default size
    # same arguments, same bytes: the committed spotting and class figures are these
    for name in ("spotting", "classes"):
        assert (tmp_path / f"{name}.png").read_bytes() == (ROOT / "docs" / "figures" / f"{name}.png").read_bytes()


def test_the_training_figure_is_the_runs_confusion_matrix(tmp_path):
    import cv2

    figures = _figures_script()
    figures.main(["--out", str(tmp_path), "--only", "confusion", "--epochs", "1"])
    made = cv2.imread(str(tmp_path / "confusion.png"))
    committed = cv2.imread(str(ROOT / "docs" / "figures" / "confusion.png"))
    assert made is not None and committed is not None and made.shape == committed.shape


def test_every_figure_is_small_committed_and_shown_where_it_serves():
    figures = _figures_script()
    folder = ROOT / "docs" / "figures"
    assert sorted(p.stem for p in folder.glob("*.png")) == sorted(figures.FIGURES)
    for name, pages in figures.FIGURES.items():
        size = (folder / f"{name}.png").stat().st_size
        assert size < figures.MAX_BYTES, f"docs/figures/{name}.png: {size} bytes"
        for page in pages:
            text = (ROOT / "docs" / page).read_text(encoding="utf-8")
            assert f"](figures/{name}.png)" in text or f"](docs/figures/{name}.png)" in text, (name, page)
