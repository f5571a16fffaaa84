"""The training stage (needs the ``train`` extra: torch)."""
