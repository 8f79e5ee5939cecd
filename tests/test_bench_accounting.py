"""``bench/realsuite_accounting.py``: the side-by-side table the real-suite benchmark prints."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from realsuite_accounting import Accounting, side_by_side  # noqa: E402


def _run(
    wall: float, workers: float, tests: float, extra: dict[str, float] | None = None
) -> Accounting:
    phases = {"tests (to 'Ran N tests')": tests, **(extra or {})}
    return Accounting(0, wall, cpu_total=wall * 1.5, cpu_workers=workers, phases=phases)


def test_medians_per_runner_and_the_difference() -> None:
    runs = {
        "django": [_run(2.0, 1.0, 1.0), _run(3.0, 1.2, 1.4), _run(2.5, 1.1, 1.2)],
        "ours": [_run(2.4, 0.9, 0.9, {"teardown": 0.1}), _run(2.2, 1.0, 1.0)],
    }
    lines = side_by_side(runs)
    assert lines[0].split() == ["django", "ours", "difference"]
    rows = {line[:34].strip(): line[34:].split() for line in lines[1:]}
    assert rows["wall"] == ["2.500s", "2.300s", "-0.200s"]
    assert rows["CPU, parent"] == ["2.650s", "2.500s", "-0.150s"]
    assert rows["CPU, workers"] == ["1.100s", "0.950s", "-0.150s"]
    assert rows["tests (to 'Ran N tests')"] == ["1.200s", "0.950s", "-0.250s"]
    assert rows["teardown"] == ["-", "0.100s"]
