"""A device's `service:` block: the checks netmon runs against it from the netmon host.

Credentials (a URL with user:password, a basic-auth password) are secret references
(``{env: NAME}`` or ``{file: PATH}``), never literals: a literal URL with user:password
is refused here, so it cannot end up in git, in backups or in an error message.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from collectors.service.addresses import http_url_value, split_server
from netmon.api import Duration, SecretRef, Strict

#: a check's name is a label value: short, lower case, no spaces
CHECK_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
#: the most a body match may read (VSAT pays per byte; a status page is a few KiB)
MAX_BODY_LIMIT = 16 * 1024 * 1024
#: checks per device: each is a connection per poll from the netmon host
MAX_CHECKS = 32
#: the most a throughput check may download per run (VSAT pays per byte)
MAX_THROUGHPUT_BYTES = 1024 * 1024 * 1024
#: a throughput check runs at most this often
MIN_EVERY = 10.0

Port = Annotated[int, Field(ge=1, le=65535)]
Name = Annotated[str, Field(pattern=CHECK_NAME)]


class _Check(Strict):
    # a refused literal (a URL with a password) is not printed back by str(error)
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: Name
    """the check's name: the `check` label of its series, unique within the device"""
    timeout: Duration | None = None
    """this check's timeout; unset: the block's `timeout` (never more than the poll deadline)"""


class TcpCheck(_Check):
    """A TCP connect: the port accepts a connection (an NVR's web port, a camera's 554)."""

    kind: Literal["tcp"]
    """the kind of check: tcp"""
    host: str | None = Field(default=None, min_length=1)
    """host name or address to connect to; unset: the device's address"""
    port: Port
    """the TCP port"""


class HttpCheck(_Check):
    """An HTTP(S) GET: the expected status, and optionally a pattern in the first
    `max_body` bytes of the body. Redirects are not followed (a redirect is a status)."""

    kind: Literal["http"]
    """the kind of check: http"""
    url: str | SecretRef | None = None
    """the URL to get: a literal without credentials, or a secret ({env:}/{file:}) when it
    carries user:password or a token; unset: scheme://<device address>:port/path
    """
    scheme: Literal["http", "https"] = "http"
    """with no url: http or https"""
    port: Port | None = None
    """with no url: the port (default 80 for http, 443 for https)"""
    path: str = Field(default="/", pattern=r"^/")
    """with no url: the path"""
    expect_status: int = Field(default=200, ge=100, le=599)
    """the status code a healthy service answers with"""
    body_match: str | None = Field(default=None, min_length=1)
    """a regular expression searched in the body (UTF-8, bad bytes replaced); unset: the body is
    not read at all
    """
    max_body: int = Field(default=65536, ge=1, le=MAX_BODY_LIMIT)
    """the most body bytes read for body_match (VSAT pays per byte)"""
    username: str | None = Field(default=None, min_length=1)
    """user name for HTTP basic auth (with password)"""
    password: SecretRef | None = None
    """password for HTTP basic auth (with username)"""
    ca: str | None = Field(default=None, min_length=1)
    """CA bundle (PEM) the server's certificate is checked against; unset: the system's. A
    relative path is relative to the folder of netmon.yaml
    """
    verify: bool = True
    """false: do not check the certificate at all (a camera's self-signed one)"""

    @field_validator("url", mode="plain", json_schema_input_type=str | SecretRef | None)
    @classmethod
    def _url(cls, value: object) -> str | SecretRef | None:
        return None if value is None else http_url_value(value)

    @field_validator("body_match")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                msg = f"body_match is not a regular expression: {exc}"
                raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HttpCheck:
        if (self.username is None) != (self.password is None):
            msg = "give username and password together (or neither)"
            raise ValueError(msg)
        given = self.model_fields_set & {"scheme", "port", "path"}
        if self.url is not None and given:
            keys = ", ".join(sorted(given))
            msg = f"give either url or {keys}, not both"
            raise ValueError(msg)
        if self.ca is not None and not self.verify:
            msg = "ca has no effect with verify: false"
            raise ValueError(msg)
        return self


class TlsCheck(_Check):
    """A TLS handshake with certificate verification; reports the certificate's
    not-after even when verification fails (an expired or untrusted certificate)."""

    kind: Literal["tls"]
    """the kind of check: tls"""
    host: str | None = Field(default=None, min_length=1)
    """host name or address to connect to; unset: the device's address"""
    port: Port = 443
    """the TLS port"""
    server_name: str | None = Field(default=None, min_length=1)
    """the name the certificate must carry (SNI too); unset: host"""
    ca: str | None = Field(default=None, min_length=1)
    """CA bundle (PEM) to verify against; unset: the system's. Relative: to netmon.yaml"""


class DnsCheck(_Check):
    """One DNS query over UDP to a given server: the name resolves (NOERROR with an
    answer of the record type), optionally to one of the expected addresses."""

    kind: Literal["dns"]
    """the kind of check: dns"""
    server: str | None = None
    """the DNS server as address or address:port ([v6]:port); unset: the device's address, port
    53
    """
    query: str = Field(min_length=1, max_length=253)
    """the name to resolve"""
    record: Literal["A", "AAAA"] = "A"
    """the record type asked for"""
    expect: tuple[str, ...] = ()
    """addresses of which at least one must be in the answer; empty: any answer"""

    @field_validator("server")
    @classmethod
    def _server(cls, value: str | None) -> str | None:
        if value is not None:
            split_server(value)
        return value

    @field_validator("expect")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_address(item)
            except ValueError:
                msg = f"expect holds addresses, not {item!r}"
                raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _families(self) -> DnsCheck:
        version = 4 if self.record == "A" else 6
        wrong = [a for a in self.expect if ipaddress.ip_address(a).version != version]
        if wrong:
            msg = f"a {self.record} query never answers {', '.join(wrong)}"
            raise ValueError(msg)
        return self


class RtspCheck(_Check):
    """An RTSP OPTIONS request (the camera's stream server answers `RTSP/1.0 200`);
    basic or digest auth when the camera asks for it."""

    kind: Literal["rtsp"]
    """the kind of check: rtsp"""
    url: SecretRef | None = None
    """the stream's URL as a secret when it carries user:password
    (rtsp://user:password@host:554/path); overrides host, port and path
    """
    host: str | None = Field(default=None, min_length=1)
    """host name or address; unset: the device's address"""
    port: Port = 554
    """the RTSP port"""
    path: str = Field(default="/", pattern=r"^/")
    """the stream's path"""
    username: str | None = Field(default=None, min_length=1)
    """user name, when the camera asks for auth (with password)"""
    password: SecretRef | None = None
    """password (with username)"""

    @model_validator(mode="after")
    def _consistent(self) -> RtspCheck:
        if (self.username is None) != (self.password is None):
            msg = "give username and password together (or neither)"
            raise ValueError(msg)
        given = self.model_fields_set & {"host", "port", "path", "username"}
        if self.url is not None and given:
            keys = ", ".join(sorted(given))
            msg = f"give either url or {keys}, not both"
            raise ValueError(msg)
        return self


class ThroughputCheck(_Check):
    """Delivered throughput: an HTTP(S) GET of a file of known size, on a schedule of its
    own (``every``), timed from the response's headers to the last byte counted. A
    measurement, not a liveness check: the device's up or down comes from its other
    checks, so a device with a throughput check needs at least one other check."""

    kind: Literal["throughput"]
    """the kind of check: throughput"""
    url: str | SecretRef
    """the file to download: a literal URL without credentials, or a secret ({env:}/{file:})
    when it carries user:password or a token
    """
    max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=MAX_THROUGHPUT_BYTES)
    """the most bytes one run downloads (the file's size, or less); the run ends at this many
    bytes, at the end of the body, or at the check's timeout, whichever comes first
    """
    every: Duration = 3600.0
    """how often the check runs (each check at its own moment within the period, from a hash
    of site, device and check: a province's checks do not all download at once)
    """
    ca: str | None = Field(default=None, min_length=1)
    """CA bundle (PEM) the server's certificate is checked against; unset: the system's. A
    relative path is relative to the folder of netmon.yaml
    """
    verify: bool = True
    """false: do not check the certificate at all"""

    @field_validator("url", mode="plain", json_schema_input_type=str | SecretRef)
    @classmethod
    def _url(cls, value: object) -> str | SecretRef:
        return http_url_value(value)

    @field_validator("every")
    @classmethod
    def _every(cls, value: float) -> float:
        if value < MIN_EVERY:
            msg = f"every is at least {MIN_EVERY:g}s (each run downloads up to max_bytes)"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ThroughputCheck:
        if self.ca is not None and not self.verify:
            msg = "ca has no effect with verify: false"
            raise ValueError(msg)
        return self


Check = Annotated[
    TcpCheck | HttpCheck | TlsCheck | DnsCheck | RtspCheck | ThroughputCheck,
    Field(discriminator="kind"),
]


class ServiceSettings(Strict):
    """Service checks of one device, run from the netmon host: a check says whether the
    service answers the NOC, not whether the village can reach it (that needs an agent
    in the village)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    checks: tuple[Check, ...]
    """the checks; each yields netmon_service_up and netmon_service_duration_seconds"""
    timeout: Duration = 5.0
    """the checks' timeout unless a check sets its own (never more than the poll deadline)"""

    @field_validator("checks", mode="wrap")
    @classmethod
    def _checks(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> tuple[Check, ...]:
        try:
            checks: tuple[Check, ...] = handler(value)
        except ValidationError as exc:
            raise _untagged(exc) from None
        # counted here, not with min_length: pydantic would add a second, confusing
        # "at least 1 item after validation" error to every check it refuses
        if not 1 <= len(checks) <= MAX_CHECKS:
            msg = f"give 1 to {MAX_CHECKS} checks, not {len(checks)}"
            raise ValueError(msg)
        seen: set[str] = set()
        for check in checks:
            if check.name in seen:
                msg = f"two checks are named {check.name!r}: names must be unique per device"
                raise ValueError(msg)
            seen.add(check.name)
        if all(isinstance(c, ThroughputCheck) for c in checks):
            msg = (
                "a throughput check measures, it does not say whether the device is up: "
                "give the device another check too (e.g. tcp to the file server's port)"
            )
            raise ValueError(msg)
        return checks


KINDS = frozenset({"tcp", "http", "tls", "dns", "rtsp", "throughput"})


def _untagged(exc: ValidationError) -> ValidationError:
    """The errors of the checks without the kind pydantic's discriminated union puts into
    their paths (checks.0.tcp.port -> checks.0.port): a path names keys of the YAML."""
    details: list[InitErrorDetails] = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        if len(loc) >= 2 and isinstance(loc[0], int) and loc[1] in KINDS:
            loc = (loc[0], *loc[2:])
        detail = InitErrorDetails(type=error["type"], loc=loc, input=error["input"])
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
        details.append(detail)
    return ValidationError.from_exception_data(exc.title, details, hide_input=True)
