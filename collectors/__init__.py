"""Collectors: one package per source. Importing this package registers them all."""

import collectors.mqtt
import collectors.snmp
import collectors.trap  # noqa: F401 - registers the "traps" stream
