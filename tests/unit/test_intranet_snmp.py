"""Issue 12 item 4: the closed intranet stays closed. A site with `network: intranet` takes
SNMPv3 authPriv only; v1/v2c and v3 without privacy are a config error naming the device
and the rule, unless the device (or a defaults layer) sets the explicit, logged override."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from collectors import REGISTRY
from netmon.config import ConfigErrors, load
from tests.helpers import ROOT, snmp_of

V3_PRIV: dict[str, Any] = {
    "version": "3",
    "user": {
        "name": "netmon",
        "auth": {"protocol": "sha256", "key": {"env": "T_AUTH"}},
        "priv": {"protocol": "aes128", "key": {"env": "T_PRIV"}},
    },
}


def write(tmp_path: Path, network: str, snmp: dict[str, Any] | None = None) -> Path:
    device: dict[str, Any] = {"id": "sw-a", "address": "10.0.0.1"}
    if snmp is not None:
        device["snmp"] = snmp
    site: dict[str, Any] = {"id": "pop-a", "name": "POP A", "kind": "pop", "network": network}
    site["devices"] = [device]
    (tmp_path / "sites").mkdir(exist_ok=True)
    (tmp_path / "sites" / "a.yaml").write_text(
        yaml.safe_dump({"kabupaten": "Berau", "sites": [site]}, sort_keys=False)
    )
    main = "defaults: {snmp: {community: {env: T_COMMUNITY}}}\n"
    (tmp_path / "netmon.yaml").write_text(main)
    return tmp_path / "netmon.yaml"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("T_COMMUNITY", "T_AUTH", "T_PRIV"):
        monkeypatch.setenv(name, f"{name.lower()}-value")


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load(path, REGISTRY)
    return [str(e) for e in caught.value.errors]


def test_v2c_on_the_intranet_is_an_error_at_the_device(tmp_path: Path) -> None:
    (found,) = errors(write(tmp_path, "intranet"))
    assert found.startswith("sites/a.yaml:") or "a.yaml:" in found
    assert "sites.0.devices.0" in found
    assert "SNMP v2c on the closed intranet" in found
    assert "insecure_on_intranet" in found
    assert "t_community-value" not in found


def test_v3_without_privacy_is_refused_too(tmp_path: Path) -> None:
    no_priv = {"version": "3", "user": {**V3_PRIV["user"], "priv": None}}
    (found,) = errors(write(tmp_path, "intranet", no_priv))
    assert "SNMPv3 without privacy on the closed intranet" in found


def test_v3_authpriv_and_public_v2c_load(tmp_path: Path) -> None:
    params = snmp_of(load(write(tmp_path, "intranet", V3_PRIV), REGISTRY).inventory.devices["sw-a"])
    assert params.user is not None
    assert (params.user.priv_protocol, params.insecure) == ("aes128", False)
    public = snmp_of(load(write(tmp_path, "public"), REGISTRY).inventory.devices["sw-a"])
    assert (public.version, public.insecure) == ("2c", False)


def test_the_override_is_explicit_logged_and_marked(tmp_path: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        config = load(write(tmp_path, "intranet", {"insecure_on_intranet": True}), REGISTRY)
    params = snmp_of(config.inventory.devices["sw-a"])
    assert (params.version, params.insecure) == ("2c", True)
    warned = [e for e in logs if "closed intranet" in e["event"]]
    assert [(e["site"], e["device"], e["snmp"]) for e in warned] == [("pop-a", "sw-a", "SNMP v2c")]


def test_the_example_province_polls_its_intranet_with_v3_authpriv(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Which sites are on the intranet is read from the site files themselves."""
    secrets = ("NETMON_SNMP_COMMUNITY", "NETMON_SNMPV3_AUTH_KEY", "NETMON_SNMPV3_PRIV_KEY")
    for name in (*secrets, "NETMON_MQTT_PASSWORD"):
        monkeypatch.setenv(name, "example")
    intranet = {
        device["id"]
        for path in sorted((ROOT / "config" / "sites").glob("*.yaml"))
        for site in yaml.safe_load(path.read_text())["sites"]
        if site.get("network") == "intranet"
        for device in site["devices"]
        if device.get("profiles", ["system"]) != []
    }
    assert len(intranet) >= 5
    inventory = load(ROOT / "config" / "netmon.yaml", REGISTRY).inventory
    levels = {
        d: (snmp_of(inventory.devices[d]).version, snmp_of(inventory.devices[d]).insecure)
        for d in intranet
    }
    assert levels == dict.fromkeys(intranet, ("3", False))
