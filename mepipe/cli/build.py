"""Commands: (being written)."""

COMMANDS = []
