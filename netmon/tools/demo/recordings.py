"""The demo's agents: the real recordings, brought to life with snmpsim's variation module.

A recording is a snapshot: its counters never move, so every rate is zero. Here the
traffic counters and uptimes advance (snmpsim's `numeric` module computes a value
from the time since snmpsim started), and the scripted incidents get variants of a
recording, each under a community of the same length as the original so that a relay
can switch a device to it by rewriting the community in flight:

- a reboot: uptime and counters start again from zero at the moment of the reboot;
- a fading radio link: the signal holds until the fade starts, then sinks ~0.3 dB/s
  (scaled to the demo's pace) until it is barely above the noise floor;
- a fibre cut, seen from the NOC's end: the aggregation router's port of that fibre goes
  down, its receive power drops to the loss-of-signal floor and its traffic stops.

The NOC's aggregation router is built from the RouterOS recording (a MikroTik with one
SFP): one SFP+ port per POP fibre, each a copy of the recording's WAN port in IF-MIB and
of its SFP's row in MIKROTIK-MIB's optical table, under the port's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from netmon.tools.simulate import recordings_dir

#: octet counters of IF-MIB: ifInOctets, ifOutOctets, ifHCInOctets, ifHCOutOctets
OCTETS = (
    "1.3.6.1.2.1.2.2.1.10.",
    "1.3.6.1.2.1.2.2.1.16.",
    "1.3.6.1.2.1.31.1.1.1.6.",
    "1.3.6.1.2.1.31.1.1.1.10.",
)
#: packet counters move too, slower: ifHCInUcastPkts, ifHCOutUcastPkts
PACKETS = ("1.3.6.1.2.1.31.1.1.1.7.", "1.3.6.1.2.1.31.1.1.1.11.")
#: sysUpTime and hrSystemUptime (TimeTicks, 1/100 s); snmpEngineTime (seconds)
UPTIMES = {"1.3.6.1.2.1.1.3.0": 100, "1.3.6.1.2.1.25.1.1.0": 100, "1.3.6.1.6.3.10.2.1.3.0": 1}
#: airMAX ubntWlStatSignal and ubntWlStatCcq
SIGNAL = "1.3.6.1.4.1.41112.1.4.5.1.5."
CCQ = "1.3.6.1.4.1.41112.1.4.5.1.7."
#: community of the radio whose link fades; the rebooting router's until its reboot
FADING = "airos_fading"
REBOOTING = "routeros"
#: how low a faded signal goes (dBm): a few dB above the recording's -91 dBm noise floor
FADED_DBM = -88


def variant(community: str, suffix: str) -> str:
    """A community of the same length: the relay swaps one for the other in place."""
    return community[: -len(suffix)] + suffix


#: the rebooting router's recording after its reboot (the relay swaps the community)
REBOOTED = variant(REBOOTING, "-r")
#: the NOC's fibre aggregation router; and the same router once one fibre is cut
FIBRE_AGG = "routeros_agg"
FIBRE_CUT = variant(FIBRE_AGG, "-cut")
#: IF-MIB columns (ifTable, ifXTable) and MIKROTIK-MIB's optical table (mtxrOpticalTable)
IF_TABLE, IFX_TABLE = "1.3.6.1.2.1.2.2.1.", "1.3.6.1.2.1.31.1.1.1."
OPTICAL = "1.3.6.1.4.1.14988.1.1.19.1.1."
#: names of every interface the recording knows (ifName, mtxrInterfaceStatsName): new
#: ports take ifIndexes after all of them
NAMES = (IFX_TABLE + "1.", "1.3.6.1.4.1.14988.1.1.14.1.1.2.")
#: the recording's WAN port and SFP (ifIndex, optical table index): the ports' pattern
WAN_PORT, SFP_ROW = "3", "25"
#: an SFP's receive power with no light (0.001 dBm): the floor its DOM reports on LOS
NO_LIGHT = -40000


def _rate(oid: str, low: float, high: float) -> float:
    """Deterministic per OID, so every run of the demo shows the same traffic."""
    digest = int.from_bytes(hashlib.sha256(oid.encode()).digest()[:4], "big")
    return low + (high - low) * digest / 0xFFFFFFFF


def _numeric(oid: str, tag: str, **params: float) -> str:
    """A `numeric` variation line: value = initial + offset + rate * (seconds since start)."""
    settings = ",".join(
        f"{k}={int(v) if float(v).is_integer() else round(v, 4)}" for k, v in params.items()
    )
    return f"{oid}|{tag}:numeric|{settings}"


def animate(
    text: str, reboot_at: float | None = None, halt: tuple[str, float] | None = None
) -> str:
    """Counters and uptimes that advance; ``reboot_at`` (s after start) restarts them;
    ``halt`` (ifIndex, s after start): that interface's traffic stops then."""
    out = []
    for line in text.splitlines():
        oid, _, rest = line.partition("|")
        tag, _, value = rest.partition("|")
        if not value.isdigit() or ":" in tag:
            out.append(line)
            continue
        start = float(value)
        rate = 0.0
        wrap = tag == "65"
        if oid in UPTIMES:
            rate = float(UPTIMES[oid])
        elif start > 0 and tag in ("65", "70") and oid.startswith(OCTETS):
            rate = _rate(oid, 20e3, 1.5e6)  # bytes/s: a village link, busy by day
        elif start > 0 and tag in ("65", "70") and oid.startswith(PACKETS):
            rate = _rate(oid, 20.0, 1500.0)
        if not rate:
            out.append(line)
            continue
        params: dict[str, float] = {"rate": rate, "initial": start}
        if reboot_at is not None:
            # zero at the reboot, growing after it; clamped at 0 before (never served then)
            params = {"rate": rate, "initial": 0.0, "offset": -rate * reboot_at}
        if wrap:
            params["max"] = float(2**32 - 1)
            params["wrap"] = 1.0
        if (
            halt is not None
            and oid.rpartition(".")[2] == halt[0]
            and oid.startswith(OCTETS + PACKETS)
        ):
            params["max"] = start + rate * halt[1]  # a port with no light carries nothing
        out.append(_numeric(oid, tag, **params))
    return "\n".join(out) + "\n"


def fade(text: str, start_at: float, seconds: float) -> str:
    """The radio's signal sinks to FADED_DBM over ``seconds``, from ``start_at`` on."""
    out = []
    for line in animate(text).splitlines():
        oid, _, rest = line.partition("|")
        tag, _, value = rest.partition("|")
        if oid.startswith((SIGNAL, CCQ)) and tag == "2":
            held = float(value)
            floor = FADED_DBM if oid.startswith(SIGNAL) else 5.0  # CCQ falls to 5 %
            slope = (held - floor) / seconds
            line = _numeric(
                oid, tag, initial=held, rate=-slope, offset=slope * start_at, min=floor, max=held
            )
        out.append(line)
    return "\n".join(out) + "\n"


def _oid_key(line: str) -> tuple[int, ...]:
    return tuple(int(part) for part in line.partition("|")[0].split("."))


def fibre_agg(text: str, ports: Sequence[tuple[str, str]], cut: str | None = None) -> str:
    """The RouterOS recording as the NOC's aggregation router: ``ports`` (name, alias:
    the link's id) added after its own interfaces, its own SFP row gone. With ``cut`` (a
    port's name), that port is oper down and dark: rx at NO_LIGHT, rxLoss set."""
    lines = text.splitlines()
    kept, wan, sfp = [], [], []
    for line in lines:
        oid, _, rest = line.partition("|")
        if oid.startswith(OPTICAL):
            if oid.rpartition(".")[2] == SFP_ROW:
                sfp.append((oid.rpartition(".")[0], rest))
            continue
        if oid.startswith((IF_TABLE, IFX_TABLE)) and oid.rpartition(".")[2] == WAN_PORT:
            wan.append((oid.rpartition(".")[0], rest))
        kept.append(line)
    first = 1 + max(
        int(line.partition("|")[0].rpartition(".")[2]) for line in lines if line.startswith(NAMES)
    )
    for n, (name, alias) in enumerate(ports):
        index, dark = str(first + n), name == cut
        port = {
            "2": f"4|{name}",  # ifDescr
            "8": f"2|{2 if dark else 1}",  # ifOperStatus: down(2) when cut
            "6": f"4x|6C3B6BA2{0x10 + n:02X}F6",  # ifPhysAddress
        }
        xport = {"1": f"4|{name}", "15": "66|10000", "18": f"4|{alias}"}  # ifName, ifAlias
        for column, rest in wan:
            table, col = column.rpartition(".")[0] + ".", column.rpartition(".")[2]
            rest = (port if table == IF_TABLE else xport).get(col, rest)
            kept.append(f"{column}.{index}|{rest}")
        optics = {"2": f"4|{name}", "3": f"2|{int(dark)}"}  # mtxrOpticalName, RxLoss
        optics["10"] = f"2|{NO_LIGHT if dark else -5673 - 250 * n}"  # RxPower, 0.001 dBm
        for column, rest in sfp:
            kept.append(f"{column}.{index}|{optics.get(column.rpartition('.')[2], rest)}")
    return "\n".join(sorted(kept, key=_oid_key)) + "\n"


def port_index(text: str, name: str) -> str:
    """The ifIndex of the port called ``name`` in a recording (ifName)."""
    for line in text.splitlines():
        oid, _, rest = line.partition("|")
        if oid.startswith(IFX_TABLE + "1.") and rest.partition("|")[2] == name:
            return oid.rpartition(".")[2]
    msg = f"no port {name!r} in the recording"
    raise LookupError(msg)


def demo_recordings(
    reboot_at: float,
    fade_at: float,
    fade_for: float,
    fibres: Sequence[tuple[str, str]] = (),
    cut: tuple[str, float] | None = None,
) -> dict[str, str]:
    """community -> recording text: every real recording animated, plus the variants.

    ``fibres``: the NOC aggregation router's ports (name, link id); ``cut``: (the port
    whose fibre is cut, when: s after the start)."""
    source = recordings_dir()
    out: dict[str, str] = {}
    for path in sorted(source.glob("*.snmprec")):
        out[path.stem] = animate(path.read_text())
    routeros = (source / "routeros.snmprec").read_text()
    out[REBOOTED] = animate(routeros, reboot_at=reboot_at)
    airos = (source / "airos_airos8.snmprec").read_text()
    out[FADING] = fade(airos, fade_at, fade_for)
    if fibres:
        out[FIBRE_AGG] = animate(fibre_agg(routeros, fibres))
        if cut is not None:
            dark = fibre_agg(routeros, fibres, cut=cut[0])
            out[FIBRE_CUT] = animate(dark, halt=(port_index(dark, cut[0]), cut[1]))
    return out


def write(target: Path, recordings: dict[str, str]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for community, text in recordings.items():
        path = target / f"{community}.snmprec"
        path.write_text(text)
        paths.append(path)
    return paths
