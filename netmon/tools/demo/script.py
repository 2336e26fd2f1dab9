"""The demo's scripted incidents: who suffers what, and when.

Times are in steps of the demo's poll interval, counted from the moment snmpsim
started (its `numeric` variations count from then too, so a reboot in a recording
and the relay's switch to it line up). Alert timings are scaled so that one step
stands for one minute: a `for: 5m` takes five polls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from netmon.tools.demo import cctv_sites
from netmon.tools.simulate import UdpRelay

#: (what, steps after the start) of each incident
POWER_AT, REBOOT_AT, FADE_AT, FADE_STEPS, CUT_AT, REPAIR_AT = 2, 3, 3, 8, 6, 25


@dataclass(frozen=True)
class Plan:
    """The victims, picked from the generated province."""

    step: float
    power: str  # a village office whose grid power goes and whose battery then dies
    power_sites: tuple[str, ...]  # it and the sites it shares its connection with
    reboot: tuple[str, str]  # (site, router) that reboots
    fade: tuple[str, str]  # (site, radio) whose link signal fades
    cut: str  # a POP whose fibre from the NOC is cut, and later repaired
    cut_sites: tuple[str, ...]  # every site of the POP's kabupaten, the POP included
    cut_link: str = ""  # that fibre's link id
    cut_port: str = ""  # its port on the NOC's aggregation router (the near end)
    #: (site, device) of the camera whose stream server is dead from the start
    dead_camera: tuple[str, str] = ("", "")
    #: (site, device) of every camera or NVR behind the cut: its servers go dark with it
    cut_services: tuple[tuple[str, str], ...] = ()

    def at(self, steps: float) -> float:
        return steps * self.step

    @property
    def relayed(self) -> list[str]:
        """Sites whose devices answer through a relay the script controls."""
        return [*self.power_sites, self.reboot[0], *self.cut_sites]


def _sites(content: dict[str, dict[str, Any]], slug: str) -> list[dict[str, Any]]:
    sites: list[dict[str, Any]] = content[slug]["sites"]
    return sites


def plan(content: dict[str, dict[str, Any]], step: float) -> Plan:
    """Victims in different kabupaten, so each incident is its own story."""
    slugs = [slug for slug in content if slug != "provinsi"]
    first, second, third = slugs[0], slugs[1 % len(slugs)], slugs[2 % len(slugs)]
    villages = [s for s in _sites(content, first) if s["kind"] not in ("pop", "noc")]
    radios = [
        (s["id"], d["id"]) for s in villages for d in s["devices"] if d["id"].startswith("radio-")
    ]
    schools = [s for s in villages if s["kind"] == "school"] or villages
    offices = [s for s in _sites(content, second) if s["kind"] == "village_office"]
    pop = next(s["id"] for s in _sites(content, third) if s["kind"] == "pop")
    reboot = schools[0]
    power = offices[0]["id"]
    behind = [s["id"] for s in _sites(content, second) if power in s.get("uplinks", [])]
    fibre = next(x for x in content[third]["links"] if x["b"].startswith(f"{pop}/"))
    cut_sites = tuple(s["id"] for s in _sites(content, third))
    services = [(site, device["id"]) for site, device in cctv_sites.service_devices(content)]
    dead = cctv_sites.dead_camera(slugs[cctv_sites.CCTV[0][0]])  # its kabupaten's slug
    return Plan(
        step=step,
        power=power,
        power_sites=(power, *behind),
        reboot=(reboot["id"], reboot["devices"][0]["id"]),
        fade=radios[0],
        cut=pop,
        cut_sites=cut_sites,
        cut_link=fibre["id"],
        cut_port=fibre["a"].rpartition(":")[2],
        dead_camera=next((s for s in services if s[1] == dead), ("", "")),
        cut_services=tuple(s for s in services if s[0] in cut_sites),
    )


class Switch(Protocol):
    """Something the script can take dark and light again: a relay, a camera's server."""

    dark: bool


@dataclass
class Relays:
    """The relays in front of the victims' devices (created on the demo's loop)."""

    power: UdpRelay
    reboot: UdpRelay
    cut: UdpRelay
    swap: tuple[bytes, bytes]  # the rebooting router's community -> its rebooted recording
    #: in front of the NOC's aggregation router, and its community -> its recording with
    #: the cut fibre's port down and dark (the near end of the cut)
    fibre: UdpRelay | None = None
    fibre_swap: tuple[bytes, bytes] | None = None
    #: the servers of the cameras and NVRs behind the cut: they stop answering with it
    behind_cut: Sequence[Switch] = ()


def community_tlv(community: str) -> bytes:
    """The community as it appears in an SNMP message (BER octet string)."""
    raw = community.encode()
    return bytes([0x04, len(raw)]) + raw


class Telemetry(Protocol):
    """What the script needs of the MQTT telemetry simulator."""

    def cut_power(self, name: str, drain: float = ...) -> None: ...
    def isolate(self, names: Sequence[str]) -> None: ...
    def reconnect(self, names: Sequence[str]) -> None: ...


def battery_flat(plan: Plan, relays: Relays, telemetry: Telemetry | None) -> None:
    """The power victim is dark, and so is every site it shares its connection with."""
    relays.power.dark = True
    if telemetry is not None:
        telemetry.isolate(plan.power_sites[1:])


async def run_script(
    plan: Plan,
    relays: Relays,
    origin: float,
    say: Callable[[str], None],
    telemetry: Telemetry | None,
) -> None:
    """Carry out the incidents at their times; the telemetry decides when a battery dies."""
    cut_villages = [site for site in plan.cut_sites if site != plan.cut]

    def power() -> None:
        if telemetry is not None:
            telemetry.cut_power(plan.power)  # dark when the battery is flat: battery_flat()
        else:
            battery_flat(plan, relays, None)  # no telemetry: the site simply goes dark

    def reboot() -> None:
        relays.reboot.swap = relays.swap

    def cut() -> None:
        relays.cut.dark = True
        for server in relays.behind_cut:
            server.dark = True
        if relays.fibre is not None:  # the NOC's end: port down, no light
            relays.fibre.swap = relays.fibre_swap
        if telemetry is not None:
            telemetry.isolate(cut_villages)

    def repair() -> None:
        relays.cut.dark = False
        for server in relays.behind_cut:
            server.dark = False
        if relays.fibre is not None:
            relays.fibre.swap = None
        if telemetry is not None:
            telemetry.reconnect(cut_villages)

    cams = "".join(f", {device} too" for _, device in plan.cut_services)
    cut_text = f"fibre {plan.cut_link} to {plan.cut} cut: it and all behind it go dark{cams}"
    events: list[tuple[float, str, Callable[[], None]]] = [
        (POWER_AT, f"{plan.power} lost its grid power; its battery drains", power),
        (REBOOT_AT, f"{plan.reboot[1]} at {plan.reboot[0]} rebooted (a power glitch)", reboot),
        # the recording fades by itself from this moment: nothing to do but tell
        (FADE_AT, f"the radio link to {plan.fade[0]} starts to fade", lambda: None),
        (CUT_AT, cut_text, cut),
        (REPAIR_AT, f"the fibre to {plan.cut} is spliced again", repair),
    ]
    for at, text, action in sorted(events, key=lambda e: e[0]):
        delay = origin + plan.at(at) - time.time()
        if delay > 0:
            await asyncio.sleep(delay)  # the script's own clock, not a synchronisation
        action()
        say(f"incident: {text}")
