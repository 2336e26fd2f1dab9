"""The demo's agents: the real recordings, brought to life with snmpsim's variation module.

A recording is a snapshot: its counters never move, so every rate is zero. Here the
traffic counters and uptimes advance (snmpsim's `numeric` module computes a value
from the time since snmpsim started), and the scripted incidents get variants of a
recording, each under a community of the same length as the original so that a relay
can switch a device to it by rewriting the community in flight:

- a reboot: uptime and counters start again from zero at the moment of the reboot;
- a fading radio link: the signal holds until the fade starts, then sinks ~0.3 dB/s
  (scaled to the demo's pace) until it is barely above the noise floor.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from netmon.simulate import recordings_dir

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


def animate(text: str, reboot_at: float | None = None) -> str:
    """Counters and uptimes that advance; ``reboot_at`` (s after start) restarts them."""
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


def demo_recordings(reboot_at: float, fade_at: float, fade_for: float) -> dict[str, str]:
    """community -> recording text: every real recording animated, plus the variants."""
    source = recordings_dir()
    out: dict[str, str] = {}
    for path in sorted(source.glob("*.snmprec")):
        out[path.stem] = animate(path.read_text())
    routeros = (source / "routeros.snmprec").read_text()
    out[REBOOTED] = animate(routeros, reboot_at=reboot_at)
    airos = (source / "airos_airos8.snmprec").read_text()
    out[FADING] = fade(airos, fade_at, fade_for)
    return out


def write(target: Path, recordings: dict[str, str]) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for community, text in recordings.items():
        path = target / f"{community}.snmprec"
        path.write_text(text)
        paths.append(path)
    return paths
