"""PNG charts of a run (matplotlib, Agg backend): throughput, CPU per request, latency, memory, targets.

One panel per app, one bar per server in the tables' order; rgunicorn's bars are the saturated
ones, TLS rows are hatched. Rows that did not run say why ("n/a") instead of showing a zero.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

import targets  # noqa: E402
from servers import App, Server  # noqa: E402

COLORS = {
    "rgunicorn": "#d9480f",
    "gunicorn": "#4c6ef5",
    "granian": "#37b24d",
    "bjoern": "#9c36b5",
    "uwsgi": "#a07c4f",
    "nginx": "#495057",
}
DPI = 110


def _bars(ax, summary: dict, app: App, server_list: list[Server], value, fmt, ref=None, title=None) -> None:
    rows = [s for s in server_list if (app.key, s.key) in summary]
    labels, values, colors, statuses = [], [], [], []
    for s in rows:
        row = summary[(app.key, s.key)]
        labels.append(s.label)
        values.append(value(row) if row["status"] == "ok" else None)
        statuses.append(row["status"])
        colors.append(COLORS[s.family])
    ys = range(len(rows))
    bars = ax.barh(ys, [v or 0 for v in values], color=colors, height=0.7)
    for bar, s in zip(bars, rows):
        if s.tls:
            bar.set_hatch("///")
            bar.set_edgecolor("white")
    top = max([v for v in values if v] + [ref[1] if ref else 0] + [1])
    for y, v, status in zip(ys, values, statuses):
        text = status if v is None else fmt(v)
        ax.text((v or 0) + top * 0.01, y, text, va="center", fontsize=8, color="#212529" if v else "#868e96")
    if ref:
        ax.axvline(ref[1], color="#212529", linestyle="--", linewidth=1)
        ax.text(ref[1], len(rows) - 0.4, ref[0], fontsize=8, ha="right", va="bottom")
    ax.set_yticks(list(ys), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.22)
    ax.set_title(title or app.label, fontsize=10, loc="left")
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#dee2e6", linewidth=0.6)
    ax.set_axisbelow(True)


def _grid(summary, server_list, panels, fmt, xlabel, title, path) -> None:
    """One bar panel per (app, panel title, value function, reference line) in `panels`."""
    n = len(panels)
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    height = 0.32 * len(server_list) * rows + 1.2 * rows + 1.0
    fig, axes = plt.subplots(rows, cols, figsize=(7.2 * cols, height))
    axes = [axes] if n == 1 else list(axes.flat)
    for ax, (app, panel_title, value, ref) in zip(axes, panels):
        _bars(ax, summary, app, server_list, value, fmt, ref, panel_title)
        ax.set_xlabel(xlabel, fontsize=8)
    for ax in axes[n:]:
        ax.axis("off")
    families = list(dict.fromkeys(s.family for s in server_list))
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[f]) for f in families]
    if any(s.tls for s in server_list):
        families.append("TLS (hatched)")
        handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="#adb5bd", hatch="///", edgecolor="white"))
    fig.legend(handles, families, loc="lower center", ncol=len(families), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=12, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0.35 / height, 1, 1 - 0.45 / height))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _targets(goals: list[targets.Target], path: str) -> None:
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(goals) + 1.2))
    ys = range(len(goals))
    scores, colors = [], []
    for t in goals:
        if t.ratio is None:
            scores.append(0)
            colors.append("#ced4da")
            continue
        score = t.threshold / t.ratio if t.less_is_better else t.ratio / t.threshold
        scores.append(score)
        colors.append("#2f9e44" if t.verdict == "met" else "#e03131")
    ax.barh(ys, scores, color=colors, height=0.6)
    for y, t, score in zip(ys, goals, scores):
        if t.ratio is None:
            label = "n/a (not measured)"
        else:
            sign = "≤" if t.less_is_better else "≥"
            label = f"{t.ratio:.2f}× (target {sign} {t.threshold:g}×)"
        ax.text(score + 0.02, y, label, va="center", fontsize=8)
    ax.axvline(1.0, color="#212529", linestyle="--", linewidth=1)
    ax.set_yticks(list(ys), [t.text for t in goals], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(scores + [1.0]) * 1.35)
    ax.set_xlabel("measured / target (1.0 = target just met)", fontsize=8)
    ax.set_title("Targets of the issue: green met, red missed, grey not measured", fontsize=11, loc="left")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def draw(summary: dict, server_list: list[Server], app_list: list[App], connections: int, out: str) -> list[str]:
    """Write the charts into `out`; returns their file names."""
    made = []

    def name(n: str) -> str:
        made.append(n)
        return os.path.join(out, n)

    def per_app(value, refs=None):
        return [(a, None, value, (refs or {}).get(a.key)) for a in app_list]

    bound = {a.key: ("bound", connections / a.sleep_s) for a in app_list if a.sleep_s}
    _grid(summary, server_list, per_app(lambda r: r["rps"], bound), lambda v: f"{v:,.0f}",
          "requests / s (higher is better)", "Throughput: requests per second, median of rounds", name("rps.png"))  # fmt: skip
    _grid(summary, server_list, per_app(lambda r: r["cpu_us_per_req"]), lambda v: f"{v:,.0f} µs",
          "server CPU µs per request (lower is better)",
          "Server CPU time per request (user + system of all server processes)", name("cpu_per_request.png"))  # fmt: skip
    _grid(summary, server_list, per_app(lambda r: r["p99_ms"]), lambda v: f"{v:,.1f} ms",
          "p99 latency, ms (lower is better)", "Tail latency: p99 under load", name("latency_p99.png"))  # fmt: skip
    hello = next((a for a in app_list if a.key == "hello"), app_list[0])
    memory = [
        (hello, f"{hello.label}: total RSS", lambda r: r["rss_mib"], None),
        (hello, f"{hello.label}: total PSS (shared pages split)", lambda r: r["pss_mib"], None),
    ]
    _grid(summary, server_list, memory, lambda v: f"{v:,.0f} MiB", "MiB, all server processes (lower is better)",
          "Memory under load", name("memory.png"))  # fmt: skip
    measured = [t for t in targets.evaluate(summary, connections) if t.ratio is not None]  # results.md lists the rest
    if measured:
        _targets(measured, name("targets.png"))
    return made
