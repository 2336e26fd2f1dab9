"""Collectors: one package per source. Importing this package registers them all."""

import collectors.icmp  # registers the "icmp" polling collector
import collectors.mqtt  # registers the "mqtt" stream
import collectors.snmp  # registers the "snmp" polling collector
import collectors.trap  # registers the "traps" stream
