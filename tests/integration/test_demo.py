"""`netmon demo`, the README's main command: the whole stack started, the scripted
incidents seen where a NOC operator would look (the sites API, Prometheus alerts, the
pages Alertmanager sends), and everything stopped again."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from netmon.tools.demo import script
from netmon.tools.simulate import free_tcp_port
from tests.demo_harness import DemoStack, demo_command, fetch, running_demo
from tests.helpers import ROOT, parse_exposition, values, wait_for

pytestmark = pytest.mark.integration


def test_demo_stops_by_itself_and_leaves_nothing_running(tmp_path: Path) -> None:
    """Also the fallback broker: amqtt in-process, as on a machine without mosquitto."""
    args = ("--sites=16", "--interval=4", "--duration=25", "--broker=embedded")
    with running_demo(tmp_path, *args) as demo:
        text = fetch(demo.netmon + "/metrics")
        assert values(text, "netmon_inventory_sites")[0] >= 16
        wait_for(
            lambda: bool(values(fetch(demo.netmon + "/metrics"), "netmon_power_battery_ratio")),
            20,
            "battery telemetry through the embedded broker",
        )
        assert values(fetch(demo.netmon + "/metrics"), "netmon_mqtt_connected") == [1.0]
        log = Path(re.findall(r"netmon's log +(\S+)", demo.stdout)[0])
        assert '"event": "config loaded"' in log.read_text()  # netmon logs there...
        assert demo.process.wait(timeout=60) == 0
    out = demo.stdout
    assert '"event"' not in out  # ...so the terminal keeps the tour, incidents and pages
    assert "netmon demo: a simulated province is being monitored" in out
    assert f"{demo.netmon}/" in out
    assert demo.prometheus in out
    assert no_listener(demo.netmon, demo.prometheus, demo.alertmanager)


def no_listener(*urls: str) -> bool:
    """Nothing listens on these URLs' ports any more (binding one raises if so)."""
    for url in urls:
        port = int(url.rsplit(":", 1)[1])
        with socket.socket() as s:
            # SO_REUSEADDR: closed connections in TIME_WAIT allow the bind, a listener not
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    return True


def test_a_closed_terminal_ends_the_demo_and_all_it_started(tmp_path: Path) -> None:
    """SIGHUP reloads `netmon run`, but the demo is not a service: a closed SSH session
    must not leave it (and its snmpsim at most of a core) running unseen."""
    args = ("--sites=16", "--interval=4", "--broker=embedded")
    with running_demo(tmp_path, *args) as demo:
        demo.process.send_signal(signal.SIGHUP)
        assert demo.process.wait(timeout=60) == 0
    assert "Ctrl-C stops everything" in demo.stdout
    assert no_listener(demo.netmon, demo.prometheus, demo.alertmanager)


def test_the_announced_power_cut_is_declared_for_its_kecamatan_only(
    demo_stack: DemoStack,
) -> None:
    text = fetch(demo_stack.netmon + "/metrics")
    declared = {
        site: value
        for site in demo_stack.sites()
        for value in values(text, "netmon_site_power_cut_declared", site=site)
    }
    assert declared["pop-paser"] == 1.0  # PLN's cut in Tanah Grogot is on now
    assert set(declared) <= {s for s in demo_stack.sites() if "paser" in s}
    assert demo_stack.sites()["pop-paser"]["power_cut_declared"] is True
    assert "pemadaman PLN terjadwal" in fetch(demo_stack.netmon + "/?kabupaten=Paser")


def test_a_fibre_cut_is_one_outage_with_its_villages_behind_it(demo_stack: DemoStack) -> None:
    plan = demo_stack.plan
    behind = [site for site in plan.cut_sites if site != plan.cut]

    seen: dict[str, tuple[str, str, str]] = {}

    def cut_seen() -> bool:
        sites = demo_stack.sites()
        seen.update(
            {
                s: (sites[s]["status"], sites[s]["cause"], sites[s]["upstream"])
                for s in plan.cut_sites
            }
        )
        return sites[plan.cut]["status"] == "down" and all(
            sites[s]["status"] == "unreachable" and sites[s]["upstream"] == plan.cut for s in behind
        )

    try:
        wait_for(cut_seen, 120, f"{plan.cut} down, its {len(behind)} villages unreachable")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last seen (status, cause, upstream): {seen}") from None
    # the camera behind the cut: its check fails (no answer down a cut path), and its
    # camera-only site is unreachable behind the POP, not down
    ((camera_site, camera),) = plan.cut_services
    assert seen[camera_site] == ("unreachable", "uplink", plan.cut)
    metrics = fetch(demo_stack.netmon + "/metrics")
    assert values(metrics, "netmon_service_up", device=camera) == [0.0]
    assert values(metrics, "netmon_service_failures_total", device=camera, reason="timeout")[0] > 0
    outages = {o["root"]: o for o in demo_stack_outages(demo_stack)}
    assert outages[plan.cut]["sites_affected"] == len(plan.cut_sites)
    # the cause is the fibre, named as the inventory names it, with its near end's reading
    # (on a loaded machine a poll of the NOC's end may fail: then it is known a poll later)
    fibre = fibre_to(demo_stack, plan.cut)
    near_end = f"{fibre['a_site']}/{fibre['a_device']}:{fibre['a_ifname']}"
    wait_for(lambda: demo_stack.sites()[plan.cut]["cause"] == "link", 60, "cause: the link")
    pop = demo_stack.sites()[plan.cut]
    assert (pop["cause"], pop["link"]["id"], pop["link"]["near_end"]) == (
        "link",
        fibre["link"],
        near_end,
    )
    assert pop["link"]["oper_up"] is False
    assert pop["link"]["rx_power_dbm"] == -40.0  # the module's no-light floor
    page = fetch(demo_stack.netmon + "/")
    assert (
        f"tautan {fibre['link']} (ujung {near_end}: antarmuka mati, daya terima -40.0 dBm)" in page
    )
    wait_for(lambda: demo_stack.firing("UplinkDown", site=plan.cut), 120, "UplinkDown firing")
    page_text = next(
        a["annotations"]
        for a in demo_stack.alerts()
        if a["labels"].get("alertname") == "UplinkDown" and a["labels"].get("site") == plan.cut
    )
    assert f"tautan {fibre['link']} (ujung {near_end}: antarmuka mati" in page_text["description"]
    assert "daya terima -40.0 dBm" in page_text["description"]
    assert f"link {fibre['link']} (near end {near_end}" in page_text["description_en"]
    # one page for the cut: the POP's UplinkDown (wait for that one: another village's
    # UplinkDown, the flat battery's, may come first); the sites behind it, its camera
    # among them, are inhibited, not paged one by one
    pop_name = demo_stack.sites()[plan.cut]["name"]

    def cut_pages() -> list[str]:
        return [p for p in pages_of(demo_stack) if "FIRING UplinkDown" in p and pop_name in p]

    wait_for(lambda: bool(cut_pages()), 60, f"the UplinkDown page of {pop_name} printed")
    assert len(cut_pages()) == 1
    names = {demo_stack.sites()[s]["name"] for s in behind}
    assert not [
        p for p in pages_of(demo_stack) if "SiteUnreachable" in p or any(n in p for n in names)
    ]
    assert not [p for p in pages_of(demo_stack) if camera in p]  # no ServiceDown of its own


def pages_of(demo: DemoStack) -> list[str]:
    """The pages the stand-in for the technicians' phones printed so far."""
    return [line for line in demo.stdout.splitlines() if "page -> " in line]


def test_a_flat_battery_takes_its_village_and_the_sites_it_feeds_down(
    demo_stack: DemoStack,
) -> None:
    plan = demo_stack.plan

    def dark() -> bool:
        sites = demo_stack.sites()
        return (sites[plan.power]["status"], sites[plan.power]["cause"]) == (
            "down",
            "power",
        ) and all(sites[s]["status"] == "unreachable" for s in plan.power_sites[1:])

    wait_for(dark, 150, f"{plan.power} down for lack of power, the sites it feeds unreachable")
    assert "battery is flat" in demo_stack.stdout


def test_a_reboot_and_a_fading_radio_raise_their_alerts(demo_stack: DemoStack) -> None:
    _site, router = demo_stack.plan.reboot
    wait_for(
        lambda: demo_stack.firing("DeviceRebooted", device=router), 120, "DeviceRebooted firing"
    )
    _site, radio = demo_stack.plan.fade

    def faded() -> bool:
        signal = values(
            fetch(demo_stack.netmon + "/metrics"),
            "netmon_wireless_signal_dbm",
            device=radio,
            stat="link",
        )
        return bool(signal) and signal[0] < -80

    wait_for(faded, 150, f"{radio}'s signal below -80 dBm")
    wait_for(
        lambda: demo_stack.firing("RadioSignalWeak", device=radio), 150, "RadioSignalWeak firing"
    )


def test_the_fibre_is_repaired_and_the_outage_ends(demo_stack: DemoStack) -> None:
    plan = demo_stack.plan
    repaired_by = plan.at(script.REPAIR_AT) + 90  # after the start, and a few polls

    def repaired() -> bool:
        sites = demo_stack.sites()
        return all(sites[s]["status"] in ("up", "degraded") for s in plan.cut_sites)

    wait_for(repaired, repaired_by, f"{plan.cut} and its villages back up after the splice")
    assert plan.cut not in {o["root"] for o in demo_stack_outages(demo_stack)}
    # the camera behind it answers again (its site alone would be up on telemetry)...
    ((camera_site, camera),) = plan.cut_services

    def answering() -> bool:
        up = values(fetch(demo_stack.netmon + "/metrics"), "netmon_service_up", device=camera)
        return up == [1.0]

    wait_for(answering, 60, f"{camera}'s RTSP answering again after the splice")
    # ...and over the whole cut no page was about it: the POP's UplinkDown spoke for it
    names = (camera, demo_stack.sites()[camera_site]["name"])
    assert not [p for p in pages_of(demo_stack) if any(n in p for n in names)]


def test_a_dead_camera_pages_service_down_while_its_site_stays_reachable(
    demo_stack: DemoStack,
) -> None:
    """Its RTSP port refuses from the start; the NVR and the other camera of the market
    answer, so the site is degraded (a down site would be SiteDown's page instead)."""
    site, camera = demo_stack.plan.dead_camera
    wait_for(
        lambda: demo_stack.firing("ServiceDown", device=camera, check="rtsp"),
        150,
        f"ServiceDown firing for {camera}",
    )
    state = demo_stack.sites()[site]
    assert (state["status"], state["cause"]) == ("degraded", "device")
    metrics = fetch(demo_stack.netmon + "/metrics")
    assert values(metrics, "netmon_service_up", device=camera) == [0.0]
    assert values(metrics, "netmon_service_failures_total", device=camera, reason="refused")[0] > 0
    others = [
        v
        for (name, labels), v in parse_exposition(metrics).items()
        if name == "netmon_service_up"
        and ("site", site) in labels
        and ("device", camera) not in labels
    ]
    assert others, f"{site} has no other service checks"
    assert set(others) == {1.0}  # the NVR and the live camera answer
    alert = next(
        a
        for a in demo_stack.alerts()
        if a["labels"].get("alertname") == "ServiceDown" and a["labels"].get("device") == camera
    )
    assert alert["labels"]["root"] == site  # its own outage: nothing upstream failed
    assert alert["annotations"]["reason"] == "refused"
    assert "koneksi ditolak" in alert["annotations"]["description"]

    def paged() -> bool:
        return any("FIRING ServiceDown" in p and camera in p for p in pages_of(demo_stack))

    wait_for(paged, 90, f"the ServiceDown page for {camera} printed")


def fibre_to(demo: DemoStack, pop: str) -> dict[str, str]:
    """The link into ``pop`` as the inventory declares it (netmon_link_info, which comes
    from the site files, not from the status engine)."""
    links = [
        dict(labels)
        for (name, labels) in parse_exposition(fetch(demo.netmon + "/metrics"))
        if name == "netmon_link_info"
    ]
    (fibre,) = [link for link in links if link["b_site"] == pop]
    return fibre


def demo_stack_outages(demo: DemoStack) -> list[dict[str, object]]:
    from tests.demo_harness import fetch_json

    outages: list[dict[str, object]] = fetch_json(demo.netmon + "/api/v1/outages")["data"]
    return outages


def run_demo_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netmon", "demo", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_odd_options_are_refused_before_anything_starts() -> None:
    done = run_demo_command(
        "--sites=5", "--interval=0", "--speed=0", "--duration=-1", "--prometheus-port=70000"
    )
    assert done.returncode == 2
    for flag in ("--sites", "--interval", "--speed", "--duration", "--prometheus-port"):
        assert f"netmon demo: {flag} must be" in done.stderr


def test_a_taken_listen_port_is_said_at_once(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_demo_command(f"--listen=127.0.0.1:{port}")
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def group_members(pgid: int) -> list[str]:
    """Command lines of the live processes in process group ``pgid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(cmdline)
    return found


def test_a_hangup_while_starting_stops_all_that_was_started(tmp_path: Path) -> None:
    """The terminal closes while snmpsim, mosquitto or Prometheus are coming up: nothing
    they were may be left running, re-parented to init."""
    proc = subprocess.Popen(
        demo_command(free_tcp_port(), 0, 0, "--sites=16", "--interval=4"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: any("snmpsim" in c for c in group_members(proc.pid)), 60, "snmpsim started"
        )
        proc.send_signal(signal.SIGHUP)
        assert proc.wait(timeout=60) in (0, 130)  # 130: stopped while starting
        left: list[str] = []

        def nothing_left() -> bool:
            left[:] = group_members(proc.pid)
            return not left

        try:
            wait_for(nothing_left, 30, "nothing of the demo left")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; still running: {left}") from None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
