"""``--timeline PATH`` end to end: one self-contained HTML page with the run's phases, a
lane per worker (a replacement worker marked where it took over), a bar per class
coloured by how it ended, and the lower bound with how far the run was from it."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.projects import POOL_PROJECT, copy_project, run_tests

_CAPTION = re.compile(
    r"Tests took (?P<took>[\d.]+)s on (?P<workers>\d+) workers?; lower bound "
    r"(?P<bound>[\d.]+)s \(longest class [\d.]+s, [\d.]+s of work per worker\): "
    r"(?P<ratio>[\d.]+) x the bound\. (?P<runs>\d+) class runs: (?P<passed>\d+) passed, "
    r"(?P<failed>\d+) failed, (?P<died>\d+) lost with their worker\. Whole run [\d.]+s\."
)


class _Page(HTMLParser):
    """The page's bars (fill colour and hover text), lanes, and anything it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.titles: list[str] = []
        self.texts: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "title":
            self.titles.append(data)
        elif data.strip():
            self.texts.append(data.strip())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(POOL_PROJECT, tmp_path / "pool")


def _read(path: Path) -> tuple[_Page, str]:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    return page, text


def test_a_parallel_run_with_a_crash_draws_every_worker_and_class(project: Path) -> None:
    page_path = project / "timeline.html"
    # Recorded as the longest class, the crashing one goes first, so that a new worker
    # takes over its slot while classes are still waiting (after the last, none would).
    store = project / ".testkit" / "durations.json"
    store.parent.mkdir()
    trouble = {"work.tests.test_trouble.TroubleTests": 100.0}
    store.write_text(json.dumps({"format": 1, "units": trouble}), encoding="utf-8")
    env = {"POOL_OUTCOMES": "1", "POOL_CRASH": "exit"}
    run = run_tests(project, "--parallel", "2", "--timeline", str(page_path), env=env)
    assert run.returncode == 1, run.describe()
    page, text = _read(page_path)
    # Self-contained: nothing loaded from anywhere, no script.
    assert not [tag for tag, attrs in page.tags if tag in ("script", "link", "img", "iframe")]
    assert not re.search(r"\b(src|href)=", text)
    caption = _CAPTION.search(text)
    assert caption is not None, text
    assert caption["workers"] == "2"
    assert float(caption["ratio"]) >= 0.99
    assert float(caption["took"]) >= float(caption["bound"]) * 0.99
    # Every class ran once, and the crashed one once more is not possible: one bar each.
    bars = [title for title in page.titles if title.startswith("work.tests.")]
    assert len(bars) == int(caption["runs"]) == 10, bars
    assert caption["died"] == "1"
    crashed = [title for title in bars if "its worker died" in title]
    assert len(crashed) == 1
    assert crashed[0].startswith("work.tests.test_trouble.TroubleTests: ")
    failed = [title for title in bars if ", failed" in title]
    assert int(caption["failed"]) == len(failed) >= 2
    assert any("OutcomeTests" in title and "failed: " in title for title in failed), failed
    # The replacement worker is marked where it took over.
    assert any(
        re.fullmatch(r"a new worker \(pid \d+\) took over from pid \d+", title)
        for title in page.titles
    ), page.titles
    assert {"worker 1", "worker 2"} <= set(page.texts)
    for phase in ("database setup", "tests", "teardown", "coverage and reports"):
        assert any(title.startswith(f"{phase}: ") for title in page.titles), phase


def test_a_serial_run_draws_one_lane(project: Path) -> None:
    page_path = project / "reports" / "timeline.html"
    run = run_tests(project, "--timeline", str(page_path), "work.tests.test_plain")
    assert run.returncode == 0, run.describe()
    page, text = _read(page_path)
    caption = _CAPTION.search(text)
    assert caption is not None, text
    assert caption["workers"] == "1"
    assert "in-process" in page.texts
    bars = [title for title in page.titles if title.startswith("work.tests.")]
    assert len(bars) == int(caption["runs"]) == 4, bars
    slow = next(title for title in bars if title.startswith("work.tests.test_plain.SlowerTests"))
    assert float(re.search(r": ([\d.]+)s", slow)[1]) >= 0.2  # type: ignore[index]


def test_a_timeline_path_that_cannot_be_written_is_one_line(project: Path) -> None:
    run = run_tests(project, "--timeline", ".", "work.tests.test_plain")
    assert run.returncode == 1, run.describe()
    assert run.stderr.strip().splitlines() == [
        "ConfigurationError: --timeline = '.' cannot be written: it is a directory; give a "
        "file path in a writable directory, such as 'reports/timeline.html'."
    ]
