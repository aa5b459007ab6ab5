"""Bar charts drawn on the server as SVG (no chart library, no script): each chart is an
``<svg role="img">`` with a ``<title>`` and ``<desc>``, and its figures again as a table
for screen readers (``web/_bar_chart.html``). The drawing scales with its box
(``viewBox``), so it fits a phone."""

from __future__ import annotations

from dataclasses import dataclass

from casebridge.core.money import format_cents

WIDTH = 640
HEIGHT = 220
#: Room under the bars for their labels, and above the tallest for its value.
BOTTOM = 28
TOP = 22


@dataclass(frozen=True)
class Bar:
    label: str
    cents: int
    x: float
    y: float
    width: float
    height: float

    @property
    def amount(self) -> str:
        return format_cents(self.cents)

    @property
    def label_x(self) -> float:
        return round(self.x + self.width / 2, 1)


@dataclass(frozen=True)
class BarChart:
    key: str
    title: str
    description: str
    bars: list[Bar]
    #: The column headings of the table twin: what a bar's label is, and its value.
    label_heading: str
    value_heading: str
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def baseline(self) -> int:
        return self.height - BOTTOM


def bar_chart(
    key: str,
    title: str,
    description: str,
    figures: list[tuple[str, int]],
    *,
    label_heading: str,
    value_heading: str = "Amount",
) -> BarChart:
    """A bar per ``(label, cents)``, scaled to the largest (negative figures draw as
    none; the table shows them)."""
    top = max((cents for _, cents in figures), default=0)
    slot = WIDTH / max(len(figures), 1)
    room = HEIGHT - BOTTOM - TOP
    bars = []
    for n, (label, cents) in enumerate(figures):
        height = room * cents / top if top > 0 and cents > 0 else 0.0
        bars.append(
            Bar(
                label=label,
                cents=cents,
                x=round(n * slot + slot * 0.15, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
            )
        )
    return BarChart(key, title, description, bars, label_heading, value_heading)
