"""Errors that reach the user as one line."""

import importlib

from mepipe._shared.text import one_line


class MepipeError(Exception):
    """A problem with the user's input or environment, reported as one line.

    ``exit_code`` follows the CLI's convention: 1 for a failed run, 2 for a usage error
    (bad argument, missing path).
    """

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(one_line(message))
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(MepipeError):
    """A bad argument or a path that does not exist."""

    exit_code = 2


class SheetError(MepipeError):
    """An annotation sheet that cannot be read; names the file and, where known, the row."""


class SampleError(MepipeError):
    """A sample that cannot be processed; its message becomes the sample's ``error``."""


def require(module: str, title: str, feature: str, extra: str) -> None:
    """Import the optional dependency ``module`` (shown as ``title``), or say in one line
    that ``feature`` needs it and which extra installs it."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == module:
            raise MepipeError(f"{feature} needs {title}: pip install 'mepipe[{extra}]'") from None
        raise
