"""Running a build: its configuration, the per-sample stages, the Dask graph, the
schedulers and clusters it runs on, and the store lock.

Named ``engine`` rather than ``build``: :mod:`mepipe.build` is the public entry point, and
``build/`` is the folder name every ``.gitignore`` drops.
"""
