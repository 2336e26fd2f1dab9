"""Site dashboard, what netmon did not take at face value: values per poll, values it
dropped, counter resets it decided, fake 64-bit columns it fell back from, and interfaces
whose 32-bit counters can wrap more than once between two polls.

The counters move once per poll (60 s, VSAT 300 s): their rates use the Min step of
`panels.RATE_STEP` (set by `target` for every `$__rate_interval` query), and counts "in
the time range" are `increase(...[$__range])`, like the reboots in the Devices table.
"""

from __future__ import annotations

from grafana.panels import GREEN, ORANGE, RED, Grid, override, table, target, thresholds, timeseries
from grafana.site_readings import at_site

PER_MINUTE = "suffix: /min"
DROP_REASONS = (
    "sentinel (the device said 'no reading'), implausible (outside the range of its unit "
    "family, e.g. a Celsius reading of 4294967168), decode (not a number), unmapped, "
    "label_cap (more rows than max_label_values), bad_index"
)
RESET_REASONS = (
    "reboot (the device restarted), discontinuity (ifCounterDiscontinuityTime moved), "
    "cleared (went down by more than the line could carry: someone cleared it), ambiguous "
    "(the line could have carried 2^32 bytes since the last good poll, or its speed is "
    "unknown: the wraps cannot be counted)"
)
FALLBACK_REASONS = (
    "hc_stuck (the 64-bit column stays at 0 while the 32-bit one moves), hc_wraps_32 (the "
    "64-bit column wraps at 2^32)"
)


def per_minute(counter: str, by: str) -> str:
    """Events per minute, only where there are any: the SNMP collector exports every
    reason from 0, and a line at 0 per device and reason would bury the real ones."""
    return f"60 * sum by ({by}) (rate({at_site(counter)}[$__rate_interval])) > 0"


def in_range(counter: str, matchers: str = "") -> str:
    """How much `counter` went up in the time range, per device; 0 for an SNMP device
    that has none of it (a counter that appears only at its first event, such as a
    drop reason of the MQTT collector, would otherwise leave the cell empty)."""
    devices = f"max by (site, device) ({at_site('netmon_device_samples')})"
    counted = f"sum by (site, device) (increase({at_site(counter, matchers)}[$__range]))"
    return f"{counted} or 0 * {devices}"


def counter_panels(g: Grid) -> None:
    g.add(
        timeseries(
            "Values per poll",
            "How many values each device's last good SNMP poll gave. A fall below the "
            "dashed line (half of the day's most), on a device that answers, is a table "
            "that moved or vanished (a firmware upgrade): DeviceValuesLost fires after 30 "
            "minutes.",
            [
                target(
                    f"max by (device) ({at_site('netmon_device_samples')})",
                    "{{device}}",
                ),
                target(
                    "0.5 * max by (device) (max_over_time("
                    f"{at_site('site_device:netmon_device_samples:max1h')}[1d]))",
                    "{{device}} alert below",
                ),
            ],
            unit="short",
            decimals=0,
            min=0,
            overrides=[
                override(
                    " alert below$",
                    regex=True,
                    custom__lineStyle={"dash": [10, 10], "fill": "dash"},
                    custom__fillOpacity=0,
                )
            ],
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Values dropped by reason",
            "Values netmon read and did not export, per minute, by device and reason: "
            f"{DROP_REASONS}. Empty when nothing was dropped.",
            [
                target(
                    per_minute("netmon_samples_dropped_total", "device, collector, reason"),
                    "{{device}} {{collector}} {{reason}}",
                )
            ],
            unit=PER_MINUTE,
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Counter resets and 64-bit fallbacks",
            "Interface counters that went down, per minute, by device and why netmon took "
            f"it as a reset instead of a wrap: {RESET_REASONS}. And polls that read a "
            f"counter from the 32-bit column because the 64-bit one is fake: "
            f"{FALLBACK_REASONS}. Empty when neither happened.",
            [
                target(
                    per_minute("netmon_snmp_resets_total", "device, reason"),
                    "{{device}} reset: {{reason}}",
                ),
                target(
                    per_minute("netmon_snmp_hc_fallbacks_total", "device, reason"),
                    "{{device}} 64-bit fallback: {{reason}}",
                ),
            ],
            unit=PER_MINUTE,
        ),
        12,
        8,
    )
    keys = "site, device, ifname"
    risk = f"max by ({keys}) ({at_site('netmon_interface_wrap_risk')} == 1)"
    g.add(
        table(
            "Interfaces at wrap risk",
            "Interfaces with only 32-bit byte counters whose speed times the poll interval "
            "can exceed 2^32 bytes: the counter can wrap more than once between two polls "
            "and its traffic cannot be trusted. Poll them more often or use 64-bit "
            "counters (SNMP v2c/v3). Empty when there are none.",
            [
                target(risk, table=True),
                target(
                    f"max by ({keys}) ({at_site('netmon_interface_speed_bytes')})"
                    f" and on ({keys}) {risk}",
                    table=True,
                ),
            ],
            columns={"device": "Device", "ifname": "Interface", "Value #B": "Speed"},
            sort_by="Device",
            overrides=[override("Speed", unit="Bps")],
        ),
        12,
        8,
    )
    counts = thresholds((GREEN, None), (ORANGE, 1))
    g.add(
        table(
            "Dropped values and counter resets per device",
            "Per device: values its last good poll gave, and in the selected time range "
            "the values dropped (all reasons; implausible also on its own), counter "
            "resets, 64-bit fallbacks, and its interfaces at wrap risk now.",
            [
                target(f"max by (site, device) ({at_site('netmon_device_samples')})", table=True),
                target(in_range("netmon_samples_dropped_total"), table=True),
                target(
                    in_range("netmon_samples_dropped_total", 'reason="implausible"'), table=True
                ),
                target(in_range("netmon_snmp_resets_total"), table=True),
                target(in_range("netmon_snmp_hc_fallbacks_total"), table=True),
                target(
                    f"count by (site, device) ({risk}) or 0 * max by (site, device) "
                    f"({at_site('netmon_device_samples')})",
                    table=True,
                ),
            ],
            columns={
                "device": "Device",
                "Value #A": "Values per poll",
                "Value #B": "Dropped",
                "Value #C": "Implausible",
                "Value #D": "Counter resets",
                "Value #E": "64-bit fallbacks",
                "Value #F": "Wrap risk",
            },
            sort_by="Device",
            overrides=[
                override("Values per poll", decimals=0),
                *(
                    override(
                        name,
                        decimals=0,
                        thresholds=counts,
                        custom__cellOptions={"type": "color-text"},
                    )
                    for name in ("Dropped", "Counter resets", "64-bit fallbacks", "Wrap risk")
                ),
                override(
                    "Implausible",
                    decimals=0,
                    thresholds=thresholds((GREEN, None), (RED, 1)),
                    custom__cellOptions={"type": "color-text"},
                ),
            ],
        ),
        24,
        6,
    )
