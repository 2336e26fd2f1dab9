"""The outage journal: records survive as written, a crash mid-write costs only the
torn line, and the recorder turns published state changes into records."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from netmon.status import journal
from netmon.status.engine import SiteState, StatusEngine
from netmon.status.journal import Outage, Recorder
from netmon.store import Store
from tests.helpers import ROOT, make_site
from tests.unit.test_status import inventory

T0 = 1_764_547_200.0  # 2025-12-01 00:00 UTC

CUT = Outage("desa-a", "pop-x", "uplink", "", T0, T0 + 3600, "unreachable")
BATTERY = Outage("desa-b", "desa-b", "power", "", T0 + 7200, T0 + 7260.5, "down", power_cut=True)
FIBRE = Outage("pop-x", "pop-x", "link", "fo-1", T0 + 86_400, T0 + 90_000, "down", stale=True)


def test_records_read_back_as_appended_and_by_overlap(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outages.jsonl"  # the folder is made on the first append
    for record in (CUT, BATTERY, FIBRE):
        journal.append(path, record)
    assert journal.read(path, 0, 2e9) == [CUT, BATTERY, FIBRE]
    # [T0+3600, T0+86400): CUT ends exactly at the start, FIBRE starts exactly at the end
    assert journal.read(path, T0 + 3600, T0 + 86_400) == [BATTERY]
    assert journal.read(path, T0 + 3599, T0 + 86_401) == [CUT, BATTERY, FIBRE]
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    assert '"site":"desa-a"' in lines[0]
    assert '"end":1764550800.0' in lines[0]


def test_no_journal_yet_is_no_outages(tmp_path: Path) -> None:
    assert journal.scan(tmp_path / "absent.jsonl") == journal.Scan([], 0)


CRASH = """
import os, signal, sys
from pathlib import Path
import netmon.config  # noqa: F401 (netmon's modules are imported from the top, as the CLI does)
from netmon.status import journal
from tests.unit.test_journal import CUT, BATTERY, FIBRE
path = Path(sys.argv[1])
journal.append(path, CUT)
journal.append(path, BATTERY)
torn = FIBRE.line().encode()[:40]  # the process dies in the middle of the third line
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
os.write(fd, torn)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_line_torn_by_a_crash_is_skipped_and_counted_and_costs_no_other(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outages.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), str(path)], cwd=ROOT, check=False
    )
    assert done.returncode == -9  # killed, as a crash would
    assert not path.read_bytes().endswith(b"\n")
    assert journal.scan(path) == journal.Scan([CUT, BATTERY], skipped=1)
    journal.append(path, FIBRE)  # after the restart: on a line of its own
    assert journal.scan(path) == journal.Scan([CUT, BATTERY, FIBRE], skipped=1)


def test_lines_that_are_not_records_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "outages.jsonl"
    path.write_text(
        "\n".join(
            [
                CUT.line().strip(),
                "[1, 2]",
                CUT.line().replace('"start":1764547200.0', '"start":"yesterday"').strip(),
                CUT.line().replace('"end":1764550800.0', '"end":1.0').strip(),  # before start
                "x" * (journal.MAX_LINE + 10),
                "",
                BATTERY.line().strip(),
            ]
        )
        + "\n"
    )
    assert journal.scan(path) == journal.Scan([CUT, BATTERY], skipped=4)


def engine_of(tmp_path: Path, **site: object) -> StatusEngine:
    cut = (T0 + 1000, T0 + 2000)
    inv = inventory(make_site("desa-a", power_cuts=(cut,), **site))
    return StatusEngine(inv, Store())


def test_an_outage_is_recorded_when_it_closes_with_what_was_seen_during_it(
    tmp_path: Path,
) -> None:
    engine = engine_of(tmp_path)
    path = tmp_path / "outages.jsonl"
    rec = Recorder()
    rec.configure(path, 1.0, None)
    up = SiteState("up", since=T0 - 100)
    down = SiteState("down", "device", "", since=T0)
    assert rec.observe(engine, [("desa-a", up, down)], T0 + 5) == []
    # the same status with a better cause: one outage, its detail updated, start kept
    power = SiteState("down", "power", "", since=T0 + 5)
    assert rec.observe(engine, [("desa-a", down, power)], T0 + 6) == []
    # a silence from T0 + 7 to the end: maintenance, from then on (a record ends there)
    engine.silenced = frozenset({"desa-a"})
    before = Outage("desa-a", "desa-a", "power", "", T0, T0 + 7, "down")
    assert rec.observe(engine, [], T0 + 7) == [before]
    engine.silenced = frozenset()
    back = SiteState("up", since=T0 + 1500)
    closed = rec.observe(engine, [("desa-a", power, back)], T0 + 1510)
    # the rest, cut at the declared power cut's start (T0 + 1000; it lasts to T0 + 2000)
    expected = [
        Outage("desa-a", "desa-a", "power", "", T0 + 7, T0 + 1000, "down", maintenance=True),
        Outage("desa-a", "desa-a", "power", "", T0 + 1000, T0 + 1500, "down", True, power_cut=True),
    ]
    assert closed == expected
    assert journal.read(path, T0, T0 + 2000) == [before, *expected]


def test_a_site_gone_from_behind_its_hub_to_down_of_its_own_is_two_records(
    tmp_path: Path,
) -> None:
    """Unreachable behind pop-x (the hub's outage), then down of its own after the hub
    came back: two records, each with its own root, so the hub's reasons (a flat
    battery) never excuse the site's own fault."""
    engine = engine_of(tmp_path)
    rec = Recorder()
    rec.configure(tmp_path / "o.jsonl", 1.0, None)
    behind = SiteState("unreachable", "uplink", "pop-x", since=T0 + 3000)
    rec.observe(engine, [("desa-a", SiteState("up"), behind)], T0 + 3000)
    own = SiteState("down", "link", "", since=T0 + 3600)
    [first] = rec.observe(engine, [("desa-a", behind, own)], T0 + 3601)
    assert (first.root, first.state, first.start, first.end) == (
        "pop-x",
        "unreachable",
        T0 + 3000,
        T0 + 3600,
    )
    [second] = rec.observe(engine, [("desa-a", own, SiteState("up", since=T0 + 9000))], T0 + 9001)
    assert (second.root, second.state, second.start, second.end) == (
        "desa-a",
        "down",
        T0 + 3600,
        T0 + 9000,
    )
    # behind another root with the same status: a new record from the evaluation that saw it
    rec.observe(engine, [("desa-a", SiteState("up"), behind)], T0 + 10000)
    moved = replace(behind, upstream="pop-y")
    [part] = rec.observe(engine, [("desa-a", behind, moved)], T0 + 10060)
    assert (part.root, part.end) == ("pop-x", T0 + 10060)


def test_maintenance_ending_during_an_outage_ends_its_record(tmp_path: Path) -> None:
    engine = engine_of(tmp_path)
    engine.silenced = frozenset({"desa-a"})  # maintenance announced as a silence
    rec = Recorder()
    rec.configure(tmp_path / "o.jsonl", 1.0, None)
    down = SiteState("down", "link", "", since=T0 + 5000)
    assert rec.observe(engine, [("desa-a", SiteState("up"), down)], T0 + 5000) == []
    engine.silenced = frozenset()  # the silence expired; the outage goes on
    [during] = rec.observe(engine, [], T0 + 5300)
    assert (during.start, during.end, during.maintenance) == (T0 + 5000, T0 + 5300, True)
    [after] = rec.observe(engine, [("desa-a", down, SiteState("up", since=T0 + 6000))], T0 + 6000)
    assert (after.start, after.end, after.maintenance) == (T0 + 5300, T0 + 6000, False)


def test_maintenance_flagged_by_a_reload_during_an_outage_ends_its_record(
    tmp_path: Path,
) -> None:
    """The flags are checked again only when the inventory or the silences change (not
    at every evaluation): a reload that flags the site must still split its record."""
    engine = engine_of(tmp_path)
    rec = Recorder()
    rec.configure(tmp_path / "o.jsonl", 1.0, None)
    down = SiteState("down", "link", "", since=T0 + 5000)
    assert rec.observe(engine, [("desa-a", SiteState("up"), down)], T0 + 5000) == []
    assert rec.observe(engine, [], T0 + 5100) == []  # nothing changed: nothing closes
    cut = (T0 + 1000, T0 + 2000)
    engine.set_inventory(inventory(make_site("desa-a", power_cuts=(cut,), maintenance=True)), {})
    [before] = rec.observe(engine, [], T0 + 5300)
    assert (before.start, before.end, before.maintenance) == (T0 + 5000, T0 + 5300, False)
    [during] = rec.observe(engine, [("desa-a", down, SiteState("up", since=T0 + 6000))], T0 + 6000)
    assert (during.start, during.end, during.maintenance) == (T0 + 5300, T0 + 6000, True)


def test_an_unreachable_site_records_its_root_and_an_unknown_status_closes_nothing(
    tmp_path: Path,
) -> None:
    engine = engine_of(tmp_path)
    rec = Recorder()
    rec.configure(tmp_path / "o.jsonl", 1.0, None)
    gone = SiteState("unreachable", "uplink", "pop-x", since=T0 + 3000)
    rec.observe(engine, [("desa-a", SiteState("up"), gone)], T0 + 3000)
    assert rec.observe(engine, [("desa-a", gone, SiteState("unknown"))], T0 + 3001) == []
    back = SiteState("degraded", "uplink", "pop-x", since=T0 + 4000)
    [record] = rec.observe(engine, [("desa-a", SiteState("unknown"), back)], T0 + 4000)
    assert (record.root, record.cause, record.state) == ("pop-x", "uplink", "unreachable")
    assert (record.start, record.end, record.power_cut) == (T0 + 3000, T0 + 4000, False)


def restarted(tmp_path: Path, away: float) -> Outage:
    """An outage open when netmon stopped, closed after it came back ``away`` seconds
    after the state file's last mark."""
    state_file = tmp_path / "sites.json"
    state_file.write_text("{}")
    os.utime(state_file, (T0 + 100, T0 + 100))  # last alive at T0+100
    engine = engine_of(tmp_path)
    down = SiteState("down", "link", "", since=T0, link="fo-1")
    engine.published["desa-a"] = down  # as restored from the state file
    rec = Recorder()
    rec.configure(tmp_path / "o.jsonl", 1.0, state_file)
    rec.restored(engine, T0 + 100 + away)
    [record] = rec.observe(engine, [("desa-a", down, replace(down, status="up"))], T0 + 500)
    return record


def test_an_outage_across_a_restart_gap_longer_than_three_intervals_is_stale(
    tmp_path: Path,
) -> None:
    record = restarted(tmp_path, away=3.5)  # status.interval 1 s: 3 s at most
    assert (record.stale, record.start, record.link) == (True, T0, "fo-1")


def test_a_quick_restart_keeps_the_outage_not_stale(tmp_path: Path) -> None:
    assert restarted(tmp_path, away=2.5).stale is False


def test_the_journal_file_defaults_beside_the_state_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collectors import REGISTRY
    from netmon.config import load

    monkeypatch.setenv("TEST_COMMUNITY", "community")
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "a.yaml").write_text(
        "kabupaten: Berau\nsites:\n  - {id: a, name: A, kind: pop, devices: "
        "[{id: d, address: 127.0.0.1, profiles: [system]}]}\n"
    )
    main = tmp_path / "netmon.yaml"
    snmp = "defaults: {snmp: {community: {env: TEST_COMMUNITY}}}\n"
    main.write_text(snmp + "status: {state_file: state/sites.json}\n")
    assert journal.journal_file(load(main, REGISTRY)) == tmp_path / "state" / "outages.jsonl"
    main.write_text(snmp + "status: {state_file: s.json, journal_file: j/o.jsonl}\n")
    assert journal.journal_file(load(main, REGISTRY)) == tmp_path / "j" / "o.jsonl"
    main.write_text(snmp + "status: {}\n")
    assert journal.journal_file(load(main, REGISTRY)) is None
