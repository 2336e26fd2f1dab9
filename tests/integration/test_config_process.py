"""A reload's load in a child process (netmon.config_process): the same config, the same
errors at the same places, the environment of the moment, and a child that dies is one
counted line. Real processes from a real fork server, the example config from the repo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from netmon import config_process
from netmon import daemon as daemon_module
from netmon.cli.wiring import REGISTRY
from netmon.config import ConfigErrors
from netmon.config_process import LoadFailed, load_here, load_in_child, prepare
from netmon.daemon import Daemon
from tests.helpers import ROOT, write_config

pytestmark = pytest.mark.integration

REF = "netmon.cli.wiring:REGISTRY"
#: a registry module whose import ends the process: a child that dies without answering
DYING = "tests.config_child_exit:REGISTRY"
COMMUNITY = "rahasia-from-env-42"


@pytest.fixture(scope="module", autouse=True)
def fork_server() -> None:
    prepare(REF)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    monkeypatch.setenv("NETMON_SNMP_COMMUNITY", COMMUNITY)
    for name in ("NETMON_SNMPV3_AUTH_KEY", "NETMON_SNMPV3_PRIV_KEY", "NETMON_MQTT_PASSWORD"):
        monkeypatch.setenv(name, f"secret-{name.lower()}")
    return tmp_path / "config" / "netmon.yaml"


async def test_the_child_loads_what_a_load_here_loads(example: Path) -> None:
    here = load_here(example, REGISTRY)
    there = await load_in_child(example, REF)
    assert len(there.config.inventory.devices) == len(here.config.inventory.devices) > 10
    assert there.config == here.config
    assert there.identity == here.identity


async def test_the_environment_goes_with_each_load(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fork server started before this value was set (the module's fixture): the
    child reads the secret the daemon's environment holds now."""
    monkeypatch.setenv("NETMON_SNMP_COMMUNITY", COMMUNITY + "-rotated")
    loaded = await load_in_child(example, REF)
    settings = (d.settings("snmp") for d in loaded.config.inventory.devices.values())
    communities = {s.community.reveal() for s in settings if s is not None and s.community}
    assert COMMUNITY + "-rotated" in communities
    assert COMMUNITY not in communities


async def test_config_errors_come_back_at_their_places(example: Path) -> None:
    site_file = sorted((example.parent / "sites").glob("*.yaml"))[0]
    site_file.write_text(site_file.read_text() + "\nbogus_key: [1, 2\n")
    with pytest.raises(ConfigErrors) as here:
        load_here(example, REGISTRY)
    with pytest.raises(ConfigErrors) as there:
        await load_in_child(example, REF)
    lines = [str(e) for e in there.value.errors]
    assert lines == [str(e) for e in here.value.errors]
    assert lines[0].startswith(f"{site_file}:")


async def test_a_child_that_dies_is_one_line_naming_the_config(example: Path) -> None:
    with pytest.raises(LoadFailed) as failed:
        await load_in_child(example, DYING)
    line = str(failed.value)
    assert line.startswith(f"{example}: cannot load: the loading process ended")
    assert "exit code 3" in line
    assert COMMUNITY not in line
    assert "\n" not in line


async def test_a_daemon_reloads_through_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad config: counted, the old one runs on; good config: applied, and the renamed
    site's series carry the new name. Loading in the daemon's own process fails here."""
    config = write_config(tmp_path, 1, {"rtr-a": ("public", ["system"])})
    daemon = Daemon(config, REGISTRY)
    daemon.load_initial()
    daemon.child_from = 1  # one device: a thread would do, the child is what is tested
    daemon.load_in_child(REF)

    def not_here(*_: object) -> None:
        raise AssertionError("loaded in the daemon's process")

    monkeypatch.setattr(config_process, "load", not_here)
    sites = tmp_path / "sites" / "test.yaml"
    good = sites.read_text()
    sites.write_text(good.replace("profiles:", "profiles: [nope]\n      bad:"))
    ok, lines = await daemon.reload()
    assert not ok
    assert lines
    assert lines[0].startswith(f"{sites}:")
    assert daemon.metrics.reloads.labels("failure")._value.get() == 1
    sites.write_text(good.replace("name: Site rtr-a", "name: Kantor Desa Baru"))
    ok, lines = await daemon.reload()
    assert ok, lines
    assert 'name="Kantor Desa Baru"' in daemon.status_loop.text


async def test_a_small_inventory_reloads_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under CHILD_FROM devices the fork server is not worth its ~90 MB: no child."""
    config = write_config(tmp_path, 1, {"rtr-a": ("public", ["system"])})
    daemon = Daemon(config, REGISTRY)
    daemon.load_initial()
    daemon.load_in_child(REF)

    async def no_child(*_: object) -> None:
        raise AssertionError("loaded in a child")

    monkeypatch.setattr(daemon_module, "load_in_child", no_child)
    assert daemon.child_from > 1
    ok, lines = await daemon.reload()
    assert ok, lines
