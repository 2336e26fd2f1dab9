"""Collectors: one package per source. Importing this package registers them all."""

import collectors.mqtt
import collectors.snmp  # noqa: F401 - registers the "snmp" collector
