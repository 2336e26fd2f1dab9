"""Against real net-snmp snmpd: v2c, v3 authPriv, timeouts, loss, late and garbage replies."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
from gufo.snmp import Aes128Key, Sha256Key, User

from collectors.snmp import SnmpCollector, SnmpParams, V3User
from collectors.snmp.engine import Varbinds
from collectors.snmp.plan import Value
from collectors.snmp.walker import Walker, make_session
from netmon.api import Secret, TargetRef
from netmon.tools.simulate import free_udp_port, start_snmpsim
from tests.faults import proxy
from tests.helpers import values
from tests.snmpd_agent import running_snmpd

pytestmark = pytest.mark.integration

COMMUNITY = "t3st-c0mmunity"
AUTH, PRIV = "auth-pass-12345", "priv-pass-12345"
TARGET = TargetRef("site-t", "dev-t", "snmp")


@pytest.fixture(scope="module")
def snmpd() -> Iterator[int]:
    """A real net-snmp snmpd with a v2c community and a v3 authPriv user."""
    user = User("netmon", auth_key=Sha256Key(AUTH.encode()), priv_key=Aes128Key(PRIV.encode()))
    with running_snmpd(community=COMMUNITY, users=[user]) as port:
        yield port


@pytest.fixture(scope="module")
def snmpsim_huge() -> Iterator[tuple[int, str]]:
    """snmpsim serving an agent with 3,000 interfaces (ifDescr only)."""
    lines = ["1.3.6.1.2.1.1.3.0|67|1000"]
    lines += [f"1.3.6.1.2.1.2.2.1.2.{i}|4|port{i}" for i in range(1, 3001)]
    with start_snmpsim(files=[], extra={"huge": "\n".join(lines) + "\n"}) as sim:
        yield sim.port, "huge"


def params(port: int, **kw: object) -> SnmpParams:
    base: dict[str, object] = {
        "address": "127.0.0.1",
        "port": port,
        "community": Secret(COMMUNITY),
        "timeout": 0.5,
        "retries": 1,
        "profiles": ("system", "if_mib"),
    }
    base.update(kw)
    return SnmpParams(**base)  # type: ignore[arg-type]


async def poll(p: SnmpParams, deadline: float = 10.0) -> tuple[str | None, str, str]:
    collector = SnmpCollector()
    snapshot = await collector.poll(TARGET, p, deadline)
    from netmon.store import Store

    store = Store(collector.metadata())
    store.apply(snapshot, 60)
    return snapshot.error, snapshot.error_detail, store.render()


async def test_v2c_poll(snmpd: int) -> None:
    error, detail, text = await poll(params(snmpd))
    assert error is None, detail
    assert detail == ""
    assert values(text, "netmon_device_up") == [1.0]
    assert values(text, "netmon_interface_oper_up", ifname="lo") == [1.0]
    assert values(text, "netmon_device_uptime_seconds")[0] >= 0
    assert COMMUNITY not in text


def v3(auth: str = AUTH, priv: str = PRIV) -> V3User:
    return V3User("netmon", "sha256", Secret(auth), "aes128", Secret(priv))


async def test_v3_auth_priv_sha256_aes128(snmpd: int) -> None:
    error, detail, text = await poll(params(snmpd, version="3", community=None, user=v3()))
    assert error is None, detail
    assert values(text, "netmon_interface_info", ifname="lo")


@pytest.mark.parametrize(("auth", "priv"), [("wrong-auth-key", PRIV), (AUTH, "wrong-priv-key")])
async def test_v3_wrong_keys_fail_cleanly(snmpd: int, auth: str, priv: str) -> None:
    error, detail, text = await poll(
        params(snmpd, version="3", community=None, user=v3(auth, priv))
    )
    assert error in {"auth", "timeout", "decode"}, (error, detail)
    assert values(text, "netmon_device_up") == [0.0]
    assert values(text, "netmon_target_up") == [0.0]
    for secret in (auth, priv, AUTH, PRIV):
        assert secret not in detail
        assert secret not in text


async def test_wrong_community_is_a_timeout(snmpd: int) -> None:
    error, _detail, _ = await poll(params(snmpd, community=Secret("not-it")))
    assert error == "timeout"


async def test_unused_port_times_out_within_the_bound() -> None:
    p = params(free_udp_port(), timeout=0.3, retries=2)
    started = time.monotonic()
    error, _, text = await poll(p)
    elapsed = time.monotonic() - started
    assert error == "timeout"
    assert elapsed < 0.3 * 3 + 0.5  # (retries + 1) x timeout, and not much more
    assert values(text, "netmon_poll_errors_total", reason="timeout") == [1.0]


async def walk(p: SnmpParams) -> tuple[list[str], Walker]:
    walker = Walker(make_session(p), p)
    out: list[tuple[str, object]] = []
    error = await walker._walk("1.3.6.1.2.1.2.2.1", out)  # type: ignore[arg-type]
    assert error is None
    return [oid for oid, _ in out], walker


@pytest.mark.parametrize("fault", ["drop", "late"])
async def test_a_lost_or_late_reply_is_retried_and_the_walk_resumes(snmpd: int, fault: str) -> None:
    clean, _ = await walk(params(snmpd, max_repetitions=5))
    faulty, port = await proxy(snmpd, lambda n: fault if n == 3 else "send")
    got, walker = await walk(params(port, max_repetitions=5, timeout=0.3))
    assert got == clean  # no gaps, no duplicates, same order
    assert len(clean) > 15  # the fault hit mid-walk (request 3 of several)
    assert walker.requests == faulty.requests  # the dropped one was re-sent once
    assert faulty.requests == len(clean) // 5 + 2


async def test_garbage_replies_never_crash(snmpd: int) -> None:
    _, port = await proxy(snmpd, lambda n: "garbage")
    started = time.monotonic()
    error, detail, text = await poll(params(port, timeout=0.3, retries=1), deadline=5)
    assert error in {"decode", "timeout"}, (error, detail)
    assert time.monotonic() - started < 2
    assert values(text, "netmon_target_up") == [0.0]


async def test_deadline_bounds_a_slow_agent_and_keeps_what_arrived(snmpd: int) -> None:
    # every reply after the first is late: the walk cannot finish within the deadline
    _, port = await proxy(snmpd, lambda n: "send" if n == 1 else "late")
    started = time.monotonic()
    error, detail, text = await poll(params(port, timeout=2, max_repetitions=5), deadline=1.0)
    elapsed = time.monotonic() - started
    assert elapsed < 1.5
    assert error is None  # the scalars came back: the device is up, the poll partial
    assert "deadline" in detail
    assert values(text, "netmon_device_up") == [1.0]
    assert values(text, "netmon_poll_errors_total", reason="partial") == [1.0]


async def test_gufo_internals_used_by_the_fast_walk_still_exist(snmpd: int) -> None:
    """Fails loudly if a gufo-snmp upgrade changes what collectors/snmp/walker.py reaches into."""
    p = params(snmpd, max_repetitions=7)
    walker = Walker(make_session(p), p)
    sizes = [len(batch) async for batch in walker._batches("1.3.6.1.2.1.2.2.1")]
    assert sizes[0] == 7
    assert all(size <= 7 for size in sizes)
    assert sum(sizes) > 7


async def test_a_huge_table_fails_that_table_not_the_poll(snmpsim_huge: tuple[int, str]) -> None:
    port, community = snmpsim_huge
    p = params(port, community=Secret(community), max_varbinds=500, timeout=2.0)
    error, detail, text = await poll(p)
    assert error is None
    assert "if_mib.interfaces (too_big)" in detail
    assert values(text, "netmon_device_up") == [1.0]
    assert values(text, "netmon_poll_errors_total", reason="partial") == [1.0]
    assert values(text, "netmon_interface_info") == []


async def test_an_agent_that_repeats_an_oid_cannot_loop_forever() -> None:
    """No real agent repeats OIDs on demand: script the batches the socket would yield."""

    class Looping(Walker):
        async def _batches(
            self, root: str, max_repetitions: int | None = None
        ) -> AsyncIterator[list[tuple[str, Value]]]:
            while True:  # the same two OIDs, forever
                yield [(f"{root}.1.1", 1), (f"{root}.2.1", b"eth0")]

    p = params(free_udp_port())
    walker = Looping(make_session(p), p)
    out: Varbinds = []
    assert await walker._walk("1.3.6.1.2.1.2.2.1", out) == "oid_loop"
    assert len(out) == 2
