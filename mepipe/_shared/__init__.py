"""Helpers several rooms use: progress reporting, provenance, small text forms (private)."""
