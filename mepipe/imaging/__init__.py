"""The method's image algorithms: face alignment (:mod:`~mepipe.imaging.align`) and rank
pooling with the motion-intensity order (:mod:`~mepipe.imaging.rankpool`). Pure functions
on arrays; no files, no stores."""
