"""The ISP contracts as series: which contract covers which site, and its contracted
bandwidth and throughput target, so recording rules and dashboards can judge a site
against its contract (utilisation over the contracted bandwidth, delivered throughput
against its target, a contract's availability)."""

from __future__ import annotations

from collections.abc import Mapping

from netmon.api import MetricMeta, MetricType, Sample
from netmon.config.contracts import Contract
from netmon.inventory import Inventory

META = {
    m.name: m
    for m in (
        MetricMeta(
            "netmon_contract_info",
            MetricType.GAUGE,
            "ISP contracts from the contract files: one series per contract and site it "
            "covers; measured_at is router or cpe. Join with * on(site) group_left(contract, "
            "isp).",
        ),
        MetricMeta(
            "netmon_contract_bandwidth_bytes",
            MetricType.GAUGE,
            "Bandwidth a contract promises a site, in bytes per second.",
        ),
        MetricMeta(
            "netmon_contract_throughput_target_ratio",
            MetricType.GAUGE,
            "A contract's throughput target: the share of its bandwidth the site's throughput "
            "checks must deliver on average over a month, 0..1 (only where the contract sets "
            "one).",
        ),
    )
}


def samples(contracts: Mapping[str, Contract], inventory: Inventory) -> list[Sample]:
    """The series of the contracts' sites this instance exports (a shard: its own)."""
    out: list[Sample] = []
    for cid, contract in sorted(contracts.items()):
        for sid in contract.sites:
            if sid not in inventory.sites or not inventory.exported(sid):
                continue
            out.append(
                Sample(
                    "netmon_contract_info",
                    (
                        ("contract", cid),
                        ("isp", contract.isp),
                        ("site", sid),
                        ("measured_at", contract.measured_at),
                    ),
                    1.0,
                )
            )
            out.append(
                Sample(
                    "netmon_contract_bandwidth_bytes",
                    (("contract", cid), ("site", sid)),
                    contract.bandwidth_bytes,
                )
            )
            if contract.targets.throughput_ratio is not None:
                out.append(
                    Sample(
                        "netmon_contract_throughput_target_ratio",
                        (("contract", cid), ("site", sid)),
                        contract.targets.throughput_ratio,
                    )
                )
    return out
