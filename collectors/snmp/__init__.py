"""SNMP polling with gufo-snmp; vendor mappings are YAML profiles (see README.md)."""

from collections.abc import Mapping, Sequence
from typing import Any

from collectors.snmp.collector import BASE_META, SnmpCollector
from collectors.snmp.device import SNMP
from collectors.snmp.exporter import SNMP_ROUTE
from collectors.snmp.params import SnmpParams, V3User
from collectors.snmp.profile import builtin_profiles
from netmon.api import MetricMeta


def factory(_options: Mapping[str, Any]) -> SnmpCollector:
    return SnmpCollector()


def metric_sources() -> Sequence[tuple[MetricMeta, str]]:
    """Its families and where each comes from (the base ones, then each profile's), for
    the metric reference."""
    out = [(meta, "snmp collector") for meta in BASE_META]
    for name, profile in sorted(builtin_profiles().items()):
        out.extend((meta, f"profile `{name}`") for meta in profile.metric_meta())
    return out


__all__ = [
    "SNMP",
    "SNMP_ROUTE",
    "SnmpCollector",
    "SnmpParams",
    "V3User",
    "builtin_profiles",
    "factory",
    "metric_sources",
]
