"""Collectors: one package per source. Importing this package registers them all."""

import collectors.icmp  # noqa: F401 - registers the "icmp" polling collector
import collectors.mqtt  # noqa: F401 - registers the "mqtt" stream
import collectors.snmp  # noqa: F401 - registers the "snmp" polling collector
import collectors.trap  # noqa: F401 - registers the "traps" stream
