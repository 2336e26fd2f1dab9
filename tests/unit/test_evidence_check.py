"""Issue 11, item 1: the status engine reads power evidence by name; a config whose
telemetry cannot feed it says so in `netmon check`."""

from __future__ import annotations

from pathlib import Path

from collectors import REGISTRY
from netmon.api import POWER_BATTERY, POWER_ON_GRID
from netmon.config import load

SITE = """\
kabupaten: Berau
sites:
  - id: desa-a
    name: Desa A
    kind: village_office
    devices:
      - {id: rtr-a, address: 127.0.0.1, profiles: [], icmp: true}
"""


def config(tmp_path: Path, metric: str) -> Path:
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "berau.yaml").write_text(SITE)
    (tmp_path / "netmon.yaml").write_text(
        "inventory: sites/*.yaml\n"
        "mqtt:\n"
        "  subscriptions:\n"
        "    - name: power\n"
        "      topic: desa/{site}/power\n"
        "      metrics:\n"
        f"        - {{field: batt, name: {metric}}}\n"
    )
    return tmp_path / "netmon.yaml"


def test_telemetry_without_power_evidence_is_a_warning_at_its_section(tmp_path: Path) -> None:
    loaded = load(config(tmp_path, "netmon_power_battery_voltage_volts"), REGISTRY, secrets=False)
    texts = [str(w) for w in loaded.warnings]
    assert len(texts) == 1, texts
    assert "netmon.yaml:3:3: mqtt:" in texts[0]  # the mqtt section, where the mappings are
    assert POWER_BATTERY in texts[0]
    assert POWER_ON_GRID in texts[0]


def test_a_mapping_to_the_battery_ratio_feeds_the_power_cause(tmp_path: Path) -> None:
    loaded = load(config(tmp_path, POWER_BATTERY), REGISTRY, secrets=False)
    assert [str(w) for w in loaded.warnings] == []
