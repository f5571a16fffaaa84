"""Sphinx configuration: Markdown pages (myst), the API reference from numpydoc docstrings.

``make docs`` builds it with warnings as errors (``sphinx-build -W --keep-going``).
"""

from mepipe import __version__

project = "mepipe"
author = "the mepipe authors"
copyright = "mepipe authors"
release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]

# the API pages: one per room (docs/api/*.md), each module's page generated from its
# docstrings into docs/api/generated/ (not kept in git) at every build
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    # a room's __init__ re-exports its submodules' names in __all__: document each name
    # once, where it is defined
    "ignore-module-all": True,
}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
# numpydoc renders Parameters/Returns itself; class member tables would need a stub page
# per attribute
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

myst_heading_anchors = 3

html_theme = "furo"
html_title = f"mepipe {__version__}"


def _command_line_page() -> None:
    """docs/api/generated/cli.md: every command's ``--help``, from the click commands
    themselves, so the page cannot drift from what ``mepipe`` accepts."""
    from pathlib import Path

    from mepipe.cli import cli

    lines = [
        "# Command line",
        "",
        "Every `mepipe` command's `--help`, generated from the commands at each docs build.",
        "",
    ]
    # make_context applies each command's own settings (its -h alias); resilient: no arguments
    width = {"terminal_width": 100, "max_content_width": 100, "resilient_parsing": True}
    with cli.make_context("mepipe", [], **width) as ctx:
        lines += ["```text", cli.get_help(ctx), "```", ""]
        for name in cli.list_commands(ctx):
            command = cli.get_command(ctx, name)
            assert command is not None
            with command.make_context(name, [], parent=ctx, **width) as sub:
                lines += [f"## mepipe {name}", "", "```text", command.get_help(sub), "```", ""]
    out = Path(__file__).parent / "api" / "generated" / "cli.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))


_command_line_page()
