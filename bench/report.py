"""results.md: the medians of the rounds, the ratios, the targets, the machine, versions and commands.

Every figure in a row is the median over rounds of that row's own runs; errors are the sum over
rounds. Ratios divide medians measured in the same run.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from importlib import metadata

import charts
import servers
import targets
from servers import App, Server

REPO = os.path.dirname(servers.BENCH)


def _run(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    return (p.stdout + p.stderr).strip().splitlines()[0] if (p.stdout + p.stderr).strip() else "?"


def machine_info() -> dict:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "load_before": os.getloadavg(),
    }


def versions() -> dict:
    def pkg(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    try:
        with open(os.path.join(os.path.dirname(sys.executable), os.pardir, "rgunicorn-source.txt")) as f:
            source = f.read().strip()
    except OSError:
        source = "unknown source"
    return {
        "rgunicorn": f"{pkg('rgunicorn')} ({source})",
        "gunicorn": pkg("gunicorn"),
        "gevent": pkg("gevent"),
        "granian": pkg("granian"),
        "bjoern": pkg("bjoern"),
        "uWSGI": pkg("uwsgi"),
        "Flask": pkg("flask"),
        "Django": pkg("django"),
        "nginx": _run([servers.nginx_binary(), "-v"]).removeprefix("nginx version: nginx/"),
        "wrk": _run(["wrk", "-v"]).split(" Copyright")[0].removeprefix("wrk "),
        "Python": platform.python_version(),
    }


def summarize(records: list[dict]) -> dict:
    """(app, server) → medians over the rounds that ran, or the reason none did."""
    by_cell: dict[tuple[str, str], list[dict]] = {}
    for rec in records:
        by_cell.setdefault((rec["app"], rec["server"]), []).append(rec)
    out = {}
    for cell, recs in by_cell.items():
        ok = [r for r in recs if r["status"] == "ok"]
        if not ok:
            out[cell] = {"status": recs[0]["status"], "reason": recs[0]["reason"]}
            continue
        med = lambda key: statistics.median(r[key] for r in ok if r.get(key) is not None)  # noqa: E731
        out[cell] = {
            "status": "ok",
            "rounds": len(ok),
            "failed_rounds": len(recs) - len(ok),
            "rps": med("rps"),
            "rps_rounds": [r["rps"] for r in ok],
            "p50_ms": med("p50_ms"),
            "p99_ms": med("p99_ms"),
            "errors": sum(r["errors"] for r in ok),
            "requests": sum(r["requests"] for r in ok),
            "rss_mib": med("rss_mib"),
            "pss_mib": med("pss_mib"),
            "processes": max(r["processes"] for r in ok),
            "cpu_us_per_req": med("cpu_us_per_req"),
            "other_cpu_pct": med("other_cpu_pct"),
            "log_problems": sum(r["log_problems"] for r in ok),
        }
    return out


def ceiling(summary: dict, server: Server, app: App, connections: int) -> tuple[str, float | None]:
    """What bounds this row: nginx with the same bytes (with `Connection: close` for rows that
    close every connection), or connections / sleep for the I/O-bound app. TLS rows have none
    (the suite has no nginx TLS row)."""
    if server.tls:
        return "", None
    if app.sleep_s:
        return "bound", connections / app.sleep_s
    if not app.ceiling_app:
        return "", None
    key = "nginx-close" if server.closes else "nginx"
    row = summary.get((app.ceiling_app, key))
    return key, row["rps"] if row and row["status"] == "ok" else None


def _fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}×"


def _fmt_rps(x: float) -> str:
    return f"{x / 1000:.1f}k" if x >= 10000 else f"{x:,.0f}"


def _ok(row: dict | None) -> bool:
    return bool(row) and row["status"] == "ok"


def table(summary: dict, app: App, server_list: list[Server], connections: int) -> list[str]:
    # TLS rows add a column: the row against the same server and mode over plain HTTP.
    tls = any(s.tls and (app.key, s.key) in summary for s in server_list)
    plain_head, plain_rule = (" × plain HTTP (CPU) |", "--:|") if tls else ("", "")
    lines = [
        "| server | req/s | p50 ms | p99 ms | errors | RSS MiB (PSS) | CPU µs/req | × gunicorn same mode |"
        + plain_head + " × ceiling | req/s per round | others' CPU |",
        "|---|--:|--:|--:|--:|--:|--:|--:|" + plain_rule + "--:|---|--:|",
    ]
    for server in server_list:
        row = summary.get((app.key, server.key))
        if row is None:
            continue
        if row["status"] != "ok":
            reason = " / ".join(row["reason"].replace("|", "\\|").splitlines())[:300]
            lines.append(f"| {server.label} | {row['status']} | {reason} |" + " |" * (9 if tls else 8))
            continue
        plain_cell = ""
        if tls:
            plain = summary.get((app.key, servers.plain_peer(server) or ""))
            if _ok(plain):
                cpu = row["cpu_us_per_req"] / plain["cpu_us_per_req"]
                plain_cell = f" {_fmt_ratio(row['rps'] / plain['rps'])} ({_fmt_ratio(cpu)}) |"
            else:
                plain_cell = " — |"
        peer = servers.gunicorn_peer(server)
        peer_row = summary.get((app.key, peer)) if peer else None
        vs_gunicorn = row["rps"] / peer_row["rps"] if peer_row and peer_row["status"] == "ok" else None
        ceil_key, ceil = ceiling(summary, server, app, connections)
        vs_ceiling = row["rps"] / ceil if ceil else None
        ceil_note = f" ({ceil_key})" if vs_ceiling is not None and ceil_key not in ("nginx",) else ""
        errors = f"{row['errors']:,}" + (f" +{row['log_problems']} log" if row["log_problems"] else "")
        if row["failed_rounds"]:
            errors += f", {row['failed_rounds']} round(s) failed"
        per_round = " / ".join(_fmt_rps(x) for x in row["rps_rounds"])
        lines.append(
            f"| {server.label} | **{_fmt_rps(row['rps'])}** | {row['p50_ms']:.2f} | {row['p99_ms']:.1f} | {errors} "
            f"| {row['rss_mib']:.0f} ({row['pss_mib']:.0f}) | {row['cpu_us_per_req']:.0f} | {_fmt_ratio(vs_gunicorn)} "
            f"|{plain_cell} {_fmt_ratio(vs_ceiling)}{ceil_note} | {per_round} | {row['other_cpu_pct']:.0f}% |"
        )
    return lines


def tls_section(records: list[dict], meta: dict, server_list: list[Server]) -> list[str]:
    """How the TLS rows were run: certificates, what was negotiated, wrk's preload."""
    tls_rows = [s for s in server_list if s.tls and any(r["server"] == s.key for r in records)]
    if not tls_rows:
        return []
    tls = meta.get("tls") or {}
    md = [
        "## TLS",
        "",
        "TLS rows load `https://127.0.0.1:{port}/` with the same wrk command. Both servers get the same "
        "certificate set, made once for the run with the `openssl` command (an RSA-2048 server certificate for "
        "127.0.0.1 and localhost signed by a throwaway RSA-2048 CA; wrk does not verify it), as "
        "`--certfile {certfile} --keyfile {keyfile}`:",
        "",
        "```sh",
        *tls.get("certificates", ["(not recorded)"]),
        "```",
        "",
        "with `ext.cnf`: " + "; ".join(f"`{line}`" for line in tls.get("certificate_extensions", [])) + ".",
        "",
        "Negotiated with the suite's client (Python `ssl`, offering ALPN `http/1.1`) before each run:",
        "",
    ]
    for server in tls_rows:
        seen = sorted({r["tls"] for r in records if r["server"] == server.key and r.get("tls")})
        md.append(f"- {server.label}: {'; '.join(seen) or 'not recorded'}")
    if any(s.full_handshakes for s in tls_rows):
        md += [
            "",
            "Rows with a full TLS handshake per request (the sync worker closes every connection) run wrk with "
            "`LD_PRELOAD=handshake.so` (`bench/wrk/handshake.c`, built per run): wrk then never resumes a TLS "
            "session (otherwise it offers the last one on every reconnect, and a server that can resume skips the "
            "RSA signature), and does not call `SSL_connect` in a busy loop while it waits for the server's "
            "handshake messages (wrk 4.1 does, which took more CPU than the servers on this machine). Check made "
            f"at the start of this run: {tls.get('handshake_preload_check') or 'not recorded'}.",
        ]
    return md + [""]


def write(records: list[dict], meta: dict, server_list: list[Server], app_list: list[App], out: str) -> None:
    summary = summarize(records)
    args = meta["args"]
    conns = args["connections"]
    made = charts.draw(summary, server_list, app_list, conns, out)
    goals = targets.evaluate(summary, conns)
    m = meta["machine"]
    md = [
        "# rgunicorn performance suite: results",
        "",
        f"Run {meta['started']} → {meta['finished']} (UTC) with `{' '.join(meta['argv'])}`"
        + (" — **smoke mode: too short to quote**" if args["smoke"] else "")
        + ".",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}. "
        f"wrk runs on the same cores as the servers (`-t{args['threads']} -c{conns}`, {args['duration']} s per run, "
        f"{args['rounds']} alternating round(s); medians). Load average before: "
        f"{', '.join(f'{x:.2f}' for x in m['load_before'])}; after: {', '.join(f'{x:.2f}' for x in meta['load_after'])}. "
        "The machine is shared with other work: see the *others' CPU* column.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
        "",
        "## Targets (ratios of medians in this run)",
        "",
        "| target | ratio | verdict | from | same ratio in CPU µs/req |",
        "|---|--:|---|---|--:|",
    ]
    for t in goals:
        if t.ratio is not None:
            md.append(f"| {t.text} | {_fmt_ratio(t.ratio)} | **{t.verdict}** | {t.detail} | {_fmt_ratio(t.cpu_ratio)} |")
    unmeasured = [f"{t.text} ({t.detail})" for t in goals if t.ratio is None]
    if unmeasured:  # rows that did not run (a subset of the suite, or a peer that is not available)
        md += ["", "Not measured in this run (n/a): " + "; ".join(unmeasured) + "."]
    md += [
        "",
        "The verdict is on the req/s ratio, as the issue states its targets. The last column is the other "
        "server's CPU time per request divided by ours: what the ratio would be if each server were limited "
        "by its own CPU time alone. It is the steadier figure when other work shares the machine, and where "
        "the two columns disagree the machine's noise, or the load generator, is in the req/s ratio.",
    ]
    md += [
        "",
        "## Figures",
        "",
        "Columns: requests/s; wrk's latency percentiles; errors summed over rounds (connect, read, write, "
        "timeout and non-2xx; `+N log` = error lines in the server's own log); the largest total RSS of all "
        "server processes during the run (PSS in brackets: shared pages split between processes); "
        "server CPU time (user + system, all processes, from /proc) per request; the ratio to gunicorn in "
        "the same worker mode; the ratio to the ceiling: nginx with the same bytes (`nginx-close` = nginx "
        "answering `Connection: close` requests, for rows that close every connection) or, for the sleep "
        "app, connections / 50 ms; the req/s of each round; the share of the machine's CPU that other "
        "processes (neither the server nor wrk) used during the run, median of rounds. Tables with TLS rows "
        "add *× plain HTTP*: the TLS row's req/s over the same server and mode without TLS (and, in brackets, "
        "its CPU time per request over the plain row's: the cost of TLS); a TLS row's *× gunicorn* is against "
        "gunicorn's TLS row in the same mode, and it has no ceiling (no nginx TLS row).",
        "",
    ]
    for app in app_list:
        md += [f"### {app.label}", ""] + table(summary, app, server_list, conns) + [""]
    md += ["## Charts", ""] + [f"![{name}]({name})" for name in made] + [""]
    md += ["## Commands", "", "Servers (run from `bench/apps`, `{app}` = the app's module, `{port}` a free port):", ""]
    for server in server_list:
        md.append(f"- {server.label}: `{servers.command_template(server)}`" + (f" — {server.notes}" if server.notes else ""))
    md += ["", "Load (`-s` scripts in `bench/wrk/`; the POST script sends 4 KiB):", ""]
    for app in app_list:
        wrk = next((r["wrk"] for r in records if r["app"] == app.key and "wrk" in r), None)
        if wrk:
            shown = " ".join(os.path.relpath(a, REPO) if a.startswith(REPO) else a for a in wrk)
            md.append(f"- {app.label}: `{shown.rsplit(' ', 1)[0]} http://127.0.0.1:{{port}}/`")
    md.append("- nginx-close rows add `-H 'Connection: close'`.")
    md.append("")
    md += tls_section(records, meta, server_list)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md))

