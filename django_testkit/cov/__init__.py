"""Coverage of a run: measured in every process, reported once, checked against thresholds.

Named ``cov`` (like the ``--cov`` options) so that it never reads as the ``coverage`` package.
"""
