"""`netmon report` on the demo's own data (issue 15's "done when"): the fibre cut counts
against the ISP whose contract covers the villages behind it, the flat battery is
excluded (power), and the quality figures are not empty: the contracts' steady villages
are probed with ICMP, and their offices' links measured by throughput checks."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from collectors.icmp import icmp_available
from netmon.tools.demo import contracts as demo_contracts
from netmon.tools.demo import province, script
from tests.demo_harness import INTERVAL, SITES, DemoStack
from tests.helpers import ROOT, wait_for

pytestmark = pytest.mark.integration
WITA = timezone(timedelta(hours=8))  # the demo's sites' zone (the site files' default)
NO_DATA = "tidak ada data"


def report(demo: DemoStack, out: Path, contract: str) -> dict[str, dict[str, str]]:
    """The CSV rows (by site) of the contract's report for this month, made with the
    demo's config, journal and Prometheus."""
    found = re.search(r"^\s+config\s+(\S+netmon\.yaml)", demo.stdout, re.MULTILINE)
    assert found, "the demo's tour names its config"
    month = datetime.now(UTC).astimezone(WITA).strftime("%Y-%m")
    cmd = [sys.executable, "-m", "netmon", "report", "-c", found.group(1), "--month", month]
    cmd += ["--contract", contract, "--prometheus", demo.prometheus, "--out", str(out)]
    cmd += ["--no-pdf", "--scrape-interval", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    with (out / f"report-{month}-contract-{contract}.csv").open() as f:
        return {row["site"]: row for row in csv.DictReader(f)}


def test_the_cut_counts_against_the_isp_the_battery_does_not_and_quality_is_measured(
    demo_stack: DemoStack, tmp_path: Path
) -> None:
    plan = demo_stack.plan
    content = province.province(SITES, 0)
    contracts = {c["id"]: c for c in demo_contracts.contract_file(content)["contracts"]}
    telkom = next(cid for cid in contracts if cid.startswith(demo_contracts.TELKOM))
    behind_cut = [s for s in plan.cut_sites if s in contracts[telkom]["sites"]]
    assert behind_cut
    assert plan.power in contracts[telkom]["sites"]

    rows: dict[str, dict[str, str]] = {}

    def cut_over_and_battery_flat() -> bool:
        """The cut's outages are closed (in the journal: the sites are back up and their
        outage was counted) and the battery's village is down for lack of power."""
        sites = demo_stack.sites()
        back = all(sites[s]["status"] in ("up", "degraded") for s in behind_cut)
        flat = (sites[plan.power]["status"], sites[plan.power]["cause"]) == ("down", "power")
        if not (back and flat):
            return False
        rows.update(report(demo_stack, tmp_path / "telkom", telkom))
        # the battery's outage is open: the report takes it from the state file
        excluded = all(float(rows[s]["excluded_seconds"]) > 0 for s in plan.power_sites)
        # the whole cut journaled, not its first part: a site's outage is written as
        # parts (down, then unreachable behind the POP), and "degraded" is not "over"
        whole = cut - 4 * INTERVAL
        return excluded and all(float(rows[s]["counted_seconds"]) >= whole for s in behind_cut)

    cut = plan.at(script.REPAIR_AT - script.CUT_AT)  # the cut's length by the script's clock
    wait_for(
        cut_over_and_battery_flat,
        plan.at(script.REPAIR_AT) + 150,
        "the fibre cut and spliced, its outages journaled, and the battery flat",
    )
    # netmon sees each edge of the cut within a few polls
    for site in behind_cut:
        assert float(rows[site]["counted_seconds"]) == pytest.approx(cut, abs=4 * INTERVAL)
    # the flat battery's village and the sites that share its connection: excluded
    for site in plan.power_sites:
        battery = rows[site]
        assert (battery["counted_seconds"], battery["outages_counted"]) == ("0", "0"), site
        assert float(battery["excluded_seconds"]) > 0, site

    paced = dict(demo_contracts.paced_offices(content))
    for cid, contract in contracts.items():
        rows = report(demo_stack, tmp_path / cid, cid)
        steady = [s for s in contract["sites"] if s not in plan.relayed]
        assert steady, cid
        if icmp_available():  # the demo probes only where this process may
            for site in steady:
                assert rows[site]["rtt_p95_ms"] != NO_DATA, (cid, site)
                assert 0 <= float(rows[site]["loss_ratio"]) <= 1, (cid, site)
        offices = [s for s in contract["sites"] if s in paced]
        assert offices, cid
        for site in offices:
            share = paced[site] / (contract["bandwidth_mbps"] * 1_000_000)
            assert float(rows[site]["throughput_ratio"]) == pytest.approx(share, rel=0.1)
        without = [s for s in contract["sites"] if s not in paced]
        assert all(rows[s]["throughput_ratio"] == NO_DATA for s in without), cid
