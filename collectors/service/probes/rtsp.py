"""RTSP OPTIONS: the camera's stream server answers ``RTSP/1.0 200``.

Cameras often answer OPTIONS without auth; when one asks (401), the probe answers the
challenge once, with digest (MD5 or SHA-256, RFC 7616) or basic auth.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import re
import secrets
from base64 import b64encode

from collectors.service.params import Credentials, RtspProbe
from collectors.service.probes.outcome import PASSED, Outcome, failed, from_exception

#: the most an answer's head may take; cameras send a few hundred bytes
MAX_HEAD = 8192
_STATUS = re.compile(rb"^RTSP/1\.\d (\d{3})[ \r]")
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')
_DIGESTS = {"MD5": "md5", "SHA-256": "sha256"}

Headers = dict[str, list[str]]


async def options(probe: RtspProbe) -> Outcome:
    try:
        reader, writer = await asyncio.open_connection(probe.host, probe.port, limit=MAX_HEAD)
    except OSError as exc:
        return from_exception(exc)
    url = f"rtsp://{_bracketed(probe.host)}:{probe.port}{probe.path}"
    try:
        status, headers = await _ask(reader, writer, url, 1, None)
        if status == 401 and probe.auth is not None:
            challenge = authorization(headers.get("www-authenticate", []), probe.auth, url)
            if challenge is None:
                return failed("status", "RTSP 401: the camera asks for an unsupported auth")
            status, headers = await _ask(reader, writer, url, 2, challenge)
    except _NotRtsp as exc:
        return failed("error", str(exc))
    except OSError as exc:
        return from_exception(exc)
    finally:
        writer.transport.abort()
    if status != 200:
        hint = " (wrong or missing credentials)" if status == 401 else ""
        return failed("status", f"RTSP {status}, expected 200{hint}")
    return PASSED


class _NotRtsp(Exception):
    pass


async def _ask(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    url: str,
    cseq: int,
    authorization: str | None,
) -> tuple[int, Headers]:
    lines = [f"OPTIONS {url} RTSP/1.0", f"CSeq: {cseq}", "User-Agent: netmon-service-probe"]
    if authorization is not None:
        lines.append(f"Authorization: {authorization}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        raise _NotRtsp("the server closed the connection without an RTSP answer") from None
    except asyncio.LimitOverrunError:
        raise _NotRtsp(f"no RTSP answer in the first {MAX_HEAD} bytes") from None
    match = _STATUS.match(head)
    if match is None:
        raise _NotRtsp("the answer is not RTSP/1.0")
    headers: Headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, sep, value = line.partition(":")
        if sep:
            headers.setdefault(key.strip().lower(), []).append(value.strip())
    length = headers.get("content-length", ["0"])[0]
    if length.isdigit() and 0 < int(length) <= MAX_HEAD:
        # the next answer starts after it; cut short, the answer stands all the same
        with contextlib.suppress(asyncio.IncompleteReadError):
            await reader.readexactly(int(length))
    return int(match.group(1)), headers


def authorization(
    challenges: list[str],
    auth: Credentials,
    url: str,
    method: str = "OPTIONS",
    cnonce: str | None = None,
) -> str | None:
    """The Authorization header answering a WWW-Authenticate challenge (digest preferred
    over basic); None when no offered scheme is supported. ``cnonce``: random unless given."""
    user, password = auth.username.reveal(), auth.password.reveal()
    basic = False
    for challenge in challenges:
        scheme, _, rest = challenge.partition(" ")
        if scheme.lower() == "digest":
            params = {m[0].lower(): m[1] or m[2] for m in _PARAM.findall(rest)}
            answer = _digest(params, user, password, method, url, cnonce)
            if answer is not None:
                return answer
        elif scheme.lower() == "basic":
            basic = True
    if basic:
        return "Basic " + b64encode(f"{user}:{password}".encode()).decode()
    return None


def _digest(
    params: dict[str, str], user: str, password: str, method: str, uri: str, cnonce: str | None
) -> str | None:
    algorithm = params.get("algorithm", "MD5").upper()
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    if algorithm not in _DIGESTS or not nonce:
        return None

    def h(text: str) -> str:
        return hashlib.new(_DIGESTS[algorithm], text.encode(), usedforsecurity=False).hexdigest()

    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    fields = [
        f'username="{user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f"algorithm={algorithm}",
    ]
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce, nc = cnonce or secrets.token_hex(8), "00000001"
        response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    elif qops:
        return None  # auth-int only: would need the body
    else:
        response = h(f"{ha1}:{nonce}:{ha2}")
    fields.append(f'response="{response}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


def _bracketed(host: str) -> str:
    try:
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host
