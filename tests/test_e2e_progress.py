"""The progress of a parallel run without a terminal: plain lines on lines of their own,
and a time-left estimate that is right, against a generated suite of known durations."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.projects import POOL_PROJECT, RUN_TIMEOUT, copy_project, manage_environment

#: Seconds each generated class sleeps (four tests each): 32 s of work, 16-17 s on 2 workers.
CLASSES = [6.0, 5.0, 5.0, 4.0, 4.0, 3.0, 3.0, 2.0]
TESTS_PER_CLASS = 4
# The estimate is left out of a line written once every test has ended.
_STATUS = re.compile(
    r"^\[testkit\] (\d+)/(\d+) tests, \d+ failed, [\d:]+(?:, ~(\d+):(\d\d) left)?$"
)


def _generate(project: Path) -> None:
    lines = ["import time", "", "from django.test import SimpleTestCase", ""]
    for number, seconds in enumerate(CLASSES):
        lines += ["", f"class Known{number}Tests(SimpleTestCase):"]
        for test in range(TESTS_PER_CLASS):
            lines += [f"    def test_{test}(self):", f"        time.sleep({seconds / 4!r})", ""]
    (project / "work" / "tests" / "test_known.py").write_text("\n".join(lines), encoding="utf-8")
    units = {
        f"work.tests.test_known.Known{number}Tests": seconds
        for number, seconds in enumerate(CLASSES)
    }
    store = project / ".testkit" / "durations.json"
    store.parent.mkdir(exist_ok=True)
    store.write_text(json.dumps({"format": 1, "units": units}), encoding="utf-8")


@pytest.mark.skipif(sys.platform != "linux", reason="timing of sleeping tests")
def test_time_left_is_within_a_fifth_of_the_truth_at_a_quarter_half_and_three_quarters(
    tmp_path: Path,
) -> None:
    project = copy_project(POOL_PROJECT, tmp_path / "pool")
    _generate(project)
    env = manage_environment(backend="sqlite", env={"CI": "true", "POOL_PLAIN_INTERVAL": "0.25"})
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "test",
            "--noinput",
            "--parallel",
            "2",
            "work.tests.test_known",
        ],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[tuple[float, str]] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    for line in process.stderr:
        lines.append((time.monotonic(), line.rstrip("\n")))
        assert time.monotonic() < deadline
    assert process.wait(timeout=RUN_TIMEOUT) == 0, "\n".join(text for _, text in lines)
    output = "\n".join(text for _, text in lines)
    ended = next(at for at, text in lines if text.startswith("Ran 32 tests"))
    statuses = [(at, _STATUS.match(text)) for at, text in lines if "[testkit]" in text]
    # Each progress line is a line of its own, never written into the dots.
    assert statuses, output
    assert all(match for _, match in statuses), output
    assert sum(text.count(".") for _, text in lines if set(text) == {"."}) == 32, output
    estimates = [(at, match) for at, match in statuses if match and match[3] is not None]
    # Only the line of a finished run leaves the estimate out.
    assert all(match[1] == match[2] for _, match in statuses if match and match[3] is None)
    begun = statuses[0][0] - 0.25
    for fraction in (0.25, 0.5, 0.75):
        moment = begun + fraction * (ended - begun)
        at, match = min(estimates, key=lambda item: abs(item[0] - moment))
        assert match is not None
        estimate = int(match[3]) * 60 + int(match[4])
        actual = ended - at
        print(f"{fraction:.2f}: estimate {estimate}s, actual {actual:.2f}s")
        # Within a fifth of the time actually left, plus the display's rounding to seconds.
        assert abs(estimate - actual) <= 0.2 * actual + 0.5, (fraction, estimate, actual, output)
