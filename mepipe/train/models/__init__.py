"""The models ``mepipe train`` can train, by name: a registry.

Each entry (a :class:`ModelSpec`) says how to build the network, which store arrays it
eats and how its input images are made from them, and how the trainer feeds it. The
built-in entries are the Adaptive Fusion Network and its ablations (``afn``, ``trdi``,
``midi``, ``concat``, ``mean``, ``global``, ``channel``: :mod:`.fusion`) and the
published STSTNet (``ststnet``: :mod:`.ststnet`). Another model joins with one call to
:func:`register_model` (tests/test_extend_model.py is the worked example) and is then
trained by ``mepipe.train.train(store, out, model=NAME)`` with the same leave-one-subject-out
protocol and outputs; a package names the module that registers it in the entry-point group
``mepipe.models``, and ``mepipe train --model NAME`` imports it (:mod:`mepipe.release.plugins`).

Spotting models sit in the same registry under ``task="spotting"`` (one score per window
of a spotting store, not class logits): the published SOFTNet (``softnet``:
:mod:`.softnet`), trained by ``mepipe spot --spotter softnet`` (:mod:`mepipe.spot.learned`).
The registry's functions answer for recognition unless given ``task="spotting"``, so
``mepipe train`` sees only its own models.

>>> from mepipe.train.models import build_model, get_model
>>> get_model("ststnet").arrays
('flow', 'strain')
>>> sorted(build_model("ststnet", 3).state_dict())[:4]
['bn1.bias', 'bn1.num_batches_tracked', 'bn1.running_mean', 'bn1.running_var']
>>> build_model("softnet", 1, task="spotting").dense
Linear(in_features=784, out_features=400, bias=True)
"""

# the built-in entries register themselves on import (fusion, ststnet; softnet spots)
from . import fusion, softnet, ststnet
from .registry import ModelSpec, build_model, get_model, model_names, register_model, same_arrays

__all__ = [
    "ModelSpec",
    "build_model",
    "fusion",
    "get_model",
    "model_names",
    "register_model",
    "same_arrays",
    "softnet",
    "ststnet",
]
