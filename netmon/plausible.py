"""One plausibility range per unit family, for every value from the network.

A device that means "no reading" sends 2^32-128, -1, 0xFFFF or 1e300; a solar
controller whose clock was lost sends a charge of -0.5. Each profile could
list its own sentinels, and each one that forgets lets a wrong number through
to a dashboard. So every reading whose metric name ends in a unit suffix is
checked here, in one place, against a range wide enough for real plant
(-48 V rectifiers, -40 dBm optical floors, 120 C board sensors) and narrow
enough that no sentinel fits. A value outside is dropped and counted as
``implausible`` by the caller; per-profile sentinels remain for values that
fall inside the range (0 dBm signal on airOS means "no station").

The family is taken from the metric name's last component (the Prometheus
base-unit convention the metric contract follows), so a new profile or MQTT
mapping is covered without declaring anything.
"""

from __future__ import annotations

import math
from typing import Final

#: unit suffix -> (lowest, highest) plausible value, both inclusive
RANGES: Final[dict[str, tuple[float, float]]] = {
    # optical rx floors near -40, radio noise floors near -110, EIRP up to about +40
    "dbm": (-150.0, 60.0),
    # outdoor cabinets, board and laser sensors; nothing electronic works past 150
    "celsius": (-60.0, 150.0),
    # -48 V telecom rectifiers, 12/24/48 V batteries, 230 V mains with surges
    "volts": (-100.0, 500.0),
    # laser bias (mA), solar and battery currents (charge/discharge signed)
    "amperes": (-2000.0, 2000.0),
    # CCQ, CPU load, battery charge: 0..1 by definition
    "ratio": (0.0, 1.0),
    # optical wavelengths (8.5e-7) up to link distances
    "meters": (0.0, 1.0e7),
    # uptimes: TimeTicks/100 and snmpEngineTime (2^31-1 s) both fit
    "seconds": (0.0, 2.0**31),
    # radio channels
    "hertz": (0.0, 1.0e12),
    # solar panels and loads of a village site
    "watts": (-1.0e6, 1.0e6),
}

#: ``*_timestamp_seconds``: Unix time from 2000 to 2100 (a clock lost with the power reads 1970)
TIMESTAMPS: Final = (946_684_800.0, 4_102_444_800.0)

_SUFFIX_CACHE: dict[str, tuple[float, float] | None] = {}


def unit_range(metric: str) -> tuple[float, float] | None:
    """The range of a metric's unit family, or None for unitless and counters."""
    if metric in _SUFFIX_CACHE:
        return _SUFFIX_CACHE[metric]
    found: tuple[float, float] | None = None
    if metric.endswith("_timestamp_seconds"):
        found = TIMESTAMPS  # a point in time, not a duration
    elif not metric.endswith("_total"):
        found = RANGES.get(metric.rpartition("_")[2])
    _SUFFIX_CACHE[metric] = found
    return found


def plausible(metric: str, value: float) -> bool:
    """False for NaN, infinities and values outside the metric's unit range."""
    if not math.isfinite(value):
        return False
    bounds = unit_range(metric)
    if bounds is None:
        return True
    return bounds[0] <= value <= bounds[1]
