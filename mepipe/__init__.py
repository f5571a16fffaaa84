"""mepipe: micro-expression clips to temporal-ranked and motion-intensity dynamic images."""

__version__ = "0.1.0"
