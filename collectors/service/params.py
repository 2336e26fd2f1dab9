"""What a poll of one device's service checks needs: the settings resolved against the
device's address, the config folder and the secrets. Frozen and comparable, so a reload
can tell whether a device's checks changed; secrets stay :class:`Secret` (never printed).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from collectors.service.addresses import http_url_problem, split_server
from collectors.service.settings import (
    DnsCheck,
    HttpCheck,
    RtspCheck,
    ServiceSettings,
    TcpCheck,
    ThroughputCheck,
    TlsCheck,
)
from netmon.api import (
    BlockContext,
    BlockError,
    BlockPath,
    Secret,
    SecretError,
    SecretRef,
    SecretResolver,
    read_secret,
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """User name and password; both print as asterisks (a user name is half a login)."""

    username: Secret
    password: Secret


@dataclass(frozen=True, slots=True)
class TcpProbe:
    kind: ClassVar[str] = "tcp"
    name: str
    host: str
    port: int
    timeout: float


@dataclass(frozen=True, slots=True)
class HttpProbe:
    kind: ClassVar[str] = "http"
    name: str
    #: a Secret when it came from one (it may carry user:password or a token)
    url: str | Secret
    expect_status: int
    body_match: str | None
    max_body: int
    auth: Credentials | None
    #: absolute path of a CA bundle; None: the system's
    ca: str | None
    verify: bool
    timeout: float


@dataclass(frozen=True, slots=True)
class TlsProbe:
    kind: ClassVar[str] = "tls"
    name: str
    host: str
    port: int
    server_name: str
    ca: str | None
    timeout: float


@dataclass(frozen=True, slots=True)
class DnsProbe:
    kind: ClassVar[str] = "dns"
    name: str
    server: str
    port: int
    query: str
    record: str
    expect: tuple[str, ...]
    timeout: float


@dataclass(frozen=True, slots=True)
class RtspProbe:
    kind: ClassVar[str] = "rtsp"
    name: str
    host: str
    port: int
    path: str
    auth: Credentials | None
    timeout: float


@dataclass(frozen=True, slots=True)
class ThroughputProbe:
    """A download of at most ``max_bytes`` from ``url``, once per ``every`` seconds."""

    kind: ClassVar[str] = "throughput"
    name: str
    #: a Secret when it came from one (it may carry user:password or a token)
    url: str | Secret
    max_bytes: int
    every: float
    ca: str | None
    verify: bool
    timeout: float


Probe = TcpProbe | HttpProbe | TlsProbe | DnsProbe | RtspProbe | ThroughputProbe


@dataclass(frozen=True, slots=True)
class ServiceParams:
    """Everything the service collector needs to poll one device."""

    checks: tuple[Probe, ...]

    def secrets(self) -> list[str]:
        """Every secret value in these checks, for scrubbing text that leaves the
        collector (defence in depth: no detail is built from a secret to begin with)."""
        out: list[str] = []
        for check in self.checks:
            if isinstance(check, HttpProbe | ThroughputProbe) and isinstance(check.url, Secret):
                out.append(check.url.reveal())
                out.extend(_url_secrets(check.url.reveal()))
            if isinstance(check, HttpProbe | RtspProbe) and check.auth is not None:
                out += [check.auth.username.reveal(), check.auth.password.reveal()]
        return [s for s in out if s]


def _url_secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.username or "", parts.password or "", parts.query]
    return [*found, *(unquote(f) for f in found)]


def secrets_from(base: Path) -> SecretResolver:
    """A resolver for use outside the loader (tools, tests): environment variables and
    files (relative to ``base``); a failure is a BlockError at the secret's path."""

    def resolve(ref: SecretRef, where: BlockPath) -> Secret:
        try:
            return Secret(read_secret(ref, base))
        except SecretError as exc:
            raise BlockError(where, str(exc)) from None

    return resolve


def build_params(settings: ServiceSettings, context: BlockContext) -> ServiceParams:
    """The runtime params of a device's validated `service:` block (DeviceKind.build).

    ``context.address`` is the default host of every check, ``context.base`` the folder
    relative CA paths start from, ``context.resolve`` turns secret references into
    values; an empty value is the loader's placeholder (an unreadable secret it reports
    itself, or ``netmon check --no-secrets``) and is not checked further. Raises
    :class:`BlockError` (with the path in the block) for a check that cannot run as
    written: a secret URL that is no URL, a DNS check without a server on a device whose
    address is a name.
    """
    address, base, resolver = context.address, context.base, context.resolve
    checks: list[Probe] = []
    for i, check in enumerate(settings.checks):
        where: BlockPath = ("checks", i)
        timeout = check.timeout or settings.timeout
        host = getattr(check, "host", None) or address
        if isinstance(check, TcpCheck):
            checks.append(TcpProbe(check.name, host, check.port, timeout))
        elif isinstance(check, HttpCheck):
            checks.append(_http(check, address, base, resolver, where, timeout))
        elif isinstance(check, TlsCheck):
            server_name = check.server_name or host
            ca = _path(check.ca, base)
            checks.append(TlsProbe(check.name, host, check.port, server_name, ca, timeout))
        elif isinstance(check, DnsCheck):
            checks.append(_dns(check, address, where, timeout))
        elif isinstance(check, ThroughputCheck):
            url = _secret_url(check.url, resolver, where, with_user=False)
            checks.append(
                ThroughputProbe(
                    check.name,
                    url,
                    check.max_bytes,
                    check.every,
                    _path(check.ca, base),
                    check.verify,
                    timeout,
                )
            )
        else:
            checks.append(_rtsp(check, host, resolver, where, timeout))
    return ServiceParams(tuple(checks))


def _http(
    check: HttpCheck,
    address: str,
    base: Path,
    resolve: SecretResolver,
    where: BlockPath,
    timeout: float,
) -> HttpProbe:
    url: str | Secret
    if check.url is not None:
        url = _secret_url(check.url, resolve, where, with_user=check.username is not None)
    else:
        port = check.port or (443 if check.scheme == "https" else 80)
        url = f"{check.scheme}://{_bracketed(address)}:{port}{check.path}"
    auth = None
    if check.username is not None and check.password is not None:
        password = resolve(check.password, (*where, "password"))
        auth = Credentials(Secret(check.username), password)
    return HttpProbe(
        name=check.name,
        url=url,
        expect_status=check.expect_status,
        body_match=check.body_match,
        max_body=check.max_body,
        auth=auth,
        ca=_path(check.ca, base),
        verify=check.verify,
        timeout=timeout,
    )


def _secret_url(
    given: str | SecretRef, resolve: SecretResolver, where: BlockPath, *, with_user: bool
) -> str | Secret:
    """A check's URL: a literal as is; a secret resolved and checked to be an http(s) URL
    (``with_user``: the check has a username of its own, so the URL must not carry one)."""
    if not isinstance(given, SecretRef):
        return given
    url = resolve(given, (*where, "url"))
    problem = ""
    try:
        if url.reveal():  # empty: the loader's placeholder
            http_url_problem(url.reveal(), literal=False)
    except ValueError as exc:
        problem = str(exc)
    if not problem and with_user and urlsplit(url.reveal()).username:
        problem = "it carries a user already: drop username and password, or the user"
    if problem:
        raise BlockError((*where, "url"), f"the secret from {given.describe()}: {problem}")
    return url


def _dns(check: DnsCheck, address: str, where: BlockPath, timeout: float) -> DnsProbe:
    try:
        server, port = split_server(check.server or address)
    except ValueError:
        message = (
            f"the device's address {address!r} is not an IP address: give the DNS "
            "server as server: ADDRESS[:PORT]"
        )
        raise BlockError((*where, "server"), message) from None
    return DnsProbe(check.name, server, port, check.query, check.record, check.expect, timeout)


def _rtsp(
    check: RtspCheck, host: str, resolve: SecretResolver, where: BlockPath, timeout: float
) -> RtspProbe:
    if check.url is None:
        auth = None
        if check.username is not None and check.password is not None:
            password = resolve(check.password, (*where, "password"))
            auth = Credentials(Secret(check.username), password)
        return RtspProbe(check.name, host, check.port, check.path, auth, timeout)
    url = resolve(check.url, (*where, "url")).reveal()
    if not url:  # the loader's placeholder: nothing to check, nothing to poll
        return RtspProbe(check.name, host, check.port, check.path, None, timeout)
    problem = f"the secret from {check.url.describe()} is not an rtsp://host[:port]/path URL"
    try:
        parts = urlsplit(url)
        port = parts.port or 554
    except ValueError:
        raise BlockError((*where, "url"), problem) from None
    if parts.scheme != "rtsp" or not parts.hostname:
        raise BlockError((*where, "url"), problem)
    auth = None
    if parts.username:
        user, secret = unquote(parts.username), unquote(parts.password or "")
        auth = Credentials(Secret(user), Secret(secret))
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return RtspProbe(check.name, parts.hostname, port, path, auth, timeout)


def _bracketed(address: str) -> str:
    try:
        is_v6 = ipaddress.ip_address(address).version == 6
    except ValueError:
        is_v6 = False
    return f"[{address}]" if is_v6 else address


def _path(path: str | None, base: Path) -> str | None:
    if path is None:
        return None
    p = Path(path)
    return str(p if p.is_absolute() else base / p)
