"""Run mepipe from a checkout without installing it: ``python cli.py build ...``.

Installed, the recipes in ``pipelines/`` are the sub-package ``mepipe.pipelines``
(setup.cfg's ``package_dir``); from a bare checkout this file makes the same mapping,
where the recipe registry (``mepipe.release.registry``) looks for the built-in recipes.
"""

import importlib.util
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))

if importlib.util.find_spec("mepipe") is not None and "mepipe.pipelines" not in sys.modules:
    try:
        importlib.import_module("mepipe.pipelines")
    except ModuleNotFoundError:
        _spec = importlib.util.spec_from_file_location(
            "mepipe.pipelines",
            _HERE / "pipelines" / "__init__.py",
            submodule_search_locations=[str(_HERE / "pipelines")],
        )
        _module = importlib.util.module_from_spec(_spec)
        sys.modules["mepipe.pipelines"] = _module
        _spec.loader.exec_module(_module)
        sys.modules["mepipe"].pipelines = _module  # as an import of the sub-package leaves it

from mepipe.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
