"""Dataset recipes, one module per release, installed as ``mepipe.pipelines``.

Each module defines ``RECIPE``, an instance of :class:`mepipe.recipe.Recipe`.
"""
