"""The demo's NOC aggregation router and its fibre cut, read back as an agent serves them
(OIDs and values straight from the recording text, decoded by the MIBs' definitions)."""

from __future__ import annotations

from netmon.tools.demo import province, recordings
from netmon.tools.simulate import recordings_dir

#: IF-MIB ifName, ifOperStatus (1 up, 2 down); MIKROTIK-MIB mtxrOpticalName, RxPower
IF_NAME, OPER = "1.3.6.1.2.1.31.1.1.1.1.", "1.3.6.1.2.1.2.2.1.8."
OPTICAL_NAME, RX_POWER = "1.3.6.1.4.1.14988.1.1.19.1.1.2.", "1.3.6.1.4.1.14988.1.1.19.1.1.10."


def rows(text: str) -> dict[str, str]:
    """OID -> value, as snmpsim reads a .snmprec line (oid|tag|value)."""
    return {line.split("|")[0]: line.split("|")[2] for line in text.splitlines()}


def by_name(oids: dict[str, str], column: str) -> dict[str, str]:
    """Port name -> index for a name column."""
    return {v: k.rpartition(".")[2] for k, v in oids.items() if k.startswith(column)}


def test_the_cut_takes_the_near_end_down_and_dark_and_nothing_else() -> None:
    fibres = province.fibres()
    routeros = (recordings_dir() / "routeros.snmprec").read_text()
    lit = rows(recordings.fibre_agg(routeros, fibres))
    cut = rows(recordings.fibre_agg(routeros, fibres, cut="sfp-sfpplus3"))
    names = by_name(lit, IF_NAME)
    assert [n for n, _ in fibres] == [f"sfp-sfpplus{k}" for k in range(1, 6)]
    for name, _link in fibres:
        index = names[name]
        assert by_name(lit, OPTICAL_NAME)[name] == index  # DOM row of the same port
        assert lit[OPER + index] == "1"
        assert -10.0 < int(lit[RX_POWER + index]) / 1000 < -5.0  # a healthy short fibre
        if name == "sfp-sfpplus3":
            assert cut[OPER + index] == "2"  # down(2)
            assert int(cut[RX_POWER + index]) / 1000 == -40.0  # no light
        else:
            assert (cut[OPER + index], cut[RX_POWER + index]) == (
                lit[OPER + index],
                lit[RX_POWER + index],
            )
    # snmpsim answers GETNEXT in file order: the lines must stay sorted by OID
    keys = [tuple(map(int, oid.split("."))) for oid in cut]
    assert keys == sorted(keys)


def test_the_cut_port_stops_counting_at_the_cut() -> None:
    routeros = (recordings_dir() / "routeros.snmprec").read_text()
    dark = recordings.fibre_agg(routeros, province.fibres(), cut="sfp-sfpplus3")
    index = recordings.port_index(dark, "sfp-sfpplus3")
    animated = rows(recordings.animate(dark, halt=(index, 100.0)))
    in_octets = animated["1.3.6.1.2.1.31.1.1.1.6." + index]  # ifHCInOctets, numeric settings
    settings = dict(pair.split("=") for pair in in_octets.split(","))
    stop = float(settings["initial"]) + float(settings["rate"]) * 100.0
    assert abs(float(settings["max"]) - stop) < 1.0
    other = animated["1.3.6.1.2.1.31.1.1.1.6." + recordings.port_index(dark, "sfp-sfpplus2")]
    assert "max=" not in other
