"""Cheap, seeded input generators for bench/fuzz_fast.py: the shapes of the hypothesis
strategies in tests/fuzz/*_target.py, drawn with ``random.Random`` (microseconds per
input instead of hypothesis's ~20 ms), plus byte- and line-level mutations of valid
inputs (datagrams, payloads, the shipped YAML files).

Each generator takes a ``random.Random`` and returns one case in the form the target's
``check`` takes; the same seed gives the same case.
"""

from __future__ import annotations

import json
import math
import random
import struct
from typing import Any

from collectors.snmp.engine import RawPoll, TableWalk
from collectors.snmp.plan import Value
from tests import snmp_ber as ber
from tests.fuzz import mqtt_target, snmp_target, trap_target

R = random.Random

#: characters that make text interesting: ASCII, controls, separators, non-BMP, non-Latin
ALPHABET = [
    *"abcXYZ019 -._~/:+#{}[]\",'\\\t\n\r\x00\x7f",
    *("\u00e9", "\u2028", "\ufeff", "\uffff", "\U0001f600", "\u0627", "\u4e2d"),
]
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, -1e308, 5e-324, 2.0**64]


def text(r: R, max_size: int) -> str:
    n = r.randint(0, max_size)
    if r.random() < 0.2:  # any code point but a surrogate
        return "".join(
            chr(r.choice([r.randint(0, 0xD7FF), r.randint(0xE000, 0x10FFFF)])) for _ in range(n)
        )
    return "".join(r.choice(ALPHABET) for _ in range(n))


def floats(r: R) -> float:
    pick = r.random()
    if pick < 0.3:
        return r.choice(SPECIAL_FLOATS)
    if pick < 0.6:
        return r.uniform(-1e6, 1e6)
    value: float = struct.unpack("<d", r.randbytes(8))[0]  # any bit pattern
    return value


def mutate_bytes(r: R, data: bytes, times: int = 4) -> bytes:
    """Flip, overwrite, insert, delete, duplicate a slice, truncate."""
    out = bytearray(data)
    for _ in range(r.randint(1, times)):
        op = r.randrange(6)
        at = r.randint(0, len(out))
        if op == 0 and at < len(out):
            out[at] ^= 1 << r.randrange(8)
        elif op == 1 and at < len(out):
            out[at] = r.choice([0, 0x7F, 0x80, 0xFF, r.randrange(256)])
        elif op == 2:
            out[at:at] = r.randbytes(r.randint(1, 8))
        elif op == 3:
            del out[at : at + r.randint(1, 8)]
        elif op == 4:
            end = r.randint(at, min(len(out), at + 16))
            out[at:at] = out[at:end]
        else:
            del out[at:]
    return bytes(out)


# --- SNMP varbinds ---------------------------------------------------------------------


def snmp_value(r: R) -> Value:
    pick = r.randrange(8)
    if pick == 0:
        return None
    if pick == 1:
        return r.choice(snmp_target.EDGES)
    if pick == 2:
        return r.randint(-(2**70), 2**70)
    if pick == 3:
        return r.randint(-5, 300)
    if pick == 4:
        return r.randbytes(r.randint(0, 24))
    if pick == 5:
        return text(r, 24)
    if pick == 6:
        return floats(r)
    return ".".join(str(r.randint(0, 2**32 + 5)) for _ in range(r.randint(0, 12)))


def snmp_index(r: R) -> str:
    pick = r.randrange(3)
    if pick == 0:
        return str(r.randint(0, 2**32 + 1))
    if pick == 1:
        return ".".join(str(r.randint(0, 300)) for _ in range(r.randint(1, 8)))
    return r.choice(["", ".", "1..2", "-1", "x", "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17"])


def snmp_poll(r: R, profiles: list[Any]) -> RawPoll:
    scalar_oids = snmp_target._scalar_oids(profiles)
    scalars: dict[str, Value] = {}
    for _ in range(r.randint(0, len(scalar_oids))):
        scalars[r.choice(scalar_oids)] = snmp_value(r)
    tables: dict[str, TableWalk] = {}
    failed: dict[str, str] = {}
    for p in profiles:
        for table in p.tables:
            key = f"{p.name}.{table.name}"
            if r.randint(0, 15) == 0:
                failed[key] = "timeout"
                continue
            columns = sorted({c.oid for c in table.columns.values()})
            walk: TableWalk = {root: [] for root in table.walk}
            rows = [snmp_index(r) for _ in range(r.randint(0, 6))]
            for _ in range(r.randint(0, 24) if rows else 0):
                oid = f"{r.choice(columns)}.{r.choice(rows)}"
                root = next((x for x in table.walk if oid.startswith(x + ".")), table.walk[0])
                walk[root].append((oid, snmp_value(r)))
            for root in walk:
                if r.random() < 0.5:  # non-increasing OIDs
                    r.shuffle(walk[root])
            tables[key] = walk
    return RawPoll(scalars, tables, failed)


def snmp_case(r: R) -> tuple[list[str], list[RawPoll], list[float]]:
    every = sorted(snmp_target.PROFILES)
    names = every if r.random() < 0.5 else r.sample(every, r.randint(1, 4))
    profiles = [snmp_target.PROFILES[n] for n in names]
    raws = [snmp_poll(r, profiles) for _ in range(r.randint(1, 3))]
    return names, raws, [r.uniform(0, 10**6) for _ in raws]


# --- MQTT messages ---------------------------------------------------------------------

TOPICS = [
    "desa/kutim/desa-a/power/mppt",
    "desa/kutim/desa-b/status",
    "tele/desa-a/fridge/SENSOR",
    "raw/desa-a/bat/volts",
    "N/desa-b/battery/1/Soc",
]
SEGMENTS = ["desa-a", "desa-b", "desa-z", "kutim", "mppt", "power", "status", "+", "#"]
PAYLOADS = [
    b'{"seq": 7, "ts": "2026-12-06T03:00:00Z", "battery": {"voltage": 12.6, "soc": 81},'
    b' "solar": {"power": 140.5}, "grid": true, "energy_wh": 1234.5}',
    b'{"Time": "2026-12-06T03:00:00", "ENERGY": {"Power": 60, "Total": 1.5}}',
    b'{"value": 53.5}',
    b"12.8",
    b"online",
]


def json_value(r: R, depth: int = 0) -> Any:
    pick = r.randrange(8 if depth < 3 else 6)
    if pick == 0:
        return None
    if pick == 1:
        return r.random() < 0.5
    if pick == 2:
        return r.randint(-(2**80), 2**80)
    if pick == 3:
        return r.choice([r.uniform(-1e9, 1e9), 0.5, -0.0, 1e308, 5e-324])
    if pick == 4:
        return text(r, 12)
    if pick == 5:
        return r.choice(["NaN", "Infinity", "2026-12-06T03:00:00Z", "2026-12-06T03:00:00", "on"])
    if pick == 6:
        return [json_value(r, depth + 1) for _ in range(r.randint(0, 4))]
    return {text(r, 8): json_value(r, depth + 1) for _ in range(r.randint(0, 4))}


def shaped(r: R) -> bytes:
    obj: dict[str, Any] = {}
    for key in r.sample(mqtt_target.KEYS, r.randint(0, len(mqtt_target.KEYS))):
        if key in ("battery", "solar", "ENERGY"):
            subs = ["voltage", "soc", "power", "Power"]
            obj[key] = {k: json_value(r) for k in r.choices(subs, k=r.randint(0, 4))}
        else:
            obj[key] = json_value(r)
    out = json.dumps(obj)
    if r.random() < 0.5:
        out = out.replace("0.5", "NaN").replace("1", "Infinity", 1)
    return out.encode()


def mqtt_topic(r: R) -> str:
    pick = r.randrange(4)
    if pick == 0:
        return r.choice(TOPICS)
    if pick == 1:
        parts = r.choice(TOPICS).split("/")
        parts[r.randrange(len(parts))] = r.choice([*SEGMENTS, text(r, 12)])
        return "/".join(parts)
    if pick == 2:
        return "/".join(
            r.choice(SEGMENTS) if r.random() < 0.6 else text(r, 12) for _ in range(r.randint(1, 7))
        )
    return text(r, 40)


def mqtt_payload(r: R) -> bytes:
    pick = r.randrange(100)
    if pick < 30:
        return shaped(r)
    if pick < 55:  # JSON-ish damage to a valid payload
        return mutate_bytes(r, r.choice(PAYLOADS))
    if pick < 70:
        return r.randbytes(r.randint(0, 64))
    if pick < 80:
        return r.choice([b"", b"online", b"offline", b"{", b"[]", b"nan", b"-inf", b"1e999"])
    if pick < 98:
        return json.dumps(json_value(r)).encode()
    if pick == 98:
        return b"[" * 5000 + b"]" * 5000
    return b"{" + b" " * r.randint(4000, 5000) + b"}"


def mqtt_case(r: R) -> list[tuple[str, bytes, bool]]:
    return [(mqtt_topic(r), mqtt_payload(r), r.random() < 0.5) for _ in range(r.randint(1, 6))]


# --- trap datagrams --------------------------------------------------------------------


def ber_value(r: R) -> ber.Var:
    pick = r.randrange(7)
    if pick == 0:
        return ber.Var(ber.INTEGER, r.randint(-(2**80), 2**80))
    if pick == 1:
        tag = r.choice([ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64])
        return ber.Var(tag, r.randint(0, ber._UNSIGNED[tag] - 1))
    if pick == 2:
        return ber.Var(ber.OCTETS, r.randbytes(r.randint(0, 40)))
    if pick == 3:
        return ber.Var(ber.IPADDRESS, r.randbytes(r.randint(0, 6)))
    if pick == 4:
        return ber.Var(ber.OID, r.choice([trap_target.LINK_DOWN, trap_target.LINK_UP, (1, 3)]))
    if pick == 5:
        return ber.Var(ber.OID, oid(r))
    return ber.Var(
        r.choice([ber.NULL, ber.NO_SUCH_OBJECT, ber.NO_SUCH_INSTANCE, ber.END_OF_MIB_VIEW])
    )


def oid(r: R) -> ber.Oid:
    return (
        r.randint(0, 2),
        r.randint(0, 39),
        *(r.randint(0, 2**40) for _ in range(r.randint(0, 10))),
    )


def trap_name(r: R) -> ber.Oid:
    pick = r.randrange(3)
    if pick == 0:
        return r.choice(trap_target.READ)
    if pick == 1:
        return (
            1,
            3,
            6,
            1,
            2,
            1,
            2,
            2,
            1,
            *(r.randint(0, 2**32 + 3) for _ in range(r.randint(0, 10))),
        )
    return oid(r)


def trap(r: R) -> bytes:
    binds: list[tuple[ber.Oid, ber.Var]] = []
    if r.random() < 0.5:
        binds.append((trap_target.UPTIME, ber.Var(ber.TIMETICKS, r.randint(0, 2**32 - 1))))
        link = r.choice([trap_target.LINK_DOWN, trap_target.LINK_UP])
        binds.append((trap_target.TRAP_OID, ber.Var(ber.OID, link)))
    binds += [(trap_name(r), ber_value(r)) for _ in range(r.randint(0, 8))]
    message = ber.Message(
        community=r.choice([trap_target.COMMUNITY, trap_target.COMMUNITY, b"public", b""]),
        pdu=r.choice(
            [trap_target.TRAP_V2, trap_target.TRAP_V2, trap_target.INFORM, ber.RESPONSE, ber.GET]
        ),
        request_id=r.randint(-(2**31), 2**31 - 1),
        a=r.randint(-5, 20),
        b=r.randint(-5, 20),
        varbinds=tuple(binds),
    )
    return ber.encode(message)


def _valid_traps() -> list[bytes]:
    r = random.Random(0)
    return [trap(r) for _ in range(8)]


VALID_TRAPS = _valid_traps()


def datagram(r: R) -> bytes:
    pick = r.randrange(100)
    if pick < 35:
        return trap(r)
    if pick < 60:
        return mutate_bytes(r, trap(r))
    if pick < 80:
        return mutate_bytes(r, r.choice(VALID_TRAPS))
    if pick < 99:
        return r.randbytes(r.randint(0, 200))
    return r.randbytes(r.randint(9000, 9001))


def trap_case(r: R) -> list[bytes]:
    return [datagram(r) for _ in range(r.randint(1, 5))]


# the text generators live in fuzz_text_inputs.py (they import the helpers above)
from fuzz_text_inputs import config_case, http_case, profile_case  # noqa: E402

__all__ = ["config_case", "http_case", "mqtt_case", "profile_case", "snmp_case", "trap_case"]
