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
