"""`--web.config.file`: the Prometheus exporter-toolkit's web configuration, read the way
exporter-toolkit reads it, so the file an operator already keeps for node_exporter works
for netmon unchanged (docs/web-configuration.md of prometheus/exporter-toolkit).

Read as the toolkit reads it: unknown keys and duplicate keys are errors; relative paths
are relative to the file's own folder; TLS is on when any of cert, cert_file, key,
key_file, client_ca, client_ca_file or client_auth_type is set, and then needs a cert and
a key; a configured client CA needs a client_auth_type other than NoClientCert; every
basic_auth_users value must be a bcrypt hash; http_server_config.headers only takes the
five security headers, with X-Frame-Options in (deny, sameorigin) and
X-Content-Type-Options nosniff. Basic auth over plain HTTP is allowed, as there.

Where Python's TLS cannot do what Go's does, the file is refused with a reason instead of
being half-applied: client_auth_type RequireAnyClientCert (a certificate required but
never verified) and more than one curve_preferences entry. http2 is accepted and has no
effect: aiohttp serves HTTP/1.1.

Secrets (the inline key, the password hashes) never appear in an error or a repr.
"""

from __future__ import annotations

import re
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netmon.config.yamlmarks import ConfigErrors, MarkedDoc, PathKey, load_marked


class WebConfigError(Exception):
    """The web config cannot be used; the message is one line that names the file."""


_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}

#: Go's tls.CipherSuites() names -> OpenSSL's (`openssl ciphers -stdname`); the TLS 1.3
#: suites map to None: Go does not let them be configured and ignores them, as here
_CIPHERS: dict[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}
_CURVES = {
    "CurveP256": "prime256v1",
    "CurveP384": "secp384r1",
    "CurveP521": "secp521r1",
    "X25519": "X25519",
}

#: exporter-toolkit's extraHTTPHeaders: the headers that may be set, and their values
HEADERS: dict[str, tuple[str, ...]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
CLIENT_AUTH = {
    "": ssl.CERT_NONE,
    "NoClientCert": ssl.CERT_NONE,
    # asks for a certificate, checks nothing: the same access as NoClientCert
    "RequestClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_UNSUPPORTED_AUTH = ("RequireAnyClientCert", "RequireClientCert")
_BCRYPT = re.compile(r"\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}")
_GO_DURATION = re.compile(r"((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}

_TLS_KEYS = {
    "cert": str,
    "key": str,
    "client_ca": str,
    "cert_file": str,
    "key_file": str,
    "client_auth_type": str,
    "client_ca_file": str,
    "client_allowed_sans": list,
    "min_version": str,
    "max_version": str,
    "cipher_suites": list,
    "prefer_server_cipher_suites": bool,
    "curve_preferences": list,
}
_TOP_KEYS = ("tls_server_config", "http_server_config", "basic_auth_users", "rate_limit")


@dataclass(frozen=True)
class TLSSettings:
    cert: str = ""
    key: str = field(default="", repr=False)  # a secret
    client_ca: str = ""
    cert_file: Path | None = None
    key_file: Path | None = None
    client_ca_file: Path | None = None
    client_auth_type: str = ""
    client_allowed_sans: tuple[str, ...] | None = None
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    cipher_suites: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True
    curve_preferences: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        """As exporter-toolkit's TLSConfig.IsEnabled: any of these set means TLS."""
        return bool(self.cert or self.key or self.client_ca or self.client_auth_type) or any(
            p is not None for p in (self.cert_file, self.key_file, self.client_ca_file)
        )

    def files(self) -> tuple[Path, ...]:
        """The files a context is built from: a change to one means a new context."""
        return tuple(p for p in (self.cert_file, self.key_file, self.client_ca_file) if p)


@dataclass(frozen=True)
class WebConfig:
    path: Path
    tls: TLSSettings = TLSSettings()
    http2: bool = True
    headers: tuple[tuple[str, str], ...] = ()
    #: user name -> bcrypt hash (secrets: never printed)
    users: dict[str, bytes] = field(default_factory=dict, repr=False)
    rate_interval: float = 0.0  # seconds between requests; 0: no rate limit
    rate_burst: int = 0


def _fail(path: Path, where: str, message: str) -> WebConfigError:
    return WebConfigError(f"web config {where or path}: {message}")


class _Reader:
    """Strict reading of one document: each problem becomes a WebConfigError at its line."""

    def __init__(self, doc: MarkedDoc, path: Path) -> None:
        self.doc = doc
        self.path = path

    def error(self, at: PathKey, message: str, *, key: bool = False) -> WebConfigError:
        return WebConfigError(f"web config {self.doc.error(at, message, key=key)}")

    def mapping(self, value: Any, at: PathKey, keys: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(at, "must be a mapping")
        for name in value:
            if name not in keys:
                raise self.error((*at, name), "unknown key", key=True)
        return value

    def typed(self, value: Any, at: PathKey, kind: type) -> Any:
        if value is None:
            return kind()
        if kind is str and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # YAML 2 reads as a number; Go's yaml reads it as text
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(at, f"must be {'a list' if kind is list else kind.__name__}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise self.error(at, "must be a list of strings")
        return value

    def file(self, value: str) -> Path | None:
        if not value:
            return None
        p = Path(value)
        return p if p.is_absolute() else self.path.parent / p


def go_duration(text: Any) -> float | None:
    """Seconds in a Go duration (``1m30s``, ``500ms``; a bare number is nanoseconds, as
    Go's YAML reads one into a time.Duration), or None when it is not one."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text * 1e-9
    if not isinstance(text, str):
        return None
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    if body == "0":
        return 0.0
    if not _GO_DURATION.fullmatch(body):
        return None
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", body)
    return sign * sum(float(n) * _UNIT[u] for n, u in parts)


def _tls(r: _Reader, raw: Any) -> TLSSettings:
    at: PathKey = ("tls_server_config",)
    data = r.mapping(raw, at, _TLS_KEYS)
    v = {k: r.typed(data.get(k), (*at, k), kind) for k, kind in _TLS_KEYS.items()}
    versions = []
    for name, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        text = v[name] or default
        if text not in _VERSIONS:
            raise r.error((*at, name), f"unknown TLS version: {text[:20]}")
        versions.append(_VERSIONS[text])
    if versions[0] > versions[1]:
        raise r.error((*at, "min_version"), "min_version is above max_version")
    for name in v["cipher_suites"]:
        if name not in _CIPHERS:
            raise r.error((*at, "cipher_suites"), f"unknown cipher: {name[:60]}")
    for name in v["curve_preferences"]:
        if name not in _CURVES:
            raise r.error((*at, "curve_preferences"), f"unknown curve: {name[:30]}")
    if len(v["curve_preferences"]) > 1:
        message = "more than one curve is not supported by netmon (Python's TLS takes one)"
        raise r.error((*at, "curve_preferences"), message)
    auth = v["client_auth_type"]
    if auth in _UNSUPPORTED_AUTH:
        message = (
            f"{auth} (a certificate that is never verified) is not supported by netmon:"
            " use RequireAndVerifyClientCert with client_ca_file"
        )
        raise r.error((*at, "client_auth_type"), message)
    if auth not in CLIENT_AUTH:
        raise r.error((*at, "client_auth_type"), f"invalid ClientAuth: {auth[:40]}")
    sans = data.get("client_allowed_sans")
    return TLSSettings(
        cert=v["cert"],
        key=v["key"],
        client_ca=v["client_ca"],
        cert_file=r.file(v["cert_file"]),
        key_file=r.file(v["key_file"]),
        client_ca_file=r.file(v["client_ca_file"]),
        client_auth_type=auth,
        client_allowed_sans=None if sans is None else tuple(v["client_allowed_sans"]),
        min_version=versions[0],
        max_version=versions[1],
        cipher_suites=tuple(v["cipher_suites"]),
        prefer_server_cipher_suites=data.get("prefer_server_cipher_suites") is None
        or v["prefer_server_cipher_suites"],
        curve_preferences=tuple(v["curve_preferences"]),
    )


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check the file (and, with TLS, that a context builds from it)."""
    path = Path(path)
    try:
        doc = load_marked(path)
    except ConfigErrors as exc:
        raise WebConfigError(f"web config {exc.errors[0]}") from None
    r = _Reader(doc, path)
    top = r.mapping(doc.data, (), _TOP_KEYS)
    tls = _tls(r, top.get("tls_server_config"))
    http = r.mapping(top.get("http_server_config"), ("http_server_config",), ("http2", "headers"))
    http2 = r.typed(http.get("http2", True), ("http_server_config", "http2"), bool)
    headers: list[tuple[str, str]] = []
    hat: PathKey = ("http_server_config", "headers")
    for name, value in r.mapping(http.get("headers"), hat, HEADERS).items():
        text = r.typed(value, (*hat, name), str)
        allowed = HEADERS[name]
        if allowed and text not in allowed:
            expected = ", ".join(allowed)
            raise r.error((*hat, name), f"invalid value {text[:40]!r}: one of {expected}")
        if text:  # blank: unset
            headers.append((name, text))
    users: dict[str, bytes] = {}
    raw_users = top.get("basic_auth_users")
    if raw_users is not None and not isinstance(raw_users, dict):
        raise r.error(("basic_auth_users",), "must be a mapping of user: bcrypt hash")
    for user, hashed in (raw_users or {}).items():
        match = _BCRYPT.fullmatch(hashed) if isinstance(hashed, str) else None
        if match is None or not 4 <= int(match.group(1)) <= 31:
            # the value is a secret: its position, never its text
            raise r.error(("basic_auth_users", user), "not a bcrypt hash ($2y$10$...)")
        users[user] = hashed.encode()
    rate = r.mapping(top.get("rate_limit"), ("rate_limit",), ("interval", "burst"))
    interval = go_duration(rate.get("interval", 0))
    if interval is None or interval < 0:
        raise r.error(("rate_limit", "interval"), "not a duration (e.g. 1s, 500ms)")
    burst = r.typed(rate.get("burst", 0), ("rate_limit", "burst"), int)
    config = WebConfig(path, tls, http2, tuple(headers), users, interval, burst)
    tls_context(config)  # the cert, key and CA files must load now, not at the first client
    return config


def tls_context(config: WebConfig) -> ssl.SSLContext | None:
    """The server context the file describes, or None when it does not turn TLS on."""
    t = config.tls
    if not t.enabled:
        return None
    if not (t.cert_file or t.cert):
        raise _fail(config.path, "", "tls_server_config: missing one of cert or cert_file")
    if not (t.key_file or t.key):
        raise _fail(config.path, "", "tls_server_config: missing one of key or key_file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = t.min_version
    ctx.maximum_version = t.max_version
    _load_pair(ctx, config)
    if t.prefer_server_cipher_suites:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    tls12 = [n for name in t.cipher_suites if (n := _CIPHERS[name])]
    if tls12:
        ctx.set_ciphers(":".join(tls12))
    if t.curve_preferences:
        ctx.set_ecdh_curve(_CURVES[t.curve_preferences[0]])
    ctx.verify_mode = CLIENT_AUTH[t.client_auth_type]
    has_ca = bool(t.client_ca_file or t.client_ca)
    if has_ca and ctx.verify_mode == ssl.CERT_NONE and t.client_auth_type != "RequestClientCert":
        message = "client CA's have been configured without a Client Auth Policy"
        raise _fail(config.path, "", f"tls_server_config: {message}")
    if t.client_allowed_sans is not None and ctx.verify_mode != ssl.CERT_REQUIRED:
        message = "client_allowed_sans requires client_auth_type RequireAndVerifyClientCert"
        raise _fail(config.path, "", f"tls_server_config: {message}")
    if ctx.verify_mode != ssl.CERT_NONE:
        try:
            if t.client_ca_file:
                ctx.load_verify_locations(cafile=str(t.client_ca_file))
            elif t.client_ca:
                ctx.load_verify_locations(cadata=t.client_ca)
            else:  # Go verifies against the system's roots then
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        except (OSError, ValueError) as exc:
            where = f"client_ca_file ({t.client_ca_file})" if t.client_ca_file else "client_ca"
            raise _fail(config.path, "", f"cannot load {where}: {_reason(exc)}") from None
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _load_pair(ctx: ssl.SSLContext, config: WebConfig) -> None:
    """cert/key from files, or inline (written to a private temporary folder for OpenSSL,
    which loads keys only from files, and removed at once)."""
    t = config.tls
    with tempfile.TemporaryDirectory(prefix="netmon-tls-") as tmp:
        cert, key = t.cert_file, t.key_file
        if cert is None:
            cert = Path(tmp) / "cert.pem"
            cert.write_text(t.cert)
        if key is None:
            key = Path(tmp) / "key.pem"
            key.touch(mode=0o600)
            key.write_text(t.key)
        for name, p in (("cert_file", t.cert_file), ("key_file", t.key_file)):
            if p is not None and not p.is_file():
                raise _fail(config.path, "", f"failed to read {name} ({p}): no such file")
        try:
            ctx.load_cert_chain(str(cert), str(key))
        except (OSError, ValueError) as exc:
            message = f"failed to load the certificate and key: {_reason(exc)}"
            raise _fail(config.path, "", message) from None


def _reason(exc: Exception) -> str:
    """What went wrong, without file contents: OpenSSL's reason or the OS error."""
    if isinstance(exc, ssl.SSLError):  # OpenSSL's words; never the file's bytes
        detail = exc.reason or (exc.args[1] if len(exc.args) > 1 else exc.__class__.__name__)
        return f"{detail} (PEM files? the key of this certificate?)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return exc.__class__.__name__


def san_allowed(cert_der: bytes | None, allowed: tuple[str, ...]) -> bool:
    """exporter-toolkit's client_allowed_sans: one of the client certificate's DNS,
    e-mail, IP or URI names equals an entry."""
    if not cert_der:
        return False
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(cert_der)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    names: list[str] = [
        *sans.get_values_for_type(x509.DNSName),
        *sans.get_values_for_type(x509.RFC822Name),
        *(str(ip) for ip in sans.get_values_for_type(x509.IPAddress)),
        *sans.get_values_for_type(x509.UniformResourceIdentifier),
    ]
    return any(name in allowed for name in names)
