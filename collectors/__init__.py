"""Collectors: one package per source. Importing this package registers them all."""

import collectors.snmp  # noqa: F401 - registers the "snmp" collector
