"""The daemon end to end on snmpsim: HTTP API, reload, no stale series, no leaked secrets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from netmon.tools.simulate import SnmpSim
from tests.conftest import SECRET_COMMUNITY
from tests.harness import Running, start
from tests.helpers import async_wait_for, promtool_check, values, write_config

pytestmark = pytest.mark.integration

DEVICES = {
    "rtr-a": (SECRET_COMMUNITY, ["system", "if_mib", "mikrotik"]),
    "radio-b": ("airos_airos8", ["system", "if_mib", "airos"]),
    "olt-c": ("smartax", ["system", "huawei_olt"]),
}


@pytest.fixture
async def netmon(tmp_path: Path, snmpsim: SnmpSim) -> AsyncIterator[Running]:
    async with start(write_config(tmp_path, snmpsim.port, DEVICES)) as running:
        yield running


async def test_metrics_targets_and_health(netmon: Running) -> None:
    await async_wait_for(lambda: netmon.all_polled(set(DEVICES)), 15, "every device polled")
    status, text = await netmon.get("/metrics")
    assert status == 200
    check = promtool_check(text)
    assert check.returncode == 0, check.stdout + check.stderr
    assert values(text, "netmon_optical_rx_power_dbm", device="rtr-a", ifname="sfp1") == [-5.673]
    assert values(text, "netmon_wireless_signal_dbm", device="radio-b", stat="link") == [-70.0]
    assert values(text, "netmon_target_up", device="olt-c", collector="snmp") == [1.0]
    assert values(text, "netmon_inventory_devices") == [3.0]
    assert "netmon_scheduler_lag_seconds_bucket" in text
    targets = await netmon.targets()
    assert targets["rtr-a"]["state"] == "up"
    assert targets["rtr-a"]["site"] == "site-rtr-a"
    assert targets["rtr-a"]["last_error"] is None
    assert targets["rtr-a"]["last_duration_seconds"] > 0
    assert (await netmon.get("/-/healthy"))[0] == 200
    assert (await netmon.get("/-/ready"))[0] == 200


async def test_reload_removes_a_device_and_its_series_at_once(
    netmon: Running, snmpsim: SnmpSim
) -> None:
    await async_wait_for(lambda: netmon.all_polled(set(DEVICES)), 15, "every device polled")
    _, before = await netmon.get("/metrics")
    assert 'device="radio-b"' in before
    remaining = {k: v for k, v in DEVICES.items() if k != "radio-b"}
    write_config(netmon.config.parent, snmpsim.port, remaining)
    status, body = await netmon.post("/-/reload")
    assert (status, body) == (200, {"status": "success"})
    _, after = await netmon.get("/metrics")
    assert 'device="radio-b"' not in after  # at once, not after a timeout
    assert values(after, "netmon_optical_rx_power_dbm", device="rtr-a") == [-5.673]
    assert set(await netmon.targets()) == set(remaining)
    assert values(after, "netmon_config_reloads_total", result="success") == [2.0]


async def test_a_bad_config_changes_nothing(netmon: Running) -> None:
    await async_wait_for(lambda: netmon.all_polled(set(DEVICES)), 15, "every device polled")
    site_file = netmon.config.parent / "sites/test.yaml"
    good = site_file.read_text()
    site_file.write_text(good.replace("kind: village_office", "kind: villag_office", 1))
    status, body = await netmon.post("/-/reload")
    assert status == 400
    assert body["status"] == "error"
    assert any("sites/test.yaml:" in e and "kind" in e for e in body["errors"]), body
    assert set(await netmon.targets()) == set(DEVICES)
    _, text = await netmon.get("/metrics")
    assert values(text, "netmon_config_reloads_total", result="failure") == [1.0]
    assert values(text, "netmon_config_errors") == [1.0]
    logged = [json.loads(line) for line in netmon.logs.getvalue().splitlines()]
    errors = [e for e in logged if e["event"] == "config error; keeping the running config"]
    assert len(errors) == 1
    assert "sites/test.yaml" in errors[0]["error"]


async def test_http_reload_is_off_unless_enabled(tmp_path: Path, snmpsim: SnmpSim) -> None:
    config = write_config(tmp_path, snmpsim.port, DEVICES, reload_enabled=False)
    async with start(config) as running:
        status, body = await running.post("/-/reload")
        assert status == 403
        assert "disabled" in body["error"]


async def test_secrets_never_appear_in_metrics_api_or_logs(
    tmp_path: Path, snmpsim: SnmpSim
) -> None:
    devices = {**DEVICES, "dead-d": (SECRET_COMMUNITY + "-wrong", ["system"])}
    async with start(write_config(tmp_path, snmpsim.port, devices)) as running:
        await async_wait_for(lambda: running.all_polled(set(devices)), 15, "every device polled")
        targets = await running.targets()
        assert targets["dead-d"]["state"] == "down"
        assert targets["dead-d"]["last_error"] == "timeout"
        for path in ("/metrics", "/api/v1/targets"):
            _, body = await running.get(path)
            assert SECRET_COMMUNITY not in body, path
        logs = running.logs.getvalue()
        assert '"event": "target down"' in logs
        assert SECRET_COMMUNITY not in logs
        assert SECRET_COMMUNITY not in repr(running.daemon.config)


async def test_a_device_going_down_is_logged_once(tmp_path: Path, snmpsim: SnmpSim) -> None:
    devices = {"dead-d": ("no-such-community", ["system"])}
    async with start(write_config(tmp_path, snmpsim.port, devices, interval="500ms")) as running:

        async def polled_thrice() -> bool:
            polls: int = (await running.targets())["dead-d"]["polls"]
            return polls >= 3

        await async_wait_for(polled_thrice, 15, "three polls of the dead device")
        lines = [json.loads(x) for x in running.logs.getvalue().splitlines()]
        downs = [x for x in lines if x["event"] == "target down"]
        assert len(downs) == 1
        assert downs[0]["device"] == "dead-d"
        assert downs[0]["site"] == "site-dead-d"
        assert downs[0]["reason"] == "timeout"
