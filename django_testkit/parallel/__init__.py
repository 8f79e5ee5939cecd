"""Parallel runs: the parent's pool of worker processes and what travels between them."""
