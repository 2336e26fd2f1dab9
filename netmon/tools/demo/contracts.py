"""The demo's ISP contracts, and the file servers that measure what they deliver.

- Telkom Indonesia's contract covers the village-level sites of the kabupaten whose POP
  fibre the script cuts and of the one whose village battery goes flat, so that a month's
  report shows the cut counted against the ISP and the flat battery excluded (power); and
  the villages of a kabupaten the script leaves alone (Kutai Kartanegara).
- Lintasarta's contract covers the villages of Paser, where PLN's announced cut is
  declared (its hours are excluded as power_cut, should a site go down in them).

The script's victims answer through relays it darkens; ICMP on loopback would answer
even behind a "cut" fibre, so only sites the script leaves alone are probed with ICMP
(netmon.tools.demo.province): every contract has such steady sites, so its RTT and loss
figures are not empty, at any size of the demo. Their village offices also get a file
server (netmon.tools.demo.speedtest) and a throughput check that downloads from it every
minute at a pace that stands for what the ISP delivers: some offices meet the contract's
throughput target, some do not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from netmon.tools.demo import script, speedtest

#: the contracts' ids (the year follows) and contracted bandwidth, Mbit/s
TELKOM, LINTAS = "tlk-desa-demo", "lintas-desa-demo"
BANDWIDTH = {TELKOM: 20, LINTAS: 10}
#: kabupaten (by index) the script leaves alone, and whose contract covers them
STEADY = {3: TELKOM, 4: LINTAS}
#: the share of the contracted bandwidth each steady village office's link delivers, in
#: turn: the target is 0.8, so the first meets it and the second does not
DELIVERED = (0.9, 0.65, 0.95, 0.7)
#: the file a throughput check downloads, and how often
FILE_BYTES = 1024 * 1024
EVERY = "60s"


def _villages(content: dict[str, dict[str, Any]], slugs: set[str]) -> list[str]:
    return sorted(
        site["id"]
        for slug in slugs
        for site in content[slug]["sites"]
        if site["kind"] not in ("pop", "noc")
    )


def _slugs(content: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """contract id prefix -> the kabupaten (slugs) it covers."""
    plan = script.plan(content, 1.0)  # the script's victims, by its own rule
    victims = {plan.cut, plan.power}
    kabupaten = [slug for slug in content if slug != "provinsi"]
    story = {slug for slug in kabupaten for s in content[slug]["sites"] if s["id"] in victims}
    out: dict[str, set[str]] = {TELKOM: set(story), LINTAS: set()}
    for k, prefix in STEADY.items():
        if k < len(kabupaten) and kabupaten[k] not in story:
            out[prefix].add(kabupaten[k])
    return out


def contract_file(content: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The content of the demo's contract file (contracts/demo.yaml)."""
    year = datetime.now(UTC).year
    slugs = _slugs(content)
    period = {"start": f"{year}-01-01", "end": f"{year}-12-31"}
    telkom = {
        "id": f"{TELKOM}-{year}",
        "isp": "Telkom Indonesia",
        "title": f"Internet desa gratis {year}",
        **period,
        "measured_at": "router",
        "bandwidth_mbps": BANDWIDTH[TELKOM],
        "sites": _villages(content, slugs[TELKOM]),
        "targets": {
            "availability": 0.99,
            "rtt_p95_ms": 150,
            "loss_ratio": 0.01,
            "throughput_ratio": 0.8,
        },
        "excludes": ["power", "power_cut", "maintenance", "monitoring_stale"],
        "penalties": [{"below": 0.99, "percent": 5}, {"below": 0.97, "percent": 10}],
    }
    lintas = {
        "id": f"{LINTAS}-{year}",
        "isp": "Lintasarta",
        "title": f"Internet desa Paser {year}",
        **period,
        "measured_at": "cpe",
        "bandwidth_mbps": BANDWIDTH[LINTAS],
        "sites": _villages(content, slugs[LINTAS]),
        "targets": {
            "availability": 0.98,
            "rtt_p95_ms": 300,
            "loss_ratio": 0.02,
            "throughput_ratio": 0.8,
        },
    }
    return {"contracts": [c for c in (telkom, lintas) if c["sites"]]}


def paced_offices(content: dict[str, dict[str, Any]]) -> list[tuple[str, int]]:
    """(village office, the pace its file server sends at, bits/s) of every village office
    of the contracted kabupaten the script leaves alone."""
    kabupaten = [slug for slug in content if slug != "provinsi"]
    covered = _slugs(content)
    offices: list[tuple[str, int]] = []
    for k, prefix in sorted(STEADY.items()):
        if k >= len(kabupaten) or kabupaten[k] not in covered[prefix]:
            continue
        for site in content[kabupaten[k]]["sites"]:
            if site["kind"] == "village_office":
                share = DELIVERED[len(offices) % len(DELIVERED)]
                offices.append((site["id"], round(BANDWIDTH[prefix] * 1_000_000 * share)))
    return offices


def file_server_device(site: str, port: int, pace: int) -> dict[str, Any]:
    """A small web server at the village office with a test file: a tcp check says it is
    up, a throughput check downloads the file every minute (what the link delivers)."""
    return {
        "id": f"fs-{site.removeprefix('desa-')}",
        "address": "127.0.0.1",
        "profiles": [],
        "service": {
            "checks": [
                {"name": "web", "kind": "tcp", "port": port},
                {
                    "name": "speed",
                    "kind": "throughput",
                    "url": f"http://127.0.0.1:{port}{speedtest.path(pace, FILE_BYTES)}",
                    "max_bytes": FILE_BYTES,
                    "every": EVERY,
                },
            ]
        },
    }
