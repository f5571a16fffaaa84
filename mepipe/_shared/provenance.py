"""What a result was made from: file digests and library versions."""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata
from pathlib import Path

from mepipe import __version__

PROVENANCE_PACKAGES = ("numpy", "opencv-contrib-python-headless", "dlib-bin", "numba", "zarr", "dask")


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a store's bytes, recorded with it."""
    versions = {"mepipe": __version__, "python": platform.python_version()}
    for name in PROVENANCE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
