"""Looking at a store: the ``inspect`` summary (:mod:`~mepipe.report.summary`), the HTML
page of every sample (:mod:`~mepipe.report.page`), its quality flags
(:mod:`~mepipe.report.quality`) and contact-sheet previews (:mod:`~mepipe.report.preview`)."""
