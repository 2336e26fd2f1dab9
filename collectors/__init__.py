"""Collectors: one package per source. Importing this package registers them all:
icmp and snmp (polling), mqtt and trap (streaming)."""

from collectors import icmp, mqtt, snmp, trap

__all__ = ["icmp", "mqtt", "snmp", "trap"]
