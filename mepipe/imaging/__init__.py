"""The method's image algorithms: face alignment (:mod:`~mepipe.imaging.align`), registered
crops resized whole (:mod:`~mepipe.imaging.resize`), rank pooling with the
motion-intensity order (:mod:`~mepipe.imaging.rankpool`), optical flow and strain
(:mod:`~mepipe.imaging.flow`) and their pictures (:mod:`~mepipe.imaging.flowcolor`).
Pure functions on arrays; no files, no stores."""
