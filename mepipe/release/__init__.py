"""A dataset release on disk: the recipe contract, the folder scan, discovery, frames,
sheets, label lists and the release check.

:mod:`~mepipe.release.recipe` (the contract and the records), :mod:`~mepipe.release.names`
and :mod:`~mepipe.release.scan` (names and folders, leaves), :mod:`~mepipe.release.discover`
(where the sheet and the frames are), :mod:`~mepipe.release.frames` (frame lookup and
decoding), :mod:`~mepipe.release.sheet`, :mod:`~mepipe.release.labels`,
:mod:`~mepipe.release.check`.
"""
