"""The demo's ISP contract: one ISP's contract for this year over the village-level
sites of the kabupaten whose POP fibre the script cuts and of the one whose village
battery goes flat, so that a month's report shows the cut counted against the ISP and
the flat battery excluded (power)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from netmon.tools.demo import script


def contract_file(content: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The content of the demo's contract file (contracts/demo.yaml)."""
    plan = script.plan(content, 1.0)  # the script's victims, by its own rule
    victims = {plan.cut, plan.power}
    slugs = {slug for slug, data in content.items() for s in data["sites"] if s["id"] in victims}
    year = datetime.now(UTC).year
    sites = [
        site["id"]
        for slug in slugs
        for site in content[slug]["sites"]
        if site["kind"] not in ("pop", "noc")
    ]
    contract = {
        "id": f"tlk-desa-demo-{year}",
        "isp": "Telkom Indonesia",
        "title": f"Internet desa gratis {year}",
        "start": f"{year}-01-01",
        "end": f"{year}-12-31",
        "measured_at": "router",
        "bandwidth_mbps": 20,
        "sites": sorted(sites),
        "targets": {
            "availability": 0.99,
            "rtt_p95_ms": 150,
            "loss_ratio": 0.01,
            "throughput_ratio": 0.8,
        },
        "excludes": ["power", "power_cut", "maintenance", "monitoring_stale"],
        "penalties": [{"below": 0.99, "percent": 5}, {"below": 0.97, "percent": 10}],
    }
    return {"contracts": [contract]}
