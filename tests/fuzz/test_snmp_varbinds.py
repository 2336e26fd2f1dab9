"""Fuzz: random varbinds of every gufo-snmp value type through the builtin profiles."""

from __future__ import annotations

from hypothesis import given

from collectors.snmp.engine import DeviceState, Engine, RawPoll, TableWalk
from tests.fuzz.bounds import SUITE
from tests.fuzz.snmp_target import BASE, PROFILES, cases, check


@SUITE
@given(cases())
def test_any_varbinds_map_or_are_counted_as_dropped(
    case: tuple[list[str], list[RawPoll], list[float]],
) -> None:
    dropped = check(case)
    assert all(n > 0 for n in dropped.values())


def test_the_wrong_types_in_the_interfaces_table_are_counted() -> None:
    """The declared rejection is real: an ifInOctets that is text and an ifMtu that is an
    OID are dropped and counted as decode (docs/metrics.md: netmon_samples_dropped_total),
    the row's good values stay."""
    engine = Engine([PROFILES["if_mib"]], 60.0, 64)
    walk: TableWalk = {
        "1.3.6.1.2.1.2.2.1": [
            ("1.3.6.1.2.1.2.2.1.2.1", b"ether1"),
            ("1.3.6.1.2.1.2.2.1.4.1", "1.3.6.1.4"),
            ("1.3.6.1.2.1.2.2.1.10.1", "many"),
            ("1.3.6.1.2.1.2.2.1.16.1", 5000),
        ],
    }
    mapped = engine.map(RawPoll({}, {"if_mib.interfaces": walk}), DeviceState(), BASE, 0.0)
    assert mapped.dropped == {"decode": 2}
    samples = {s.name for p in mapped.parts for s in p.samples}
    assert "netmon_interface_transmit_bytes_total" in samples, samples
    assert "netmon_interface_receive_bytes_total" not in samples, samples
