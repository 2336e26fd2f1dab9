"""The profile model's per-row rules: powers of ten read from the row, watts -> dBm, row
and source conditions, required labels, look-up keys and the label functions.

Expected numbers come from the MIB text, worked out here: ENTITY-SENSOR-MIB
EntitySensorDataScale milli(8) is 10^-3 and units(9) 10^0, EntitySensorPrecision is the
number of decimal places; dBm = 10 log10(P / 1 mW). The profiles are small ones written
for each rule (the real ones are checked on recordings in test_recording_values.py).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from collectors.snmp import refs
from collectors.snmp.engine import DeviceState, Engine, RawPoll
from collectors.snmp.fetchplan import used_columns
from collectors.snmp.plan import Value
from collectors.snmp.profile import Profile, ProfileError, parse_profile
from netmon.api import Labels, Sample

BASE: Labels = (("site", "s"), ("device", "d"))
SENS = "1.3.6.1.2.1.99.1.1.1"  # ENTITY-SENSOR-MIB entPhySensorEntry
ENT = "1.3.6.1.2.1.47.1.1.1.1"  # ENTITY-MIB entPhysicalEntry
ALIAS = "1.3.6.1.2.1.47.1.3.2.1"  # ENTITY-MIB entAliasMappingEntry
IFX = "1.3.6.1.2.1.31.1.1.1"
EXP10 = [
    {"column": "scale", "times": 3, "plus": -27},  # 10^(3 x (scale - 9))
    {"column": "precision", "times": -1},  # 10^-precision
]


def profile(metrics: list[dict[str, Any]], **table: Any) -> Profile:
    spec: dict[str, Any] = {
        "name": "sensors",
        "walk": [SENS, ENT],
        "columns": {
            "type": {"oid": f"{SENS}.1"},
            "scale": {"oid": f"{SENS}.2"},
            "precision": {"oid": f"{SENS}.3", "type": "integer32"},
            "value": {"oid": f"{SENS}.4", "type": "integer32"},
            "descr": {"oid": f"{ENT}.2", "type": "string"},
            "parent": {"oid": f"{ENT}.4"},
        },
        "labels": {"sensor": "@index"},
        "metrics": metrics,
    }
    spec.update(table)
    return parse_profile({"name": "t", "description": "t", "tables": [spec]}, "t.yaml")


def sensor_rows(
    *rows: tuple[int, int, int, int, int, str, int],
) -> dict[str, list[tuple[str, Value]]]:
    """(index, type, scale, precision, value, descr, parent) -> the table's walk."""
    sens: list[tuple[str, Value]] = []
    ent: list[tuple[str, Value]] = []
    for index, kind, scale, precision, value, descr, parent in rows:
        sens += [(f"{SENS}.1.{index}", kind), (f"{SENS}.2.{index}", scale)]
        sens += [(f"{SENS}.3.{index}", precision), (f"{SENS}.4.{index}", value)]
        ent += [(f"{ENT}.2.{index}", descr.encode()), (f"{ENT}.4.{index}", parent)]
    return {SENS: sorted(sens), ENT: sorted(ent)}


def poll(p: Profile, tables: dict[str, Any]) -> tuple[list[Sample], Counter[str]]:
    raw = RawPoll({}, {f"{p.name}.{k}": v for k, v in tables.items()})
    result = Engine([p], 60.0, 4096).map(raw, DeviceState(), BASE)
    return [s for part in result.parts for s in part.samples], result.dropped


def values(samples: list[Sample], name: str, label: str) -> dict[str, float]:
    return {dict(s.labels)[label]: s.value for s in samples if s.name == name}


def test_row_scale_and_precision_give_the_value_in_the_types_unit() -> None:
    p = profile(
        [{"name": "netmon_x_amperes", "help": "h", "value": {"column": "value", "exp10": EXP10}}]
    )
    # 3345 milli(8) amperes with 2 decimals: 33.45 mA; 258 units(9) with 1 decimal: 25.8
    samples, _ = poll(
        p, {"sensors": sensor_rows((1, 5, 8, 2, 3345, "", 0), (2, 8, 9, 1, 258, "", 0))}
    )
    assert values(samples, "netmon_x_amperes", "sensor") == {"1": 0.03345, "2": 25.8}


def test_watts_become_dbm_and_no_light_is_no_reading() -> None:
    src = {"column": "value", "exp10": EXP10, "to_dbm": True}
    p = profile([{"name": "netmon_x_dbm", "help": "h", "value": src}])
    rows = sensor_rows((1, 6, 8, 4, 6322, "", 0), (2, 6, 8, 4, 0, "", 0), (3, 6, 9, 0, 1, "", 0))
    samples, dropped = poll(p, {"sensors": rows})
    got = values(samples, "netmon_x_dbm", "sensor")
    # 6322 x 10^-3 x 10^-4 W = 0.6322 mW; 1 W = 1000 mW = 30 dBm; 0 W: -inf, dropped
    assert got == {"1": pytest.approx(10 * math.log10(0.6322)), "3": pytest.approx(30.0)}
    assert dropped["implausible"] == 1


def test_a_source_applies_only_to_rows_where_its_conditions_hold() -> None:
    p = profile(
        [
            {
                "name": "netmon_x_dbm",
                "help": "h",
                "value": [
                    {"column": "value", "exp10": EXP10, "where": [{"column": "type", "in": [14]}]},
                    {
                        "column": "value",
                        "exp10": EXP10,
                        "to_dbm": True,
                        "where": [{"column": "type", "in": [6]}],
                    },
                ],
            }
        ]
    )
    # Cisco dBm(14), -47 with 1 decimal; watts(6) 1 mW; celsius(8): neither source
    rows = sensor_rows((1, 14, 9, 1, -47, "", 0), (2, 6, 8, 0, 1, "", 0), (3, 8, 9, 0, 40, "", 0))
    samples, _ = poll(p, {"sensors": rows})
    assert values(samples, "netmon_x_dbm", "sensor") == {"1": -4.7, "2": pytest.approx(0.0)}


def test_metric_conditions_pick_rows_by_number_and_by_text() -> None:
    where = [{"column": "type", "in": [14]}, {"column": "descr", "matches": "(?i)receive"}]
    p = profile([{"name": "netmon_x_dbm", "help": "h", "value": "value", "where": where}])
    rows = sensor_rows(
        (1, 14, 9, 0, -5, "Gi1/0/1 Receive Power Sensor", 0),
        (2, 14, 9, 0, -3, "Gi1/0/1 Transmit Power Sensor", 0),
        (3, 8, 9, 0, 30, "Gi1/0/1 Receive Temperature", 0),
    )
    samples, _ = poll(p, {"sensors": rows})
    assert values(samples, "netmon_x_dbm", "sensor") == {"1": -5.0}


def test_a_condition_on_a_missing_column_fails_unless_absent_is_allowed() -> None:
    strict = [{"column": "scale", "in": [9]}]
    lax = [{"column": "scale", "in": [9], "absent_ok": True}]
    p = profile(
        [
            {"name": "netmon_strict_celsius", "help": "h", "value": "value", "where": strict},
            {"name": "netmon_lax_celsius", "help": "h", "value": "value", "where": lax},
        ]
    )
    rows = {SENS: [(f"{SENS}.4.1", 20), (f"{SENS}.2.2", 8), (f"{SENS}.4.2", 21)], ENT: []}
    samples, _ = poll(p, {"sensors": rows})
    assert values(samples, "netmon_strict_celsius", "sensor") == {}
    assert values(samples, "netmon_lax_celsius", "sensor") == {"1": 20.0}


def test_aggregates_and_counts_go_over_the_rows_the_conditions_keep() -> None:
    rx = [{"column": "descr", "matches": "RX"}]
    p = profile(
        [
            {
                "name": "netmon_x_dbm",
                "help": "h",
                "value": "value",
                "where": rx,
                "aggregate": "min",
            },
            {"name": "netmon_x_lanes", "help": "h", "where": rx, "aggregate": "count"},
        ],
        labels={"port": "@match(descr, for (\\S+)$)"},
    )
    rows = sensor_rows(
        (1, 14, 9, 0, -3, "RX lane 1 for Et49", 0),
        (2, 14, 9, 0, -7, "RX lane 2 for Et49", 0),
        (3, 14, 9, 0, -1, "TX lane 1 for Et49", 0),
        (4, 14, 9, 0, -2, "RX lane 1 for Et50", 0),
    )
    samples, _ = poll(p, {"sensors": rows})
    assert values(samples, "netmon_x_dbm", "port") == {"Et49": -7.0, "Et50": -2.0}
    assert values(samples, "netmon_x_lanes", "port") == {"Et49": 2.0, "Et50": 1.0}


def test_rows_missing_a_required_label_yield_nothing() -> None:
    p = profile(
        [{"name": "netmon_x_celsius", "help": "h", "value": "value"}],
        labels={"port": "@match(descr, for (\\S+)$)"},
        require=["port"],
    )
    rows = sensor_rows((1, 8, 9, 0, 30, "DOM Temperature for Et1", 0), (2, 8, 9, 0, 50, "Cpu", 0))
    samples, _ = poll(p, {"sensors": rows})
    assert values(samples, "netmon_x_celsius", "port") == {"Et1": 30.0}


def test_the_parent_entity_finds_its_port_through_the_alias_table_and_ifname() -> None:
    """entAliasMappingTable is indexed entPhysicalIndex.logical; its value is IF-MIB's
    ifIndex instance (1.3.6.1.2.1.2.2.1.1.N); the sensor names its parent entity."""
    spec = {
        "name": "t",
        "description": "t",
        "tables": [
            {
                "name": "ifs",
                "walk": [IFX],
                "interfaces": True,
                "columns": {"ifName": {"oid": f"{IFX}.1", "type": "string"}},
                "labels": {"ifname": "ifName"},
                "metrics": [],
            },
            {
                "name": "aliases",
                "walk": [ALIAS],
                "index": [{"name": "entity", "length": 1}, {"name": "logical"}],
                "columns": {"id": {"oid": f"{ALIAS}.2", "type": "oid"}},
                "key": "@index.entity",
                "labels": {"ifname": "@ifname(id)"},
                "metrics": [],
            },
            {
                "name": "sensors",
                "walk": [SENS, ENT],
                "columns": {
                    "value": {"oid": f"{SENS}.4", "type": "integer32"},
                    "parent": {"oid": f"{ENT}.4"},
                },
                "labels": {
                    "ifname": "@lookup(aliases.ifname, parent)|@lookup(aliases.ifname, index)",
                    "sensor": "@index",
                },
                "metrics": [{"name": "netmon_x_dbm", "help": "h", "value": "value"}],
            },
        ],
    }
    p = parse_profile(spec, "t.yaml")
    tables = {
        "ifs": {IFX: [(f"{IFX}.1.10152", b"Gi1/0/52")]},
        "aliases": {ALIAS: [(f"{ALIAS}.2.1062.0", "1.3.6.1.2.1.2.2.1.1.10152")]},
        "sensors": {
            SENS: [(f"{SENS}.4.1062", -3), (f"{SENS}.4.1067", -5)],
            ENT: [(f"{ENT}.4.1062", 1061), (f"{ENT}.4.1067", 1062)],
        },
    }
    samples, _ = poll(p, tables)
    # 1067's parent is 1062, mapped to ifIndex 10152; 1062 is mapped itself
    got = {
        dict(s.labels)["sensor"]: dict(s.labels)["ifname"]
        for s in samples
        if s.name == "netmon_x_dbm"
    }
    assert got == {"1067": "Gi1/0/52", "1062": "Gi1/0/52"}


def test_references_split_on_bars_outside_parentheses_and_name_their_columns() -> None:
    ref = "@lookup(a.ifname, parent)|@match(descr, (rx|receive) for (\\S+))|name|@index"
    assert refs.split(ref) == [
        "@lookup(a.ifname, parent)",
        "@match(descr, (rx|receive) for (\\S+))",
        "name",
        "@index",
    ]
    assert refs.columns(ref) == ["parent", "descr", "name"]
    assert refs.columns("@ifname(index.port)|@lookup(t.l, index)") == []


def test_the_fetch_plan_walks_the_columns_conditions_and_powers_read() -> None:
    p = profile(
        [
            {
                "name": "netmon_x_dbm",
                "help": "h",
                "value": {"column": "value", "exp10": EXP10},
                "where": [{"column": "type", "in": [14]}],
            }
        ],
        labels={"port": "@match(descr, for (\\S+)$)"},
    )
    assert used_columns(p.tables[0]) == ["type", "scale", "precision", "value", "descr"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"where": [{"column": "type"}]}, "takes one of: in, matches"),
        ({"where": [{"column": "type", "in": [1], "matches": "x"}]}, "takes one of"),
        ({"where": [{"column": "descr", "matches": "("}]}, "not a regular expression"),
        ({"where": [{"column": "nope", "in": [1]}]}, "unknown column 'nope'"),
        ({"value": {"column": "value", "exp10": [{"column": "nope"}]}}, "unknown column 'nope'"),
    ],
)
def test_broken_conditions_and_powers_are_schema_errors(
    change: dict[str, Any], message: str
) -> None:
    metric = {"name": "netmon_x_dbm", "help": "h", "value": "value", **change}
    with pytest.raises(ProfileError, match=message):
        profile([metric])


@pytest.mark.parametrize(
    ("labels", "table", "message"),
    [
        ({"port": "@match(descr, ()"}, {}, "not a regular expression"),
        ({"port": "@lookup(nodot, index)"}, {}, "TABLE.LABEL"),
        ({"port": "@lookup(a.b)"}, {}, "two arguments"),
        ({"port": "@frob(x)"}, {}, "unknown reference"),
        ({"port": "@ifname(nope)"}, {}, "unknown column 'nope'"),
        ({"port": "descr"}, {"require": ["ifname"]}, "not a label of the table"),
        ({"port": "descr"}, {"key": "@match(nope, x)"}, "unknown column 'nope'"),
    ],
)
def test_broken_references_are_schema_errors(
    labels: dict[str, str], table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProfileError, match=message):
        profile([{"name": "netmon_x_dbm", "help": "h", "value": "value"}], labels=labels, **table)
