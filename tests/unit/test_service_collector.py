"""The service collector's contract with the core, without a network: the polling
protocol, comparable params (a reload restarts only changed jobs), scrubbed details."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.service import ServiceCollector, ServiceSettings, build_params, secrets_from
from collectors.service.collector import _scrub
from netmon.api import BlockContext, PollingCollector


def test_it_is_a_polling_collector_of_kind_service() -> None:
    collector = ServiceCollector()
    assert isinstance(collector, PollingCollector)
    assert collector.kind == "service"
    names = {m.name for m in collector.metadata()}
    assert names == {
        "netmon_service_up",
        "netmon_service_duration_seconds",
        "netmon_service_failures_total",
        "netmon_tls_certificate_expiry_timestamp_seconds",
        "netmon_service_throughput_bytes_per_second",
        "netmon_service_throughput_received_bytes",
        "netmon_service_throughput_timestamp_seconds",
    }
    counters = {m.name for m in collector.metadata() if m.type == "counter"}
    assert counters == {"netmon_service_failures_total"}


def test_params_compare_equal_until_a_setting_or_a_secret_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = {"checks": [{"name": "cam", "kind": "rtsp", "url": {"env": "NETMON_TEST_CAM"}}]}
    settings = ServiceSettings.model_validate(block)
    context = BlockContext("10.0.0.5", tmp_path, secrets_from(tmp_path))
    monkeypatch.setenv("NETMON_TEST_CAM", "rtsp://admin:one@10.0.0.5/s")
    first = build_params(settings, context)
    assert build_params(settings, context) == first
    monkeypatch.setenv("NETMON_TEST_CAM", "rtsp://admin:two@10.0.0.5/s")
    assert build_params(settings, context) != first  # a new password: a new job


def test_details_are_scrubbed_of_every_secret_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETMON_TEST_WEB", "https://op:p%40ss@10.0.0.5/x?token=t0k")
    settings = ServiceSettings.model_validate(
        {"checks": [{"name": "web", "kind": "http", "url": {"env": "NETMON_TEST_WEB"}}]}
    )
    params = build_params(settings, BlockContext("10.0.0.5", tmp_path, secrets_from(tmp_path)))
    text = "saw https://op:p%40ss@10.0.0.5/x?token=t0k and p@ss"
    scrubbed = _scrub(text, params)
    for secret in ("p%40ss", "p@ss", "t0k"):
        assert secret not in scrubbed
    assert scrubbed.startswith("saw ")
