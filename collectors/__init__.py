"""Collectors: one package per source. Importing this package registers them all:
icmp, snmp and service (polling), mqtt and trap (streaming)."""

from collectors import icmp, mqtt, service, snmp, trap

__all__ = ["icmp", "mqtt", "service", "snmp", "trap"]
