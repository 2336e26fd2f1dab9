"""The hostile inputs of bench/hostile_rss.py: config bombs and malformed HTTP requests.

Each config bomb spoils the config folder of a running daemon and returns how to undo
it; each HTTP request is raw bytes sent on its own connection (loopback only).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path

#: a site file the inventory's ``sites/*.yaml`` picks up, removed again after the case
HOSTILE_SITE = "sites/zz-hostile.yaml"
#: the reference to a community file in the province's first site file, and its file
COMMUNITY_REF = "file: secrets/linux"
PROVINCE_FILE = "sites/provinsi.yaml"

Undo = Callable[[], None]


def _site_file(root: Path, data: bytes) -> Undo:
    path = root / HOSTILE_SITE
    path.write_bytes(data)
    return lambda: path.unlink(missing_ok=True)


def _secret_ref(root: Path, target: str, made: Path | None = None) -> Undo:
    """One device's community read from ``target`` instead of its file."""
    path = root / PROVINCE_FILE
    original = path.read_text()
    assert COMMUNITY_REF in original, f"{COMMUNITY_REF!r} not in {path}"
    path.write_text(original.replace(COMMUNITY_REF, f"file: {target}", 1))

    def undo() -> None:
        path.write_text(original)
        if made is not None:
            made.unlink(missing_ok=True)

    return undo


def alias_bomb(root: Path) -> Undo:
    """Billion laughs: 9 levels of 9 aliases each, 9**10 strings once expanded."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return _site_file(root, ("\n".join(lines) + "\n").encode())


def alias_into_itself(root: Path) -> Undo:
    return _site_file(root, b"kabupaten: K\nsites: &r [*r]\n")


def deep_brackets(root: Path) -> Undo:
    return _site_file(root, b"sites: " + b"[" * 10_000 + b"]" * 10_000 + b"\n")


def secret_dev_zero(root: Path) -> Undo:
    return _secret_ref(root, "/dev/zero")


def secret_fifo(root: Path) -> Undo:
    fifo = root / "secrets" / "hostile-fifo"
    os.mkfifo(fifo)
    return _secret_ref(root, "secrets/hostile-fifo", fifo)


def secret_not_utf8(root: Path) -> Undo:
    path = root / "secrets" / "hostile-latin1"
    path.write_bytes("rahasia-désa\n".encode("latin-1"))
    return _secret_ref(root, "secrets/hostile-latin1", path)


def site_50mb(root: Path) -> Undo:
    """A site file of valid-looking village sites, 50 MB of them."""
    template = (
        "  - id: desa-{n:07d}\n    name: Kantor Desa {n}\n    kind: village_office\n"
        "    kecamatan: Muara Badak\n    uplinks: [pop-kutai-kartanegara]\n"
        "    location: {{lat: -0.31, lon: 117.42}}\n    devices:\n"
        "      - id: rtr-desa-{n:07d}\n        address: 10.{a}.{b}.1\n"
        "        profiles: [system, if_mib]\n"
        "        snmp: {{community: {{file: secrets/routeros}}}}\n"
    )
    path = root / HOSTILE_SITE
    with path.open("w") as out:
        out.write("kabupaten: Kutai Kartanegara\nsites:\n")
        n = 0
        while out.tell() < 50 * 1024 * 1024:
            chunk = "".join(
                template.format(n=i, a=(i >> 8) & 255, b=i & 255) for i in range(n, n + 5000)
            )
            out.write(chunk)
            n += 5000
    return lambda: path.unlink(missing_ok=True)


def python_tag(root: Path) -> Undo:
    return _site_file(root, b"kabupaten: K\nsites:\n  - !!python/name:os.system x\n")


def nul_byte(root: Path) -> Undo:
    return _site_file(root, b"kabupaten: K\nsites:\n  - id: a\x00b\n")


CONFIG_BOMBS: dict[str, Callable[[Path], Undo]] = {
    "alias bomb (9x9 levels)": alias_bomb,
    "x: &r [*r]": alias_into_itself,
    "10k nested brackets": deep_brackets,
    "secret file /dev/zero": secret_dev_zero,
    "secret file a FIFO": secret_fifo,
    "secret file not UTF-8": secret_not_utf8,
    "50 MB valid-looking site file": site_50mb,
    "!!python/name:os.system": python_tag,
    "NUL byte in a site file": nul_byte,
}

KB, MB = 1024, 1024 * 1024


def _get(target: str, *headers: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _post(target: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _chunked(size: int) -> bytes:
    return (
        b"".join(
            b"%x\r\n" % (64 * KB) + b"c" * (64 * KB) + b"\r\n" for _ in range(size // (64 * KB))
        )
        + b"0\r\n\r\n"
    )


def http_requests() -> dict[str, tuple[str, bytes]]:
    """name -> (group, raw request): 67 hostile requests."""
    reqs: dict[str, tuple[str, bytes]] = {}

    def add(group: str, name: str, data: bytes) -> None:
        reqs[name] = (group, data)

    for size in (8 * KB, 64 * KB, 1 * MB):
        add(
            "huge headers", f"one {size // KB} KiB header", _get("/metrics", "X-Big: " + "h" * size)
        )
    for count in (100, 1000, 10_000):
        add(
            "huge headers",
            f"{count} headers",
            _get("/metrics", *(f"X-H{i}: v" for i in range(count))),
        )
    add("huge headers", "8 KiB cookie", _get("/", "Cookie: " + "c=1; " * 1600))
    add("huge headers", "header without colon", _get("/metrics", "NoColonHere"))
    add("huge headers", "NUL in a header", _get("/metrics", "X-Nul: a\x00b"))
    add("huge headers", "obs-fold header", _get("/metrics", "X-Fold: a", " folded"))
    add("huge headers", "1 MiB Host", _get("/metrics", "Host: " + "h" * MB))
    for size in (8 * KB, 64 * KB, 1 * MB, 8 * MB):
        add("huge query", f"{size // KB} KiB query on /metrics", _get("/metrics?" + "q" * size))
    add("huge query", "64 KiB kabupaten", _get("/api/v1/sites?kabupaten=" + "k" * 64 * KB))
    add("huge query", "1 MiB status", _get("/api/v1/sites?status=" + "s" * MB))
    add(
        "huge query",
        "10,000 parameters",
        _get("/api/v1/sites?" + "&".join(f"p{i}=1" for i in range(10_000))),
    )
    add("huge query", "64 KiB path", _get("/" + "p" * 64 * KB))
    for target in (
        "/../../etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
        "/static/../../etc/passwd",
        "/api/v1/../../../etc/passwd",
        "/metrics/../../etc/passwd",
        "/./././metrics",
        "/..\\..\\etc\\passwd",
        "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "http://evil.example/etc/passwd",
        "file:///etc/passwd",
        "/etc/passwd%00.html",
    ):
        add("path traversal", target, _get(target))
    raw_lines = {
        "method FOO": b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n",
        "method get (lower case)": b"get /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "method with a space": b"G ET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "10 KiB method": b"M" * 10 * KB + b" / HTTP/1.1\r\nHost: x\r\n\r\n",
        "NUL in the method": b"GE\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "DELETE /metrics": b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "PUT /-/reload": b"PUT /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        "TRACE /": b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT 127.0.0.1:22": b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n",
        "OPTIONS *": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "HTTP/9.9": b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n",
        "HTTP/0.9": b"GET /\r\n",
        "1 KiB of binary garbage": bytes(range(256)) * 4,
        "TLS ClientHello": bytes.fromhex("160301002e0100002a0303")
        + b"\x00" * 32
        + b"\x00\x00\x02\x00\x2f\x01\x00",
    }
    for name, data in raw_lines.items():
        add("invalid method", name, data)
    add("big body", "1 MiB body to /-/reload", _post("/-/reload", b"b" * MB))
    add("big body", "10 MiB body to /-/reload", _post("/-/reload", b"b" * 10 * MB))
    add(
        "big body",
        "1 MiB chunked to /-/reload",
        _post("/-/reload", _chunked(MB), "Transfer-Encoding: chunked"),
    )
    add(
        "big body",
        "Content-Length 10^11, no body",
        _post("/-/reload", b"", "Content-Length: 99999999999"),
    )
    add("big body", "negative Content-Length", _post("/-/reload", b"", "Content-Length: -1"))
    add(
        "big body",
        "two Content-Lengths",
        _post("/-/reload", b"ab", "Content-Length: 2", "Content-Length: 7"),
    )
    add(
        "big body",
        "CL and TE (smuggling)",
        _post(
            "/-/reload",
            b"0\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
            "Content-Length: 4",
            "Transfer-Encoding: chunked",
        ),
    )
    add(
        "big body",
        "bad chunk size",
        _post("/-/reload", b"zz\r\nabc\r\n0\r\n\r\n", "Transfer-Encoding: chunked"),
    )
    add("big body", "1 MiB body to /metrics", _post("/metrics", b"b" * MB))
    add("big body", "1 MiB body on a GET", _get("/metrics", f"Content-Length: {MB}") + b"b" * MB)
    for target in (
        "/%",
        "/%zz",
        "/%ff%fe",
        "/api/v1/sites?kabupaten=%ff%fe",
        "/api/v1/sites?status=%zz",
        "/api/v1/sites?kabupaten=%00",
        "/%u002e%u002e/etc/passwd",
        "/api/v1/sites?kabupaten=%3Cscript%3E",
        "/api/v1/sites?status=%",
        "/metrics?%%%%",
    ):
        add("bad percent-encoding", target, _get(target))
    return reqs


async def send_raw(port: int, data: bytes, wait: float = 10.0) -> str:
    """The status code of the answer, or what happened instead (closed, reset, timeout)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
    except (OSError, TimeoutError) as exc:
        return f"connect failed: {type(exc).__name__}"
    try:
        try:
            writer.write(data)
            await asyncio.wait_for(writer.drain(), wait)
        except (ConnectionError, TimeoutError):
            pass  # the server may answer and close before reading it all: read the answer
        try:
            head = await asyncio.wait_for(reader.readline(), wait)
        except TimeoutError:
            return "timeout"
        except ConnectionError:
            return "reset"
        parts = head.split()
        if not head:
            return "closed"
        if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
            return parts[1].decode()
        return f"not HTTP: {head[:20]!r}"
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 2)
