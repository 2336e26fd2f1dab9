"""MQTT telemetry throughput: netmon's whole path vs a bare aiomqtt + json.loads loop.

Run (no root needed)::

    .venv/bin/python bench/mqtt_throughput.py --json bench/results/mqtt_throughput-$(date +%F).json

What happens:

1. A mosquitto is started on a free port with netmon's generated config
   (``collectors.mqtt.broker.start_mosquitto``; never the system broker).
2. For every measured run, a publisher process (this script with
   ``--publish-port``: plain paho-mqtt, MQTT 3.1.1, no network thread)
   connects and builds ``--messages`` power telemetry payloads for
   ``--sites`` x ``--sensors`` sources (topic
   ``desa/{kabupaten}/{site}/power/{sensor}``, about 170 bytes of JSON with
   seq, ts, battery, solar, grid, energy_wh). It then waits.
3. The consumer connects in this process and subscribes with a persistent
   session (MQTT 5: clean_start off and a session expiry; 3.1.1: clean_session
   off; as netmon's runner does). Only then is the publisher told to go. It
   publishes as fast as it can (a backlog forms in front of the consumer), or
   at ``--rate`` msgs/s. QoS 0 or 1, per ``--qos``; MQTT version per
   ``--protocol``.
4. The consumer is one of:

   * ``bare``: ``async for m in client.messages: json.loads(m.payload)``,
     until ``--messages`` have arrived (paho acknowledges QoS 1 itself).
   * ``netmon``: the real ``MqttCollector`` with a ``Store`` as its sink
     (every site known), the POWER subscription of the tests (sequence and
     timestamp dedup, 5 metrics, a kabupaten label, manual ack after
     applying), until ``netmon_mqtt_messages_total{result="applied"}`` in the
     registry reaches ``--messages``; then ONE ``store.render()`` (a scrape;
     rendering is lazy), which is counted.
   * ``netmon_render``: the same, with ``store.render()`` after every
     ``--render-every`` applied messages (default: the number of sources,
     i.e. every source sends once per scrape interval).

   CPU is ``time.process_time()`` of this process (all its threads) from the
   go signal to the last message (plus the final render); wall time likewise.
   The broker's CPU (``/proc/PID/stat``) and the publisher's own CPU are
   recorded too. A run whose messages stop arriving (``--idle-timeout`` after
   the publisher is done) counts what arrived.
5. Runs are interleaved (bare, netmon, netmon_render, then rotated) for each
   protocol and QoS and ``--rounds`` rounds. A markdown table is printed and
   JSON written (``--json``).
6. Offline stages (no broker, no profiler): netmon's per-message work on the
   same payloads, called directly (``--no-offline`` skips them).
7. ``--profile PATH`` then cProfiles one more run (CPU time as the timer),
   writes the pstats data to PATH and prints the top 25 functions by tottime.

Everything is bounded by ``--time-limit``; the broker and the publishers are
stopped in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import io
import json
import math
import os
import platform
import pstats
import random
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import CollectorRegistry

if TYPE_CHECKING:
    from collectors.mqtt import MqttCollector
    from collectors.mqtt.broker import Mosquitto
    from netmon.api import Snapshot
    from netmon.store import Store

SCRIPT = str(Path(__file__).resolve())
REPO_ROOT = Path(SCRIPT).parent.parent
KABUPATEN = ("kutim", "kukar", "berau", "paser", "bontang")
SENSORS = ("mppt", "bms", "inverter", "genset")
TOPIC_FILTER = "desa/+/+/power/+"
VARIANTS = ("bare", "netmon", "netmon_render")
TARGET_MSGS_PER_CPU_S = 20_000.0
#: how often the benchmark looks at the consumer's progress
POLL_S = 0.01
#: session expiry of the consumers' persistent sessions (they are deleted after each run)
SESSION_EXPIRY_S = 600
APPLIED = "netmon_mqtt_messages_total"


class BenchError(RuntimeError):
    """A setup step failed; the message says which."""


# --------------------------------------------------------------------------- workload


def sources(sites: int, sensors: int) -> list[tuple[str, str, str]]:
    """(kabupaten, site id, sensor) for every telemetry source."""
    out: list[tuple[str, str, str]] = []
    for i in range(sites):
        kab = KABUPATEN[i % len(KABUPATEN)]
        site = f"desa-{kab}-{i:04d}"
        out.extend((kab, site, sensor) for sensor in SENSORS[:sensors])
    return out


def power_subscription(qos: int) -> dict[str, Any]:
    """The POWER subscription of tests/unit/test_mqtt_mapping.py, budget for 4,000 sources."""
    return {
        "name": "power",
        "topic": "desa/{kabupaten}/{site}/power/{sensor}",
        "device": "{site}-{sensor}",
        "qos": qos,
        "sequence": "seq",
        "timestamp": "ts",
        "ttl": 300,
        "max_sources": 5000,
        "labels": {"kabupaten": "{kabupaten}"},
        "metrics": [
            {"field": "battery.voltage", "name": "netmon_power_battery_voltage_volts"},
            {"field": "battery.soc", "name": "netmon_power_battery_ratio", "scale": 0.01},
            {"field": "solar.power", "name": "netmon_power_solar_watts"},
            {"field": "grid", "name": "netmon_power_on_grid", "map": {"true": 1, "false": 0}},
            {
                "field": "energy_wh",
                "name": "netmon_power_solar_energy_joules_total",
                "type": "counter",
                "scale": 3600,
            },
        ],
    }


def make_messages(
    n: int, sites: int, sensors: int, seq_base: int, seed: int
) -> list[tuple[str, bytes]]:
    """``n`` (topic, payload) pairs, round robin over the sources; seq and ts rise per source."""
    srcs = sources(sites, sensors)
    rng = random.Random(seed)
    now = time.time()
    energy = [rng.randrange(10_000, 900_000) for _ in srcs]
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        k = i % len(srcs)
        kab, site, sensor = srcs[k]
        energy[k] += rng.randrange(0, 40)
        body = {
            "seq": seq_base + i // len(srcs) + 1,
            "ts": round(now - (n - i) * 1e-5, 3),  # in the past, rising
            "battery": {
                "voltage": round(rng.uniform(11.8, 14.4), 2),
                "soc": rng.randrange(20, 101),
                "temp_c": round(rng.uniform(24.0, 41.0), 1),
            },
            "solar": {"power": round(rng.uniform(0.0, 350.0), 1), "voltage": 18.4},
            "grid": rng.random() < 0.7,
            "energy_wh": energy[k],
        }
        payload = json.dumps(body, separators=(", ", ": ")).encode()
        out.append((f"desa/{kab}/{site}/power/{sensor}", payload))
    return out


# --------------------------------------------------------------------------- publisher


def _pump(client: Any, timeout: float) -> None:
    """One round of paho's network loop without its thread or socket pair."""
    sock = client.socket()
    if sock is None:
        raise BenchError("publisher lost its connection")
    writing = [sock] if client.want_write() else []
    readable, writable, _ = select.select([sock], writing, [], timeout)
    if readable and client.loop_read() != 0:
        raise BenchError("publisher: read from the broker failed")
    if writable and client.loop_write() != 0:
        raise BenchError("publisher: write to the broker failed")


def publisher_main(args: argparse.Namespace) -> int:
    """Child process: connect, build the payloads, print "ready", wait for "go", publish.

    Plain paho without its network thread: ``publish`` writes each packet to the
    socket at once; PUBACKs are read every 512 messages. No inflight limit
    (MQTT 3.1.1: mosquitto sets none for incoming QoS 1 either).
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    n, qos = args.messages, args.qos[0]
    messages = make_messages(n, args.sites, args.sensors, args.seq_base, args.seed)
    done = 0

    def on_publish(*_: Any) -> None:
        nonlocal done
        done += 1

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"netmon-bench-pub-{os.getpid()}",
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    client.on_publish = on_publish
    client.max_inflight_messages_set(0)  # 0: no limit
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", args.publish_port, keepalive=600)
    deadline = time.monotonic() + 20
    while not client.is_connected():
        if time.monotonic() > deadline:
            raise BenchError("publisher: no CONNACK within 20 s")
        _pump(client, 0.1)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    w0, c0 = time.perf_counter(), time.process_time()
    publish = client.publish
    rate = args.rate
    for i, (topic, payload) in enumerate(messages):
        publish(topic, payload, qos)
        if rate and i % 50 == 49:  # paced: 50 messages at a time, on schedule
            _pump(client, 0.0)
            ahead = w0 + (i + 1) / rate - time.perf_counter()
            if ahead > 0:
                _pump(client, ahead)
        elif i & 511 == 511:
            _pump(client, 0.0)
    deadline = time.monotonic() + args.time_limit
    while client.want_write() or done < n:
        if time.monotonic() > deadline:
            break
        _pump(client, 0.05)
    w1, c1 = time.perf_counter(), time.process_time()
    result = {"published": n, "done": done, "wall_s": w1 - w0, "cpu_s": c1 - c0}
    print(json.dumps(result), flush=True)
    client.disconnect()
    with contextlib.suppress(BenchError):
        for _ in range(5):
            _pump(client, 0.02)
    return 0


class Publisher:
    """The publisher child process, driven from the event loop."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.result: dict[str, Any] | None = None
        self.task: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, args: argparse.Namespace, port: int, qos: int, n: int, seq_base: int, seed: int
    ) -> Publisher:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, SCRIPT,
            "--publish-port", str(port), "--qos", str(qos),
            "--messages", str(n), "--sites", str(args.sites),
            "--sensors", str(args.sensors), "--seq-base", str(seq_base),
            "--seed", str(seed), "--time-limit", str(args.time_limit),
            "--rate", str(args.rate),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        pub = cls(proc)
        try:
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if line.strip() != b"ready":
                raise BenchError(f"publisher did not get ready (said {line!r})")
        except BaseException:
            await pub.kill()
            raise
        return pub

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        self.task = asyncio.create_task(self._finish())

    async def _finish(self) -> None:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        await self.proc.wait()
        if line:
            self.result = json.loads(line)

    @property
    def finished(self) -> bool:
        return self.task is not None and self.task.done()

    async def wait(self, seconds: float) -> None:
        if self.task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), seconds)
            except TimeoutError:
                await self.kill()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task


# --------------------------------------------------------------------------- consumers


def session_kwargs(protocol: str, *, keep: bool) -> dict[str, Any]:
    """aiomqtt.Client arguments for a persistent session (``keep``) or for deleting one.

    The same settings as netmon's runner: MQTT 5 with clean_start off and a
    session expiry, or MQTT 3.1.1 with clean_session off.
    """
    if protocol == "5":
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S if keep else 0
        return {
            "protocol": aiomqtt.ProtocolVersion.V5,
            "clean_start": not keep,
            "properties": props,
        }
    return {"protocol": aiomqtt.ProtocolVersion.V311, "clean_session": not keep}


async def delete_session(port: int, client_id: str, protocol: str) -> None:
    """Connect with a clean start (MQTT 5: expiry 0): the broker drops the session and queue."""
    kwargs = session_kwargs(protocol, keep=False)
    async with aiomqtt.Client("127.0.0.1", port, identifier=client_id, timeout=10, **kwargs):
        pass


class Bare:
    """Consumer A: aiomqtt and json.loads, nothing else."""

    variant = "bare"

    def __init__(self, port: int, qos: int, n: int, client_id: str, protocol: str) -> None:
        self.port, self.qos, self.n, self.client_id = port, qos, n, client_id
        self.protocol = protocol
        self.count = 0
        self.backlog = 0
        self.client: aiomqtt.Client | None = None
        self.stack = contextlib.AsyncExitStack()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        client = aiomqtt.Client(
            "127.0.0.1",
            self.port,
            identifier=self.client_id,
            timeout=10,
            **session_kwargs(self.protocol, keep=True),
        )
        await self.stack.enter_async_context(client)
        await client.subscribe(TOPIC_FILTER, qos=self.qos)
        self.client = client
        self.task = asyncio.create_task(self._consume(client))

    async def _consume(self, client: aiomqtt.Client) -> None:
        loads = json.loads
        n = self.n
        async for message in client.messages:
            payload = message.payload
            if isinstance(payload, bytes | bytearray | str):
                loads(payload)
            self.count += 1
            if self.count >= n:
                break

    def progress(self) -> int:
        if self.task is not None and self.task.done() and self.task.exception() is not None:
            raise BenchError(f"bare consumer failed: {self.task.exception()!r}")
        if self.client is not None:  # messages aiomqtt has read but we have not taken yet
            self.backlog = max(self.backlog, len(self.client.messages))
        return self.count

    def finish(self) -> dict[str, Any]:
        return {"received": self.count, "max_backlog_in_aiomqtt_queue": self.backlog}

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        with contextlib.suppress(Exception):
            await self.stack.aclose()


class ScrapingSink:
    """The store, plus a ``render()`` (a scrape) after every ``every`` applied snapshots."""

    def __init__(self, store: Store, every: int) -> None:
        self.store, self.every = store, every
        self.since = 0
        self.renders = 0

    def apply(
        self,
        snapshot: Snapshot,
        interval: float,
        now: float | None = None,
        *,
        replace: bool = False,
    ) -> object:
        change = self.store.apply(snapshot, interval, now, replace=replace)
        self.since += 1
        if self.since >= self.every:
            self.since = 0
            self.store.render()
            self.renders += 1
        return change

    def remove(self, key: str) -> None:
        self.store.remove(key)


class Netmon:
    """Consumer B: netmon's MqttCollector feeding a Store, as the daemon wires them."""

    def __init__(
        self,
        port: int,
        qos: int,
        n: int,
        client_id: str,
        protocol: str,
        sites: set[str],
        render_every: int,
        expected_sources: int,
    ) -> None:
        self.port, self.qos, self.n, self.client_id = port, qos, n, client_id
        self.protocol = protocol
        self.sites = sites
        self.render_every = render_every
        self.expected_sources = expected_sources
        self.variant = "netmon_render" if render_every else "netmon"
        self.registry = CollectorRegistry()
        self.collector: MqttCollector | None = None
        self.store: Store | None = None
        self.sink: ScrapingSink | None = None
        self.labels = {"subscription": "power", "result": "applied"}
        self.text = ""

    async def start(self) -> None:
        from collectors.mqtt import MqttCollector, MqttConfig
        from netmon.api import Sink, StaticDirectory
        from netmon.store import Store

        self.store = Store()
        sink: Sink = self.store
        if self.render_every:
            sink = self.sink = ScrapingSink(self.store, self.render_every)
        self.collector = MqttCollector(sink, StaticDirectory(self.sites), self.registry)
        config = MqttConfig.model_validate(
            {
                "url": f"mqtt://127.0.0.1:{self.port}",
                "client_id": self.client_id,
                "protocol": self.protocol,
                "session_expiry": SESSION_EXPIRY_S,
                "reconnect_min": 0.05,
                "reconnect_max": 0.5,
                "subscriptions": [power_subscription(self.qos)],
            }
        )
        self.collector.configure(config, REPO_ROOT)
        self.store.add_meta(self.collector.metadata())
        runner = self.collector.runner
        assert runner is not None
        try:
            await asyncio.wait_for(runner.connected.wait(), 15)  # set after SUBACK
        except TimeoutError:
            raise BenchError("netmon's MQTT runner did not connect within 15 s") from None

    def progress(self) -> int:
        return int(self.registry.get_sample_value(APPLIED, self.labels) or 0)

    def results(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for metric in self.registry.collect():
            for s in metric.samples:
                if s.name == APPLIED:
                    out[s.labels["result"]] = out.get(s.labels["result"], 0) + int(s.value)
        return out

    def render(self) -> None:
        assert self.store is not None
        self.text = self.store.render()

    def finish(self) -> dict[str, Any]:
        results = self.results()
        series = sum(
            1
            for ln in self.text.splitlines()
            if ln.startswith("netmon_power_battery_voltage_volts{")
        )
        if self.progress() >= self.n and series != min(self.expected_sources, self.n):
            raise BenchError(
                f"netmon rendered {series} battery series, expected {self.expected_sources}"
            )
        return {
            "received": sum(results.values()),
            "applied": results.get("applied", 0),
            "results": results,
            "renders": 1 + (self.sink.renders if self.sink else 0),
            "rendered_bytes": len(self.text),
            "rendered_battery_series": series,
        }

    async def stop(self) -> None:
        if self.collector is not None:
            await self.collector.stop()


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    variant: str
    protocol: str
    qos: int
    round: int
    expected: int
    received: int
    wall_s: float
    cpu_s: float
    broker_cpu_s: float
    render_cpu_s: float = 0.0
    applied: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    publisher: dict[str, Any] | None = None

    @property
    def per_cpu_s(self) -> float:
        return self.received / self.cpu_s if self.cpu_s > 0 else math.nan

    @property
    def per_wall_s(self) -> float:
        return self.received / self.wall_s if self.wall_s > 0 else math.nan


def _proc_cpu_seconds(pid: int) -> float:
    """utime+stime of a whole process in seconds (clock ticks, 10 ms here)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _raise_on_sigterm() -> None:
    def handler(signum: int, frame: types.FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


class Bench:
    def __init__(self, args: argparse.Namespace, broker: Mosquitto) -> None:
        self.args = args
        self.broker = broker
        self.srcs = sources(args.sites, args.sensors)
        self.sites = {site for _, site, _ in self.srcs}
        self.runs: list[Run] = []
        self.counter = 0
        self.render_every = args.render_every or len(self.srcs)

    def consumer(self, variant: str, protocol: str, qos: int, n: int) -> Bare | Netmon:
        self.counter += 1
        cid = f"netmon-bench-{os.getpid()}-{self.counter}"
        port = self.broker.port
        if variant == "bare":
            return Bare(port, qos, n, cid, protocol)
        every = self.render_every if variant == "netmon_render" else 0
        return Netmon(port, qos, n, cid, protocol, self.sites, every, len(self.srcs))

    async def one(
        self,
        variant: str,
        protocol: str,
        qos: int,
        rnd: int,
        profiler: cProfile.Profile | None = None,
        messages: int | None = None,
    ) -> Run:
        n = messages or self.args.messages
        per_source = -(-n // len(self.srcs))
        pub = await Publisher.start(
            self.args, self.broker.port, qos, n, self.counter * per_source, self.counter
        )
        consumer = self.consumer(variant, protocol, qos, n)
        try:
            await consumer.start()
            broker0 = _proc_cpu_seconds(self.broker.pid)
            if profiler is not None:
                profiler.enable()
            w0, c0 = time.perf_counter(), time.process_time()
            pub.go()
            last, last_w, last_c = 0, w0, c0
            while True:
                await asyncio.sleep(POLL_S)
                got = consumer.progress()
                now = time.perf_counter()
                if got != last:
                    last, last_w, last_c = got, now, time.process_time()
                if got >= n:
                    break
                if pub.finished and now - last_w > self.args.idle_timeout:
                    break  # the rest is not coming (QoS 0 dropped by someone): count honestly
            r0, rw0 = time.process_time(), time.perf_counter()
            if isinstance(consumer, Netmon):
                consumer.render()  # the scrape
            render_cpu = time.process_time() - r0
            end_w = last_w + (time.perf_counter() - rw0)
            if profiler is not None:
                profiler.disable()
            broker1 = _proc_cpu_seconds(self.broker.pid)
            details = consumer.finish()
            await pub.wait(60)
        finally:
            await consumer.stop()
            await pub.kill()
            await delete_session(self.broker.port, consumer.client_id, protocol)
        return Run(
            variant=variant,
            protocol=protocol,
            qos=qos,
            round=rnd,
            expected=n,
            received=int(details.pop("received")),
            applied=details.pop("applied", None),
            wall_s=end_w - w0,
            cpu_s=last_c + render_cpu - c0,
            broker_cpu_s=broker1 - broker0,
            render_cpu_s=render_cpu,
            details=details,
            publisher=pub.result,
        )

    async def run(self) -> None:
        variants = [v for v in VARIANTS if v in self.args.only]
        for rnd in range(self.args.rounds):
            for protocol, qos in self.args.cases:
                shift = rnd % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    run = await self.one(variant, protocol, qos, rnd)
                    self.runs.append(run)
                    print(
                        f"round {rnd} MQTT {protocol:<5} QoS {qos} {variant:<13} "
                        f"{run.received:>7} msgs "
                        f"{run.per_cpu_s:>8.0f}/CPU-s {run.per_wall_s:>8.0f}/wall-s "
                        f"broker {run.broker_cpu_s:.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )

    async def profile(self, path: str, variant: str, protocol: str, qos: int) -> Run:
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall: waiting is not cost
        run = await self.one(variant, protocol, qos, -1, profiler, self.args.profile_messages)
        profiler.dump_stats(path)
        return run


# --------------------------------------------------------------------------- offline


class _NullSink:
    def apply(
        self,
        snapshot: Snapshot,
        interval: float,
        now: float | None = None,
        *,
        replace: bool = False,
    ) -> object:
        return None

    def remove(self, key: str) -> None:
        return None


def offline_stages(args: argparse.Namespace) -> list[dict[str, Any]]:
    """netmon's per-message work without any MQTT: the same payloads, called directly.

    No profiler, so the numbers are not inflated; each stage includes the ones
    before it. The render stage re-renders every source once (all dirty).
    """
    from collectors.mqtt.config import MqttConfig
    from collectors.mqtt.mapping import decode
    from collectors.mqtt.runner import MqttMetrics
    from collectors.mqtt.sources import Sources
    from netmon.store import Store

    msgs = make_messages(args.messages, args.sites, args.sensors, 0, 7)
    srcs = sources(args.sites, args.sensors)
    site_exists = {site for _, site, _ in srcs}.__contains__
    config = MqttConfig.model_validate({"subscriptions": [power_subscription(1)]})
    sub = config.subscriptions[0]
    n = len(msgs)
    out: list[dict[str, Any]] = []

    def stage(name: str, cpu: float, per: int = n) -> None:
        out.append({"stage": name, "us_cpu_per_msg": cpu / per * 1e6, "calls": per})

    c0 = time.process_time()
    for _, payload in msgs:
        json.loads(payload)
    stage("json.loads", time.process_time() - c0)

    c0 = time.process_time()
    for _, payload in msgs:
        decode(sub, payload)
    stage("mapping.decode (json.loads, seq, ts)", time.process_time() - c0)

    null = Sources(config, _NullSink(), site_exists)
    c0 = time.process_time()
    for topic, payload in msgs:
        null.handle(topic, payload)
    stage("Sources.handle, sink does nothing", time.process_time() - c0)

    store = Store()
    srcs_store = Sources(config, store, site_exists)
    c0 = time.process_time()
    for topic, payload in msgs:
        srcs_store.handle(topic, payload)
    stage("Sources.handle + Store.apply", time.process_time() - c0)

    metrics = MqttMetrics(CollectorRegistry())
    store = Store()
    full = Sources(config, store, site_exists)
    c0 = time.process_time()
    for topic, payload in msgs:
        result, name = full.handle(topic, payload)
        metrics.messages.labels(name, result).inc()
    stage(
        "Sources.handle + Store.apply + counter (the runner's loop body)", time.process_time() - c0
    )

    store.render()
    for topic, payload in make_messages(len(srcs), args.sites, args.sensors, n, 8):
        full.handle(topic, payload)  # every source dirty once more
    c0 = time.process_time()
    store.render()
    cpu = time.process_time() - c0
    out.append(
        {
            "stage": f"Store.render, all {len(srcs):,} sources dirty (per source)",
            "us_cpu_per_msg": cpu / len(srcs) * 1e6,
            "calls": 1,
            "ms_per_render": cpu * 1e3,
        }
    )
    return out


def offline_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| stage (no MQTT, no profiler) | µs CPU per message |", "|---|---:|"]
    lines += [f"| {r['stage']} | {r['us_cpu_per_msg']:.1f} |" for r in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------- report


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, int, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.protocol, r.qos, r.variant), []).append(r)
    out: list[dict[str, Any]] = []
    order = sorted(groups, key=lambda k: (k[0] != "5", k[1], VARIANTS.index(k[2])))
    for key in order:
        protocol, qos, variant = key
        rs = groups[key]
        received = sum(r.received for r in rs)
        cpu = sum(r.cpu_s for r in rs)
        wall = sum(r.wall_s for r in rs)
        out.append(
            {
                "protocol": protocol,
                "qos": qos,
                "variant": variant,
                "runs": len(rs),
                "expected": sum(r.expected for r in rs),
                "received": received,
                "msgs_per_cpu_s": received / cpu,
                "msgs_per_cpu_s_min_run": min(r.per_cpu_s for r in rs),
                "msgs_per_cpu_s_max_run": max(r.per_cpu_s for r in rs),
                "us_cpu_per_msg": cpu / received * 1e6,
                "msgs_per_wall_s": received / wall,
                "msgs_per_wall_s_median_run": statistics.median(r.per_wall_s for r in rs),
                "broker_us_cpu_per_msg": sum(r.broker_cpu_s for r in rs) / received * 1e6,
                "render_ms_mean": statistics.fmean(r.render_cpu_s for r in rs) * 1e3,
                "renders_per_run": statistics.fmean(r.details.get("renders", 0) for r in rs),
            }
        )
    for row in out:
        base = next(
            (
                b
                for b in out
                if (b["protocol"], b["qos"]) == (row["protocol"], row["qos"])
                and b["variant"] == "bare"
            ),
            None,
        )
        row["ratio_cpu_vs_bare"] = row["msgs_per_cpu_s"] / base["msgs_per_cpu_s"] if base else None
        row["ratio_wall_vs_bare"] = (
            row["msgs_per_wall_s"] / base["msgs_per_wall_s"] if base else None
        )
    return out


def markdown_table(summary: list[dict[str, Any]], render_every: int) -> str:
    lines = [
        "| MQTT | QoS | consumer | runs | received / sent | msgs per CPU-s | run range "
        "| µs CPU/msg | msgs per wall-s | broker µs CPU/msg | B/A per CPU-s | B/A per wall-s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in summary:
        name = r["variant"]
        if name == "netmon_render":
            name = f"netmon + render every {render_every}"
        ratio_c = f"{r['ratio_cpu_vs_bare']:.2f}" if r["ratio_cpu_vs_bare"] else "n/a"
        ratio_w = f"{r['ratio_wall_vs_bare']:.2f}" if r["ratio_wall_vs_bare"] else "n/a"
        lines.append(
            f"| {r['protocol']} | {r['qos']} | {name} | {r['runs']} "
            f"| {r['received']:,} / {r['expected']:,} "
            f"| {r['msgs_per_cpu_s']:,.0f} "
            f"| {r['msgs_per_cpu_s_min_run']:,.0f}-{r['msgs_per_cpu_s_max_run']:,.0f} "
            f"| {r['us_cpu_per_msg']:.1f} | {r['msgs_per_wall_s']:,.0f} "
            f"| {r['broker_us_cpu_per_msg']:.1f} | {ratio_c} | {ratio_w} |"
        )
    return "\n".join(lines)


def verdict(summary: list[dict[str, Any]]) -> tuple[list[str], bool]:
    lines, ok = [], True
    for r in summary:
        if r["variant"] == "bare":
            continue
        met = r["msgs_per_cpu_s"] >= TARGET_MSGS_PER_CPU_S
        ok = ok and (met or r["variant"] != "netmon")
        lines.append(
            f"- MQTT {r['protocol']} QoS {r['qos']} {r['variant']}: "
            f"{r['msgs_per_cpu_s']:,.0f} msgs per CPU-s, "
            f"target >= {TARGET_MSGS_PER_CPU_S:,.0f}: {'met' if met else 'MISSED'}"
        )
        if r["received"] < r["expected"]:
            lines.append(f"  - only {r['received']:,} of {r['expected']:,} messages arrived")
    for r in summary:
        if r["variant"] == "bare" and r["received"] < r["expected"]:
            lines.append(
                f"- MQTT {r['protocol']} QoS {r['qos']} bare: only {r['received']:,} "
                f"of {r['expected']:,} arrived"
            )
    return lines, ok


#: functions whose inclusive CPU the profile summary shows (file suffix, function name)
PROFILE_PARTS = (
    ("aiomqtt/client.py", "__anext__", "aiomqtt: next message (a Task + asyncio.wait each)"),
    ("paho/mqtt/client.py", "loop_read", "paho: read + parse packets (incl. on_message)"),
    ("aiomqtt/client.py", "_on_message", "aiomqtt: wrap message, queue it"),
    ("collectors/mqtt/sources.py", "handle", "netmon: Sources.handle (all of it)"),
    ("collectors/mqtt/mapping.py", "decode", "netmon: decode (json.loads, seq, ts)"),
    ("collectors/mqtt/mapping.py", "match", "netmon: TopicMatcher.match"),
    ("collectors/mqtt/mapping.py", "fill", "netmon: fill (templates, clean_label_value)"),
    ("collectors/mqtt/sources.py", "_publish", "netmon: Sources._publish (samples + snapshot)"),
    ("netmon/store.py", "apply", "netmon: Store.apply"),
    ("netmon/store.py", "render", "netmon: Store.render"),
    ("prometheus_client/metrics.py", "labels", "prometheus_client: Counter.labels"),
    ("prometheus_client/metrics.py", "inc", "prometheus_client: Counter.inc"),
    ("collectors/mqtt/session.py", "ack", "netmon: ack (paho PUBACK)"),
)


def profile_report(path: str, messages: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(path, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in raw.values())
    out.write(f"\nInclusive CPU of selected functions ({messages:,} messages; ")
    out.write(f"profiled total {total:.2f} s, {total / messages * 1e6:.1f} µs/msg).\n")
    out.write("cProfile inflates call-heavy code several times: use the shares, not the µs.\n")
    out.write("A coroutine's calls count each resumption.\n\n")
    out.write(
        "| function | calls | inclusive s | µs per message | share |\n|---|---:|---:|---:|---:|\n"
    )
    for suffix, func, label in PROFILE_PARTS:
        hits = [(v[1], v[3]) for k, v in raw.items() if k[0].endswith(suffix) and k[2] == func]
        if not hits:
            continue
        calls = sum(c for c, _ in hits)
        cum = max(ct for _, ct in hits)
        out.write(
            f"| {label} | {calls:,} | {cum:.3f} | {cum / messages * 1e6:.1f} "
            f"| {cum / total:.0%} |\n"
        )
    return out.getvalue()


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for pkg in ("aiomqtt", "paho-mqtt", "prometheus_client", "pydantic"):
        with contextlib.suppress(Exception):
            out[pkg] = version(pkg)
    with contextlib.suppress(Exception):
        from collectors.mqtt.broker import mosquitto_binary

        done = subprocess.run(
            [mosquitto_binary(), "-h"], capture_output=True, text=True, check=False, timeout=10
        )
        out["mosquitto"] = (done.stdout + done.stderr).splitlines()[0].strip()
    return out


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "date": dt.date.today().isoformat(),
    }


# --------------------------------------------------------------------------- main


def bench_main(args: argparse.Namespace) -> int:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from collectors.mqtt.broker import start_mosquitto
    from netmon.logging import configure

    configure("error", stream=sys.stderr)  # no "mqtt connected" line per run
    _raise_on_sigterm()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    started = time.monotonic()
    profile_text = ""
    offline = [] if args.no_offline else offline_stages(args)
    with (
        tempfile.TemporaryDirectory(prefix="netmon-bench-mqtt-") as tmp,
        start_mosquitto(Path(tmp) / "broker", autosave_interval=args.autosave) as broker,
    ):
        bench = Bench(args, broker)

        async def bounded() -> Run | None:
            async with asyncio.timeout(args.time_limit):
                await bench.run()
                if args.profile:
                    protocol, qos = args.profile_case
                    return await bench.profile(args.profile, args.profile_variant, protocol, qos)
            return None

        try:
            profiled = asyncio.run(bounded())
        except (BenchError, TimeoutError) as exc:
            print(f"error: {exc or 'time limit reached'}", file=sys.stderr)
            if not bench.runs:
                return 1
            profiled = None
        broker_conf = broker.config_path.read_text()
        broker_log_tail = broker.log[-2000:]
    if not bench.runs:
        print("error: no run finished", file=sys.stderr)
        return 1
    summary = summarize(bench.runs)
    table = markdown_table(summary, bench.render_every)
    lines, ok = verdict(summary)
    print(table)
    print()
    print("\n".join(lines))
    if offline:
        print()
        print(offline_table(offline))
    if profiled is not None and args.profile:
        profile_text = profile_report(args.profile, profiled.received)
        print(
            f"\nProfile of one {profiled.variant} run, MQTT {profiled.protocol} "
            f"QoS {profiled.qos} ({args.profile}):\n"
        )
        print(profile_text)
    result = {
        "config": {
            "messages_per_run": args.messages,
            "sites": args.sites,
            "sensors": args.sensors,
            "sources": len(bench.srcs),
            "rounds": args.rounds,
            "qos": args.qos,
            "protocols": args.protocol,
            "render_every": bench.render_every,
            "publish_rate": args.rate or "as fast as possible",
            "autosave_interval": args.autosave,
            "payload_bytes_mean": statistics.fmean(
                len(p) for _, p in make_messages(2000, args.sites, args.sensors, 0, 1)
            ),
            "poll_interval_s": POLL_S,
            "broker_config": broker_conf,
            "broker_max_inflight_messages": (
                "set in the config"
                if "max_inflight_messages" in broker_conf
                else "not set: mosquitto's default, 20 unacknowledged QoS 1 messages per client"
            ),
            "progress_poll_cost": "registry.get_sample_value every 10 ms, about 12 µs each",
            "elapsed_s": time.monotonic() - started,
        },
        "versions": versions(),
        "machine": {**machine_info(), "loadavg_before": load_before},
        "summary": summary,
        "offline": offline,
        "runs": [
            {**asdict(r), "msgs_per_cpu_s": r.per_cpu_s, "msgs_per_wall_s": r.per_wall_s}
            for r in bench.runs
        ],
        "broker_log_tail": broker_log_tail,
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if args.check and not ok:
        return 4
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--messages", type=int, default=50_000, help="messages per run (50,000)")
    p.add_argument(
        "--qos", type=int, action="append", choices=(0, 1), help="repeatable; default 0 and 1"
    )
    p.add_argument(
        "--protocol",
        action="append",
        choices=("5", "3.1.1"),
        help="MQTT version of both consumers (repeatable); default 5, netmon's default",
    )
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    p.add_argument(
        "--only", action="append", choices=VARIANTS, help="consumers to run (repeatable)"
    )
    p.add_argument("--sites", type=int, default=500, help="sites (default 500)")
    p.add_argument("--sensors", type=int, default=2, choices=range(1, len(SENSORS) + 1))
    p.add_argument(
        "--render-every",
        type=int,
        default=0,
        help="netmon_render: store.render() after this many messages (default: one per source)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="publish at this many msgs/s (default 0: as fast as possible, a backlog)",
    )
    p.add_argument("--autosave", type=int, default=60, help="broker autosave_interval (60)")
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=5.0,
        help="stop waiting this many s after the publisher ended and nothing more arrived",
    )
    p.add_argument("--no-offline", action="store_true", help="skip the offline stages (no MQTT)")
    p.add_argument("--json", help="write the results as JSON here")
    p.add_argument("--profile", help="then cProfile one more run; pstats data goes here")
    p.add_argument(
        "--profile-messages", type=int, default=20_000, help="messages in the profiled run"
    )
    p.add_argument("--profile-variant", choices=VARIANTS, default="netmon")
    p.add_argument("--profile-qos", type=int, choices=(0, 1), help="default 1 if measured")
    p.add_argument("--profile-protocol", choices=("5", "3.1.1"), help="default: the first")
    p.add_argument("--time-limit", type=float, default=300.0, help="abort after this many s")
    p.add_argument("--check", action="store_true", help="exit 4 if netmon misses the target")
    p.add_argument("--publish-port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--seq-base", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.qos = sorted(set(args.qos or [0, 1]))
    args.protocol = list(dict.fromkeys(args.protocol or ["5"]))
    args.cases = [(p, q) for p in args.protocol for q in args.qos]
    args.profile_case = (
        args.profile_protocol or args.protocol[0],
        args.profile_qos if args.profile_qos is not None else (1 if 1 in args.qos else 0),
    )
    args.only = args.only or list(VARIANTS)
    if args.messages < 1 or args.rounds < 1 or args.sites < 1:
        p.error("--messages, --rounds and --sites must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.publish_port is not None:
        return publisher_main(args)
    return bench_main(args)


if __name__ == "__main__":
    sys.exit(main())
