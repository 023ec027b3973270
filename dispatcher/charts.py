"""Charts of results as images: PNG for the chat, SVG for the dashboard, drawn by matplotlib (Agg).

Each chart is a `Figure` of its own (never pyplot's global state), so charts may be drawn in worker
threads at once; callers on the event loop use `asyncio.to_thread`. matplotlib is imported on first use:
it costs about a second, which CLI commands that draw nothing should not pay.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Literal

from policy.uplift import Uplift
from storage.daily_stats import DayCounts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Format = Literal["png", "svg"]
SERIES = (("sends", "#4c78a8"), ("opens", "#f58518"), ("clicks", "#54a24b"), ("conversions", "#e45756"))
SIZE_IN = (8.0, 3.4)
DPI = 110


def warm_up() -> None:
    """Import matplotlib ahead of the first chart (`ritm run` does it in a thread at start)."""
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


def _figure() -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")


def _save(figure: Figure, fmt: Format) -> bytes:
    import matplotlib

    buffer = io.BytesIO()
    # SVG text stays text (smaller, selectable, found by the browser tests), not paths.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "ritm"}):
        figure.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    return buffer.getvalue()


def daily_chart(days: Sequence[DayCounts], title: str, fmt: Format = "png") -> bytes:
    """Sends as bars; opens, clicks and conversions as lines, per day."""
    figure = _figure()
    axes = figure.add_subplot()
    labels = [date.fromisoformat(d.day).strftime("%d.%m") for d in days]
    x = list(range(len(days)))
    for name, color in SERIES:
        values = [getattr(d, name) for d in days]
        if name == "sends":
            axes.bar(x, values, color=color, alpha=0.35, label=name)
        else:
            axes.plot(x, values, color=color, marker="o", markersize=3, label=name)
    step = max(1, len(x) // 10)
    axes.set_xticks(x[::step], labels[::step])
    axes.set_title(title, fontsize=11)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="upper right", fontsize=8, frameon=False)
    axes.set_ylim(bottom=0)
    return _save(figure, fmt)


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, fmt: Format = "svg") -> bytes:
    """One bar per label (e.g. revenue per send by segment)."""
    figure = _figure()
    axes = figure.add_subplot()
    axes.barh(list(labels), list(values), color="#4c78a8")
    for y, value in enumerate(values):
        axes.annotate(f"{value:,.2f}", (value, y), xytext=(3, 0), textcoords="offset points", va="center")
    axes.set_title(title, fontsize=11)
    axes.set_xlim(0, max([*values, 0.01]) * 1.18)  # room for the labels right of the bars
    axes.invert_yaxis()
    axes.grid(axis="x", alpha=0.3)
    return _save(figure, fmt)


def uplift_chart(lift: Uplift, fmt: Format = "svg") -> bytes:
    """The difference of conversion rates with its 95 % interval, against zero."""
    figure = _figure()
    figure.set_size_inches(SIZE_IN[0], 1.6)
    axes = figure.add_subplot()
    color = "#54a24b" if lift.significant else "#9d9d9d"
    axes.errorbar(
        [lift.difference * 100],
        [0],
        xerr=[[(lift.difference - lift.low) * 100], [(lift.high - lift.difference) * 100]],
        fmt="o",
        color=color,
        capsize=6,
    )
    axes.axvline(0, color="#444", linewidth=1)
    axes.set_yticks([])
    axes.set_xlabel("uplift, percentage points (95 % interval)")
    return _save(figure, fmt)
