"""The demo's and the tests' Prometheus runs the deploy/ rules with time scaled: every
duration that sets a pace (group intervals, `for:`, `keep_firing_for:`) is scaled, in both
files, and nothing else changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from netmon.tools import stack

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FACTOR = 4 / 60  # the demo's: a 4 s poll for a 60 s one


def seconds(duration: str) -> int:
    return int(duration[:-1]) * UNITS[duration[-1]]


def load(path: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(path.read_text())["groups"]
    return groups


@pytest.mark.parametrize(
    ("name", "scale"),
    [
        ("netmon-recording.yml", stack.scaled_recording_rules),
        ("netmon-alerts.yml", stack.scaled_alert_rules),
    ],
)
def test_every_group_interval_is_scaled(name: str, scale: Any, tmp_path: Path) -> None:
    before = load(RULES / name)
    after = load(scale(tmp_path / name, FACTOR))
    paced = [g["name"] for g in before if "interval" in g]
    assert paced, f"{name} has no group with its own interval any more"
    assert [g["name"] for g in after] == [g["name"] for g in before]
    for old, new in zip(before, after, strict=True):
        if "interval" in old:
            want = max(1, round(seconds(old["interval"]) * FACTOR))
            assert seconds(new["interval"]) == want, old["name"]
        assert [r.get("expr") for r in new["rules"]] == [r.get("expr") for r in old["rules"]]


def test_alert_for_durations_are_scaled(tmp_path: Path) -> None:
    before = load(RULES / "netmon-alerts.yml")
    after = load(stack.scaled_alert_rules(tmp_path / "a.yml", FACTOR))
    pairs = [
        (old_rule, new_rule)
        for old, new in zip(before, after, strict=True)
        for old_rule, new_rule in zip(old["rules"], new["rules"], strict=True)
    ]
    assert any("for" in old for old, _ in pairs)
    for old, new in pairs:
        for key in ("for", "keep_firing_for"):
            if key in old:
                assert seconds(new[key]) == max(1, round(seconds(old[key]) * FACTOR)), old
