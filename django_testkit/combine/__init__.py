"""Artifacts of a run, and ``combine``: the shards of one CI run judged as one run."""
