"""MQTT sources on the real store: restarts, payload times, plausible values, empty messages.

Expected values come from the payloads (``energy_wh`` x 3600 J, ``soc`` x 0.01) and from
the rules written in collectors/mqtt/README.md (window 64, time floor 2020-01-01, a day
of clock skew, ratios 0..1), not from the code under test.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from collectors.mqtt.sources import Sources
from netmon.store import Store
from tests.helpers import values
from tests.unit.test_mqtt_mapping import POWER, STATUS, Clock, make, power

TOPIC = "desa/kutim/desa-a/power/mppt"
DEVICE = "desa-a-mppt"
SEQ_ONLY = {**POWER, "timestamp": None}
TS_ONLY = {**POWER, "sequence": None}
DAY = 86400.0


def one(store: Store, clock: Clock, name: str, **labels: str) -> list[float]:
    return values(store.render(now=clock.now), name, device=DEVICE, **labels)


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


# ------------------------------------------------------------------ restarts


def test_a_sequence_only_source_counting_again_from_zero_is_applied_and_counted() -> None:
    sources, store, clock = make(SEQ_ONLY, STATUS)
    for seq in range(1, 501):
        assert sources.handle(TOPIC, power(seq, 0))[0] == "applied"
    assert sources.handle(TOPIC, power(0, 0))[0] == "applied"  # rebooted: counts from 0
    # energy_wh of the payload is 1000 + seq: the restarted device's 1000 Wh
    assert one(store, clock, "netmon_power_solar_energy_joules_total") == [1000 * 3600.0]
    assert one(store, clock, "netmon_mqtt_source_restarts_total") == [1.0]
    assert sources.handle(TOPIC, power(1, 0))[0] == "applied"
    assert sources.handle(TOPIC, power(1, 0))[0] == "duplicate"  # dedup works again
    assert one(store, clock, "netmon_mqtt_source_restarts_total") == [1.0]


@pytest.mark.parametrize(
    ("seq", "result"),
    [
        (500, "duplicate"),  # the same message again
        (436, "duplicate"),  # 64 below: within the window, a late repeat
        (435, "applied"),  # 65 below: counting anew
        (501, "applied"),
    ],
)
def test_the_window_separates_a_late_repeat_from_a_restart(seq: int, result: str) -> None:
    sources, store, clock = make(SEQ_ONLY)
    assert sources.handle(TOPIC, power(500, 0))[0] == "applied"
    assert sources.handle(TOPIC, power(seq, 0))[0] == result
    restarted = 1.0 if seq < 500 and result == "applied" else 0.0
    assert one(store, clock, "netmon_mqtt_source_restarts_total") == [restarted]


def test_the_window_is_configurable() -> None:
    config_sub = {**SEQ_ONLY}
    from collectors.mqtt.config import MqttConfig

    config = MqttConfig.model_validate({"subscriptions": [config_sub], "sequence_window": 10})
    sources = Sources(config, Store(), {"desa-a"}.__contains__, Clock())
    assert sources.handle(TOPIC, power(30, 0))[0] == "applied"
    assert sources.handle(TOPIC, power(20, 0))[0] == "duplicate"  # 10 below
    assert sources.handle(TOPIC, power(19, 0))[0] == "applied"  # 11 below


def test_its_agent_online_again_lets_a_site_count_anew_unless_it_is_retained() -> None:
    sources, store, clock = make(SEQ_ONLY, STATUS)
    assert sources.handle(TOPIC, power(30, 0))[0] == "applied"
    assert sources.handle(TOPIC, power(0, 0))[0] == "duplicate"  # 30 below: could be a repeat
    # netmon resubscribed after a reconnect: the broker resends the retained "online"
    assert sources.handle("desa/kutim/desa-a/status", b"online", retained=True)[0] == "applied"
    assert sources.handle(TOPIC, power(0, 0))[0] == "duplicate"
    # the agent itself came back (its first words after a start are "online")
    assert sources.handle("desa/kutim/desa-a/status", b"online")[0] == "applied"
    assert sources.handle(TOPIC, power(0, 0))[0] == "applied"
    assert one(store, clock, "netmon_mqtt_source_restarts_total") == [1.0]
    assert sources.handle(TOPIC, power(0, 0))[0] == "duplicate"  # only the first one


def test_a_source_back_after_its_last_will_counts_anew() -> None:
    sources, store, clock = make(SEQ_ONLY, STATUS)
    sources.handle(TOPIC, power(30, 0))
    sources.handle("desa/kutim/desa-a/status", b"offline")
    assert one(store, clock, "netmon_target_up") == [0.0]
    assert sources.handle(TOPIC, power(1, 0))[0] == "applied"
    assert one(store, clock, "netmon_target_up") == [1.0]
    assert one(store, clock, "netmon_mqtt_source_restarts_total") == [1.0]


def test_a_source_back_after_going_stale_counts_anew_but_not_from_a_retained_message() -> None:
    sources, store, clock = make(SEQ_ONLY)
    sources.listening(True)  # netmon connected to the broker all along
    sources.handle(TOPIC, power(30, 0))
    clock.now += 61  # past the 60 s TTL
    assert sources.expire() == 1
    assert sources.handle(TOPIC, power(30, 0), retained=True)[0] == "duplicate"
    assert sources.handle(TOPIC, power(2, 0), retained=True)[0] == "duplicate"
    assert one(store, clock, "netmon_target_up") == [0.0]
    assert sources.handle(TOPIC, power(2, 0))[0] == "applied"
    assert one(store, clock, "netmon_target_up") == [1.0]


def test_sources_stale_through_netmons_own_outage_still_drop_the_broker_s_resends() -> None:
    """After a break, the broker first resends what netmon applied but had not acknowledged."""
    sources, store, clock = make(SEQ_ONLY)
    sources.listening(True)
    sources.handle(TOPIC, power(30, 0))
    sources.listening(False)  # netmon lost the broker for longer than the TTL
    clock.now += 61
    assert sources.expire() == 1
    sources.listening(True)
    assert sources.handle(TOPIC, power(29, 0))[0] == "duplicate"
    assert sources.handle(TOPIC, power(30, 0))[0] == "duplicate"
    assert sources.handle(TOPIC, power(31, 0))[0] == "applied"
    assert one(store, clock, "netmon_mqtt_source_restarts_total") == [0.0]


def test_a_lower_sequence_with_a_newer_time_is_a_counted_restart() -> None:
    sources, store, clock = make()
    assert sources.handle(TOPIC, power(30, clock.now - 10))[0] == "applied"
    assert sources.handle(TOPIC, power(29, clock.now - 11))[0] == "duplicate"
    assert sources.handle(TOPIC, power(1, clock.now))[0] == "applied"
    assert one(store, clock, "netmon_mqtt_source_restarts_total") == [1.0]


def test_a_timestamp_only_source_whose_clock_went_back_counts_anew_after_its_will() -> None:
    sources, _store, clock = make(TS_ONLY, STATUS)
    assert sources.handle(TOPIC, power(0, clock.now))[0] == "applied"
    assert sources.handle(TOPIC, power(0, clock.now - 3600))[0] == "duplicate"
    sources.handle("desa/kutim/desa-a/status", b"offline")
    # it came back with the time it saved an hour before the power went (fake-hwclock)
    assert sources.handle(TOPIC, power(0, clock.now - 3600))[0] == "applied"
    assert sources.handle(TOPIC, power(0, clock.now - 3599))[0] == "applied"


# ------------------------------------------------------------- payload times

TEN_YEARS = 10 * 365 * DAY


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda now: now + TEN_YEARS, id="ten years ahead"),
        pytest.param(lambda now: 1e300, id="1e300"),
        pytest.param(lambda now: math.nan, id="NaN"),
        pytest.param(lambda now: math.inf, id="inf"),
        pytest.param(lambda now: 1000.0, id="near 1970"),
        pytest.param(lambda now: 1_546_300_800.0, id="2019 (before 2020)"),
        pytest.param(lambda now: now + DAY + 60, id="a day and a minute ahead"),
    ],
)
def test_a_payload_time_that_is_no_time_is_counted_and_arrival_time_used(bad: Any) -> None:
    sources, store, clock = make(TS_ONLY)
    assert sources.handle(TOPIC, power(0, clock.now - 5))[0] == "applied"
    clock.now += 10
    assert sources.handle(TOPIC, power(0, bad(clock.now)))[0] == "applied"
    assert one(store, clock, "netmon_mqtt_last_message_timestamp_seconds") == [clock.now]
    assert one(store, clock, "netmon_mqtt_message_age_seconds") == []  # no time, no age
    assert one(store, clock, "netmon_samples_dropped_total", reason="bad_time") == [1.0]
    clock.now += 10
    assert sources.expire() == 0  # a clock stuck in 1970 does not make it look dead
    # the device's next correct message is new, not a "repeat" of a time in the future
    assert sources.handle(TOPIC, power(0, clock.now - 1))[0] == "applied"
    assert one(store, clock, "netmon_mqtt_message_age_seconds") == [1.0]
    assert one(store, clock, "netmon_samples_dropped_total", reason="bad_time") == [1.0]


def test_local_time_sent_as_utc_is_still_a_time_by_default() -> None:
    """WITA is UTC+8: a device that sends local time as UTC is 8 h ahead, consistently."""
    sources, store, clock = make(TS_ONLY)
    assert sources.handle(TOPIC, power(0, clock.now + 8 * 3600))[0] == "applied"
    assert one(store, clock, "netmon_samples_dropped_total", reason="bad_time") == []
    assert sources.handle(TOPIC, power(0, clock.now + 8 * 3600))[0] == "duplicate"


def test_the_clock_skew_bound_is_configurable() -> None:
    from collectors.mqtt.config import MqttConfig

    config = MqttConfig.model_validate({"subscriptions": [TS_ONLY], "max_clock_skew": "1m"})
    store, clock = Store(), Clock()
    sources = Sources(config, store, {"desa-a"}.__contains__, clock)
    assert sources.handle(TOPIC, power(0, clock.now + 30))[0] == "applied"
    assert one(store, clock, "netmon_mqtt_message_age_seconds") == [-30.0]
    clock.now += 100
    assert sources.handle(TOPIC, power(0, clock.now + 120))[0] == "applied"
    assert one(store, clock, "netmon_samples_dropped_total", reason="bad_time") == [1.0]


# ----------------------------------------------------------- plausible values


@pytest.mark.parametrize(
    "battery",
    [
        pytest.param({"voltage": 12.6, "soc": -50}, id="charge -0.5"),
        pytest.param({"voltage": 12.6, "soc": -0.5}, id="charge -0.5 percent"),
        pytest.param({"voltage": 12.6, "soc": 101}, id="charge 101 percent"),
        pytest.param({"voltage": 12.6, "soc": 1e300}, id="charge 1e300"),
    ],
)
def test_an_implausible_charge_is_dropped_counted_and_the_rest_applied(
    battery: dict[str, float],
) -> None:
    sources, store, clock = make()
    assert sources.handle(TOPIC, power(1, clock.now, battery=battery))[0] == "applied"
    assert one(store, clock, "netmon_power_battery_ratio") == []
    assert one(store, clock, "netmon_power_battery_voltage_volts") == [12.6]
    assert one(store, clock, "netmon_samples_dropped_total", reason="implausible") == [1.0]
    assert one(store, clock, "netmon_target_up") == [1.0]


@pytest.mark.parametrize(("soc", "ratio"), [(0, 0.0), (100, 1.0), (55.5, 0.555)])
def test_a_charge_from_empty_to_full_is_a_ratio_and_applied(soc: float, ratio: float) -> None:
    sources, store, clock = make()
    battery = {"voltage": 12.6, "soc": soc}
    assert sources.handle(TOPIC, power(1, clock.now, battery=battery))[0] == "applied"
    assert one(store, clock, "netmon_power_battery_ratio") == [pytest.approx(ratio)]
    assert one(store, clock, "netmon_samples_dropped_total", reason="implausible") == []


def test_an_implausible_value_replaces_nothing_and_a_whole_implausible_message_is_counted() -> None:
    sources, store, clock = make()
    assert sources.handle(TOPIC, power(1, clock.now - 30))[0] == "applied"
    first_success = one(store, clock, "netmon_last_poll_success_timestamp_seconds")
    clock.now += 5
    sentinel = body(seq=2, ts=clock.now, battery={"voltage": 4294967168, "soc": -1})
    assert sources.handle(TOPIC, sentinel) == ("implausible", "power")
    assert one(store, clock, "netmon_power_battery_voltage_volts") == [12.6]  # the last good
    assert one(store, clock, "netmon_power_battery_ratio") == [0.8]
    assert one(store, clock, "netmon_samples_dropped_total", reason="implausible") == [2.0]
    # it refreshed nothing: the values, their age and the last success are the first's
    assert one(store, clock, "netmon_last_poll_success_timestamp_seconds") == first_success
    assert one(store, clock, "netmon_mqtt_message_age_seconds") == [30.0]


# -------------------------------------------------------- messages without values


@pytest.mark.parametrize(
    ("payload", "result"),
    [
        (b"{}", "no_values"),
        (b'{"fuzz": [1, 2, {"x": null}], "seq": 7}', "no_values"),
        (body(battery={"voltage": None}), "no_values"),
        (body(battery={"voltage": 1e300}), "implausible"),
        (body(battery={"soc": -0.5}, solar={"power": 2e6}), "implausible"),
    ],
)
def test_a_message_without_a_valid_value_creates_no_source(payload: bytes, result: str) -> None:
    sources, store, clock = make()
    assert sources.handle(TOPIC, payload) == (result, "power")
    text = store.render(now=clock.now)
    assert values(text, "netmon_target_up") == []
    assert "desa-a-mppt" not in text
    assert sources.sources == {}


def test_a_message_without_a_valid_value_does_not_bring_a_stale_source_back() -> None:
    sources, store, clock = make()
    sources.handle(TOPIC, power(1, clock.now))
    clock.now += 61
    assert sources.expire() == 1
    assert sources.handle(TOPIC, body(seq=2, ts=clock.now)) == ("no_values", "power")
    assert sources.handle(TOPIC, body(seq=3, battery={"soc": 250})) == ("implausible", "power")
    assert one(store, clock, "netmon_target_up") == [0.0]
    # counted on the target with its next snapshot
    assert sources.handle(TOPIC, power(4, clock.now))[0] == "applied"
    assert one(store, clock, "netmon_target_up") == [1.0]
    assert one(store, clock, "netmon_samples_dropped_total", reason="implausible") == [1.0]


def test_a_number_payload_far_out_of_range_is_implausible() -> None:
    temperature = {
        "name": "temperature",
        "topic": "desa/{kabupaten}/{site}/temp/{sensor}",
        "format": "number",
        "device": "{site}-{sensor}",
        "metrics": [{"field": "value", "name": "netmon_sensor_temperature_celsius"}],
    }
    sources, store, clock = make(temperature)
    topic = "desa/kutim/desa-a/temp/rack"
    assert sources.handle(topic, b"-273.2") == ("implausible", "temperature")
    assert sources.handle(topic, b"31.5") == ("applied", "temperature")
    text = store.render(now=clock.now)
    assert values(text, "netmon_sensor_temperature_celsius", device="desa-a-rack") == [31.5]
