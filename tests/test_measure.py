"""A worker's checkpoint: what ran before it survives the process dying without a save."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from coverage.data import CoverageData

SCRIPT = """
import os, sys
sys.path.insert(0, {code!r})
from django_testkit.cov import measure
from django_testkit.cov.measure import CoverageSpec

spec = CoverageSpec(config_file=False, options={{"run:source": [{code!r}]}}, fragments={out!r})
cov = measure.start(spec, "worker")
import shapes
shapes.area(2)
measure.checkpoint(cov)
shapes.area(0)
os._exit(3)
"""


def test_a_checkpoint_survives_a_dying_process(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "shapes.py").write_text(
        textwrap.dedent(
            """\
            def area(side):
                if side:
                    return side * side
                return 0
            """
        )
    )
    out = tmp_path / "data"
    out.mkdir()
    script = SCRIPT.format(code=str(code), out=str(out))
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.returncode == 3, completed.stderr
    data = CoverageData(str(out / "worker"))
    data.read()
    # Lines 1-3 ran before the checkpoint; line 4 ran after it and died with the process.
    assert sorted(data.lines(str(code / "shapes.py")) or []) == [1, 2, 3]
