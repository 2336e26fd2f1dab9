"""`netmon report --prometheus` against a real Prometheus holding a month of series.

An outage script (below, in local wall-clock times) drives everything: the journal the
report reads, and a month of the series netmon would have exported (site status, the
power-cut and silence flags, ICMP RTT and loss, interface byte counters, the throughput
checks' delivered rate, the contracted bandwidth), written as OpenMetrics at a 60 s
step. promtool turns them into TSDB blocks, the project's availability recording rule is
backfilled over them (promtool create-blocks-from rules), and Debian's Prometheus serves
the lot. The expected figures are worked out here from the generated samples and the
definitions (p95 by linear interpolation between ranks, mean loss, 5-minute utilisation
steps, mean throughput), not by the code under test."""

from __future__ import annotations

import csv
import json
import math
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from netmon.report.prometheus import Quality, quality
from netmon.tools.simulate import free_tcp_port
from netmon.tools.stack import RULES, Service, prometheus_with

WITA = timezone(timedelta(hours=8))
WIB = timezone(timedelta(hours=7))
STEP = 60  # seconds between generated samples
BANDWIDTH = 20_000_000 // 8  # 20 Mbit/s contracted, in bytes/s
CONTRACT = "isp-x-2026"
ZONE = {"desa-a": WITA, "desa-b": WITA, "desa-w": WIB}
#: each zone's November, [start, end) in Unix seconds
MONTH = {
    z: (datetime(2026, 11, 1, tzinfo=z).timestamp(), datetime(2026, 12, 1, tzinfo=z).timestamp())
    for z in (WITA, WIB)
}
NOVEMBER = 30 * 86400
#: generated series cover both zones' Novembers with a margin on each side
T0 = int(datetime(2026, 10, 31, 12, tzinfo=UTC).timestamp())
T1 = int(datetime(2026, 11, 30, 19, tzinfo=UTC).timestamp())
#: promtool's (hidden, present since 2.24) flag for the longest block it writes
LONG_BLOCKS = "--max-block-duration=768h"


@dataclass(frozen=True)
class Scripted:
    site: str
    start: datetime
    end: datetime
    cause: str = "link"
    flags: dict[str, bool] = field(default_factory=dict)


def at(site: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=ZONE[site])


SCRIPT = [
    # desa-a (WITA): across the month's first midnight, 00:00-00:45 of it in November
    Scripted("desa-a", at("desa-a", 2026, 10, 31, 23), at("desa-a", 2026, 11, 1, 0, 45)),
    Scripted("desa-a", at("desa-a", 2026, 11, 10, 8), at("desa-a", 2026, 11, 10, 10, 30, 15)),
    # a flat village battery: excluded (power) from the contract, by the journal and the
    # contract's rule alike; the site's own availability rule counts it
    Scripted("desa-a", at("desa-a", 2026, 11, 12, 1), at("desa-a", 2026, 11, 12, 5), "power"),
    # desa-b (WITA): an announced maintenance and a declared PLN cut, both excluded
    Scripted(
        "desa-b",
        at("desa-b", 2026, 11, 15, 10),
        at("desa-b", 2026, 11, 15, 11),
        flags={"maintenance": True},
    ),
    Scripted(
        "desa-b",
        at("desa-b", 2026, 11, 20, 13),
        at("desa-b", 2026, 11, 20, 15, 30),
        "power",
        {"power_cut": True},
    ),
    # desa-w (WIB): 7:30 on the 5th, and 23:00-01:00 across the month's last midnight
    Scripted("desa-w", at("desa-w", 2026, 11, 5, 14), at("desa-w", 2026, 11, 5, 14, 7, 30)),
    Scripted("desa-w", at("desa-w", 2026, 11, 30, 23), at("desa-w", 2026, 12, 1, 1)),
    # an hour the journal lost (a state disk replaced): the rules count it, the journal
    # does not, and the report marks the two figures as differing
    Scripted(
        "desa-w", at("desa-w", 2026, 11, 18, 2), at("desa-w", 2026, 11, 18, 3), flags={"lost": True}
    ),
]
# worked out by hand from the script (the journal's: without the lost hour)
COUNTED = {"desa-a": 45 * 60 + 9015, "desa-b": 0, "desa-w": 450 + 3600}
EXCLUDED = {"desa-a": 4 * 3600, "desa-b": 3600 + 9000, "desa-w": 0}

NETMON_YAML = "inventory: sites/*.yaml\nstatus:\n  journal_file: outages.jsonl\n"
SITES = {
    "kutim.yaml": """\
kabupaten: Kutai Timur
timezone: Asia/Makassar
sites:
  - {id: desa-a, name: Kantor Desa A, kind: village_office}
  - {id: desa-b, name: Puskesmas B, kind: puskesmas}
""",
    "west.yaml": """\
kabupaten: Contoh Barat
timezone: Asia/Jakarta
sites:
  - {id: desa-w, name: Kantor Desa W, kind: village_office}
""",
}
CONTRACTS = f"""\
contracts:
  - id: {CONTRACT}
    isp: PT ISP X
    title: Internet desa 2026
    start: 2026-01-01
    end: 2026-12-31
    measured_at: router
    bandwidth_mbps: 20
    sites: [desa-a, desa-b, desa-w]
    targets: {{availability: 0.999, rtt_p95_ms: 150, loss_ratio: 0.01, throughput_ratio: 0.8}}
"""
#: the throughput checks' delivered share of the contract per run (one run an hour, its
#: rate standing until the next): desa-a below the 0.8 target, desa-b above it; desa-w
#: has no throughput check (its figure is "no data")
DELIVERED = {"desa-a": (0.5, 0.9), "desa-b": (0.8, 1.0)}


def down(site: str, ts: float) -> Scripted | None:
    return next(
        (o for o in SCRIPT if o.site == site and o.start.timestamp() <= ts < o.end.timestamp()),
        None,
    )


def rates(site: str, ts: float) -> tuple[int, int]:
    """Bytes/s received and sent just before ``ts``: an evening peak 20:00-24:00 local
    (90 % of the contract, 75 % every third day), 30 % / 10 % otherwise."""
    local = datetime.fromtimestamp(ts - 1, ZONE[site])
    if local.hour >= 20:
        return (BANDWIDTH * 90 // 100 if local.day % 3 else BANDWIDTH * 75 // 100), BANDWIDTH // 5
    return BANDWIDTH * 30 // 100, BANDWIDTH // 10


@dataclass
class Generated:
    rtt: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    loss: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    rx: dict[str, dict[int, int]] = field(default_factory=dict)
    tx: dict[str, dict[int, int]] = field(default_factory=dict)
    throughput: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


def generate(path: Path) -> Generated:
    """The month's series as OpenMetrics text; returns the samples the figures come from."""
    rng = random.Random(15)
    gen = Generated()
    times = range(T0, T1 + 1, STEP)
    lines: list[str] = []
    for site in ZONE:
        base = 0.6 if site == "desa-w" else 0.04  # desa-w is on VSAT
        gen.rtt[site], gen.loss[site], gen.rx[site], gen.tx[site] = [], [], {}, {}
        rx = tx = 10**12
        for ts in times:
            out = down(site, ts)
            if out is None:
                gen.rtt[site].append((ts, round(base + rng.expovariate(1 / 0.03), 6)))
                gen.loss[site].append((ts, rng.choice([0.0] * 40 + [0.25, 0.5])))
                r, t = rates(site, ts)
                rx, tx = rx + r * STEP, tx + t * STEP
            else:
                gen.loss[site].append((ts, 1.0))
            gen.rx[site][ts], gen.tx[site][ts] = rx, tx
    for site, (low, high) in DELIVERED.items():
        gen.throughput[site] = []
        run = 0.0
        for ts in times:
            if ts % 3600 == 0:  # an hourly run: its rate stands until the next
                run = round(BANDWIDTH * rng.uniform(low, high), 1)
            if down(site, ts) is None:  # a run during an outage fails: no rate
                gen.throughput[site].append((ts, run))
        labels = f'site="{site}",device="{site}-fs",check="speed"'
        lines.extend(
            f"netmon_service_throughput_bytes_per_second{{{labels}}} {v} {ts}"
            for ts, v in gen.throughput[site]
        )
    for site in ZONE:
        for status in ("up", "degraded", "down", "unreachable", "unknown"):
            for ts in times:
                now = "down" if down(site, ts) else "up"
                value = 1 if now == status else 0
                lines.append(f'netmon_site_status{{site="{site}",status="{status}"}} {value} {ts}')
    for site in ZONE:  # the root (the site itself: no outage here is behind another)
        root = f'netmon_site_root{{site="{site}",root="{site}"}}'
        lines.extend(f"{root} 1 {ts}" for ts in times)
        info = f'netmon_contract_info{{contract="{CONTRACT}",isp="PT ISP X",site="{site}"}}'
        lines.extend(f"{info} 1 {ts}" for ts in times)
    for site in ZONE:  # why the site is not up, while it is not
        for ts in times:
            if (o := down(site, ts)) is not None:
                labels = f'site="{site}",cause="{o.cause}",upstream=""'
                lines.append(f"netmon_site_status_cause{{{labels}}} 1 {ts}")
    for ts in times:
        o = down("desa-b", ts)
        cut = 1 if o is not None and o.flags.get("power_cut") else 0
        lines.append(f'netmon_site_power_cut_declared{{site="desa-b"}} {cut} {ts}')
    for ts in times:  # the daemon exports the silence only while it lasts
        o = down("desa-b", ts)
        if o is not None and o.flags.get("maintenance"):
            lines.append(f'netmon_site_silenced{{site="desa-b"}} 1 {ts}')
    for name, series in (("rtt_seconds", gen.rtt), ("loss_ratio", gen.loss)):
        for site, samples in series.items():
            labels = f'site="{site}",device="{site}-router",target="{site}-router"'
            lines.extend(f"netmon_probe_{name}{{{labels}}} {v} {ts}" for ts, v in samples)
    for way, counters in (("receive", gen.rx), ("transmit", gen.tx)):
        for site, values in counters.items():
            labels = f'site="{site}",device="{site}-router",ifname="ether1"'
            lines.extend(
                f"netmon_interface_{way}_bytes_total{{{labels}}} {v} {ts}"
                for ts, v in values.items()
            )
    for site in ZONE:
        labels = f'contract="{CONTRACT}",site="{site}"'
        lines.extend(
            f"netmon_contract_bandwidth_bytes{{{labels}}} {BANDWIDTH} {ts}" for ts in times
        )
    path.write_text("\n".join(lines) + "\n# EOF\n")
    return gen


def p95(values: list[float]) -> float:
    """The 0.95 quantile, linear between the ranks (Prometheus' quantile definition)."""
    s = sorted(values)
    rank = 0.95 * (len(s) - 1)
    lo = math.floor(rank)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (rank - lo)


@dataclass(frozen=True)
class Expected:
    rtt_p95_ms: float
    loss: float
    utilisation_p95: float
    hours_above_80: float
    throughput: float | None  # bytes/s, the mean of the month's samples


def expected(gen: Generated, site: str) -> Expected:
    lo, hi = MONTH[ZONE[site]]
    rtt = [v for ts, v in gen.rtt[site] if lo <= ts < hi]
    loss = [v for ts, v in gen.loss[site] if lo <= ts < hi]
    # utilisation every 5 minutes, each step the 5 minutes before it: (lo, hi]
    util = []
    for ts in range(int(lo) + 300, int(hi) + 1, 300):
        rx = (gen.rx[site][ts] - gen.rx[site][ts - 300]) / 300
        tx = (gen.tx[site][ts] - gen.tx[site][ts - 300]) / 300
        util.append(max(rx, tx) / BANDWIDTH)
    assert len(util) == 8640
    delivered = [v for ts, v in gen.throughput.get(site, []) if lo <= ts < hi]
    return Expected(
        rtt_p95_ms=p95(rtt) * 1000,
        loss=sum(loss) / len(loss),
        utilisation_p95=p95(util),
        hours_above_80=sum(1 for u in util if u > 0.8) * 300 / 3600,
        throughput=sum(delivered) / len(delivered) if delivered else None,
    )


def journal_line(o: Scripted) -> str:
    rec = {
        "site": o.site,
        "root": o.site,
        "cause": o.cause,
        "link": "fo-x-1" if o.cause == "link" else "",
        "start": o.start.timestamp(),
        "end": o.end.timestamp(),
        "state": "down",
        "maintenance": False,
        "power_cut": False,
        "stale": False,
        **o.flags,
    }
    return json.dumps(rec) + "\n"


def run(cmd: list[str], timeout: float = 300) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd[:4]}: {done.stderr[-2000:]}"


BACKFILLED = {
    "netmon-availability": "site:netmon_site_available:ratio5m",
    "netmon-contract-quality": "site:netmon_contract_available:ratio5m",
}


def availability_rule(target: Path) -> Path:
    """The project's base availability rules (the site's and the contract's), read from
    deploy/ (the longer windows and aggregates read the bases: promtool cannot backfill
    rules that read other rules)."""
    rules = yaml.safe_load((RULES / "netmon-recording.yml").read_text())
    groups = []
    for name, record in BACKFILLED.items():
        group = next(g for g in rules["groups"] if g["name"] == name)
        groups.append({**group, "rules": [r for r in group["rules"] if r["record"] == record]})
    target.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return target


@dataclass
class Loaded:
    url: str
    gen: Generated


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian prometheus) is needed: scripts/bootstrap.sh installs it"
    work = tmp_path_factory.mktemp("prometheus")
    data = work / "data"
    gen = generate(work / "month.om")
    # one block per 2 h window by default: promtool then reads the whole file once per
    # window (366 passes, minutes); a month-long block reads it once
    om = str(work / "month.om")
    run([promtool, "tsdb", "create-blocks-from", "openmetrics", LONG_BLOCKS, om, str(data)])
    (work / "month.om").unlink()
    config = {"global": {"scrape_interval": "60s", "evaluation_interval": "60s"}}
    port = free_tcp_port()
    with prometheus_with(config, work, port, data_dir=data) as p:
        run(
            [
                promtool,
                "tsdb",
                "create-blocks-from",
                "rules",
                f"--url={p.url}",
                f"--start={T0}",
                f"--end={T1}",
                f"--output-dir={work / 'rules-data'}",
                str(availability_rule(work / "rules.yml")),
            ]
        )
    for block in (work / "rules-data").iterdir():
        block.rename(data / block.name)
    service: Service = prometheus_with(config, work, port, data_dir=data)
    with service:
        yield Loaded(service.url, gen)


def rules_expected(site: str, contract: bool) -> float:
    """What the recording rules should say: every outage in the series counts against
    availability except the windows the rule leaves out (a silence, a declared power cut;
    for a contract, a flat battery too)."""
    lo, hi = MONTH[ZONE[site]]
    lost = sum(
        max(0.0, min(o.end.timestamp(), hi) - max(o.start.timestamp(), lo))
        for o in SCRIPT
        if o.site == site
        and not (o.flags.get("maintenance") or o.flags.get("power_cut"))
        and not (contract and o.cause == "power")
    )
    return 1 - lost / NOVEMBER


def rules_tolerance(site: str) -> float:
    """One 60 s sample per transition, plus one 5-minute tile at each month edge (the
    rule group's evaluations are offset from the local midnights)."""
    transitions = 2 * sum(1 for o in SCRIPT if o.site == site)
    return (transitions * STEP + 2 * 300) / NOVEMBER


def test_quality_figures_equal_the_generated_series(prometheus: Loaded) -> None:
    for zone, sites in ((WITA, ["desa-a", "desa-b"]), (WIB, ["desa-w"])):
        lo, hi = MONTH[zone]
        found = quality(prometheus.url, sites, CONTRACT, lo, hi, timeout=60)
        for site in sites:
            want, got = expected(prometheus.gen, site), found[site]
            assert isinstance(got, Quality)
            assert got.rtt_p95_ms == pytest.approx(want.rtt_p95_ms, rel=1e-9), site
            assert got.loss == pytest.approx(want.loss, rel=1e-9), site
            assert got.utilisation_p95 == pytest.approx(want.utilisation_p95, rel=1e-9), site
            assert got.hours_above_80 == pytest.approx(want.hours_above_80, abs=1e-9), site
            if want.throughput is None:
                assert got.throughput is None, site
            else:
                assert got.throughput == pytest.approx(want.throughput, rel=1e-9), site
            assert got.availability is not None, site
            assert got.availability == pytest.approx(
                rules_expected(site, contract=True), abs=rules_tolerance(site)
            ), site
    # the figures are not all alike: the script makes them differ
    wita = quality(prometheus.url, ["desa-a", "desa-b"], CONTRACT, *MONTH[WITA], timeout=60)
    assert wita["desa-a"].availability is not None
    assert wita["desa-a"].availability < 0.999 < (wita["desa-b"].availability or 0)


def test_no_contract_no_utilisation_and_unknown_site_no_data(prometheus: Loaded) -> None:
    found = quality(prometheus.url, ["desa-a", "desa-zz"], "", *MONTH[WITA], timeout=60)
    assert found["desa-a"].utilisation_p95 is None
    assert found["desa-a"].hours_above_80 is None
    assert found["desa-a"].rtt_p95_ms is not None
    assert found["desa-zz"] == Quality()
    # without a contract, the site's own rule: the flat battery counts
    want = rules_expected("desa-a", contract=False)
    assert want < rules_expected("desa-a", contract=True)
    assert found["desa-a"].availability == pytest.approx(want, abs=rules_tolerance("desa-a"))


CSV_COLUMNS = [
    "month", "report", "contract", "isp", "site", "site_name", "kabupaten", "kind",
    "timezone", "month_start", "month_end", "month_seconds", "counted_seconds",
    "excluded_seconds", "outages_counted", "outages_excluded", "availability",
    "availability_target", "availability_met", "availability_prometheus", "rtt_p95_ms",
    "rtt_p95_target_ms", "loss_ratio", "loss_target", "utilisation_p95", "hours_above_80",
    "throughput_mbps", "throughput_ratio", "throughput_target", "penalty_percent",
]  # fmt: skip


def test_report_with_prometheus(prometheus: Loaded, tmp_path: Path) -> None:
    folder = tmp_path / "config"
    (folder / "sites").mkdir(parents=True)
    (folder / "contracts").mkdir()
    (folder / "netmon.yaml").write_text(NETMON_YAML)
    for name, text in SITES.items():
        (folder / "sites" / name).write_text(text)
    (folder / "contracts" / "isp-x.yaml").write_text(CONTRACTS)
    kept = [o for o in SCRIPT if not o.flags.get("lost")]
    (folder / "outages.jsonl").write_text("".join(journal_line(o) for o in kept))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "netmon", "report", "-c", str(folder / "netmon.yaml")]
    cmd += ["--out", str(out), "--month", "2026-11", "--contract", CONTRACT]
    cmd += ["--prometheus", prometheus.url, "--scrape-interval", str(STEP)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stem = out / f"report-2026-11-contract-{CONTRACT}"

    with stem.with_suffix(".csv").open() as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == CSV_COLUMNS
        rows = {r["site"]: r for r in reader}
    assert set(rows) == set(ZONE)
    for site, row in rows.items():
        want = expected(prometheus.gen, site)
        assert row["counted_seconds"] == str(COUNTED[site]), site
        assert row["excluded_seconds"] == str(EXCLUDED[site]), site
        journal = 1 - COUNTED[site] / NOVEMBER
        assert float(row["availability"]) == pytest.approx(journal, abs=5e-7), site
        assert float(row["rtt_p95_ms"]) == pytest.approx(want.rtt_p95_ms, abs=0.051), site
        assert float(row["loss_ratio"]) == pytest.approx(want.loss, abs=5.1e-5), site
        assert float(row["utilisation_p95"]) == pytest.approx(want.utilisation_p95, abs=5.1e-4)
        assert float(row["hours_above_80"]) == pytest.approx(want.hours_above_80, abs=0.0051)
        assert row["throughput_target"] == "0.8000"
        if want.throughput is None:
            assert row["throughput_mbps"] == row["throughput_ratio"] == "tidak ada data", site
        else:
            mbps = want.throughput * 8 / 1e6
            assert float(row["throughput_mbps"]) == pytest.approx(mbps, abs=0.0051), site
            ratio = want.throughput / BANDWIDTH
            assert float(row["throughput_ratio"]) == pytest.approx(ratio, abs=5.1e-4), site
        rules = float(row["availability_prometheus"])
        want_rules = rules_expected(site, contract=True)
        assert rules == pytest.approx(want_rules, abs=rules_tolerance(site)), site
    assert rows["desa-a"]["month_start"] == "2026-11-01T00:00:00+08:00"
    assert rows["desa-w"]["month_start"] == "2026-11-01T00:00:00+07:00"
    assert rows["desa-w"]["month_end"] == "2026-12-01T00:00:00+07:00"
    assert (rows["desa-b"]["outages_counted"], rows["desa-b"]["outages_excluded"]) == ("0", "2")
    # the script's throughput: desa-a under its target, desa-b over it
    assert (
        float(rows["desa-a"]["throughput_ratio"]) < 0.8 < float(rows["desa-b"]["throughput_ratio"])
    )

    html = stem.with_suffix(".html").read_text()
    # exact durations, local times, the month's edges in each site's zone
    assert "2026-11-01 00:00:00 WITA" in html  # desa-a, from 00:00
    assert "0:45:00" in html
    assert "2026-11-10 10:30:15 WITA" in html
    assert "2:30:15" in html
    assert "2026-11-05 14:07:30 WIB" in html
    assert "0:07:30" in html
    assert "2026-11-30 23:00:00 WIB" in html
    assert "2026-12-01 00:00:00 WIB" in html
    # the excluded ones, listed with their reason
    assert "listrik (baterai/daya lokasi habis)" in html
    assert "pemeliharaan terjadwal" in html
    assert "2026-11-20 13:00:00 WITA" in html
    assert "2:30:00" in html
    # the flat battery is out of both figures; the hour the journal lost is in the rules
    # only: both figures shown, that one marked
    assert html.count('class="num differs"') == 1
    desa_w = html[html.index("Kantor Desa W") :]
    assert desa_w.index('class="num differs"') < desa_w.index("</tr>")
    # throughput against the target: one site missed it, one met it, one has no check
    assert html.count('class="num missed"') == 1
    assert html.count('class="num met"') == 1
    assert "Throughput ≥ 80 % dari bandwidth kontrak" in html

    pdf = stem.with_suffix(".pdf")
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (Debian poppler-utils) is needed: scripts/bootstrap.sh installs it"
    run([pdftoppm, "-png", "-r", "60", str(pdf), str(tmp_path / "page")], timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    assert pages[0].stat().st_size > 10_000  # a blank A4 page at 60 dpi is ~3 kB
    if keep := os.environ.get("NETMON_REPORT_PNG"):  # to look at the pages
        Path(keep).mkdir(parents=True, exist_ok=True)
        for p in pages:
            shutil.copy(p, Path(keep) / p.name)
