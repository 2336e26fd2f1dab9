"""Addresses a check is written with: an http(s) URL (a literal without credentials, or a
secret holding one) and a DNS server (an IP address, optionally with a port). Messages
never quote a URL: it may hold a password."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import ValidationError

from netmon.api import SecretRef


def http_url_value(value: object) -> str | SecretRef:
    """A check's ``url`` as written: a literal http(s) URL without credentials, or a secret
    reference holding one. Validated by hand: as a plain union, pydantic would report the
    failure of each side."""
    if isinstance(value, SecretRef):
        return value
    if isinstance(value, str):
        http_url_problem(value, literal=True)
        return value
    if isinstance(value, dict):
        try:
            return SecretRef.model_validate(value)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            msg = first["msg"].removeprefix("Value error, ")
            if first["type"] == "extra_forbidden":
                msg = f"unknown key {first['loc'][-1]!r} in the secret reference"
            raise ValueError(msg) from None
    msg = "url is a URL, or a secret holding one: {env: NAME} or {file: PATH}"
    raise ValueError(msg)


def http_url_problem(url: str, *, literal: bool) -> None:
    """Raise ValueError unless ``url`` is an absolute http(s) URL. A literal URL must not
    carry credentials. The message never quotes the URL (it may hold a password)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        msg = "not a URL"
        raise ValueError(msg) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = "not an http:// or https:// URL with a host"
        raise ValueError(msg)
    if literal and (parts.username is not None or parts.password is not None):
        msg = (
            "a URL with user:password is a secret: write url: {env: NAME} or "
            "url: {file: PATH} (a literal here would end up in git and in backups)"
        )
        raise ValueError(msg)


def split_server(server: str, default_port: int = 53) -> tuple[str, int]:
    """``addr``, ``addr:port`` or ``[v6]:port`` -> (address, port); the address must be
    an IP address (resolving the resolver by name would test the wrong server)."""
    host, port = server, default_port
    if server.startswith("["):
        host, sep, rest = server[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            msg = f"not an address or [address]:port: {server!r}"
            raise ValueError(msg)
        if rest:
            port = _port(rest[1:], server)
    elif server.count(":") == 1:
        host, text = server.split(":")
        port = _port(text, server)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        msg = f"the DNS server must be an IP address (optionally :port), not {server!r}"
        raise ValueError(msg) from None
    return host, port


def _port(text: str, server: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        msg = f"bad port in {server!r}"
        raise ValueError(msg)
    return int(text)
