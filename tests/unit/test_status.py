"""Site state from device health and topology, on the real store with a fake clock."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from collectors import REGISTRY
from collectors.snmp import SnmpParams
from netmon.api import Part, Sample, Snapshot, TargetRef
from netmon.inventory import Device, Inventory, Link, LinkEnd, Site
from netmon.status.engine import SiteState, StatusEngine
from netmon.status.evidence import Kinds
from netmon.status.view import load, outages_json, render, save, site_json
from netmon.store import Store
from tests.helpers import make_site, parse_exposition, values


def site(sid: str, uplinks: tuple[str, ...] = (), devices: tuple[str, ...] = ()) -> Site:
    return make_site(
        sid,
        name=sid.title(),
        kecamatan="K",
        lat=2.1,
        lon=117.5,
        uplinks=uplinks,
        devices=devices or (f"rtr-{sid}",),
    )


#: netmon's collectors' roles and evidence, as the daemon hands them to status
KINDS = Kinds.of(REGISTRY)


def inventory(*sites: Site, links: tuple[Link, ...] = ()) -> Inventory:
    devices = {
        d: Device(d, s.id, "127.0.0.1", 60.0, 30.0, (("snmp", SnmpParams("127.0.0.1")),))
        for s in sites
        for d in s.devices
    }
    return Inventory({s.id: s for s in sites}, devices, {link.id: link for link in links})


class World:
    """A province in a test: poll results go into a real store at chosen times."""

    def __init__(self, inv: Inventory, hold: float = 0.0) -> None:
        self.store = Store()
        self.now = 1_800_000_000.0
        self.polled: list[str] = []
        self.engine = StatusEngine(inv, self.store, hold=hold, poll_now=self._poll_now, kinds=KINDS)

    def _poll_now(self, key: str) -> bool:
        self.polled.append(key)
        return True

    def poll(
        self,
        device: str,
        site_id: str,
        up: bool,
        samples: list[Sample] | None = None,
        collector: str = "snmp",
    ) -> None:
        target = TargetRef(site_id, device, collector)
        parts = [Part("data", samples or [])] if up else []
        snap = Snapshot(target, self.now, 0.1, parts, error=None if up else "timeout")
        self.store.apply(snap, 60.0, self.now)

    def tick(self, seconds: float = 1.0) -> dict[str, str]:
        self.now += seconds
        self.engine.evaluate(self.now)
        return {sid: s.status for sid, s in self.engine.published.items()}


def province(villages: int = 3) -> Inventory:
    sites = [site("noc"), site("pop", ("noc",))]
    sites += [site(f"desa-{i}", ("pop",)) for i in range(villages)]
    return inventory(*sites)


def all_up(world: World, inv: Inventory) -> None:
    for s in inv.sites.values():
        for d in s.devices:
            world.poll(d, s.id, up=True)


def test_everything_up() -> None:
    inv = province()
    world = World(inv)
    assert set(world.tick().values()) == {"unknown"}  # nothing polled yet
    all_up(world, inv)
    assert set(world.tick().values()) == {"up"}


def test_a_pop_cut_is_one_outage_with_its_villages_unreachable() -> None:
    inv = province(200)
    world = World(inv)
    all_up(world, inv)
    world.tick()
    world.now += 60
    world.poll("rtr-noc", "noc", up=True)
    world.poll("rtr-pop", "pop", up=False)
    for i in range(200):
        world.poll(f"rtr-desa-{i}", f"desa-{i}", up=False)
    states = world.tick()
    assert states["pop"] == "down"
    assert {states[f"desa-{i}"] for i in range(200)} == {"unreachable"}
    assert world.engine.published["pop"].cause == "device"
    assert world.engine.published["desa-7"].upstream == "pop"
    assert world.engine.outages() == {"pop": ["pop", *sorted(f"desa-{i}" for i in range(200))]}
    text = render(world.engine)
    assert values(text, "netmon_outage_sites", root="pop") == [201.0]
    assert values(text, "netmon_site_root", site="desa-42", root="pop") == [1.0]
    assert values(text, "netmon_site_status", site="desa-42", status="unreachable") == [1.0]
    assert values(
        text, "netmon_site_status_cause", site="desa-42", cause="uplink", upstream="pop"
    ) == [1.0]
    assert sum(values(text, "netmon_site_status", site="desa-42")) == 1.0  # a state set
    outages = outages_json(world.engine)
    assert [(o["root"], o["sites_affected"]) for o in outages] == [("pop", 201)]


def test_a_child_failure_waits_for_fresh_results_from_its_ancestors() -> None:
    inv = province(1)
    world = World(inv)
    all_up(world, inv)
    world.tick()
    # the village's poll fails before the POP is polled again: the POP's last result is old
    world.now += 30
    world.poll("rtr-desa-0", "desa-0", up=False)
    assert world.tick()["desa-0"] == "up"  # not judged yet
    assert sorted(world.polled) == ["snmp:noc/rtr-noc", "snmp:pop/rtr-pop"]  # asked at once
    assert world.tick()["desa-0"] == "up"
    assert len(world.polled) == 2  # asked once per failure, not on every tick
    # the fresh poll says the POP is down: the village is unreachable behind it, never "down"
    world.poll("rtr-noc", "noc", up=True)
    world.poll("rtr-pop", "pop", up=False)
    states = world.tick()
    assert states == {"noc": "up", "pop": "down", "desa-0": "unreachable"}


def test_a_child_failure_with_healthy_ancestors_is_its_own() -> None:
    inv = province(1)
    world = World(inv)
    all_up(world, inv)
    world.tick()
    world.now += 30
    world.poll("rtr-desa-0", "desa-0", up=False)
    world.tick()
    world.poll("rtr-noc", "noc", up=True)
    world.poll("rtr-pop", "pop", up=True)
    assert world.tick()["desa-0"] == "down"
    assert world.engine.published["desa-0"].cause == "device"
    assert world.engine.root("desa-0") == "desa-0"


def test_a_site_on_its_backup_path_is_degraded() -> None:
    inv = inventory(
        site("noc"),
        site("pop-a", ("noc",)),
        site("pop-b", ("noc",)),
        site("desa", ("pop-a", "pop-b")),
    )
    world = World(inv)
    all_up(world, inv)
    world.tick()
    world.now += 5
    world.poll("rtr-pop-a", "pop-a", up=False)
    world.poll("rtr-noc", "noc", up=True)  # the ancestor's fresh result: pop-a is judged
    states = world.tick()
    assert states["pop-a"] == "down"
    assert states["desa"] == "degraded"
    assert world.engine.published["desa"].cause == "uplink"
    assert world.engine.published["desa"].upstream == "pop-a"


def test_a_draining_battery_before_silence_is_a_power_outage() -> None:
    inv = province(1)
    world = World(inv)
    all_up(world, inv)
    labels = (("site", "desa-0"), ("device", "desa-0-mppt"))
    power = [
        Sample("netmon_power_on_grid", labels, 0.0),
        Sample("netmon_power_battery_ratio", labels, 0.12),
    ]
    world.poll("desa-0-mppt", "desa-0", up=True, samples=power, collector="mqtt")
    assert world.tick()["desa-0"] == "degraded"  # on battery
    assert world.engine.published["desa-0"].cause == "power"
    world.now += 600
    world.poll("desa-0-mppt", "desa-0", up=False, collector="mqtt")  # the agent went offline
    world.poll("rtr-desa-0", "desa-0", up=False)
    world.poll("rtr-noc", "noc", up=True)
    world.poll("rtr-pop", "pop", up=True)
    assert world.tick()["desa-0"] == "down"
    assert world.engine.published["desa-0"].cause == "power"


def test_the_parents_interface_down_makes_it_a_link_outage() -> None:
    link = Link(
        "radio-1",
        "radio",
        LinkEnd("pop", "rtr-pop", "wlan1"),
        LinkEnd("desa-0", "rtr-desa-0", "ath0"),
    )
    inv = inventory(site("pop"), site("desa-0", ("pop",)), links=(link,))
    world = World(inv)
    all_up(world, inv)
    world.tick()
    world.now += 5
    oper = [
        Sample(
            "netmon_interface_oper_up",
            (("site", "pop"), ("device", "rtr-pop"), ("ifname", "wlan1")),
            0.0,
        )
    ]
    world.poll("rtr-pop", "pop", up=True, samples=oper)
    world.poll("rtr-desa-0", "desa-0", up=False)
    world.now += 1
    world.poll("rtr-pop", "pop", up=True, samples=oper)
    assert world.tick()["desa-0"] == "down"
    assert world.engine.published["desa-0"].cause == "link"
    assert world.engine.published["desa-0"].link == "radio-1"  # the inventory's link id


def test_a_new_state_must_hold_before_it_is_published() -> None:
    inv = inventory(site("pop"))
    world = World(inv, hold=30.0)
    world.poll("rtr-pop", "pop", up=True)
    assert world.tick()["pop"] == "up"
    world.poll("rtr-pop", "pop", up=False)
    failed_at = world.now
    assert world.tick(10)["pop"] == "up"  # a 10 s blip is not an outage
    world.poll("rtr-pop", "pop", up=True)
    assert world.tick(10)["pop"] == "up"
    world.poll("rtr-pop", "pop", up=False)
    assert world.tick(1)["pop"] == "up"
    assert world.tick(28)["pop"] == "up"  # 29 s
    assert world.tick(1)["pop"] == "down"  # held for 30 s
    assert world.engine.published["pop"].since > failed_at  # the second failure's start


def test_state_survives_a_restart(tmp_path: Path) -> None:
    inv = province(1)
    world = World(inv)
    all_up(world, inv)
    world.tick()
    world.now += 5
    world.poll("rtr-noc", "noc", up=True)
    world.poll("rtr-pop", "pop", up=False)
    world.poll("rtr-desa-0", "desa-0", up=False)
    world.tick()
    since = world.engine.published["pop"].since
    assert world.engine.published["desa-0"].status == "unreachable"
    save(tmp_path / "state.json", world.engine)
    # netmon restarts: nothing polled yet, the saved states stand
    restored = load(tmp_path / "state.json")
    again = StatusEngine(inv, Store(), restored=restored, kinds=KINDS)
    again.evaluate(world.now + 10)
    assert again.published["pop"] == SiteState("down", "device", "", since)
    assert again.published["desa-0"].status == "unreachable"
    assert load(tmp_path / "missing.json") == {}
    (tmp_path / "bad.json").write_text("{not json")
    assert load(tmp_path / "bad.json") == {}


def test_a_saved_time_netmon_could_not_have_written_starts_that_site_afresh(
    tmp_path: Path,
) -> None:
    """Milliseconds, NaN or the far future in a hand-edited state file would be shown
    on the status page (once, as a 500 for every visitor) and alerted on."""
    good = {"status": "down", "cause": "device", "upstream": "", "since": 1_700_000_000.0}
    saved = {
        "sites": {
            "ok": good,
            "millis": {**good, "since": 1_700_000_000_000},
            "nan": {**good, "since": float("nan")},
            "zero": {**good, "since": 0},
        }
    }
    (tmp_path / "state.json").write_text(json.dumps(saved))
    assert set(load(tmp_path / "state.json")) == {"ok"}


def test_site_info_and_links_are_exposed() -> None:
    link = Link(
        "fo-1", "fiber", LinkEnd("noc", "rtr-noc", "GPON 0/1/0"), LinkEnd("pop", "rtr-pop", "sfp1")
    )
    inv = inventory(site("noc"), site("pop", ("noc",)), links=(link,))
    world = World(inv)
    parsed = parse_exposition(render(world.engine))
    info = [dict(ls) for (n, ls) in parsed if n == "netmon_site_info"]
    pop = next(i for i in info if i["site"] == "pop")
    assert pop["uplink"] == "noc"
    assert pop["kabupaten"] == "Berau"
    assert pop["lat"] == "2.1"
    links = [dict(ls) for (n, ls) in parsed if n == "netmon_link_info"]
    assert links == [
        {
            "link": "fo-1",
            "kind": "fiber",
            "a_site": "noc",
            "a_device": "rtr-noc",
            "a_ifname": "GPON 0/1/0",
            "b_site": "pop",
            "b_device": "rtr-pop",
            "b_ifname": "sfp1",
        }
    ]


def test_a_declared_power_cut_is_a_series_while_it_lasts() -> None:
    """0 before and after, 1 during; sites without a declared cut have no such series."""
    window = (1_800_000_000.0, 1_800_003_600.0)
    inv = inventory(site("noc"), dataclasses.replace(site("pop", ("noc",)), power_cuts=(window,)))
    world = World(inv)

    def declared(now: float) -> list[tuple[str, float]]:
        text = render(world.engine, now=now)
        return [
            (dict(ls)["site"], v)
            for (n, ls), v in parse_exposition(text).items()
            if n == "netmon_site_power_cut_declared"
        ]

    assert declared(window[0] - 1) == [("pop", 0.0)]
    assert declared(window[0]) == [("pop", 1.0)]
    assert declared(window[1] - 1) == [("pop", 1.0)]
    assert declared(window[1]) == [("pop", 0.0)]


# -- the freshness of ancestors counts every collector (issue 10, item 9) ----------------
def test_an_ancestor_watched_only_by_icmp_needs_a_fresh_probe() -> None:
    """An ISP hand-off with no SNMP agent: its ping must be newer than the child's failure,
    and it is probed at once; the child is never paged on its own before."""
    inv = inventory(site("isp", devices=("isp-gw",)), site("desa-0", ("isp",)))
    world = World(inv)
    world.poll("isp-gw", "isp", up=True, collector="icmp")
    world.poll("rtr-desa-0", "desa-0", up=True)
    assert world.tick() == {"isp": "up", "desa-0": "up"}
    world.now += 30
    world.poll("rtr-desa-0", "desa-0", up=False)
    assert world.tick()["desa-0"] == "up"  # not judged while the ISP's probe is old
    assert world.polled == ["icmp:isp/isp-gw"]  # and the probe is asked for at once
    world.poll("isp-gw", "isp", up=False, collector="icmp")
    assert world.tick() == {"isp": "down", "desa-0": "unreachable"}


def test_an_ancestor_watched_only_by_mqtt_counts_its_next_message() -> None:
    """A VSAT modem that only publishes telemetry cannot be polled: the child waits for
    its next message (or for it to go stale, which is a result too)."""
    inv = inventory(site("vsat", devices=("modem",)), site("desa-0", ("vsat",)))
    world = World(inv)
    world.poll("modem", "vsat", up=True, collector="mqtt")
    world.poll("rtr-desa-0", "desa-0", up=True)
    assert world.tick() == {"vsat": "up", "desa-0": "up"}
    world.now += 30
    world.poll("rtr-desa-0", "desa-0", up=False)
    assert world.tick()["desa-0"] == "up"
    assert world.tick(10)["desa-0"] == "up"
    assert world.polled == []  # nothing to poll: MQTT only speaks when it has something
    world.poll("modem", "vsat", up=False, collector="mqtt")  # silent past its ttl: stale
    assert world.tick() == {"vsat": "down", "desa-0": "unreachable"}


def test_a_fresh_sign_of_life_from_any_collector_settles_an_ancestor() -> None:
    """The POP answered a ping after the village failed: it is not the cause, whatever its
    older SNMP poll said; the village is judged at once, as its own outage."""
    inv = province(1)
    world = World(inv)
    all_up(world, inv)
    world.poll("rtr-noc", "noc", up=True, collector="icmp")
    world.poll("rtr-pop", "pop", up=True, collector="icmp")
    world.tick()
    world.now += 30
    world.poll("rtr-desa-0", "desa-0", up=False)
    world.now += 1
    world.poll("rtr-noc", "noc", up=True, collector="icmp")
    world.poll("rtr-pop", "pop", up=True, collector="icmp")
    assert world.tick()["desa-0"] == "down"
    assert world.engine.published["desa-0"].cause == "device"
    assert world.polled == []  # nothing left to ask for


# -- a fibre cut is the link's fault, named by the link (issue 10, item 13) --------------
FIBRE = Link(
    "fo-noc-pop", "fiber", LinkEnd("noc", "rtr-noc", "sfp1"), LinkEnd("pop", "rtr-pop", "sfp1")
)


def near_end(oper: float | None, rx: float | None, device: str = "rtr-noc") -> list[Sample]:
    """What the NOC router says of its end of the fibre (IF-MIB oper status, SFP DOM)."""
    labels = (("site", "noc"), ("device", device), ("ifname", "sfp1"))
    out = [] if oper is None else [Sample("netmon_interface_oper_up", labels, oper)]
    return out + ([] if rx is None else [Sample("netmon_optical_rx_power_dbm", labels, rx)])


def cut_world(oper: float | None, rx: float | None) -> World:
    """NOC -> POP over FIBRE, two villages behind the POP; then the POP and its villages
    go dark and the NOC's fresh poll reads its end of the fibre as given."""
    inv = inventory(
        site("noc"),
        site("pop", ("noc",)),
        site("desa-0", ("pop",)),
        site("desa-1", ("pop",)),
        links=(FIBRE,),
    )
    world = World(inv)
    all_up(world, inv)
    world.poll("rtr-noc", "noc", up=True, samples=near_end(1.0, -5.7))
    world.tick()
    world.now += 30
    for sid in ("pop", "desa-0", "desa-1"):
        world.poll(f"rtr-{sid}", sid, up=False)
    world.tick()
    world.now += 1
    world.poll("rtr-noc", "noc", up=True, samples=near_end(oper, rx))
    world.tick()
    return world


def test_no_light_at_the_parents_end_is_a_link_outage_named_by_the_link() -> None:
    """The near end still up (a media converter keeps it so) but its receive power at the
    module's loss-of-signal floor: the fibre, not the POP's router."""
    world = cut_world(oper=1.0, rx=-40.0)
    pop = world.engine.published["pop"]
    assert (pop.status, pop.cause, pop.link) == ("down", "link", "fo-noc-pop")
    assert world.engine.published["desa-0"].status == "unreachable"
    text = render(world.engine)
    assert values(
        text,
        "netmon_site_status_cause",
        site="pop",
        cause="link",
        upstream="",
        link="fo-noc-pop",
        near_site="noc",
        near_device="rtr-noc",
        near_ifname="sfp1",
    ) == [1.0]
    assert values(text, "netmon_site_status_cause", site="desa-0", cause="uplink") == [1.0]
    causes = [dict(ls) for (n, ls) in parse_exposition(text) if n == "netmon_site_status_cause"]
    assert [c for c in causes if "link" in c] == [c for c in causes if c["site"] == "pop"]
    link = site_json(world.engine.inventory, world.engine, "pop")["link"]
    assert link == {
        "id": "fo-noc-pop",
        "kind": "fiber",
        "near_end": "noc/rtr-noc:sfp1",
        "oper_up": True,
        "rx_power_dbm": -40.0,
    }
    assert outages_json(world.engine)[0]["link"] == link
    assert site_json(world.engine.inventory, world.engine, "desa-0")["link"] is None


def test_the_parents_end_down_without_optics_is_a_link_outage() -> None:
    world = cut_world(oper=0.0, rx=None)
    assert world.engine.published["pop"].cause == "link"
    link = site_json(world.engine.inventory, world.engine, "pop")["link"]
    assert (link["oper_up"], link["rx_power_dbm"]) == (False, None)


def test_a_weak_but_lit_fibre_with_the_end_up_leaves_the_cause_with_the_device() -> None:
    """-20 dBm is low (OpticalPowerLow warns below -25 dBm only) but light: the POP's own
    router is what went dark."""
    world = cut_world(oper=1.0, rx=-20.0)
    pop = world.engine.published["pop"]
    assert (pop.status, pop.cause, pop.link) == ("down", "device", "")
    assert site_json(world.engine.inventory, world.engine, "pop")["link"] is None


def test_the_link_of_a_link_outage_survives_a_restart(tmp_path: Path) -> None:
    world = cut_world(oper=0.0, rx=-40.0)
    save(tmp_path / "state.json", world.engine)
    restored = load(tmp_path / "state.json")
    assert restored["pop"].link == "fo-noc-pop"
    assert restored["pop"].cause == "link"


def test_the_cause_waits_for_a_fresh_reading_of_the_near_end() -> None:
    """The NOC's core answered after the cut, its aggregation router (where the fibre ends)
    not yet: the POP is judged only once that router has spoken, so its first published
    cause is the link, never a "device" that a page would carry."""
    fibre = dataclasses.replace(FIBRE, a=LinkEnd("noc", "agg-noc", "sfp1"))
    noc = site("noc", devices=("rtr-noc", "agg-noc"))
    inv = inventory(noc, site("pop", ("noc",)), links=(fibre,))
    world = World(inv)
    all_up(world, inv)
    world.poll("agg-noc", "noc", up=True, samples=near_end(1.0, -5.7, "agg-noc"))
    world.tick()
    world.now += 30
    world.poll("rtr-pop", "pop", up=False)
    world.now += 1
    world.poll("rtr-noc", "noc", up=True)  # a sign of life: the NOC is not the cause
    assert world.tick()["pop"] == "up"  # but what its end of the fibre says is old
    assert world.polled == ["snmp:noc/agg-noc"]
    world.poll("agg-noc", "noc", up=True, samples=near_end(0.0, -40.0, "agg-noc"))
    assert world.tick()["pop"] == "down"
    assert (world.engine.published["pop"].cause, world.engine.published["pop"].link) == (
        "link",
        "fo-noc-pop",
    )


def test_a_reload_does_not_make_an_old_power_reading_new() -> None:
    """A power reading from hours ago, kept by retention through the charge controller's
    failed polls, must stay that old, also when a reload re-reads every target: a
    failure now is no power outage."""
    inv = province(1)
    world = World(inv)
    all_up(world, inv)
    labels = (("site", "desa-0"), ("device", "desa-0-mppt"))
    low = [Sample("netmon_power_battery_ratio", labels, 0.12)]
    world.poll("desa-0-mppt", "desa-0", up=True, samples=low, collector="mqtt")
    world.tick()
    world.now += 2 * 3600  # the charge controller went offline since; the routers answer
    world.poll("desa-0-mppt", "desa-0", up=False, collector="mqtt")
    all_up(world, inv)
    world.tick()
    world.engine.set_inventory(inv, {})  # a reload: the next evaluation reads all again
    world.tick()
    world.poll("rtr-desa-0", "desa-0", up=False)
    world.poll("rtr-noc", "noc", up=True)
    world.poll("rtr-pop", "pop", up=True)
    assert world.tick()["desa-0"] == "down"
    assert world.engine.published["desa-0"].cause == "device"
