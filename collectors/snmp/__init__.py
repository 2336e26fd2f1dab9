"""SNMP polling with gufo-snmp; vendor mappings are YAML profiles (see README.md)."""

from collectors.snmp.collector import SnmpCollector
from collectors.snmp.profile import builtin_profiles
from netmon.api import register_collector

register_collector("snmp", lambda _options: SnmpCollector())

__all__ = ["SnmpCollector", "builtin_profiles"]
