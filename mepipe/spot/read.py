"""The spotting store's readers under their old names (before issue 33 moved them).

The readers live with the clip store's: :func:`mepipe.dataset.open_spotting`,
:func:`mepipe.dataset.loso_splits` (one fold function for both kinds of store),
:func:`mepipe.dataset.window_labels`; the store's format in :mod:`mepipe.store.spotting`.
Code written against ``mepipe.spot.read`` keeps working through these names.
"""

from mepipe.dataset import loso_splits
from mepipe.dataset.spotting import open_spotting, window_labels
from mepipe.store.spotting import open_spotting_store

__all__ = ["loso_splits", "open_spotting", "open_spotting_store", "window_labels"]
