"""The method's image algorithms: face alignment (:mod:`~mepipe.imaging.align`), registered
crops resized whole (:mod:`~mepipe.imaging.resize`), rank pooling with the
motion-intensity order (:mod:`~mepipe.imaging.rankpool`), and optical flow and strain
(:mod:`~mepipe.imaging.flow`). Pure functions on arrays; no files, no stores."""
