"""``--timeline PATH``: one self-contained HTML page that shows where a run's time went.

The run's phases (database setup, tests, teardown, coverage and reports) on one
time axis, and below them one lane per worker (one for the process itself in a
run without workers) with a bar per test class: hover shows the class, how long
it took and how it ended; failed classes and classes whose worker died are
coloured apart, and a worker that replaced a dead one is marked where it took
over. A dashed line marks the lower bound of the tests phase (its longest class,
or all of its work shared evenly, whichever is longer) and the caption says how
far the run was from it. Pure: data in, HTML text out; no script, no network.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

WIDTH = 1000
LABEL = 150
ROW = 26
COLOURS = {"passed": "#4c9a5b", "failed": "#d0453c", "died": "#7d3fb0"}
PHASE_COLOURS = ("#8aa4c8", "#c8b58a", "#9cc88a", "#c88ab4", "#8ac8c2", "#b0b0b0")


@dataclass(frozen=True)
class Bar:
    """One test class as it ran in one lane."""

    lane: str
    key: str
    start: float
    end: float
    #: "passed", "failed" or "died".
    ending: str = "passed"
    pid: int = 0


@dataclass
class Timeline:
    """What a run did when (``time.monotonic()`` seconds)."""

    started: float
    ended: float
    phases: list[tuple[str, float, float]] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    workers: int = 1
    title: str = "django-testkit run"
    #: Phases of several runs drawn together (combine): group -> its phases; a bar's
    #: lane "GROUP · worker 1" is drawn under its group's phases.
    phase_rows: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)

    def tests_phase(self) -> tuple[float, float]:
        every = [*self.phases, *(phase for row in self.phase_rows.values() for phase in row)]
        found = [(start, end) for name, start, end in every if name == "tests"]
        if found:
            return min(start for start, _ in found), max(end for _, end in found)
        return (min((b.start for b in self.bars), default=self.started), self.ended)

    def bound(self) -> tuple[float, float, float]:
        """The tests phase's lower bound: (bound, longest class, work over the workers)."""
        per_class: dict[str, float] = {}
        for bar in self.bars:
            per_class[bar.key] = per_class.get(bar.key, 0.0) + bar.end - bar.start
        longest = max(per_class.values(), default=0.0)
        shared = sum(per_class.values()) / max(self.workers, 1)
        return max(longest, shared), longest, shared


def endings(bars: Iterable[Bar]) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "died": 0}
    for bar in bars:
        counts[bar.ending] += 1
    return counts


def _x(moment: float, timeline: Timeline) -> float:
    span = max(timeline.ended - timeline.started, 1e-9)
    return LABEL + (moment - timeline.started) / span * (WIDTH - LABEL - 10)


def _rect(x: float, y: float, width: float, colour: str, tip: str, text: str = "") -> str:
    shown = html.escape(text) if width > 7 * len(text) else ""
    label = f'<text x="{x + 3:.1f}" y="{y + 16}" class="in">{shown}</text>' if shown else ""
    return (
        f'<g><title>{html.escape(tip)}</title><rect x="{x:.1f}" y="{y}" '
        f'width="{max(width, 1.0):.1f}" height="{ROW - 4}" fill="{colour}" />{label}</g>'
    )


GROUP = " · "


def _lanes(timeline: Timeline) -> dict[str, list[Bar]]:
    lanes: dict[str, list[Bar]] = {}
    for bar in sorted(timeline.bars, key=lambda bar: (bar.lane, bar.start)):
        lanes.setdefault(bar.lane, []).append(bar)
    return lanes


def _rows(timeline: Timeline) -> list[tuple[str, list[Any]]]:
    """The page's rows, top down: phases, then lanes (each group's phases above its lanes)."""
    rows: list[tuple[str, Any]] = []
    if timeline.phases or not timeline.phase_rows:
        rows.append(("phases", timeline.phases))
    groups: dict[str, list[Any]] = {group: [] for group in timeline.phase_rows}
    loose: list[Any] = []
    for lane, bars in _lanes(timeline).items():
        group = lane.split(GROUP)[0] if GROUP in lane else ""
        (groups.setdefault(group, []) if group else loose).append((lane, bars))
    rows.extend(loose)
    for group in sorted(groups):
        if group in timeline.phase_rows:
            rows.append((f"{group}{GROUP}phases", timeline.phase_rows[group]))
        rows.extend(groups[group])
    return rows


def to_document(timeline: Timeline) -> dict[str, Any]:
    """The timeline as JSON data, in seconds from its start (for a run's artifacts)."""
    origin = timeline.started
    return {
        "title": timeline.title,
        "workers": timeline.workers,
        "seconds": timeline.ended - origin,
        "phases": [[name, start - origin, end - origin] for name, start, end in timeline.phases],
        "bars": [
            [bar.lane, bar.key, bar.start - origin, bar.end - origin, bar.ending, bar.pid]
            for bar in timeline.bars
        ],
    }


def together(parts: list[tuple[str, Mapping[str, Any]]], title: str) -> Timeline:
    """Several runs' timelines (``to_document`` data, by group name) side by side, each
    from its own start: the shards of one CI run, as the CI ran them at once."""
    bars: list[Bar] = []
    rows: dict[str, list[tuple[str, float, float]]] = {}
    workers, ended = 0, 0.0
    for group, data in parts:
        workers += int(data["workers"])
        ended = max(ended, float(data["seconds"]))
        rows[group] = [(str(n), float(s), float(e)) for n, s, e in data["phases"]]
        for lane, key, start, end, ending, pid in data["bars"]:
            bars.append(
                Bar(f"{group}{GROUP}{lane}", str(key), float(start), float(end), ending, int(pid))
            )
    return Timeline(0.0, ended, [], bars, workers, title, rows)


def render(timeline: Timeline, failures: Mapping[str, str] | None = None) -> str:
    """The page; ``failures`` says, per class key, what went wrong (for the hover text)."""
    failures = failures or {}
    layout = _rows(timeline)
    rows = 1 + len(layout)
    height = rows * ROW + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        'role="img" aria-label="timeline">'
    ]
    for row, (lane, items) in enumerate(layout):
        y = row * ROW + (8 if row else 2)
        parts.append(f'<text x="4" y="{y + 16}" class="lane">{html.escape(lane)}</text>')
        if lane == "phases" or lane.endswith(f"{GROUP}phases"):
            for index, (name, start, end) in enumerate(items):
                x = _x(start, timeline)
                width = _x(end, timeline) - x
                tip = f"{name}: {end - start:.2f}s"
                colour = PHASE_COLOURS[index % len(PHASE_COLOURS)]
                parts.append(_rect(x, y, width, colour, tip, name))
            continue
        previous_pid = 0
        for bar in items:
            x = _x(bar.start, timeline)
            width = _x(bar.end, timeline) - x
            what = {"passed": "passed", "failed": "failed", "died": "its worker died"}
            tip = f"{bar.key}: {bar.end - bar.start:.2f}s, {what[bar.ending]}"
            if bar.key in failures:
                tip += f" ({failures[bar.key]})"
            if bar.pid:
                tip += f"; pid {bar.pid}"
            if previous_pid and bar.pid and bar.pid != previous_pid:
                parts.append(
                    f'<g class="new"><title>a new worker (pid {bar.pid}) took over from pid '
                    f'{previous_pid}</title><line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 2}" '
                    f'y2="{y + ROW - 2}" /></g>'
                )
            previous_pid = bar.pid or previous_pid
            short = bar.key.rsplit(".", 1)[-1]
            parts.append(_rect(x, y, width, COLOURS[bar.ending], tip, short))
    bound, longest, shared = timeline.bound()
    begun, finished = timeline.tests_phase()
    if bound > 0:
        x = _x(begun + bound, timeline)
        parts.append(
            f'<g class="bound"><title>lower bound: {bound:.2f}s after the tests began</title>'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{rows * ROW + 10}" /></g>'
        )
    axis_y = rows * ROW + 28
    total = timeline.ended - timeline.started
    for step in range(6):
        moment = timeline.started + total * step / 5
        parts.append(
            f'<text x="{_x(moment, timeline):.1f}" y="{axis_y}" class="axis">'
            f"{total * step / 5:.1f}s</text>"
        )
    parts.append("</svg>")
    took = finished - begun
    ratio = f"{took / bound:.2f} x the bound" if bound > 0 else "no classes ran"
    counts = endings(timeline.bars)
    caption = (
        f"Tests took {took:.2f}s on {timeline.workers} "
        f"{'worker' if timeline.workers == 1 else 'workers'}; lower bound {bound:.2f}s "
        f"(longest class {longest:.2f}s, {shared:.2f}s of work per worker): {ratio}. "
        f"{len(timeline.bars)} class runs: {counts['passed']} passed, {counts['failed']} "
        f"failed, {counts['died']} lost with their worker. Whole run {total:.2f}s."
    )
    return _PAGE.format(
        title=html.escape(timeline.title), caption=html.escape(caption), svg="\n".join(parts)
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font: 14px sans-serif; margin: 16px; color: #222; }}
svg text.lane {{ font-size: 12px; fill: #333; }}
svg text.in {{ font-size: 11px; fill: #fff; pointer-events: none; }}
svg text.axis {{ font-size: 11px; fill: #555; text-anchor: middle; }}
svg g.bound line {{ stroke: #222; stroke-dasharray: 4 3; }}
svg g.new line {{ stroke: #000; stroke-width: 3; }}
.key span {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{caption}</p>
<p class="key">
<span style="background:#4c9a5b"></span>passed
<span style="background:#d0453c"></span>failed
<span style="background:#7d3fb0"></span>its worker died (crash or timeout)
<span style="border-left:3px solid #000;height:12px"></span>a new worker took over
<span style="border-left:1px dashed #000;height:12px"></span>lower bound
</p>
{svg}
</body>
</html>
"""
