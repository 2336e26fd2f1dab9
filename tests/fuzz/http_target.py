"""Random query strings on every GET route of the HTTP app (netmon/http.py make_app),
served by a Daemon built in-process from the shipped config (config/netmon.yaml and
config/sites/*.yaml: 4 kabupaten, some 40 sites), so the status page and the site
API have real content to filter.

A declared rejection is a 4xx answer (400 for an unknown status filter, aiohttp's 400
for a request line over 8190 bytes); a 5xx (but /-/ready's 503: nothing is polled
here), an exception or no answer within a second is a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from urllib.parse import quote_from_bytes

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import strategies as st
from yarl import URL

from collectors import REGISTRY
from netmon.daemon import Daemon
from netmon.http import make_app

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ["/", "/metrics", "/-/healthy", "/-/ready", "/api/v1/targets", "/api/v1/sites"]
ROUTES += ["/api/v1/outages"]
KEYS = ["kabupaten", "status", "q", "lang", "name[]", "site", "device", "format"]
WORDS = ["Berau", "Kutai Timur", "up", "down", "UNREACHABLE", "en", "id", "degraded", ""]

#: characters a client can put in a query string as they are (RFC 3986 query)
raw_chars = st.text(
    alphabet=st.sampled_from(
        "abcXYZ019-._~!$&'()*+,;=:@/?%[]" + '<>"{}|\\^`'  # the last ones: sloppy clients
    ),
    max_size=30,
)
encoded = st.one_of(
    st.binary(max_size=40).map(lambda b: quote_from_bytes(b, safe="")),
    st.text(max_size=20).map(lambda t: quote_from_bytes(t.encode("utf-8", "surrogatepass"))),
    st.sampled_from(WORDS).map(lambda w: quote_from_bytes(w.encode())),
    st.integers(1000, 20000).map(lambda n: "x" * n),
)
pairs = st.tuples(st.one_of(st.sampled_from(KEYS), raw_chars), st.one_of(encoded, raw_chars))
queries = st.one_of(
    st.lists(pairs, max_size=8).map(lambda ps: "&".join(f"{k}={v}" for k, v in ps)),
    raw_chars,
    st.sampled_from(["", "&", "=", "==", "%", "%zz", "%00", "status=%ff", "q=%ed%a0%80"]),
)
requests = st.lists(st.tuples(st.sampled_from(ROUTES), queries), min_size=1, max_size=4)


class App:
    """The daemon (loaded, not started: nothing polls) and its app on a test server."""

    def __init__(self) -> None:
        # every secret the shipped files name, from the environment (values unused)
        for path in [ROOT / "config/netmon.yaml", *(ROOT / "config/sites").glob("*.yaml")]:
            for name in re.findall(r"\{env: *(\w+) *\}", path.read_text()):
                os.environ.setdefault(name, "fuzz-secret")
        self.loop = asyncio.new_event_loop()
        self.errors: list[dict[str, object]] = []
        self.loop.set_exception_handler(lambda _loop, context: self.errors.append(context))
        self.daemon = Daemon(ROOT / "config/netmon.yaml", REGISTRY)
        self.daemon.load_initial()
        self.client = self.loop.run_until_complete(self._start())

    async def _start(self) -> TestClient[web.Request, web.Application]:
        client: TestClient[web.Request, web.Application] = TestClient(
            TestServer(make_app(self.daemon))
        )
        await client.start_server()
        return client

    async def _get(self, path: str, query: str) -> int:
        url = URL(str(self.client.make_url(path)) + ("?" + query if query else ""), encoded=True)
        async with asyncio.timeout(1.0):
            resp = await self.client.session.get(url)
            await resp.read()
        return resp.status

    def get(self, path: str, query: str) -> int:
        return self.loop.run_until_complete(self._get(path, query))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


_app: App | None = None


def app() -> App:
    global _app  # one daemon and server for the whole run
    if _app is None:
        _app = App()
    return _app


def check(case: list[tuple[str, str]]) -> list[int]:
    """The statuses; each below 500, and nothing reported to the event loop."""
    served = app()
    before = len(served.errors)
    statuses = []
    for path, query in case:
        status = served.get(path, query)
        # /-/ready says 503 until the first round of polls: the daemon here polls nothing
        assert status < 500 or (path, status) == ("/-/ready", 503), (path, query, status)
        statuses.append(status)
    assert len(served.errors) == before, served.errors[before:]
    return statuses
