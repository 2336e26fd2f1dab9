"""Sharding: which sites an instance owns, polls read-only, or leaves to other shards."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from collectors import REGISTRY
from netmon.config import ConfigErrors, load
from netmon.config.models import ShardConfig
from netmon.config.shards import pick
from tests.helpers import ROOT

SHARDS: list[dict[str, object]] = [
    {
        "name": "utara",
        "kabupaten": ["Berau", "Kutai Timur"],
        "mqtt_topics": {"kabupaten": ["berau", "kutim"]},
    },
    {"name": "selatan", "kabupaten": ["Kota Samarinda", "Kutai Kartanegara"]},
]


@pytest.fixture
def province(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example province whose netmon.yaml we can add shards to."""
    monkeypatch.setenv("NETMON_SNMP_COMMUNITY", "example")
    monkeypatch.setenv("NETMON_SNMPV3_AUTH_KEY", "example-auth")
    monkeypatch.setenv("NETMON_SNMPV3_PRIV_KEY", "example-priv")
    monkeypatch.setenv("NETMON_MQTT_PASSWORD", "example")
    monkeypatch.delenv("NETMON_SHARD", raising=False)
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path / "config" / "netmon.yaml"


def with_shards(path: Path, shards: Sequence[Mapping[str, object]]) -> Path:
    main = yaml.safe_load(path.read_text())
    main["shards"] = shards
    path.write_text(yaml.safe_dump(main, sort_keys=False))
    return path


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load(path, REGISTRY)
    return [str(e) for e in caught.value.errors]


def test_pick_by_name_index_or_pod_name() -> None:
    shards = [ShardConfig.model_validate(s) for s in SHARDS]
    assert pick(shards, "selatan") is shards[1]
    assert pick(shards, "0") is shards[0]
    assert pick(shards, "netmon-1") is shards[1]
    assert pick(shards, "netmon-2") is None
    assert pick(shards, "timur") is None


def test_a_shard_owns_its_kabupaten_and_reads_their_ancestors(
    province: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = load(province, REGISTRY).inventory
    monkeypatch.setenv("NETMON_SHARD", "netmon-0")  # a StatefulSet's first pod
    inv = load(with_shards(province, SHARDS), REGISTRY).inventory
    assert inv.shard == "utara"
    owned = {s for s, site in whole.sites.items() if site.kabupaten in ("Berau", "Kutai Timur")}
    assert inv.owned == frozenset(owned)
    # the NOC above every POP is polled here for status, but not owned
    assert "noc-samarinda" in inv.sites
    assert not inv.exported("noc-samarinda")
    assert set(inv.exported_sites) == owned
    ancestors = set(inv.sites) - owned
    assert all(any(a in whole.ancestors(s) for s in owned) for a in ancestors)
    assert inv.elsewhere == set(whole.sites) - set(inv.sites)
    assert all(d.site in inv.sites for d in inv.devices.values())
    # one broker session per shard, subscribed to its own kabupaten's topics only
    mqtt = load(province, REGISTRY).sections["mqtt"]
    assert mqtt.client_id.endswith("-utara")
    power = next(sub for sub in mqtt.subscriptions if sub.name == "power")
    assert power.mqtt_filters(mqtt.narrow) == [
        "desa/berau/+/power/+",
        "desa/kutim/+/power/+",
    ]
    victron = next(sub for sub in mqtt.subscriptions if "{kabupaten}" not in sub.topic)
    assert victron.mqtt_filters(mqtt.narrow) == [victron.mqtt_filter]  # no level to narrow
    # and the other shard owns the rest: every site is exported by exactly one shard
    monkeypatch.setenv("NETMON_SHARD", "selatan")
    selatan = load(province, REGISTRY)
    assert selatan.sections["mqtt"].narrow == {}  # no mqtt_topics: the whole tree
    other = selatan.inventory
    assert other.owned is not None
    assert other.owned | owned == set(whole.sites)
    assert not other.owned & owned


def test_without_a_shard_chosen_one_instance_does_everything(province: Path) -> None:
    inv = load(with_shards(province, SHARDS), REGISTRY).inventory
    assert inv.owned is None
    assert inv.shard == ""
    assert all(inv.exported(s) for s in inv.sites)


def test_shard_mistakes_are_config_errors(province: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = [
        {"name": "utara", "kabupaten": ["Berau", "Kutai Timur", "Kutai Barat"]},
        {"name": "selatan", "kabupaten": ["Kota Samarinda"]},
    ]
    found = "\n".join(errors(with_shards(province, bad)))
    assert "no site file names kabupaten 'Kutai Barat'" in found
    assert "kabupaten 'Kutai Kartanegara' is in no shard" in found
    twice = [{"name": "a", "kabupaten": ["Berau"]}, {"name": "b", "kabupaten": ["Berau"]}]
    assert "is in shards 'a' and 'b'" in "\n".join(errors(with_shards(province, twice)))
    monkeypatch.setenv("NETMON_SHARD", "timur")
    found = "\n".join(errors(with_shards(province, SHARDS)))
    assert "NETMON_SHARD='timur' names no shard (shards: utara, selatan)" in found
