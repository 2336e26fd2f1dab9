"""The `service:` block: what it accepts, what it refuses (and says why), and the runtime
params it becomes. (Turning pydantic's paths into file:line:col is the loader's job.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from collectors.service import ServiceSettings, build_params, secrets_from
from collectors.service.params import (
    Credentials,
    DnsProbe,
    HttpProbe,
    RtspProbe,
    TcpProbe,
    ThroughputProbe,
    TlsProbe,
)
from collectors.service.settings import ThroughputCheck
from netmon.api import BlockContext, BlockError, BlockPath, Secret, SecretRef, SecretResolver
from tests.helpers import ROOT

SAMPLE = ROOT / "collectors" / "service" / "sample.yaml"


def errors(block: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        ServiceSettings.model_validate(block)
    return [(tuple(e["loc"]), e["msg"]) for e in caught.value.errors(include_url=False)]


def one_error(check: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    found = errors({"checks": [check]})
    assert len(found) == 1, found
    return found[0]


def ctx(address: str, base: Path, resolve: SecretResolver | None = None) -> BlockContext:
    return BlockContext(address, base, resolve or secrets_from(base))


def fake_secrets(values: dict[str, str]) -> Any:
    """A resolver that hands out test values by env name and records where it was asked."""
    asked: list[BlockPath] = []

    def resolve(ref: SecretRef, where: BlockPath) -> Secret:
        asked.append(where)
        return Secret(values[ref.env or ref.file or ""])

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


def test_the_sample_validates_and_builds() -> None:
    sample = yaml.safe_load(SAMPLE.read_text())
    blocks = [
        (d["address"], d["service"])
        for site in sample["sites"]
        for d in site["devices"]
        if "service" in d
    ]
    assert len(blocks) == 6
    secrets = {
        "CAM_PASAR_2_RTSP": "rtsp://viewer:pw@10.30.1.12/Streaming/Channels/101",
        "/etc/netmon/secrets/nvr-pasar-password": "pw",
    }
    kinds = set()
    for address, block in blocks:
        context = BlockContext(address, SAMPLE.parent, fake_secrets(secrets))
        params = build_params(ServiceSettings.model_validate(block), context)
        kinds |= {check.kind for check in params.checks}
    assert kinds == {"tcp", "http", "tls", "dns", "rtsp", "throughput"}


def test_defaults_come_from_the_device_and_the_block(tmp_path: Path) -> None:
    block = {
        "timeout": "3s",
        "checks": [
            {"name": "web", "kind": "tcp", "port": 80},
            {"name": "nvr", "kind": "http", "scheme": "https", "path": "/login", "timeout": 1},
            {"name": "cert", "kind": "tls", "ca": "ca.pem"},
            {"name": "dns", "kind": "dns", "query": "portal.example"},
            {"name": "cam", "kind": "rtsp"},
        ],
    }
    params = build_params(ServiceSettings.model_validate(block), ctx("fd00::5", tmp_path))
    assert params.checks == (
        TcpProbe("web", "fd00::5", 80, 3.0),
        HttpProbe(
            name="nvr",
            url="https://[fd00::5]:443/login",
            expect_status=200,
            body_match=None,
            max_body=65536,
            auth=None,
            ca=None,
            verify=True,
            timeout=1.0,
        ),
        TlsProbe("cert", "fd00::5", 443, "fd00::5", str(tmp_path / "ca.pem"), 3.0),
        DnsProbe("dns", "fd00::5", 53, "portal.example", "A", (), 3.0),
        RtspProbe("cam", "fd00::5", 554, "/", None, 3.0),
    )


def test_secret_urls_and_passwords_are_resolved_where_they_stand() -> None:
    block = {
        "checks": [
            {"name": "cam", "kind": "rtsp", "url": {"env": "CAM"}},
            {"name": "web", "kind": "http", "url": {"env": "WEB"}},
            {"name": "nvr", "kind": "rtsp", "username": "op", "password": {"env": "NVR"}},
            {"name": "speed", "kind": "throughput", "url": {"env": "SPEED"}, "every": "30m"},
        ]
    }
    resolve = fake_secrets(
        {
            "CAM": "rtsp://admin:p%40ss@10.0.0.9:8554/Streaming/101?transport=tcp",
            "WEB": "https://op:pw@10.0.0.9/?token=abc",
            "NVR": "nvr-pw",
            "SPEED": "https://dl:Kunci7@10.0.0.9/10M.bin?key=k3y",
        }
    )
    params = build_params(ServiceSettings.model_validate(block), ctx("10.0.0.1", Path(), resolve))
    cam, web, nvr, speed = params.checks
    assert cam == RtspProbe(
        "cam",
        "10.0.0.9",
        8554,
        "/Streaming/101?transport=tcp",
        Credentials(Secret("admin"), Secret("p@ss")),  # percent-decoded, as RFC 3986 says
        5.0,
    )
    assert isinstance(web, HttpProbe)
    assert web.url == Secret("https://op:pw@10.0.0.9/?token=abc")
    assert nvr == RtspProbe(
        "nvr", "10.0.0.1", 554, "/", Credentials(Secret("op"), Secret("nvr-pw")), 5.0
    )
    assert speed == ThroughputProbe(
        "speed", Secret("https://dl:Kunci7@10.0.0.9/10M.bin?key=k3y"), 4 * 1024**2, 1800.0,
        None, True, 5.0,
    )  # fmt: skip
    assert resolve.asked == [
        ("checks", 0, "url"),
        ("checks", 1, "url"),
        ("checks", 2, "password"),
        ("checks", 3, "url"),
    ]
    for text in ("p@ss", "p%40ss", "pw", "token=abc", "admin", "Kunci7", "k3y"):
        assert text not in repr(params)
    assert set(params.secrets()) >= {"p@ss", "pw", "nvr-pw", "token=abc", "op", "Kunci7", "key=k3y"}


def test_unreadable_secrets_and_bad_secret_urls_name_the_place_not_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ServiceSettings.model_validate(
        {"checks": [{"name": "cam", "kind": "rtsp", "url": {"env": "NETMON_TEST_CAM"}}]}
    )
    monkeypatch.delenv("NETMON_TEST_CAM", raising=False)
    with pytest.raises(BlockError) as caught:
        build_params(settings, ctx("10.0.0.1", tmp_path))
    assert caught.value.path == ("checks", 0, "url")
    assert caught.value.message == "environment variable NETMON_TEST_CAM is not set"

    monkeypatch.setenv("NETMON_TEST_CAM", "http://admin:Rahasia99@10.0.0.1/")
    with pytest.raises(BlockError) as caught:
        build_params(settings, ctx("10.0.0.1", tmp_path))
    assert caught.value.path == ("checks", 0, "url")
    assert caught.value.message == (
        "the secret from env NETMON_TEST_CAM is not an rtsp://host[:port]/path URL"
    )
    assert "Rahasia99" not in repr(caught.value)

    both = ServiceSettings.model_validate(
        {
            "checks": [
                {"name": "web", "kind": "http", "url": {"file": "web-url"}, "username": "x",
                 "password": {"file": "web-url"}}
            ]
        }
    )  # fmt: skip
    (tmp_path / "web-url").write_text("https://admin:Rahasia99@10.0.0.1/\n")
    with pytest.raises(BlockError, match="carries a user already") as caught:
        build_params(both, ctx("10.0.0.1", tmp_path))
    assert "Rahasia99" not in str(caught.value)


def test_a_dns_check_without_server_needs_an_address_not_a_name() -> None:
    settings = ServiceSettings.model_validate(
        {"checks": [{"name": "dns", "kind": "dns", "query": "portal.example"}]}
    )
    with pytest.raises(BlockError) as caught:
        build_params(settings, ctx("resolver.kutaitimur.example", Path()))
    assert caught.value.path == ("checks", 0, "server")
    assert "is not an IP address: give the DNS server" in caught.value.message


@pytest.mark.parametrize(
    ("check", "loc", "message"),
    [
        (
            {"name": "x", "kind": "ftp", "port": 21},
            ("checks", 0),
            "Input tag 'ftp' found using 'kind' does not match any of the expected tags: "
            "'tcp', 'http', 'tls', 'dns', 'rtsp', 'throughput'",
        ),
        ({"name": "x", "kind": "tcp"}, ("checks", 0, "port"), "Field required"),
        (
            {"name": "x", "kind": "tcp", "port": 0},
            ("checks", 0, "port"),
            "Input should be greater than or equal to 1",
        ),
        (
            {"name": "Kamera Pasar", "kind": "tcp", "port": 80},
            ("checks", 0, "name"),
            "String should match pattern '^[a-z0-9][a-z0-9_-]{0,62}$'",
        ),
        (
            {"name": "x", "kind": "tcp", "port": 80, "body_match": "x"},
            ("checks", 0, "body_match"),
            "Extra inputs are not permitted",
        ),
        (
            {"name": "x", "kind": "tcp", "port": 80, "timeout": "soon"},
            ("checks", 0, "timeout"),
            "Value error, not a duration: 'soon' (use e.g. 500ms, 2s, 5m, 1h, 7d)",
        ),
        (
            {"name": "x", "kind": "rtsp", "username": "admin", "password": "admin123"},
            ("checks", 0, "password"),
            "Value error, secrets are references, not literals: write {env: NAME} or "
            "{file: PATH} (a literal here would end up in git and in backups)",
        ),
        (
            {"name": "x", "kind": "rtsp", "url": "rtsp://admin:admin123@10.0.0.5/"},
            ("checks", 0, "url"),
            "Value error, secrets are references, not literals: write {env: NAME} or "
            "{file: PATH} (a literal here would end up in git and in backups)",
        ),
        (
            {"name": "x", "kind": "rtsp", "username": "admin"},
            ("checks", 0),
            "Value error, give username and password together (or neither)",
        ),
        (
            {"name": "x", "kind": "rtsp", "url": {"env": "CAM"}, "port": 8554},
            ("checks", 0),
            "Value error, give either url or port, not both",
        ),
        (
            {"name": "x", "kind": "http", "url": "ftp://portal.example/"},
            ("checks", 0, "url"),
            "Value error, not an http:// or https:// URL with a host",
        ),
        (
            {"name": "x", "kind": "http", "url": {"env": "URL", "file": "url"}},
            ("checks", 0, "url"),
            "Value error, give exactly one of env or file",
        ),
        (
            {"name": "x", "kind": "http", "url": {"env": "URL", "fiel": "url"}},
            ("checks", 0, "url"),
            "Value error, unknown key 'fiel' in the secret reference",
        ),
        (
            {"name": "x", "kind": "http", "url": 8080},
            ("checks", 0, "url"),
            "Value error, url is a URL, or a secret holding one: {env: NAME} or {file: PATH}",
        ),
        (
            {"name": "x", "kind": "http", "url": "http://portal.example", "port": 8080},
            ("checks", 0),
            "Value error, give either url or port, not both",
        ),
        (
            {"name": "x", "kind": "http", "url": "http://p.example", "body_match": "(SIMPUS"},
            ("checks", 0, "body_match"),
            "Value error, body_match is not a regular expression: missing ), unterminated "
            "subpattern at position 0",
        ),
        (
            {"name": "x", "kind": "http", "max_body": 64 * 1024 * 1024},
            ("checks", 0, "max_body"),
            "Input should be less than or equal to 16777216",
        ),
        (
            {"name": "x", "kind": "http", "expect_status": 1000},
            ("checks", 0, "expect_status"),
            "Input should be less than or equal to 599",
        ),
        (
            {"name": "x", "kind": "http", "ca": "ca.pem", "verify": False},
            ("checks", 0),
            "Value error, ca has no effect with verify: false",
        ),
        (
            {"name": "x", "kind": "dns", "query": "a.example", "server": "ns1.example:53"},
            ("checks", 0, "server"),
            "Value error, the DNS server must be an IP address (optionally :port), not "
            "'ns1.example:53'",
        ),
        (
            {"name": "x", "kind": "dns", "query": "a.example", "server": "10.0.0.53:99999"},
            ("checks", 0, "server"),
            "Value error, bad port in '10.0.0.53:99999'",
        ),
        (
            {"name": "x", "kind": "dns", "query": "a.example", "expect": ["portal"]},
            ("checks", 0, "expect"),
            "Value error, expect holds addresses, not 'portal'",
        ),
        (
            {"name": "x", "kind": "dns", "query": "a.example", "record": "AAAA",
             "expect": ["10.0.0.1"]},
            ("checks", 0),
            "Value error, a AAAA query never answers 10.0.0.1",
        ),
        (
            {"name": "x", "kind": "dns", "query": "a.example", "record": "MX"},
            ("checks", 0, "record"),
            "Input should be 'A' or 'AAAA'",
        ),
        ({"name": "x", "kind": "throughput"}, ("checks", 0, "url"), "Field required"),
        (
            {"name": "x", "kind": "throughput", "url": "http://op:Rahasia99@10.0.0.5/f.bin"},
            ("checks", 0, "url"),
            "Value error, a URL with user:password is a secret: write url: {env: NAME} or "
            "url: {file: PATH} (a literal here would end up in git and in backups)",
        ),
        (
            {"name": "x", "kind": "throughput", "url": "http://10.0.0.5/f", "every": "5s"},
            ("checks", 0, "every"),
            "Value error, every is at least 10s (each run downloads up to max_bytes)",
        ),
        (
            {"name": "x", "kind": "throughput", "url": "http://10.0.0.5/f",
             "max_bytes": 2 * 1024 ** 3},
            ("checks", 0, "max_bytes"),
            "Input should be less than or equal to 1073741824",
        ),
        (
            {"name": "x", "kind": "throughput", "url": "https://10.0.0.5/f", "ca": "ca.pem",
             "verify": False},
            ("checks", 0),
            "Value error, ca has no effect with verify: false",
        ),
        (
            {"name": "x", "kind": "throughput", "url": "http://10.0.0.5/f", "path": "/f"},
            ("checks", 0, "path"),
            "Extra inputs are not permitted",
        ),
    ],
)  # fmt: skip
def test_bad_checks_are_refused_with_a_clear_message(
    check: dict[str, Any], loc: tuple[str | int, ...], message: str
) -> None:
    assert one_error(check) == (loc, message)


@pytest.mark.parametrize(
    "check",
    [
        {"name": "x", "kind": "http", "url": "https://op:Rahasia99@portal.example/"},
        {"name": "x", "kind": "http", "username": "op", "password": "Rahasia99"},
    ],
)
def test_a_refused_literal_secret_is_not_printed_back(check: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceSettings.model_validate({"checks": [check]})
    (error,) = caught.value.errors(include_url=False)
    assert "is a secret" in error["msg"] or "not literals" in error["msg"]
    assert "Rahasia99" not in str(caught.value) + repr(caught.value)


def test_the_block_needs_unique_checks_and_at_least_one() -> None:
    assert errors({"checks": []}) == [(("checks",), "Value error, give 1 to 32 checks, not 0")]
    twice = {"name": "web", "kind": "tcp", "port": 80}
    assert errors({"checks": [twice, twice]}) == [
        (
            ("checks",),
            "Value error, two checks are named 'web': names must be unique per device",
        )
    ]
    assert errors({"checks": [twice], "interval": "1m"}) == [
        (("interval",), "Extra inputs are not permitted")
    ]


def test_a_throughput_check_needs_another_check_for_the_devices_liveness() -> None:
    """A throughput check runs once per `every` and measures: it cannot say whether the
    device is up between its runs, so it never stands alone."""
    speed = {"name": "speed", "kind": "throughput", "url": "http://10.0.0.5/10M.bin"}
    assert errors({"checks": [speed]}) == [
        (
            ("checks",),
            "Value error, a throughput check measures, it does not say whether the device is "
            "up: give the device another check too (e.g. tcp to the file server's port)",
        )
    ]
    settings = ServiceSettings.model_validate(
        {"checks": [speed, {"name": "web", "kind": "tcp", "port": 80}]}
    )
    (check, _) = settings.checks
    assert isinstance(check, ThroughputCheck)
    assert (check.every, check.max_bytes) == (3600.0, 4 * 1024 * 1024)


def test_placeholder_secrets_of_a_check_without_secrets_pass(tmp_path: Path) -> None:
    """`netmon check --no-secrets` (or an unreadable secret the loader reports itself)
    hands out empty placeholders: no second, misleading error about the URL."""
    block = {
        "checks": [
            {"name": "cam", "kind": "rtsp", "url": {"env": "CAM"}},
            {"name": "web", "kind": "http", "url": {"env": "WEB"}, "username": "op",
             "password": {"env": "WEB_PASSWORD"}},
        ]
    }  # fmt: skip
    context = BlockContext("10.0.0.5", tmp_path, lambda _ref, _where: Secret(""))
    params = build_params(ServiceSettings.model_validate(block), context)
    assert [c.name for c in params.checks] == ["cam", "web"]
