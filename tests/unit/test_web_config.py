"""Reading `--web.config.file` as exporter-toolkit reads it (docs/web-configuration.md of
prometheus/exporter-toolkit; its testdata files are the examples here)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from netmon.http_auth import TokenBucket, _credentials
from netmon.web_config import WebConfigError, go_duration, load_web_config, san_allowed
from tests.tls_certs import CA


def refused(tmp_path: Path, text: str) -> str:
    (tmp_path / "web.yml").write_text(text)
    with pytest.raises(WebConfigError) as info:
        load_web_config(tmp_path / "web.yml")
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "web.yml") in message
    return message


def test_an_empty_file_is_plain_http_without_auth(tmp_path: Path) -> None:
    config = load_web_config(_write(tmp_path, ""))
    assert not config.tls.enabled
    assert config.users == {}
    assert config.http2 is True  # the toolkit's default


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "web.yml").write_text(text)
    return tmp_path / "web.yml"


def test_tls_paths_are_relative_to_the_files_folder_and_defaults_are_the_toolkits(
    tmp_path: Path,
) -> None:
    ca = CA(tmp_path / "tls")
    ca.server()
    text = "tls_server_config:\n  cert_file: tls/server.pem\n  key_file: tls/server.key\n"
    config = load_web_config(_write(tmp_path, text))
    assert config.tls.cert_file == tmp_path / "tls" / "server.pem"
    assert config.tls.min_version is ssl.TLSVersion.TLSv1_2
    assert config.tls.max_version is ssl.TLSVersion.TLSv1_3
    assert config.tls.client_auth_type == ""  # NoClientCert


def test_the_toolkits_cipher_and_version_example_loads(tmp_path: Path) -> None:
    """testdata/web_config_noAuth_someCiphers.good.yml, with our own certificates."""
    ca = CA(tmp_path)
    ca.server("server")
    text = (
        "tls_server_config:\n"
        '  cert_file: "server.pem"\n'
        '  key_file: "server.key"\n'
        '  client_ca_file: "ca.pem"\n'
        '  client_auth_type: "VerifyClientCertIfGiven"\n'
        "  cipher_suites:\n"
        "  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
        "  - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
        "  min_version: TLS12\n"
        "  max_version: TLS12\n"
    )
    config = load_web_config(_write(tmp_path, text))
    assert config.tls.max_version is ssl.TLSVersion.TLSv1_2
    assert config.tls.cipher_suites == (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # testdata/web_config_junk_key.yml
        ('tls_server_config:\n  cert_filse: "server.crt"\n', ":2:3: tls_server_config.cert_filse"),
        ("rate_limiter:\n  burst: 1\n", "unknown key"),
        # testdata/web_config_headers_extra_header.bad.yml (any header outside the list)
        ("http_server_config:\n  headers:\n    Access-Control-Allow-Origin: '*'\n", "unknown"),
        # testdata/web_config_headers_frame_options.bad.yml
        ("http_server_config:\n  headers:\n    X-Frame-Options: foo\n", "deny, sameorigin"),
        ("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "nosniff"),
        ("basic_auth_users:\n  john: doe\n", "basic_auth_users.john: not a bcrypt hash"),
        ("tls_server_config:\n  min_version: TLS111\n", "unknown TLS version"),
        ("tls_server_config:\n  cipher_suites: [TLS_INVENTED]\n", "unknown cipher"),
        ("tls_server_config:\n  curve_preferences: [CurveP257]\n", "unknown curve"),
        ("tls_server_config:\n  key_file: k\n", "missing one of cert or cert_file"),
        ("tls_server_config:\n  cert_file: c\n", "missing one of key or key_file"),
        ("basic_auth_users:\n  a: x\n  a: y\n", "duplicate key"),
        ("rate_limit:\n  interval: soon\n", "not a duration"),
    ],
)
def test_what_the_toolkit_refuses_is_refused(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


def test_a_bad_hash_is_named_by_user_never_shown(tmp_path: Path) -> None:
    message = refused(tmp_path, "basic_auth_users:\n  alice: $2y$99$notreallyahash-Zk3\n")
    assert "alice" in message
    assert "notreallyahash" not in message


def test_client_ca_without_a_client_auth_policy_is_refused(tmp_path: Path) -> None:
    ca = CA(tmp_path)
    ca.server()
    text = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
    message = refused(tmp_path, text + "  client_ca_file: ca.pem\n")
    assert "without a Client Auth Policy" in message


def test_client_allowed_sans_need_a_verified_certificate(tmp_path: Path) -> None:
    ca = CA(tmp_path)
    ca.server()
    text = "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
    sans = "  client_allowed_sans: [prometheus.netmon.test]\n"
    assert "client_allowed_sans" in refused(tmp_path, text + sans)
    auth = "  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\n"
    config = load_web_config(_write(tmp_path, text + sans + auth))
    assert config.tls.client_allowed_sans == ("prometheus.netmon.test",)


def test_inline_cert_and_key_load_and_the_key_is_not_in_the_repr(tmp_path: Path) -> None:
    pair = CA(tmp_path).server()
    cert, key = pair.cert.read_text(), pair.key.read_text()
    indent = "\n".join("    " + line for line in cert.splitlines())
    kindent = "\n".join("    " + line for line in key.splitlines())
    text = f"tls_server_config:\n  cert: |\n{indent}\n  key: |\n{kindent}\n"
    config = load_web_config(_write(tmp_path, text))
    assert config.tls.enabled
    assert key.splitlines()[1] not in repr(config)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("1m30s", 90.0), ("500ms", 0.5), ("0", 0.0), ("1.5h", 5400.0), ("x", None)],
)
def test_go_durations(text: str, seconds: float | None) -> None:
    assert go_duration(text) == seconds


def test_basic_auth_header_is_read_as_go_reads_it() -> None:
    # RFC 7617's example: Aladdin / open sesame
    assert _credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == ("Aladdin", b"open sesame")
    assert _credentials("basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == ("Aladdin", b"open sesame")
    assert _credentials("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==") is None
    assert _credentials("Basic not base64!") is None
    assert _credentials("Basic " + "bm9jb2xvbg==") is None  # "nocolon"
    assert _credentials(None) is None


def test_rate_limit_allows_a_burst_then_one_per_interval() -> None:
    bucket = TokenBucket(interval=3600.0, burst=2)
    assert [bucket.allow() for _ in range(3)] == [True, True, False]
    assert TokenBucket(interval=1.0, burst=0).allow() is False  # Go's limiter: burst 0


def test_client_allowed_sans_match_any_san(tmp_path: Path) -> None:
    pem = CA(tmp_path).client("c", "prometheus.netmon.test").cert.read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    assert san_allowed(der, ("other", "prometheus.netmon.test"))
    assert not san_allowed(der, ("netmon.test",))
    assert not san_allowed(None, ("prometheus.netmon.test",))
