"""Series per device and storage per series and per sample, measured (docs/scale.md).

`netmon demo --no-alerting` is scraped by Prometheus with the project's rules as shipped
(deploy/prometheus/rules: real group intervals), which remote_writes to VictoriaMetrics,
Debian's binaries both. After ``--minutes`` it reports:

- netmon's exposition: samples per device (by model), per site, and the rest;
- Prometheus: head series, samples appended, RSS and Go heap; and the blocks it has cut:
  samples, series and bytes on disk (chunks + index). A production block spans 2 h, at a
  60 s scrape 120 samples per series, one full chunk; here blocks span ``--block``
  minutes (the hidden flag --storage.tsdb.min-block-duration) and the poll interval is
  chosen so that a block also holds 120 samples per series: --interval 5 --block 10;
- VictoriaMetrics: rows and bytes on disk after a forced flush and merge, and its RSS.

    .venv/bin/python bench/storage_capacity.py --sites 24 --interval 5 --block 10 \
        --minutes 17 --json bench/results/storage_capacity-$(date +%F).json

Each process is stopped at the end; the data lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netmon.tools import stack  # noqa: E402
from netmon.tools.simulate import free_tcp_port, interrupt_group, poll_until  # noqa: E402

RULES = ROOT / "deploy" / "prometheus" / "rules"


def fetch(url: str, timeout: float = 30) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        body: bytes = resp.read()
    return body.decode()


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def own(url: str, name: str, **labels: str) -> float:
    """A server's own metric from its /metrics page, summed over matching series."""
    return sum(
        v
        for n, ls, v in samples(fetch(url + "/metrics"))
        if n == name and all(ls.get(k) == w for k, w in labels.items())
    )


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@contextlib.contextmanager
def demo(workdir: Path, sites: int, interval: float, minutes: float) -> Iterator[str]:
    port = free_tcp_port()
    cmd = [
        *(sys.executable, "-m", "netmon", "demo", "--no-alerting"),
        *(f"--sites={sites}", f"--interval={interval:g}", f"--listen=127.0.0.1:{port}"),
        f"--duration={minutes * 60 + 300:.0f}",
    ]
    with (workdir / "demo.out").open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        if not poll_until(lambda: _ready(url) or proc.poll() is not None, 120, 0.2):
            raise TimeoutError("the demo did not start")
        if proc.poll() is not None:
            raise RuntimeError((workdir / "demo.out").read_text()[-2000:])
        yield url
    finally:
        interrupt_group(proc, 60)


def _ready(url: str) -> bool:
    try:
        fetch(url + "/-/ready", timeout=2)
    except OSError:
        return False
    return True


def exposition(netmon: str) -> dict[str, Any]:
    """Samples of netmon's /metrics per device (by model), per site, and the rest."""
    rows = samples(fetch(netmon + "/metrics"))
    # a device's kind: its model (SNMP), else the collectors that poll it (MQTT, service)
    collectors: dict[tuple[str, str], set[str]] = defaultdict(set)
    for n, ls, _ in rows:
        if n == "netmon_target_up" and "device" in ls:
            collectors[(ls["site"], ls["device"])].add(ls.get("collector", "?"))
    models = {key: "+".join(sorted(c)) for key, c in collectors.items()}
    models |= {
        (ls["site"], ls["device"]): ls.get("model") or ls.get("vendor") or "?"
        for n, ls, _ in rows
        if n == "netmon_device_info"
    }
    per_device: Counter[tuple[str, str]] = Counter()
    per_site: Counter[str] = Counter()
    rest = 0
    for _, labels, _ in rows:
        if "device" in labels and "site" in labels:
            per_device[(labels["site"], labels["device"])] += 1
        elif "site" in labels:
            per_site[labels["site"]] += 1
        else:
            rest += 1
    by_model: dict[str, list[int]] = defaultdict(list)
    for key, count in per_device.items():
        by_model[models.get(key, "?")].append(count)
    return {
        "samples": len(rows),
        "devices": len(per_device),
        "sites": len({*per_site, *(s for s, _ in per_device)}),
        "device_samples": sum(per_device.values()),
        "site_samples": sum(per_site.values()),
        "other_samples": rest,
        "by_model": {
            model: {"devices": len(c), "mean": sum(c) / len(c), "min": min(c), "max": max(c)}
            for model, c in sorted(by_model.items())
        },
    }


def blocks(data: Path) -> dict[str, Any]:
    """The blocks Prometheus cut: samples, series and bytes (chunks + index)."""
    out = {"blocks": 0, "samples": 0, "series": 0, "chunks_bytes": 0, "index_bytes": 0}
    for meta in data.glob("*/meta.json"):
        stats = json.loads(meta.read_text())["stats"]
        out["blocks"] += 1
        out["samples"] += stats["numSamples"]
        out["series"] += stats["numSeries"]
        out["chunks_bytes"] += du(meta.parent / "chunks")
        out["index_bytes"] += (meta.parent / "index").stat().st_size
    return out


def prometheus_report(url: str, data: Path) -> dict[str, Any]:
    return {
        "head_series": own(url, "prometheus_tsdb_head_series"),
        "samples_appended": own(url, "prometheus_tsdb_head_samples_appended_total"),
        "rss_bytes": own(url, "process_resident_memory_bytes"),
        "heap_inuse_bytes": own(url, "go_memstats_heap_inuse_bytes"),
        "wal_bytes": du(data / "wal"),
        "remote_samples_sent": own(url, "prometheus_remote_storage_samples_total"),
        **{f"block_{k}": v for k, v in blocks(data).items()},
    }


def victoriametrics_report(url: str, data: Path) -> dict[str, Any]:
    fetch(url + "/internal/force_flush")
    fetch(url + "/internal/force_merge", timeout=300)  # returns when the merge is done
    kinds = ("storage/small", "storage/big", "indexdb")
    return {
        "rows_inserted": own(url, "vm_rows_inserted_total", type="promremotewrite"),
        "rows": {k: own(url, "vm_rows", type=k) for k in kinds},
        "data_size_bytes": {k: own(url, "vm_data_size_bytes", type=k) for k in kinds},
        "series": own(url, "vm_new_timeseries_created_total"),
        "rss_bytes": own(url, "process_resident_memory_bytes"),
        "disk_bytes": du(data),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=24)
    parser.add_argument("--interval", type=float, default=5.0, help="poll and scrape, s")
    parser.add_argument("--block", type=int, default=10, help="Prometheus block, minutes")
    parser.add_argument("--minutes", type=float, default=17.0, help="run this long")
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args()
    every = f"{args.interval:g}s"
    with tempfile.TemporaryDirectory(prefix="netmon-capacity-") as tmp:
        work = Path(tmp)
        with (
            demo(work, args.sites, args.interval, args.minutes) as netmon,
            stack.start_service(
                "victoria-metrics",
                [
                    "victoria-metrics",
                    f"-storageDataPath={work / 'vm'}",
                    f"-httpListenAddr=127.0.0.1:{(vm_port := free_tcp_port())}",
                    "-retentionPeriod=1y",
                    "-loggerLevel=WARN",
                ],
                f"http://127.0.0.1:{vm_port}",
                work / "vm.log",
                30,
            ) as vm,
        ):
            config = {
                "global": {"scrape_interval": every, "scrape_timeout": every},
                "rule_files": [
                    str(RULES / "netmon-recording.yml"),
                    str(RULES / "netmon-alerts.yml"),
                ],
                "scrape_configs": [
                    {
                        "job_name": "netmon",
                        "static_configs": [{"targets": [netmon.removeprefix("http://")]}],
                    }
                ],
                "remote_write": [{"url": f"{vm.url}/api/v1/write"}],
            }
            (work / "prometheus.yml").write_text(yaml.safe_dump(config))
            port = free_tcp_port()
            cmd = [
                "prometheus",
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'prom'}",
                f"--storage.tsdb.min-block-duration={args.block}m",
                f"--storage.tsdb.max-block-duration={args.block}m",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ]
            url = f"http://127.0.0.1:{port}"
            with stack.start_service("prometheus", cmd, url, work / "prom.log", 60) as prom:
                end = time.monotonic() + args.minutes * 60
                while time.monotonic() < end:  # a benchmark's fixed run time, not a sync
                    time.sleep(min(30.0, max(0.0, end - time.monotonic())))
                    print(
                        f"{(args.minutes * 60 - (end - time.monotonic())) / 60:.1f} min", flush=True
                    )
                report = {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "date": time.strftime("%Y-%m-%d"),
                    "netmon": exposition(netmon),
                    "prometheus": prometheus_report(prom.url, work / "prom"),
                    "victoriametrics": victoriametrics_report(vm.url, work / "vm"),
                }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
