"""Collectors: one package per source, and the one list of them netmon runs with.

Importing a collector registers nothing: :data:`REGISTRY` below is the whole list,
which the CLI hands to the daemon, the config loader and the reference generators.
A new collector kind is one line here (and its package)."""

from collectors import icmp, mqtt, service, snmp, trap
from netmon.api import Registry

REGISTRY = Registry(
    polling={"icmp": icmp.factory, "service": service.factory, "snmp": snmp.factory},
    streams=[mqtt.MQTT, trap.TRAPS],
    device_kinds=[snmp.SNMP, icmp.ICMP, service.SERVICE],
    sources={"snmp": snmp.metric_sources},
    routes=[snmp.SNMP_ROUTE],
)

__all__ = ["REGISTRY", "icmp", "mqtt", "service", "snmp", "trap"]
