"""The run's results as a markdown table and a JSON file, with the machine they ran on."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

COLUMNS = [
    "N (dead)",
    "netmon ms CPU/device-poll",
    "exporter ms/device-poll",
    "ratio",
    "lag p50 / p99 s",
    "RSS MB",
    "RSS/device KB",
    "scrape s gzip p50 (max) / plain",
    "samples",
    "loop stall max s (window <= / since start)",
    "stalls > 50 ms",
    "agent CPU %",
]


def _f(v: object, digits: int = 3) -> str:
    if v is None:
        return "NA"
    if isinstance(v, float):
        return f"{v:.{digits}g}" if abs(v) < 10 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def row(r: dict[str, Any]) -> list[str]:
    n = r["netmon"]
    e = r.get("exporter", {})
    return [
        f"{r['devices']:,} ({r['dead']:,})",
        _f(n["cpu_ms_per_poll"]),
        _f(e.get("cpu_ms_per_poll")),
        _f(r.get("ratio")),
        f"{_f(n['lag_p50_s'])} / {_f(n['lag_p99_s'])}",
        _f(n["rss_mb"]),
        _f(n["rss_per_device_kb"]),
        f"{_f(n['scrape_gzip_s_p50'])} ({_f(n['scrape_gzip_s_max'])}) / {_f(n['scrape_plain_s'])}",
        _f(n["samples"]),
        f"{_f(n['loop_window_max_le_s'])} / {_f(n['loop_max_since_start_s'])}",
        _f(n["loop_stalls_over_50ms"]),
        _f(round(100 * n["agent_cpu_share"], 1)),
    ]


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    return "\n".join(lines)


def details(results: list[dict[str, Any]]) -> str:
    """What the table leaves out: polls, varbinds, startup, the exporter's own numbers."""
    out = []
    for r in results:
        n, e = r["netmon"], r.get("exporter", {})
        out.append(
            f"- N={r['devices']:,}: startup {n['startup_s']} s, warm-up {n['warmup_s']} s, "
            f"window {n['window_s']} s, {n['polls']:,.0f} polls ({n['skipped']} skipped), "
            f"netmon {100 * n['cpu_share']:.1f}% of a core, "
            f"{n['varbinds_per_live_poll']} varbinds per live poll, agent "
            f"{n['agent_varbinds_per_s']:,} varbinds/s in {n['agent_requests_per_s']:,} "
            f"requests/s; /metrics {n['bytes_plain'] / 1e6:.1f} MB plain, "
            f"{_f((n['bytes_gzip'] or 0) / 1e6)} MB gzip; answer build p99 "
            f"{_f(n['answer_build_p99_s'])} s; first scrape after start (waits for the first "
            f"build) {_f(n.get('scrape_first_after_start_s'))} s"
        )
        if n.get("reload_s"):
            out.append(
                f"  reloads (SIGHUP to logged): {', '.join(f'{t} s' for t in n['reload_s'])}; "
                f"loop stalls over 50 ms meanwhile: {n['reload_loop_stalls_over_50ms']}, worst "
                f"<= {n['reload_loop_window_max_le_s']} s"
            )
        if e:
            out.append(
                f"  exporter: {e['scrapes']:,} scrapes ({e['scrapes_ok']:,} ok), "
                f"scrape p50 {_f(e['scrape_s_p50'])} s, RSS {e['rss_mb']} MB, "
                f"{e['varbinds_per_live_poll']} varbinds per live scrape"
            )
    return "\n".join(out)


def machine() -> dict[str, Any]:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "revision": _git_revision(),
    }


def _git_revision() -> str:
    """The checkout's commit, read from .git (no git process)."""
    git = Path(__file__).resolve().parents[2] / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            head = (git / head[5:]).read_text().strip()
    except OSError:
        return ""
    return head[:12]


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
