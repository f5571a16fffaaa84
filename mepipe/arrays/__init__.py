"""The array sets a store can hold, one declaration each (:mod:`~mepipe.arrays.registry`).

Each ``--arrays`` name is an :class:`~mepipe.arrays.registry.ArraySet`: its arrays (dtype,
shape, dims), the frames it needs, how it is computed, its provenance and its report
thumbnails. The store's schema, the build, the readers and the report read them from the
registry. The built-in sets, in store order:

* :mod:`~mepipe.arrays.images`: ``trdi``, ``midi``, ``onset``, ``apex`` (the default);
* :mod:`~mepipe.arrays.flow`: ``flow`` (with ``strain``) and ``flow_apex_offset``;
* :mod:`~mepipe.arrays.sequence`: ``sequence``;
* :mod:`~mepipe.arrays.landmarks`: ``landmarks_aligned``.

A long-video (spotting) store's ``--arrays`` are per-frame features
(:mod:`~mepipe.arrays.perframe`), declared alike: the built-in ones, ``validity``,
``regions``, ``mdmd``, ``motion`` (the default) and ``cells``, in :mod:`~mepipe.arrays.pairs`;
the face stream, ``face`` and ``face_gray``, in :mod:`~mepipe.arrays.face`.

Adding a set is one module declaring an :class:`ArraySet` and one :func:`register` call
(``docs/arrays.md``; ``tests/test_extend_arrays.py`` is the worked example)::

    from mepipe.arrays import ArraySet, ArraySpec, Computed, register

    register(ArraySet("apex_difference", (ArraySpec("apex_difference", "float32",
                      ("size", "size", "channels"), ("y", "x", "channel"), fill=float("nan")),),
                      frames=lambda span: (span.apex,),
                      compute=lambda clip: Computed({"apex_difference": ...}),
                      summary="apex minus onset"))
"""

from mepipe.arrays import face, flow, images, landmarks, pairs, sequence
from mepipe.arrays.perframe import (
    PairInput,
    PerFrameFeature,
    default_features,
    feature_names,
    features,
    get_feature,
    register_feature,
)
from mepipe.arrays.registry import (
    AlignedClip,
    ArraySet,
    ArraySpec,
    Computed,
    Span,
    Thumbnail,
    array_owners,
    array_sets,
    derived_arrays,
    derived_names,
    get_set,
    provenance,
    register,
    set_choices,
    set_names,
    store_arrays,
    thumbnails,
)

for _declared in (
    images.TRDI,
    images.MIDI,
    images.ONSET,
    images.APEX,
    flow.FLOW,
    flow.FLOW_APEX_OFFSET,
    sequence.SEQUENCE,
    landmarks.LANDMARKS_ALIGNED,
):
    register(_declared)

for _feature in (
    pairs.VALIDITY,
    pairs.REGIONS_FEATURE,
    pairs.MDMD,
    pairs.MOTION,
    pairs.CELLS,
    face.FACE,
    face.FACE_GRAY,
):
    register_feature(_feature)

#: the default ``--arrays``: the store mepipe always wrote
IMAGES = tuple(s.name for s in array_sets() if s.base)

__all__ = [
    "IMAGES",
    "AlignedClip",
    "ArraySet",
    "ArraySpec",
    "Computed",
    "PairInput",
    "PerFrameFeature",
    "Span",
    "Thumbnail",
    "array_owners",
    "array_sets",
    "derived_arrays",
    "default_features",
    "derived_names",
    "feature_names",
    "features",
    "get_feature",
    "get_set",
    "provenance",
    "register",
    "register_feature",
    "set_choices",
    "set_names",
    "store_arrays",
    "thumbnails",
]
