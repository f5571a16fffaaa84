"""The zarr store: its schema, writing, reading, chunk files, layout rewrites and checks.

The names used across mepipe are importable from here; the submodules hold one job each:
:mod:`~mepipe.store.schema` (what a store holds, creating and opening one),
:mod:`~mepipe.store.write`, :mod:`~mepipe.store.read`, :mod:`~mepipe.store.chunkio`
(chunk files written directly), :mod:`~mepipe.store.layout` (shards, compaction) and
:mod:`~mepipe.store.verify` (checksums). Code reads a store through
:func:`~mepipe.store.schema.array` (an array of it: zarr types ``group[name]`` as an
array or a group), :func:`~mepipe.store.schema.read_array` (its values, as NumPy) and
:func:`~mepipe.store.schema.store_attrs` (its ``attrs["mepipe"]``).
"""

from mepipe.arrays import IMAGES
from mepipe.store.read import as_str, detect_step_counts, read_columns, read_fields, sample_checksum, set_checksum
from mepipe.store.schema import (
    ALIGNMENT_FIELDS,
    FAILED,
    IMAGE_COMPRESSOR,
    OK,
    OUTCOME_FIELDS,
    PENDING,
    SHEET_FIELDS,
    STATUS_NAMES,
    STORE_ATTRS,
    Alignment,
    SampleResult,
    Stored,
    array,
    base_images,
    checksum,
    create_sets,
    create_store,
    held_sets,
    image_names,
    is_image,
    is_store,
    local_path,
    missing_alignment,
    name_clashes,
    open_store,
    per_sample_arrays,
    read_array,
    set_checksum_field,
    set_checksums,
    store_attrs,
)
from mepipe.store.write import FieldWriter, alignment_values, sample_fields, write_images, write_sample

__all__ = [
    "ALIGNMENT_FIELDS",
    "FAILED",
    "IMAGES",
    "IMAGE_COMPRESSOR",
    "OK",
    "OUTCOME_FIELDS",
    "PENDING",
    "SHEET_FIELDS",
    "STATUS_NAMES",
    "STORE_ATTRS",
    "Alignment",
    "FieldWriter",
    "SampleResult",
    "Stored",
    "alignment_values",
    "array",
    "as_str",
    "base_images",
    "checksum",
    "create_sets",
    "create_store",
    "detect_step_counts",
    "held_sets",
    "image_names",
    "is_image",
    "is_store",
    "local_path",
    "missing_alignment",
    "name_clashes",
    "open_store",
    "per_sample_arrays",
    "read_array",
    "read_columns",
    "read_fields",
    "sample_checksum",
    "set_checksum",
    "set_checksum_field",
    "set_checksums",
    "sample_fields",
    "store_attrs",
    "write_images",
    "write_sample",
]
