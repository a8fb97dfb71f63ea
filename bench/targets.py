"""The issue's targets, each as a ratio measured in one run, with met / missed.

A target whose rows did not run (a server not available) is "n/a", never met.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Target:
    """One target and what the run measured for it."""

    text: str
    threshold: float
    ratio: float | None
    detail: str
    less_is_better: bool = False
    cpu_ratio: float | None = None  # the same comparison in CPU time per request (see evaluate)

    @property
    def verdict(self) -> str:
        if self.ratio is None:
            return "n/a"
        ok = self.ratio <= self.threshold if self.less_is_better else self.ratio >= self.threshold
        return "met" if ok else "missed"


def _rps(summary: dict, app: str, server: str) -> float | None:
    row = summary.get((app, server))
    return row["rps"] if row and row["status"] == "ok" else None


def _cpu(summary: dict, app: str, server: str) -> float | None:
    row = summary.get((app, server))
    return row["cpu_us_per_req"] if row and row["status"] == "ok" else None


def _ratio(summary: dict, text: str, threshold: float, num: tuple[str, float | None], den: tuple[str, float | None],
           app: str | None = None) -> Target:  # fmt: skip
    (nlabel, n), (dlabel, d) = num, den
    if n is None or d is None or d == 0:
        missing = nlabel if n is None else dlabel
        return Target(text, threshold, None, f"{missing}: not measured")
    target = Target(text, threshold, n / d, f"{nlabel} {n:,.0f} / {dlabel} {d:,.0f} req/s")
    if app:
        ours, theirs = _cpu(summary, app, nlabel), _cpu(summary, app, dlabel)
        if ours and theirs:
            target.cpu_ratio = theirs / ours
    return target


def _best(summary: dict, app: str, keys: list[str]) -> tuple[str, float | None]:
    """The fastest of `keys` on `app` that ran, as (key, req/s)."""
    runs = [(k, _rps(summary, app, k)) for k in keys]
    runs = [(k, v) for k, v in runs if v is not None]
    return max(runs, key=lambda kv: kv[1]) if runs else (" or ".join(keys), None)


def evaluate(summary: dict, connections: int) -> list[Target]:
    """Every target of the issue, from the medians in `summary[(app, server)]`.

    Throughput targets also get `cpu_ratio`: the other server's CPU time per request over ours,
    which is what the throughput ratio would be if both were limited by their own CPU time alone.
    It moves much less than req/s when other work shares the machine."""
    r = lambda app, key: (key, _rps(summary, app, key))  # noqa: E731
    ratio = lambda *args: _ratio(summary, *args)  # noqa: E731
    keepalive = ["rgunicorn-gthread", "rgunicorn-gevent"]
    out = [
        ratio("gthread hello (keep-alive) ≥ 1.0× bjoern", 1.0, r("hello", "rgunicorn-gthread"), r("hello", "bjoern"), "hello"),
        ratio(
            "gthread hello ≥ 1.5× granian with 8 threads",
            1.5,
            r("hello", "rgunicorn-gthread"),
            r("hello", "granian-8t"),
            "hello",
        ),
        ratio("gthread hello ≥ 0.6× nginx", 0.6, r("hello", "rgunicorn-gthread"), r("hello", "nginx"), "hello"),
        ratio(
            "sync hello (connection per request) ≥ 4× gunicorn sync",
            4.0,
            r("hello", "rgunicorn-sync"),
            r("hello", "gunicorn-sync"),
            "hello",
        ),
        ratio("gevent hello ≥ 3× gunicorn gevent", 3.0, r("hello", "rgunicorn-gevent"), r("hello", "gunicorn-gevent"),
               "hello"),
    ]
    sleep = _rps(summary, "sleep50", "rgunicorn-gevent")
    bound = connections / 0.05
    out.append(
        ratio(
            f"gevent 50 ms sleep ≥ 90% of the concurrency bound ({connections} / 50 ms)",
            0.9,
            ("rgunicorn-gevent", sleep),
            ("bound", bound),
        )
    )
    out.append(
        ratio(
            "64 KiB body ≥ 0.8× nginx (best rgunicorn keep-alive mode)",
            0.8,
            _best(summary, "body64k", keepalive),
            r("body64k", "nginx"),
            "body64k",
        )
    )
    out.append(
        ratio(
            "streaming ≥ 3× granian (best rgunicorn keep-alive mode vs best granian)",
            3.0,
            _best(summary, "stream", keepalive),
            _best(summary, "stream", ["granian", "granian-8t"]),
            "stream",
        )
    )
    for mode in ("sync", "gthread", "gevent"):
        ours, theirs = summary.get(("hello", f"rgunicorn-{mode}")), summary.get(("hello", f"gunicorn-{mode}"))
        text = f"{mode}: total RSS with 2 workers ≤ gunicorn's"
        if not ours or not theirs or ours["status"] != "ok" or theirs["status"] != "ok":
            out.append(Target(text, 1.0, None, "not measured", less_is_better=True))
        else:
            detail = f"{ours['rss_mib']:.1f} / {theirs['rss_mib']:.1f} MiB (PSS {ours['pss_mib']:.1f} / {theirs['pss_mib']:.1f})"
            out.append(Target(text, 1.0, ours["rss_mib"] / theirs["rss_mib"], detail, less_is_better=True))
    return out
