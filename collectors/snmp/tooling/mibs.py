"""Standard MIB tables `netmon profile new` knows: where each lives, and a profile snippet.

A snippet is profile YAML data (a table, or scalars with their metrics) with metric names
of the contract. Tables a built-in profile already reads take that profile's table, so the
two never drift; vendor subtrees only point at the built-in profile that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class MibTable:
    """One thing a walk may contain."""

    title: str
    #: found when the walk has an OID under one of these
    roots: tuple[str, ...]
    #: "profile.table": the snippet is that built-in profile's table
    builtin: str | None = None
    #: a built-in profile that reads this (vendor subtrees: no snippet of their own)
    covered_by: str | None = None
    table: dict[str, Any] | None = None
    scalars: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    #: what to review before using it (a YAML comment above it)
    note: str = ""


def _col(oid: str, kind: str = "gauge") -> dict[str, Any]:
    return {"oid": oid} if kind == "gauge" else {"oid": oid, "type": kind}


_ENT = "1.3.6.1.2.1.47.1.1.1.1"
_SENSOR = "1.3.6.1.2.1.99.1.1.1"
_LA = "1.3.6.1.4.1.2021.10.1"
_DSK = "1.3.6.1.4.1.2021.9.1"
_MEM = "1.3.6.1.4.1.2021.4"
_UPS_BATTERY = "1.3.6.1.2.1.33.1.2"
_UPS_INPUT = "1.3.6.1.2.1.33.1.3.3.1"
_UPS_OUTPUT = "1.3.6.1.2.1.33.1.4.4.1"
_LLDP_REM = "1.0.8802.1.1.2.1.4.1.1"

TABLES: tuple[MibTable, ...] = (
    MibTable(
        "IF-MIB ifTable/ifXTable",
        ("1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"),
        builtin="if_mib.interfaces",
    ),
    MibTable(
        "HOST-RESOURCES-MIB hrProcessorTable",
        ("1.3.6.1.2.1.25.3.3.1",),
        builtin="host_resources.processors",
    ),
    MibTable(
        "HOST-RESOURCES-MIB hrStorageTable",
        ("1.3.6.1.2.1.25.2.3.1",),
        builtin="host_resources.storage",
    ),
    MibTable(
        "ENTITY-MIB entPhysicalTable",
        (_ENT,),
        table={
            "name": "entities",
            "walk": [_ENT],
            "columns": {
                "entPhysicalDescr": _col(f"{_ENT}.2", "string"),
                "entPhysicalClass": _col(f"{_ENT}.5"),
                "entPhysicalName": _col(f"{_ENT}.7", "string"),
                "entPhysicalFirmwareRev": _col(f"{_ENT}.9", "string"),
                "entPhysicalSoftwareRev": _col(f"{_ENT}.10", "string"),
                "entPhysicalSerialNum": _col(f"{_ENT}.11", "string"),
                "entPhysicalModelName": _col(f"{_ENT}.13", "string"),
            },
            "labels": {"entity": "@index"},
            "metrics": [
                {
                    "name": "netmon_entity_info",
                    "help": "Physical entities (chassis, boards, ports, transceivers) of "
                    "ENTITY-MIB; join on (site, device, entity).",
                    "info": {
                        "name": "entPhysicalName",
                        "descr": "entPhysicalDescr",
                        "class": "entPhysicalClass",
                        "model": "entPhysicalModelName",
                        "serial": "entPhysicalSerialNum",
                        "firmware": "entPhysicalFirmwareRev",
                        "software": "entPhysicalSoftwareRev",
                    },
                }
            ],
        },
        note="one row per physical part: keep only if you need the inventory",
    ),
    MibTable(
        "ENTITY-SENSOR-MIB entPhySensorTable",
        (_SENSOR,),
        table={
            "name": "sensors",
            "walk": [_SENSOR],
            "columns": {
                "entPhySensorType": _col(f"{_SENSOR}.1"),
                "entPhySensorScale": _col(f"{_SENSOR}.2"),
                "entPhySensorPrecision": _col(f"{_SENSOR}.3"),
                "entPhySensorValue": _col(f"{_SENSOR}.4", "integer32"),
                "entPhySensorOperStatus": _col(f"{_SENSOR}.5"),
                "entPhySensorUnitsDisplay": _col(f"{_SENSOR}.6", "string"),
            },
            "labels": {"entity": "@index"},
            "metrics": [
                {
                    "name": "netmon_sensor_info",
                    "help": "ENTITY-SENSOR-MIB sensor attributes: type (8 celsius, 4 voltsDC, "
                    "5 amperes, 6 watts), scale (9 units, 8 milli), precision (decimals).",
                    "info": {
                        "sensor_type": "entPhySensorType",
                        "scale": "entPhySensorScale",
                        "precision": "entPhySensorPrecision",
                        "units": "entPhySensorUnitsDisplay",
                    },
                },
                {
                    "name": "netmon_sensor_value",
                    "help": "Raw sensor reading (entPhySensorValue), before its scale and "
                    "precision.",
                    "value": "entPhySensorValue",
                },
                {
                    "name": "netmon_sensor_ok",
                    "help": "1 when entPhySensorOperStatus is ok(1).",
                    "value": "entPhySensorOperStatus",
                    "map": {"1": 1, "default": 0},
                },
            ],
        },
        note="the unit of each row is in its type, scale and precision: see "
        "netmon_sensor_info, then replace netmon_sensor_value by a metric per unit "
        "(e.g. netmon_optical_temperature_celsius with scale: 0.1 for precision 1)",
    ),
    MibTable(
        "UCD-SNMP-MIB laTable",
        (_LA,),
        table={
            "name": "load",
            "walk": [_LA],
            "columns": {"laNames": _col(f"{_LA}.2", "string"), "laLoadInt": _col(f"{_LA}.5")},
            "labels": {"period": "laNames|@index"},
            "metrics": [
                {
                    "name": "netmon_host_load_average",
                    "help": "System load average over the period (UCD-SNMP laLoadInt / 100).",
                    "value": {"column": "laLoadInt", "scale": 0.01},
                }
            ],
        },
    ),
    MibTable(
        "UCD-SNMP-MIB dskTable",
        (_DSK,),
        table={
            "name": "disks",
            "walk": [_DSK],
            "columns": {
                "dskPath": _col(f"{_DSK}.2", "string"),
                "dskTotal": _col(f"{_DSK}.6"),
                "dskUsed": _col(f"{_DSK}.8"),
            },
            "labels": {"mount": "dskPath|@index"},
            "unique_label": "mount",
            "metrics": [
                {
                    "name": "netmon_host_disk_size_bytes",
                    "help": "Disk size (UCD-SNMP dskTotal, kB).",
                    "value": {"column": "dskTotal", "scale": 1024},
                },
                {
                    "name": "netmon_host_disk_used_bytes",
                    "help": "Disk space used (UCD-SNMP dskUsed, kB).",
                    "value": {"column": "dskUsed", "scale": 1024},
                },
            ],
        },
        note="dskTotal is an Integer32 of kB: disks above 2 TB need dskTotalHigh/Low",
    ),
    MibTable(
        "UCD-SNMP-MIB memory",
        (_MEM,),
        scalars={
            "memTotalReal": _col(f"{_MEM}.5.0"),
            "memAvailReal": _col(f"{_MEM}.6.0"),
        },
        metrics=[
            {
                "name": "netmon_host_memory_size_bytes",
                "help": "Physical memory of the device, in bytes.",
                "value": {"column": "memTotalReal", "scale": 1024},
            },
            {
                "name": "netmon_host_memory_available_bytes",
                "help": "Physical memory available (UCD-SNMP memAvailReal, kB).",
                "value": {"column": "memAvailReal", "scale": 1024},
            },
        ],
    ),
    MibTable(
        "UPS-MIB upsBattery",
        (_UPS_BATTERY,),
        scalars={
            "upsBatteryStatus": _col(f"{_UPS_BATTERY}.1.0"),
            "upsSecondsOnBattery": _col(f"{_UPS_BATTERY}.2.0"),
            "upsEstimatedMinutesRemaining": _col(f"{_UPS_BATTERY}.3.0"),
            "upsEstimatedChargeRemaining": _col(f"{_UPS_BATTERY}.4.0"),
            "upsBatteryVoltage": _col(f"{_UPS_BATTERY}.5.0"),
            "upsBatteryTemperature": _col(f"{_UPS_BATTERY}.7.0", "integer32"),
            "upsOutputSource": _col("1.3.6.1.2.1.33.1.4.1.0"),
        },
        metrics=[
            {
                "name": "netmon_power_battery_ratio",
                "help": "Battery charge, 0..1.",
                "value": {"column": "upsEstimatedChargeRemaining", "scale": 0.01},
            },
            {
                "name": "netmon_power_battery_voltage_volts",
                "help": "Battery voltage.",
                "value": {"column": "upsBatteryVoltage", "scale": 0.1},
            },
            {
                "name": "netmon_power_on_grid",
                "help": "1 while PLN grid power is present.",
                "value": "upsOutputSource",
                # normal(3), bypass(4), booster(6), reducer(7): mains; battery(5): not;
                # other(1), none(2): unknown (as profile ups_mib)
                "map": {"3": 1, "4": 1, "6": 1, "7": 1, "5": 0},
            },
            {
                "name": "netmon_ups_battery_low",
                "help": "1 when upsBatteryStatus is low(3) or depleted(4).",
                "value": "upsBatteryStatus",
                "map": {"3": 1, "4": 1, "default": 0},
            },
            {
                "name": "netmon_ups_on_battery_seconds",
                "help": "Time on battery (upsSecondsOnBattery; 0 on the grid).",
                "value": "upsSecondsOnBattery",
            },
            {
                "name": "netmon_ups_runtime_remaining_seconds",
                "help": "Estimated runtime left on battery (upsEstimatedMinutesRemaining).",
                "value": {"column": "upsEstimatedMinutesRemaining", "scale": 60},
            },
            {
                "name": "netmon_ups_battery_temperature_celsius",
                "help": "Battery temperature.",
                "value": "upsBatteryTemperature",
            },
        ],
    ),
    MibTable(
        "UPS-MIB upsInputTable",
        (_UPS_INPUT,),
        table={
            "name": "ups_input",
            "walk": [_UPS_INPUT],
            "columns": {
                "upsInputFrequency": _col(f"{_UPS_INPUT}.2"),
                "upsInputVoltage": _col(f"{_UPS_INPUT}.3"),
            },
            "labels": {"line": "@index"},
            "metrics": [
                {
                    "name": "netmon_ups_input_voltage_volts",
                    "help": "UPS input voltage per line (RMS).",
                    "value": "upsInputVoltage",
                },
                {
                    "name": "netmon_ups_input_frequency_hertz",
                    "help": "UPS input frequency per line.",
                    "value": {"column": "upsInputFrequency", "scale": 0.1},
                },
            ],
        },
    ),
    MibTable(
        "UPS-MIB upsOutputTable",
        (_UPS_OUTPUT,),
        table={
            "name": "ups_output",
            "walk": [_UPS_OUTPUT],
            "columns": {
                "upsOutputVoltage": _col(f"{_UPS_OUTPUT}.2"),
                "upsOutputCurrent": _col(f"{_UPS_OUTPUT}.3"),
                "upsOutputPower": _col(f"{_UPS_OUTPUT}.4"),
                "upsOutputPercentLoad": _col(f"{_UPS_OUTPUT}.5"),
            },
            "labels": {"line": "@index"},
            "metrics": [
                {
                    "name": "netmon_ups_output_voltage_volts",
                    "help": "UPS output voltage per line (RMS).",
                    "value": "upsOutputVoltage",
                },
                {
                    "name": "netmon_ups_output_current_amperes",
                    "help": "UPS output current per line.",
                    "value": {"column": "upsOutputCurrent", "scale": 0.1},
                },
                {
                    "name": "netmon_ups_output_power_watts",
                    "help": "UPS output power per line.",
                    "value": "upsOutputPower",
                },
                {
                    "name": "netmon_ups_output_load_ratio",
                    "help": "UPS output load per line, 0..1 of its capacity.",
                    "value": {"column": "upsOutputPercentLoad", "scale": 0.01},
                },
            ],
        },
    ),
    MibTable(
        "LLDP-MIB lldpRemTable",
        (_LLDP_REM,),
        table={
            "name": "lldp_neighbours",
            "walk": [_LLDP_REM],
            "index": [
                {"name": "time_mark", "length": 1},
                {"name": "port", "length": 1},
                {"name": "remote", "length": 1},
            ],
            "columns": {
                "lldpRemPortId": _col(f"{_LLDP_REM}.7", "string"),
                "lldpRemPortDesc": _col(f"{_LLDP_REM}.8", "string"),
                "lldpRemSysName": _col(f"{_LLDP_REM}.9", "string"),
            },
            "labels": {"local_port": "@index.port", "remote": "@index.remote"},
            "metrics": [
                {
                    "name": "netmon_lldp_neighbor_info",
                    "help": "LLDP neighbours per local port (lldpRemTable).",
                    "info": {
                        "sys_name": "lldpRemSysName",
                        "port_id": "lldpRemPortId",
                        "port_descr": "lldpRemPortDesc",
                    },
                }
            ],
        },
        note="neighbour names come from the network: keep only where they are bounded",
    ),
    MibTable("MikroTik (MIKROTIK-MIB)", ("1.3.6.1.4.1.14988.1.1",), covered_by="mikrotik"),
    MibTable("Ubiquiti airMAX (UBNT-AirMAX-MIB)", ("1.3.6.1.4.1.41112.1.4",), covered_by="airos"),
    MibTable(
        "Huawei SmartAX boards (HUAWEI-DEVICE-MIB)",
        ("1.3.6.1.4.1.2011.2.6.7.1.1.2",),
        covered_by="huawei_olt",
    ),
)
