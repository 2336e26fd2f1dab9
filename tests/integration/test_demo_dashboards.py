"""Every query of every Grafana dashboard, run against a real Prometheus fed by the demo.

Grafana itself is not installable here, so this does what Grafana would: fill in the
template variables (real values from the demo, and "All") and Grafana's built-in
intervals, run each panel target (instant or range, as the panel asks) and the variable
queries, and require that each parses and returns data. A panel that cannot return data
in the demo is listed, with the reason, in grafana/generate.py NO_DATA_IN_DEMO; its
queries must still parse, and must still return nothing (else the entry is stale). A
panel that shows events the demo may or may not have had (values dropped, counter resets)
is listed in MAY_BE_EMPTY_IN_DEMO: its queries must parse, data is optional.

Failures are collected and reported together: one assertion lists every failing
dashboard, panel and query.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from collectors.icmp import icmp_available
from grafana.dashboard import SITE_REGEX
from grafana.generate import MAY_BE_EMPTY_IN_DEMO, NO_DATA_IN_DEMO, OUT
from netmon.tools.demo import contracts as demo_contracts
from netmon.tools.demo import province
from tests.demo_harness import SITES, DemoStack
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

#: Grafana's built-in variables, with the values a 6-hour dashboard would give them
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "30s",
    "__interval_ms": "30000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
    "__auto": "30s",
}
#: Every query parses at once; data needs polls, incidents and rule evaluations. The
#: availability rules run every 5m (netmon-recording.yml `interval: 5m`), and their
#: first evaluation can come up to one interval after Prometheus starts.
DATA_DEADLINE = 360.0  # under the 420 s test timeout: a failure says which queries
RETRY_EVERY = 3.0
RANGE = 600  # seconds of history a range query looks at
ICMP_PANELS = {"Probe round-trip time", "Probe loss"}
MAX_CANDIDATES = 3  # sites tried per round for the Site dashboard


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    ref: str
    expr: str
    instant: bool

    @property
    def exempt(self) -> bool:
        # the demo probes with ICMP only where this process may (root, CAP_NET_RAW or
        # net.ipv4.ping_group_range): elsewhere the probe panels have nothing to show
        probes = self.panel in ICMP_PANELS or "netmon_probe_" in self.expr
        no_icmp = probes and not icmp_available()
        return (self.dashboard, self.panel) in NO_DATA_IN_DEMO or no_icmp

    @property
    def optional(self) -> bool:
        """Data or none: the panel shows events the demo may not have had yet. (The
        contracts dashboard's RTT and loss are not optional: the demo's contracts cover
        villages the script leaves alone, probed with ICMP; where this process cannot
        probe, `exempt` covers the probe panels as everywhere.)"""
        return (self.dashboard, self.panel) in MAY_BE_EMPTY_IN_DEMO


@dataclass(frozen=True)
class Outcome:
    error: str  # "" when Prometheus accepted the query
    series: int


def dashboards() -> dict[str, dict[str, Any]]:
    models = [json.loads(path.read_text()) for path in sorted(OUT.glob("*.json"))]
    return {model["uid"]: model for model in models}


def queries() -> Iterator[Query]:
    for uid, model in dashboards().items():
        for panel in model["panels"]:
            for t in panel.get("targets", []):
                yield Query(uid, panel["title"], t["refId"], t["expr"], bool(t["instant"]))


def fill(expr: str, values: dict[str, str]) -> str:
    """Replace $name, ${name} and [[name]], longest names first (as Grafana does)."""
    for name in sorted(values, key=len, reverse=True):
        pattern = rf"\$\{{{name}\}}|\[\[{name}\]\]|\${name}(?![A-Za-z0-9_])"
        value = values[name]
        expr = re.sub(pattern, lambda _m: value, expr)  # noqa: B023 - used at once
    return expr


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def api(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(self.url + path, data=data)  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
                body: dict[str, Any] = json.load(resp)
        except urllib.error.HTTPError as err:  # 400/422: a query Prometheus rejects
            body = json.load(err)
        return body

    def run(self, expr: str, instant: bool) -> Outcome:
        now = time.time()
        if instant:
            body = self.api("/api/v1/query", {"query": expr, "time": f"{now:.3f}"})
        else:
            params = {"query": expr, "start": f"{now - RANGE:.3f}", "end": f"{now:.3f}"}
            body = self.api("/api/v1/query_range", {**params, "step": "15"})
        if body.get("status") != "success":
            return Outcome(f"{body.get('errorType')}: {body.get('error')}", 0)
        return Outcome("", len(body["data"]["result"]))

    def vector(self, expr: str) -> list[dict[str, Any]]:
        body = self.api("/api/v1/query", {"query": expr})
        assert body["status"] == "success", (expr, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


def candidates(prom: Prometheus, avoid: set[str]) -> list[dict[str, str]]:
    """Variable values for real sites that have every kind of data the Site dashboard
    shows (power telemetry, optical and radio readings, a radio link, service checks
    with a certificate: the village office's NVR), best first.

    Sites the demo's script is busy with (`avoid`: power cut, reboot, fibre cut, fade)
    come and go; a technician's view of a healthy village is what must be complete.
    """
    expr = (
        "group by (site) (netmon_power_battery_ratio)"
        " and on (site) group by (site) (netmon_optical_rx_power_dbm)"
        " and on (site) group by (site) (netmon_wireless_signal_dbm)"
        " and on (site) group by (site) (netmon_interface_oper_up == 1)"
        ' and on (site) group by (site) (netmon_site_status{status=~"up|degraded"} == 1)'
        ' and on (site) label_replace(netmon_link_info{kind="radio"}, "site", "$1", "b_site",'
        ' "(.*)")'
        " and on (site) group by (site) (netmon_service_up)"
        " and on (site) group by (site) (netmon_tls_certificate_expiry_timestamp_seconds)"
    )
    sites = sorted({r["metric"]["site"] for r in prom.vector(expr)} - avoid)
    out = []
    for site in sites[:MAX_CANDIDATES]:
        info = prom.vector(f'max by (site, kabupaten, network) (netmon_site_info{{site="{site}"}})')
        labels = info[0]["metric"]
        out.append({k: labels[k] for k in ("site", "kabupaten", "network")})
    return out


ALL = {"network": ".*", "kabupaten": ".*", "site": ".*", "contract": ".*"}


def plans(query: Query, one: dict[str, str]) -> list[tuple[str, dict[str, str], bool]]:
    """(name, variable values, data required) for a query.

    The overview dashboards must show data with "All" (the wall screen's view) and parse
    with one site picked; the Site dashboard takes exactly one site and must show data.
    """
    if query.dashboard == "netmon-site":
        return [("one site", one, True)]
    return [("all", ALL, True), ("one site", {**ALL, **one}, False)]


def check_all(prom: Prometheus, one: dict[str, str], todo: list[Query]) -> dict[Query, str]:
    """Query -> what is wrong with it (no entry when all is well)."""
    problems: dict[Query, str] = {}
    for query in todo:
        for run, values, need_data in plans(query, one):
            outcome = prom.run(fill(query.expr, {**values, **BUILTINS}), query.instant)
            if outcome.error:
                problems[query] = f"[{run}] does not parse/evaluate: {outcome.error}"
            elif need_data and query.exempt and outcome.series:
                problems[query] = (
                    f"[{run}] returns data but is listed in NO_DATA_IN_DEMO: drop the entry"
                )
            elif need_data and not (query.exempt or query.optional) and not outcome.series:
                problems[query] = f"[{run}] returns no series"
            if query in problems:
                break
    return problems


def waiting(problems: dict[Query, str]) -> bool:
    """Missing data may still come; parse errors and stale exceptions will not go away."""
    return any("returns no series" in p for p in problems.values())


def test_every_panel_query_parses_and_returns_data(demo_stack: DemoStack) -> None:
    prom = Prometheus(demo_stack.prometheus)
    plan = demo_stack.plan
    avoid = {*plan.relayed, plan.fade[0]}
    todo = list(queries())
    assert len(todo) > 50, "the dashboards lost their queries"
    site_queries = [q for q in todo if q.dashboard == "netmon-site"]
    pending = [q for q in todo if q.dashboard != "netmon-site"]
    deadline = time.monotonic() + DATA_DEADLINE
    problems: dict[Query, str] = {}
    while True:
        picks = candidates(prom, avoid)
        if picks:
            # the Site dashboard: the first candidate whose every panel shows data
            tries = [check_all(prom, pick, site_queries) for pick in picks]
            best = min(tries, key=len)
            # the others: retry only what failed, the first candidate as "one site"
            others = check_all(prom, picks[0], pending)
            pending = list(others)
            problems = {**others, **best}
            if not waiting(problems):
                break
        if time.monotonic() > deadline:
            break
        time.sleep(RETRY_EVERY)  # the demo's polls, incidents and rule evaluations, bounded
    assert picks, (
        f"no site of the demo (besides {sorted(avoid)}) had power, optical, radio and "
        "service check data"
    )
    report = "\n".join(
        f"- {q.dashboard} / {q.panel} / {q.ref}: {problem}\n    {q.expr}"
        for q, problem in sorted(
            problems.items(), key=lambda kv: (kv[0].dashboard, kv[0].panel, kv[0].ref)
        )
    )
    assert not problems, f"{len(problems)} of {len(todo)} dashboard queries fail:\n{report}"


def test_the_service_panels_show_the_dead_camera_refused(demo_stack: DemoStack) -> None:
    """The Site dashboard of the market whose camera is dead: its check down, the failures
    by reason `refused`, its latency; the panels the healthy village cannot fill."""
    prom = Prometheus(demo_stack.prometheus)
    site, camera = demo_stack.plan.dead_camera
    info = prom.vector(f'max by (site, kabupaten, network) (netmon_site_info{{site="{site}"}})')
    one = {k: info[0]["metric"][k] for k in ("site", "kabupaten", "network")}
    wanted = {"Service checks", "Check latency", "Check failures by reason"}
    todo = [q for q in queries() if q.dashboard == "netmon-site" and q.panel in wanted]
    assert {q.panel for q in todo} == wanted

    def series(query: Query) -> list[dict[str, Any]]:
        expr = fill(query.expr, {**one, **BUILTINS})
        params = {"query": expr}
        if not query.instant:  # the range's last point is what a panel shows at the right
            params |= {"start": f"{time.time() - RANGE:.3f}", "end": f"{time.time():.3f}"}
            body = prom.api("/api/v1/query_range", {**params, "step": "15"})
        else:
            body = prom.api("/api/v1/query", params)
        assert body["status"] == "success", (query, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return [r for r in result if r["metric"].get("device") == camera]

    def last(rows: list[dict[str, Any]]) -> list[float]:
        return [float(r["values"][-1][1]) for r in rows]

    by_panel = {q.panel: q for q in todo}
    wait_for(
        lambda: bool(series(by_panel["Check failures by reason"])),
        DATA_DEADLINE,
        f"failures of {camera} on its Site dashboard",
    )
    failures = series(by_panel["Check failures by reason"])
    assert {r["metric"]["reason"] for r in failures} == {"refused"}
    assert all(v > 0 for v in last(failures))
    assert last(series(by_panel["Service checks"])) == [0.0]  # down
    (latency,) = last(series(by_panel["Check latency"]))
    assert 0 <= latency < 1  # a refusal is quick: no timeout waited out


def grafana_query_result_text(series: dict[str, Any]) -> str:
    """How Grafana's Prometheus data source turns a query_result() series into text."""
    labels = dict(series["metric"])
    name = labels.pop("__name__", "")
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{body}}} {series['value'][1]} {int(series['value'][0] * 1000)}"


def label_values(prom: Prometheus, query: str) -> list[str]:
    match = re.fullmatch(r"label_values\((?:(.+), )?(\w+)\)", query)
    assert match, f"not a label_values() query: {query}"
    selector, label = match.groups()
    params = {"match[]": selector} if selector else {}
    url = f"/api/v1/label/{label}/values"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(prom.url + url, timeout=30) as resp:  # noqa: S310 - loopback
        values: list[str] = json.load(resp)["data"]
    return values


def test_template_variables_offer_the_demo_sites(demo_stack: DemoStack) -> None:
    """network, kabupaten and site list real values, and the site picker's regex takes
    the site id as value and its name as text from Grafana's query_result() text. (Run
    alone, it may come before Prometheus' first scrapes: it waits for them.)"""
    prom = Prometheus(demo_stack.prometheus)
    regex = re.compile(SITE_REGEX.strip("/").replace("(?<", "(?P<"))

    def check() -> list[str]:
        info = prom.vector("netmon_site_info")
        sites = {r["metric"]["site"]: r["metric"]["name"] for r in info}
        if not sites:
            return ["the demo exports no netmon_site_info"]
        problems = []
        for uid, model in dashboards().items():
            for var in model["templating"]["list"]:
                if var["type"] != "query":
                    continue
                query = fill(var["query"]["query"], ALL)
                if query.startswith("label_values("):
                    got = label_values(prom, query)
                else:
                    inner = re.fullmatch(r"query_result\((.+)\)", query)
                    assert inner, query
                    texts = [grafana_query_result_text(s) for s in prom.vector(inner.group(1))]
                    matches = [regex.search(t) for t in texts]
                    picked = {m.group("value"): m.group("text") for m in matches if m}
                    if picked != sites:
                        problems.append(f"{uid} ${var['name']}: picker shows {picked}")
                    got = list(picked)
                if not got:
                    problems.append(f"{uid} ${var['name']}: no values from {query}")
        return problems

    deadline = time.monotonic() + DATA_DEADLINE
    while (problems := check()) and time.monotonic() < deadline:
        time.sleep(RETRY_EVERY)  # the first scrapes, bounded by the deadline
    assert not problems, "\n".join(problems)


def demo_contracts_by_id() -> dict[str, dict[str, Any]]:
    """The demo's contracts as its generator writes them (contracts/demo.yaml)."""
    content = province.province(SITES, 0)
    return {c["id"]: c for c in demo_contracts.contract_file(content)["contracts"]}


def panel_target(uid: str, title: str, ref: str) -> str:
    (panel,) = [p for p in dashboards()[uid]["panels"] if p["title"] == title]
    (expr,) = [t["expr"] for t in panel["targets"] if t["refId"] == ref]
    return str(expr)


def test_the_contract_picker_narrows_the_dashboard_to_one_contract(
    demo_stack: DemoStack,
) -> None:
    """The Kontrak picker offers exactly the demo's contracts; with one picked, the
    summary has that contract only and the site table that contract's sites only (read
    by utilisation: every contracted village router has counters, while availability
    tiles pause during Paser's declared PLN cut)."""
    prom = Prometheus(demo_stack.prometheus)
    contracts = demo_contracts_by_id()
    assert len(contracts) == 2  # something to choose between
    picker = dashboards()["netmon-contracts"]["templating"]["list"][-1]
    assert picker["name"] == "contract"
    offered: list[str] = []

    def offers_all() -> bool:
        offered[:] = label_values(prom, fill(picker["query"]["query"], ALL))
        return set(offered) == set(contracts)

    wait_for(offers_all, DATA_DEADLINE, f"the contract picker to offer {sorted(contracts)}")
    summary = panel_target("netmon-contracts", "Kontrak: ringkasan 30 hari", "D")
    per_site = panel_target("netmon-contracts", "Lokasi kontrak: 30 hari", "E")
    assert "utilisation" in summary
    assert "utilisation" in per_site
    wait_for(
        lambda: len(prom.vector(fill(summary, ALL))) == len(contracts),
        DATA_DEADLINE,
        "utilisation of every contract",
    )
    for cid, contract in contracts.items():
        picked = {**ALL, "contract": cid}
        rows = prom.vector(fill(summary, picked))
        assert [r["metric"]["contract"] for r in rows] == [cid]
        rows = prom.vector(fill(per_site, picked))
        assert {r["metric"]["contract"] for r in rows} == {cid}
        shown = {r["metric"]["site"] for r in rows}
        assert shown, cid
        assert shown <= set(contract["sites"]), cid


def test_delivered_throughput_is_compared_with_the_contracts_target(
    demo_stack: DemoStack,
) -> None:
    """The demo's file servers send at a pace that stands for what each ISP delivers
    (netmon/tools/demo/contracts.py): the site table shows that pace over the contracted
    bandwidth and whether it meets the contract's throughput target."""
    prom = Prometheus(demo_stack.prometheus)
    contracts = demo_contracts_by_id()
    paced = dict(demo_contracts.paced_offices(province.province(SITES, 0)))
    assert len(paced) >= 2
    of = {site: cid for cid, c in contracts.items() for site in c["sites"]}
    title = "Lokasi kontrak: 30 hari"
    ratio_expr = fill(panel_target("netmon-contracts", title, "G"), ALL)
    met_expr = fill(panel_target("netmon-contracts", title, "I"), ALL)

    def measured() -> dict[str, float]:
        return {r["metric"]["site"]: float(r["value"][1]) for r in prom.vector(ratio_expr)}

    wait_for(lambda: set(paced) <= set(measured()), DATA_DEADLINE, f"throughput of {paced}")
    ratios = measured()
    met = {r["metric"]["site"]: float(r["value"][1]) for r in prom.vector(met_expr)}
    for site, pace in paced.items():
        contract = contracts[of[site]]
        share = pace / (contract["bandwidth_mbps"] * 1_000_000)
        # a busy 2-core machine may slow the pacing server, never speed it up
        assert ratios[site] == pytest.approx(share, rel=0.1), site
        target = contract["targets"]["throughput_ratio"]
        assert met[site] == (1.0 if ratios[site] >= target else 0.0), site
    assert set(met.values()) == {0.0, 1.0}  # the demo shows both: met and missed
