"""Build the netmon Grafana dashboards and write them to grafana/dashboards/*.json.

    python grafana/generate.py           # (re)write the JSON models
    python grafana/generate.py --check   # exit 1 if the committed JSON is not current

The output is deterministic (sorted keys, 2-space indent, trailing newline), so the
committed files diff cleanly and a test can compare them with a fresh build.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `grafana` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grafana import contracts, health, links, noc, site, sla
from grafana.panels import JSON

OUT = Path(__file__).resolve().parent / "dashboards"

#: file name -> builder, one per dashboard
BUILDERS: dict[str, Callable[[], JSON]] = {
    "noc.json": noc.build,
    "site.json": site.build,
    "links.json": links.build,
    "sla.json": sla.build,
    "health.json": health.build,
    "contracts.json": contracts.build,
}

#: (dashboard uid, panel title) -> why the panel's queries return nothing in `netmon
#: demo`. The integration test still runs them (they must parse) and fails when one of
#: them does return data: then the entry is stale and goes.
NO_DATA_IN_DEMO: dict[tuple[str, str], str] = {
    ("netmon-health", "Traps received"): (
        "netmon demo runs no trap receiver, so netmon_traps_received_total never exists there"
    ),
}

#: (dashboard uid, panel title) -> why the panel may show nothing in `netmon demo`: it
#: shows events the demo may or may not have at the moment (nothing dropped, reset or at
#: risk is the healthy case). The integration test runs them (they must parse) and
#: accepts data or none.
MAY_BE_EMPTY_IN_DEMO: dict[tuple[str, str], str] = {
    ("netmon-contracts", "Gangguan sekarang yang dihitung terhadap ISP"): (
        "only contracted sites down for a cause other than power appear; the demo's fibre "
        "cut on a contracted link comes and goes with its script"
    ),
    ("netmon-site", "Values dropped by reason"): (
        "the panel shows only reasons that dropped something (rate > 0); a healthy demo "
        "site may drop nothing in the queried range"
    ),
    ("netmon-site", "Counter resets and 64-bit fallbacks"): (
        "the panel shows only resets and fallbacks that happened (rate > 0); the demo's "
        "healthy sites neither reboot nor fake 64-bit counters"
    ),
    ("netmon-site", "Interfaces at wrap risk"): (
        "only 32-bit counters whose speed x interval can exceed 2^32 bytes are at risk; a "
        "demo site polled with 64-bit counters has none"
    ),
    ("netmon-site", "Check failures by reason"): (
        "the panel shows only reasons that failed a check (rate > 0); the healthy village "
        "office the Site dashboard is checked with passes all its checks (the dead "
        "camera's refusals are checked on its own site: test_demo_dashboards.py)"
    ),
}


def render(model: JSON) -> str:
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


def build_all() -> dict[str, str]:
    """file name -> JSON text of every dashboard."""
    return {name: render(build()) for name, build in BUILDERS.items()}


def stale(out: Path | None = None) -> list[str]:
    """Dashboard files in `out` (default grafana/dashboards) that are missing or differ
    from a fresh build."""
    out = out or OUT
    return [
        name
        for name, text in build_all().items()
        if not (out / name).exists() or (out / name).read_text() != text
    ]


def main(argv: Sequence[str] | None = None, out: Path | None = None) -> int:
    out = out or OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed JSON is not current"
    )
    args = parser.parse_args(argv)
    if args.check:
        differing = stale(out)
        for name in differing:
            print(f"{out / name} is not current: run python grafana/generate.py")
        return 1 if differing else 0
    out.mkdir(exist_ok=True)
    for name, text in build_all().items():
        (out / name).write_text(text)
    print(f"wrote {len(BUILDERS)} dashboards to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
