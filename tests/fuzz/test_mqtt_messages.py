"""Fuzz: MQTT topics and payloads through Sources.handle with the sample mappings."""

from __future__ import annotations

from hypothesis import given

from tests.fuzz.bounds import SUITE
from tests.fuzz.mqtt_target import RESULTS, check, messages


@SUITE
@given(messages)
def test_any_message_gets_one_declared_result(case: list[tuple[str, bytes, bool]]) -> None:
    assert set(check(case)) <= RESULTS


def test_the_declared_results_are_really_given() -> None:
    """A NaN value is bad_value, garbage malformed, a stranger's topic unknown_topic (the
    results collectors/mqtt/README.md promises), not exceptions."""
    topic = "desa/kutim/desa-a/power/mppt"
    assert check(
        [
            (topic, b'{"seq": 1, "battery": {"voltage": NaN}}', False),
            (topic, b"\xff\xfe", False),
            ("elsewhere/x", b"{}", False),
            ("desa/kutim/desa-z/power/mppt", b"{}", False),
        ]
    ) == ["bad_value", "malformed", "unknown_topic", "unknown_site"]
