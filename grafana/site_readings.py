"""Site dashboard, the readings: interfaces, optical and radio levels, users, power, probes."""

from __future__ import annotations

from grafana import levels
from grafana import promql as q
from grafana.links import CCQ_STEPS, OPTICAL_STEPS, RADIO_STEPS, UTILISATION_STEPS
from grafana.panels import (
    GREEN,
    ORANGE,
    RED,
    YELLOW,
    Grid,
    override,
    state_timeline,
    table,
    target,
    thresholds,
    timeseries,
    value_mappings,
)

UP_DOWN = value_mappings({0: ("down", RED), 1: ("up", GREEN)})
IF_LEGEND = "{{device}} {{ifname}}"
CELL_BACKGROUND = {"type": "color-background", "mode": "basic"}


def at_site(name: str, matchers: str = "") -> str:
    """`name{site=~"$site", ...}`: the Site dashboard shows one site's series."""
    return q.metric(name, matchers)


def _oper_up() -> str:
    return f"({at_site('netmon_interface_oper_up')} == 1)"


def interface_panels(g: Grid) -> None:
    def rate(counter: str) -> str:
        return (
            f"rate({at_site(counter)}[$__rate_interval]) and on (site, device, ifname) {_oper_up()}"
        )

    g.add(
        timeseries(
            "Interface traffic",
            "Bytes per second in (up) and out (down) on every interface that is up, from "
            "the interface byte counters.",
            [
                target(rate("netmon_interface_receive_bytes_total"), IF_LEGEND + " in"),
                target(rate("netmon_interface_transmit_bytes_total"), IF_LEGEND + " out"),
            ],
            unit="Bps",
            overrides=[override(" out$", regex=True, custom__transform="negative-Y")],
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Interface utilisation",
            "Busier direction of each interface against its speed (recorded over 5m). "
            f"Orange from {levels.UTILISATION_BUSY:.0%}, red from "
            f"{levels.UTILISATION_FULL:.0%}. Interfaces of unknown speed are not shown.",
            [
                target(
                    'ifname:netmon_interface_utilisation:max_ratio_rate5m{site=~"$site"}',
                    IF_LEGEND,
                )
            ],
            unit="percentunit",
            min=0,
            steps=UTILISATION_STEPS,
            threshold_style="dashed",
        ),
        12,
        8,
    )
    errors = q.errors_per_second()
    discards = (
        q.interface_rate("netmon_interface_receive_discards_total")
        + " + "
        + q.interface_rate("netmon_interface_transmit_discards_total")
    )
    g.add(
        timeseries(
            "Errors and discards",
            "Packets with errors and packets discarded per second, both directions, per "
            f"interface. LinkErrorsHigh fires above {levels.LINK_ERRORS_PER_SECOND:g} "
            "error/s for 15 minutes (red line).",
            [target(errors, IF_LEGEND + " errors"), target(discards, IF_LEGEND + " discards")],
            unit="pps",
            steps=thresholds((GREEN, None), (RED, levels.LINK_ERRORS_PER_SECOND)),
            threshold_style="line",
        ),
        12,
        8,
    )
    keys = "site, device, ifname"
    g.add(
        table(
            "Interfaces",
            "Every interface: its alias, operational and administrative state, speed and "
            "current traffic.",
            [
                target(
                    f"max by ({keys}, ifalias) ({at_site('netmon_interface_info')})", table=True
                ),
                target(f"max by ({keys}) ({at_site('netmon_interface_oper_up')})", table=True),
                target(f"max by ({keys}) ({at_site('netmon_interface_admin_up')})", table=True),
                target(f"max by ({keys}) ({at_site('netmon_interface_speed_bytes')})", table=True),
                target(q.interface_rate("netmon_interface_receive_bytes_total"), table=True),
                target(q.interface_rate("netmon_interface_transmit_bytes_total"), table=True),
            ],
            columns={
                "device": "Device",
                "ifname": "Interface",
                "ifalias": "Alias",
                "Value #B": "Oper",
                "Value #C": "Admin",
                "Value #D": "Speed",
                "Value #E": "In",
                "Value #F": "Out",
            },
            sort_by="Interface",
            overrides=[
                override("Oper", mappings=UP_DOWN, custom__cellOptions={"type": "color-text"}),
                override("Admin", mappings=UP_DOWN, custom__cellOptions={"type": "color-text"}),
                override("Speed", unit="Bps"),
                override("In", unit="Bps"),
                override("Out", unit="Bps"),
            ],
        ),
        12,
        8,
    )


def radio_panels(g: Grid) -> None:
    g.add(
        timeseries(
            "Optical power",
            "SFP receive (rx) and transmit (tx) power. OpticalPowerLow fires on receive "
            f"power below {levels.OPTICAL_LOW_DBM:g} dBm (red band), OpticalPowerMarginal "
            f"below {levels.OPTICAL_MARGINAL_DBM:g} dBm for an hour (orange band).",
            [
                target(at_site("netmon_optical_rx_power_dbm"), IF_LEGEND + " rx"),
                target(at_site("netmon_optical_tx_power_dbm"), IF_LEGEND + " tx"),
            ],
            unit="dBm",
            decimals=1,
            steps=OPTICAL_STEPS,
            threshold_style="area",
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Radio signal",
            "Received signal per radio: airOS link signal, MikroTik weakest (min) and "
            f"median registered station. Orange below {levels.RADIO_MARGINAL_DBM:g} dBm, "
            f"red below {levels.RADIO_LOW_DBM:g} dBm.",
            [
                target(
                    at_site("netmon_wireless_signal_dbm"),
                    "{{device}} {{ifname}}{{radio}} {{stat}}",
                )
            ],
            unit="dBm",
            steps=RADIO_STEPS,
            threshold_style="area",
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Radio quality (CCQ)",
            "Client connection quality per radio: share of frames delivered without retries.",
            [target(at_site("netmon_wireless_ccq_ratio"), "{{device}} {{ifname}}{{radio}}")],
            unit="percentunit",
            min=0,
            max=1,
            steps=CCQ_STEPS,
            threshold_style="dashed",
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Users",
            "Wireless stations associated per radio and active hotspot sessions: how many "
            "people this site serves right now (counts only, no per-user data).",
            [
                target(
                    f"sum by (device, ifname, radio) ({at_site('netmon_wireless_clients')})",
                    "{{device}} {{ifname}}{{radio}} stations",
                ),
                target(
                    f"sum by (device) ({at_site('netmon_hotspot_active_users')})",
                    "{{device}} hotspot users",
                ),
            ],
            unit="short",
            decimals=0,
        ),
        12,
        8,
    )
    sensors = " or ".join(
        f'label_replace({at_site(name)}, "sensor", "{sensor}", "{source}", "(.*)")'
        for name, sensor, source in (
            ("netmon_device_temperature_celsius", "board", ""),
            ("netmon_device_cpu_temperature_celsius", "cpu", ""),
            ("netmon_board_temperature_celsius", "card $1", "slot"),
            # per named sensor: RouterOS 7's gauge table, D-Link's chassis sensors
            ("netmon_device_sensor_temperature_celsius", "$1", "sensor"),
        )
    )
    g.add(
        timeseries(
            "Device temperature",
            "Board, processor and line card temperatures the devices report (an OLT "
            "reports one per line card, by slot; RouterOS 7 and D-Link switches by sensor "
            "name).",
            [target(sensors, "{{device}} {{sensor}} {{frame}}")],
            unit="celsius",
            steps=thresholds((GREEN, None), (ORANGE, 60), (RED, 75)),
            threshold_style="dashed",
        ),
        24,
        7,
    )


def power_panels(g: Grid) -> None:
    g.add(
        timeseries(
            "Battery charge",
            "State of charge from the charge controller (MQTT). OnBatteryLong fires below "
            f"{levels.BATTERY_LOW_RATIO:.0%} (red band).",
            [target(at_site("netmon_power_battery_ratio"), "{{device}}")],
            unit="percentunit",
            min=0,
            max=1,
            steps=thresholds(
                (RED, None), (ORANGE, levels.BATTERY_LOW_RATIO), (YELLOW, 0.5), (GREEN, 0.7)
            ),
            threshold_style="area",
        ),
        8,
        8,
    )
    g.add(
        timeseries(
            "Battery voltage",
            "Battery voltage at the charge controller or UPS.",
            [target(at_site("netmon_power_battery_voltage_volts"), "{{device}}")],
            unit="volt",
            decimals=1,
        ),
        8,
        8,
    )
    g.add(
        timeseries(
            "Solar and load",
            "Power from the solar panels and power drawn by the site's equipment: a day "
            "with less solar than load drains the battery.",
            [
                target(at_site("netmon_power_solar_watts"), "{{device}} solar"),
                target(at_site("netmon_power_load_watts"), "{{device}} load"),
            ],
            unit="watt",
        ),
        8,
        8,
    )
    g.add(
        state_timeline(
            "Grid power",
            "PLN grid power at the site: grid or battery. Solar-only sites are on battery "
            "by design.",
            [target(f"max by (device) ({at_site('netmon_power_on_grid')})", "{{device}}")],
            mappings=value_mappings({0: ("battery", ORANGE), 1: ("grid", GREEN)}),
        ),
        24,
        4,
    )


def probe_panels(g: Grid) -> None:
    g.add(
        timeseries(
            "Probe round-trip time",
            "Average round-trip time of the ICMP probes' answered echoes: latency of the "
            "path from netmon to the site.",
            [target(at_site("netmon_probe_rtt_seconds"), "{{device}}")],
            unit="s",
        ),
        12,
        7,
    )
    g.add(
        timeseries(
            "Probe loss",
            "Share of ICMP echoes without an answer per probe. Loss without an outage is a "
            "congested or failing path.",
            [target(at_site("netmon_probe_loss_ratio"), "{{device}}")],
            unit="percentunit",
            min=0,
            max=1,
            steps=thresholds((GREEN, None), (ORANGE, 0.02), (RED, 0.1)),
            threshold_style="dashed",
        ),
        12,
        7,
    )
