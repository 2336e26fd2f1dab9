"""`netmon demo`: a simulated province monitored end to end, no set-up needed.

It starts, on local ports, and stops again on Ctrl-C (or after ``--duration``):
snmpsim serving the real recordings with counters that advance, an MQTT broker
(mosquitto when installed, else amqtt in a thread) with every village's
solar/battery telemetry, the CCTV's camera stream servers and NVR web pages
(netmon/tools/demo/cctv.py), Prometheus with the project's recording and alert rules and
Alertmanager with its routes (when installed; timings scaled to the demo's pace), a
stand-in for the technicians' phones that prints every page, and netmon itself. A
script then plays the incidents of a bad day in the province (see
netmon/tools/demo/script.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netmon.tools import stack
from netmon.tools.demo import cctv_sites, recordings, script
from netmon.tools.demo import contracts as demo_contracts
from netmon.tools.demo import province as prov
from netmon.tools.demo.cctv import Cctv
from netmon.tools.demo.embedded_broker import embedded_broker
from netmon.tools.demo.pager import serve_pager
from netmon.tools.demo.speedtest import FileServer
from netmon.tools.simulate import free_tcp_port, free_udp_port, relay, start_snmpsim

TOUR = """
netmon demo: a simulated province is being monitored ({sites} sites, 5 kabupaten).
  status page    {base}/
  sites (JSON)   {base}/api/v1/sites        outages: {base}/api/v1/outages
  metrics        {base}/metrics             targets: {base}/api/v1/targets
  prometheus     {prometheus}
  alertmanager   {alertmanager}
  config         {config}   (edit, then: curl -X POST {base}/-/reload)
  netmon's log   {log}   (tail -f it; this terminal tells the story)
  dashboards     grafana/dashboards/*.json (import into a Grafana pointed at the Prometheus)
The script of the day (polls every {interval:g} s; alert timings: {step:g} s = 1 minute):
  +{power:>4.0f}s  {plan.power} loses its grid power; its battery drains and runs flat
  +{reboot:>4.0f}s  {plan.reboot[1]} at {plan.reboot[0]} reboots
  +{fade:>4.0f}s  the radio link to {plan.fade[0]} starts to fade
  +{cut:>4.0f}s  fibre {plan.cut_link} to {plan.cut} cut: the NOC's end of it goes dark,
          every site behind it becomes unreachable{cut_cctv}
  +{repair:>4.0f}s  the fibre is spliced again
  (ISP contracts in contracts/demo.yaml: {contracts};
   some of their village offices' links are measured by a download a minute, some
   below their contract's throughput target (netmon report: docs/report.md);
   cpe-kutai-timur-002 never answers: a dead device from the start;
   {plan.dead_camera[1]} at {plan.dead_camera[0]} refuses RTSP: a dead camera (ServiceDown);
   PLN's announced cut in Paser / Tanah Grogot is declared in sites/paser.yaml,
   so its hours stay out of the SLA: see the status page's marks)
Pages that would reach a technician's phone are printed below as "page -> receiver".
Ctrl-C stops everything this demo started.
"""


@dataclass(frozen=True)
class Options:
    sites: int = 200
    duration: float | None = None
    listen: str = "127.0.0.1:9800"
    interval: float = 30.0
    speed: float = 120.0
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    alerting: bool = True
    #: auto: mosquitto when installed, else the embedded amqtt; or mosquitto, embedded, none
    broker: str = "auto"


def _port(preferred: int, listen: str) -> int:
    """``preferred`` when it is free on 127.0.0.1 and not netmon's own (``listen``),
    else any free port (0: any)."""
    mine = str(preferred) == listen.rpartition(":")[2]
    if preferred and not mine and _bind_error("127.0.0.1", preferred) is None:
        return preferred
    return free_tcp_port()


def _bind_error(host: str, port: int) -> OSError | None:
    """Why a TCP listener could not bind there now (None: it could)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc
    return None


def _listen_problem(listen: str) -> str | None:
    """Why netmon could not listen there, found before anything is started."""
    host, _, port = listen.rpartition(":")
    error: Exception | None
    try:
        error = _bind_error(host.strip("[]") or "0.0.0.0", int(port))
    except ValueError as exc:  # not a port number
        error = exc
    return None if error is None else f"cannot listen on {listen}: {error}"


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a closed terminal) before or after netmon runs: unwind like
    Ctrl-C, so that everything started so far is stopped again."""


def _interrupt(signum: int, _frame: object) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _on_signals(handler: Any) -> dict[int, Any]:
    """Set ``handler`` for SIGTERM and SIGHUP; returns what was there before."""
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def run_demo(options: Options) -> int:
    problem = _listen_problem(options.listen)
    if problem is not None:
        print(f"netmon demo: {problem} (choose another with --listen)", file=sys.stderr)
        return 2
    before = _on_signals(_interrupt)  # until serve() takes the signals over
    try:
        return _run(options)
    except Interrupted as exc:
        print(f"netmon demo: stopped by {exc} while starting or stopping", file=sys.stderr)
        return 130
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _run(options: Options) -> int:
    from collectors.icmp import icmp_available
    from collectors.mqtt.broker import Mosquitto, start_mosquitto
    from collectors.mqtt.simulator import TelemetrySimulator
    from netmon.cli import serve

    # the script's step and the alert timings' minute: the poll interval, at most 10 s
    step = min(options.interval, 10.0)
    draft = prov.province(options.sites, 0)  # who is where; ports are filled in later
    plan = script.plan(draft, step)
    with contextlib.ExitStack() as stack_:
        tmp = Path(stack_.enter_context(tempfile.TemporaryDirectory(prefix="netmon-demo-")))
        # the cameras' and NVRs' ports, bound and listening before the config names them
        cctv = Cctv(
            cctv_sites.servers(draft),
            [plan.dead_camera[1]],
            tmp / cctv_sites.NVR_CA,
            tmp / "certs" / "nvr.key",
        )
        stack_.callback(cctv.close)
        files = FileServer()  # the contracted village offices' test files
        stack_.callback(files.close)
        origin = time.time()  # snmpsim's variations count from (about) now
        agents = recordings.demo_recordings(
            reboot_at=plan.at(script.REBOOT_AT),
            fade_at=plan.at(script.FADE_AT),
            fade_for=plan.at(script.FADE_STEPS),
            fibres=prov.fibres(),
            cut=(plan.cut_port, plan.at(script.CUT_AT)),
        )
        # one snmpsim serves ~15 polls/s on a core: big provinces get one per 100 sites,
        # each serving whole kabupaten (at most two: this is a 2-core demo, not a benchmark)
        background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        sims = [
            stack_.enter_context(start_snmpsim(files=[], extra=agents, quiet=True))
            for _ in range(1 if options.sites <= 100 else 2)
        ]
        home: dict[str, int] = {}  # site -> the snmpsim port of its kabupaten
        for k, data in enumerate(draft.values()):
            home |= {site["id"]: sims[k % len(sims)].port for site in data["sites"]}
        broker_port, protocol = None, "5"
        have_mosquitto = bool(shutil.which("mosquitto")) or Path("/usr/sbin/mosquitto").exists()
        if options.broker == "mosquitto" or (options.broker == "auto" and have_mosquitto):
            broker: Mosquitto = stack_.enter_context(start_mosquitto(tmp / "mosquitto"))
            broker_port = broker.port
        elif options.broker in ("auto", "embedded"):
            if options.broker == "auto":
                say("mosquitto is not installed: using the embedded amqtt broker (MQTT 3.1.1)")
            broker_port, protocol = stack_.enter_context(embedded_broker()), "3.1.1"
        else:
            say("--broker none: the demo runs without MQTT power telemetry")
        ports = {name: free_udp_port() for name in ("power", "reboot", "cut", "fibre")}
        site_ports = dict(home)
        site_ports |= {site: ports["power"] for site in plan.power_sites}
        site_ports[plan.reboot[0]] = ports["reboot"]
        site_ports |= {site: ports["cut"] for site in plan.cut_sites}
        site_ports[prov.AGG] = ports["fibre"]  # a device: the NOC's others answer directly
        # ICMP heartbeats where they can run (raw sockets or ping_group_range), on sites
        # the script leaves alone: loopback would answer even behind a "cut" fibre
        probed = set(home) - set(plan.relayed) if icmp_available() else set()
        if not probed:
            say("ICMP probes off: no raw sockets and net.ipv4.ping_group_range excludes us")
        content = prov.province(
            options.sites,
            sims[0].port,
            site_ports,
            {plan.fade[1]: recordings.FADING},
            probed,
            power_cut_at=origin - 3600,  # PLN's announced cut began an hour ago
            endpoints=cctv.endpoints,
            file_server=files.port,
        )
        why_not = stack.available() if options.alerting else "--no-alerting"
        am_port = _port(options.alertmanager_port, options.listen)
        config = prov.write_config(
            tmp,
            content,
            options.interval,
            options.listen,
            broker_port,
            protocol,
            # a silence of a site in Alertmanager's UI puts it in maintenance
            alertmanager=f"http://127.0.0.1:{am_port}" if why_not is None else None,
        )
        log_path = tmp / "netmon.log"
        urls = {"prometheus": "(not started)", "alertmanager": "(not started)"}
        if why_not is None:
            factor = step / 60
            hook = free_tcp_port()
            am = stack_.enter_context(
                stack.start_alertmanager(
                    tmp / "alertmanager",
                    am_port,
                    f"http://127.0.0.1:{hook}",
                    factor,
                )
            )
            prom = stack_.enter_context(
                stack.start_prometheus(
                    tmp / "prometheus",
                    _port(options.prometheus_port, options.listen),
                    options.listen,
                    am.url.removeprefix("http://"),
                    scrape_interval=max(1.0, min(15.0, step / 2)),
                    factor=factor,
                )
            )
            urls = {"prometheus": prom.url + "/alerts", "alertmanager": am.url}
            background.append(lambda: serve_pager(hook, say))
        else:
            say(f"Prometheus and Alertmanager not started: {why_not}")

        background.append(cctv.run)
        background.append(files.run)
        holder: dict[str, script.Relays] = {}
        telemetry: TelemetrySimulator | None = None

        def flat(site: str) -> None:
            relays = holder.get("relays")
            if site == plan.power and relays is not None and not relays.power.dark:
                script.battery_flat(plan, relays, telemetry)
                say(f"incident: {site}'s battery is flat: it and the sites behind it are dark")

        if broker_port is not None:
            telemetry = TelemetrySimulator(
                "127.0.0.1",
                broker_port,
                prov.villages(content),
                interval=min(5.0, step),
                speed=options.speed,
                on_dead=flat,
            )
            for site in prov.in_declared_cut(content):  # PLN's cut: their grid is off too
                telemetry.cut_power(site, drain=1.0)
            background.append(telemetry.run)

        async def incidents() -> None:
            relays = script.Relays(
                power=(await relay(home[plan.power], _send, port=ports["power"]))[0],
                reboot=(await relay(home[plan.reboot[0]], _send, port=ports["reboot"]))[0],
                cut=(await relay(home[plan.cut], _send, port=ports["cut"]))[0],
                swap=(
                    script.community_tlv(recordings.REBOOTING),
                    script.community_tlv(recordings.REBOOTED),
                ),
                fibre=(await relay(home[prov.NOC], _send, port=ports["fibre"]))[0],
                fibre_swap=(
                    script.community_tlv(recordings.FIBRE_AGG),
                    script.community_tlv(recordings.FIBRE_CUT),
                ),
                behind_cut=cctv.of(device for _, device in plan.cut_services),
            )
            holder["relays"] = relays
            await script.run_script(plan, relays, origin, say, telemetry)
            await asyncio.Event().wait()  # keep the relays serving until the demo stops

        background.append(incidents)
        print(
            TOUR.format(
                sites=options.sites,
                base=f"http://{options.listen}",
                config=config,
                step=step,
                interval=options.interval,
                plan=plan,
                power=plan.at(script.POWER_AT),
                reboot=plan.at(script.REBOOT_AT),
                fade=plan.at(script.FADE_AT),
                cut=plan.at(script.CUT_AT),
                repair=plan.at(script.REPAIR_AT),
                cut_cctv="".join(
                    f"\n          (and {device}, a camera at {site}: unreachable, not down)"
                    for site, device in plan.cut_services
                ),
                log=log_path,
                contracts=", ".join(
                    c["id"] for c in demo_contracts.contract_file(content)["contracts"]
                ),
                **urls,
            ),
            flush=True,
        )
        with log_path.open("a", buffering=1) as log:
            code = asyncio.run(
                serve(
                    str(config),
                    options.listen,
                    options.duration,
                    background,
                    log,
                    hangup_stops=True,  # a closed terminal ends the demo and all it started
                )
            )
        # asyncio gave SIGTERM and SIGHUP back to their defaults, which would kill the demo
        # half-way through stopping what it started; stopping is bounded, so let it finish
        _on_signals(signal.SIG_IGN)
        if code != 0:  # the temporary folder goes with the demo: show why it stopped
            tail = log_path.read_text().splitlines()[-20:]
            print("netmon stopped with an error; its log ends:", *tail, sep="\n", file=sys.stderr)
        return code


def _send(_n: int) -> str:
    return "send"
