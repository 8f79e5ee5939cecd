"""``python -m django_testkit``: see :mod:`django_testkit.cli`."""

from __future__ import annotations

import sys

from django_testkit.cli import main

sys.exit(main())
