"""The unit rule of the metric contract, as `netmon profile check` applies it.

A metric name ends in its unit, in base units (Prometheus convention): the families of
``netmon/plausible.py`` (``_dbm``, ``_celsius``, ``_volts``, ``_amperes``, ``_ratio``,
``_meters``, ``_seconds``, ``_hertz``, ``_watts``) plus ``_bytes``, ``_joules``,
``_bytes_per_second`` and ``_timestamp_seconds``; counters add ``_total``; counts and
states (``_clients``, ``_up``, ``_info``) have no unit. A name that ends in a unit the
contract does not use (``_percent``, ``_mbps``, ``_millivolts``), or in a quantity without
its unit (``_temperature``), breaks dashboards and the plausibility ranges: netmon checks
a value by its name's unit.
"""

from __future__ import annotations

from typing import Final

from netmon.plausible import RANGES

#: the contract's units; compound ones are matched first
BASE_UNITS: Final = frozenset({*RANGES, "bytes", "joules"})
COMPOUND_UNITS: Final = ("bytes_per_second", "timestamp_seconds")

#: a unit outside the contract -> what to write instead
NOT_BASE: Final[dict[str, str]] = {
    "percent": "_ratio (scale: 0.01)",
    "percentage": "_ratio (scale: 0.01)",
    "pct": "_ratio (scale: 0.01)",
    "permille": "_ratio (scale: 0.001)",
    "milliseconds": "_seconds (scale: 0.001)",
    "ms": "_seconds (scale: 0.001)",
    "microseconds": "_seconds (scale: 0.000001)",
    "centiseconds": "_seconds (scale: 0.01)",
    "ticks": "_seconds (scale: 0.01 for TimeTicks)",
    "timeticks": "_seconds (scale: 0.01)",
    "minutes": "_seconds (scale: 60)",
    "hours": "_seconds (scale: 3600)",
    "days": "_seconds (scale: 86400)",
    "millivolts": "_volts (scale: 0.001)",
    "mv": "_volts (scale: 0.001)",
    "volt": "_volts",
    "milliamperes": "_amperes (scale: 0.001)",
    "milliamps": "_amperes (scale: 0.001)",
    "ma": "_amperes (scale: 0.001)",
    "amps": "_amperes",
    "ampere": "_amperes",
    "milliwatts": "_watts (scale: 0.001), or _dbm for optical power",
    "mw": "_watts (scale: 0.001), or _dbm for optical power",
    "kilowatts": "_watts (scale: 1000)",
    "kw": "_watts (scale: 1000)",
    "watt": "_watts",
    "kbps": "_bytes_per_second (scale: 125)",
    "mbps": "_bytes_per_second (scale: 125000)",
    "bps": "_bytes_per_second (scale: 0.125)",
    "bits": "_bytes (scale: 0.125)",
    "octets": "_bytes",
    "kilobytes": "_bytes (scale: 1024)",
    "kb": "_bytes (scale: 1024)",
    "megabytes": "_bytes (scale: 1048576)",
    "mb": "_bytes (scale: 1048576)",
    "fahrenheit": "_celsius",
    "kelvin": "_celsius",
    "degrees": "_celsius",
    "celcius": "_celsius",
    "hz": "_hertz",
    "khz": "_hertz (scale: 1000)",
    "mhz": "_hertz (scale: 1000000)",
    "ghz": "_hertz (scale: 1000000000)",
    "metres": "_meters",
    "meter": "_meters",
    "nm": "_meters (scale: 0.000000001)",
    "dbw": "_dbm (add 30)",
}

#: quantities that have a unit: a name ending in one lacks it
QUANTITIES: Final[dict[str, str]] = {
    "temperature": "_celsius",
    "temp": "_celsius",
    "voltage": "_volts",
    "current": "_amperes",
    "power": "_dbm or _watts",
    "signal": "_dbm",
    "rssi": "_dbm",
    "noise": "_dbm",
    "frequency": "_hertz",
    "freq": "_hertz",
    "uptime": "_seconds",
    "duration": "_seconds",
    "load": "_ratio",
    "utilization": "_ratio",
    "utilisation": "_ratio",
    "usage": "_ratio or _bytes",
    "speed": "_bytes_per_second or _bytes",
    "rate": "_bytes_per_second",
    "size": "_bytes",
    "wavelength": "_meters",
    "energy": "_joules",
    "ccq": "_ratio",
}


def unit_problem(name: str, *, counter: bool) -> str | None:
    """What is wrong with the unit of a metric name, or None (``unit-family`` rule)."""
    if not counter and name.endswith("_total"):
        return "type-suffix: only a counter's name ends in _total (this one is a gauge)"
    stem = name.removesuffix("_total") if counter else name
    if stem.endswith("_info"):
        return None
    words = stem.split("_")[1:]  # without netmon_
    last = words[-1] if words else ""
    for compound in COMPOUND_UNITS:
        if stem.endswith("_" + compound):
            words = stem.removesuffix("_" + compound).split("_")[1:]
            last = compound
            break
    else:
        words = words[:-1]
    if last in NOT_BASE:
        return (
            f"unit-family: _{last} is not a unit of the metric contract; "
            f"name it in base units: {NOT_BASE[last]}"
        )
    if last in QUANTITIES:
        return (
            f"unit-family: _{last} names a quantity without its unit; "
            f"end the name in {QUANTITIES[last]}"
        )
    for word in words:
        if word in BASE_UNITS:
            return f"unit-family: the unit _{word} must end the name (before _total for a counter)"
    return None
