"""The change map and ``--changed``: which test classes ran which code, and what a
change can affect."""
