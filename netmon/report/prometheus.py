"""The month's quality figures from Prometheus: instant queries over the recorded series
with an ``@`` end time at the month's last local midnight, so the answer does not depend
on when the report runs. Plain urllib with a timeout; the URL is the only input (no
credentials are read, and none appear in an error: a URL's user:password is cut).

Per site:
- rtt_p95_ms: the 95th percentile of ICMP ``netmon_probe_rtt_seconds`` over the month
  (the worst device of the site);
- loss: the mean of ``netmon_probe_loss_ratio`` over the month;
- utilisation_p95 and hours_above_80: the busiest interface's byte rate (either
  direction, 5m30s rate as the recording rules) against the CONTRACTED bandwidth
  ``netmon_contract_bandwidth_bytes{contract, site}``, sampled every 5 minutes;
- throughput: the mean over the month of the site's throughput checks' delivered rate
  ``netmon_service_throughput_bytes_per_second`` (the best check of the site; the
  gauge holds each run's rate until the next run, so the mean weighs runs by how long
  each stood: with a regular schedule, the runs' mean);
- availability: the recording rules' availability averaged over the month
  (deploy/prometheus/rules/netmon-recording.yml): for a contract, the contract's
  ``site:netmon_contract_available:ratio5m`` (a flat battery, at the site or its root, left
  out as the contract's default exclusions do); without one, the site's
  ``site:netmon_site_available:ratio5m`` (a flat battery counts).
A figure Prometheus has no samples for is None: the report prints "no data".
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

AVAILABILITY_SERIES = "site:netmon_site_available:ratio5m"
CONTRACT_AVAILABILITY_SERIES = "site:netmon_contract_available:ratio5m"
STEP = 300  # seconds between the samples of the utilisation subqueries


class PrometheusError(RuntimeError):
    """Prometheus did not answer, or answered with an error."""


@dataclass(frozen=True, slots=True)
class Quality:
    rtt_p95_ms: float | None = None
    loss: float | None = None
    utilisation_p95: float | None = None
    hours_above_80: float | None = None
    availability: float | None = None
    #: delivered throughput, bytes per second (the month's mean of the throughput checks)
    throughput: float | None = None


def _safe(url: str) -> str:
    """The URL without user:password, for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _reason(exc: urllib.error.HTTPError) -> str:
    """Prometheus' error text from an error response (never the URL), or ""."""
    try:
        data = json.loads(exc.read(4096))
    except (OSError, ValueError):
        return ""
    return f": {data.get('error')}" if isinstance(data, dict) and data.get("error") else ""


def query(base: str, promql: str, at: float, timeout: float = 30.0) -> dict[str, float]:
    """An instant query at ``at``; the result as site -> value (NaN dropped)."""
    if urllib.parse.urlsplit(base).scheme not in ("http", "https"):
        raise PrometheusError(f"{_safe(base)}: not an http(s) URL")
    url = base.rstrip("/") + "/api/v1/query"
    body = urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"}).encode()
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (checked)
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (checked)
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 400/422/503 carry Prometheus' own reason
        raise PrometheusError(f"{_safe(url)}: HTTP {exc.code}{_reason(exc)}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PrometheusError(f"{_safe(url)}: {type(exc).__name__}: {reason}") from None
    if data.get("status") != "success":
        raise PrometheusError(f"{_safe(url)}: {data.get('errorType')}: {data.get('error')}")
    out: dict[str, float] = {}
    for item in data["data"]["result"]:
        value = float(item["value"][1])
        if not math.isnan(value):
            out[str(item["metric"].get("site", ""))] = value
    return out


def _sites(sites: Sequence[str]) -> str:
    """A label matcher for exactly these site ids (ids are [a-z0-9-]: no escaping)."""
    return "|".join(sorted(sites))


def quality(
    base: str,
    sites: Sequence[str],
    contract: str,
    start: float,
    end: float,
    timeout: float = 30.0,
) -> dict[str, Quality]:
    """The month's figures for ``sites`` (all in one zone: [start, end) in Unix seconds);
    ``contract`` names whose contracted bandwidth utilisation is measured against ("" =
    no contract: no utilisation)."""
    if not sites:
        return {}
    # Range selectors hold both ends in Prometheus 2.x. Raw samples are the month's when
    # in [start, end): the range ends 1 ms before the end. A recorded 5m tile, a rate and
    # a subquery step at t speak for the time before t: those are the month's in
    # (start, end], so their range is 1 ms short of the month.
    ms = round((end - start) * 1000)
    whole, short = f"{ms}ms", f"{ms - 1}ms"
    sel = f'site=~"{_sites(sites)}"'
    at, before = f"@ {end:.3f}", f"@ {end - 0.001:.3f}"
    rtt = query(
        base,
        "max by (site) (quantile_over_time(0.95, "
        f"netmon_probe_rtt_seconds{{{sel}}}[{whole}] {before}))",
        end,
        timeout,
    )
    loss = query(
        base,
        f"avg by (site) (avg_over_time(netmon_probe_loss_ratio{{{sel}}}[{whole}] {before}))",
        end,
        timeout,
    )
    series, of = AVAILABILITY_SERIES, sel
    if contract:
        series, of = CONTRACT_AVAILABILITY_SERIES, f'contract="{contract}",{sel}'
    avail = query(
        base,
        f"avg by (site) (avg_over_time({series}{{{of}}}[{short}] {at}))",
        end,
        timeout,
    )
    throughput = query(
        base,
        "max by (site) (avg_over_time("
        f"netmon_service_throughput_bytes_per_second{{{sel}}}[{whole}] {before}))",
        end,
        timeout,
    )
    util_p95: dict[str, float] = {}
    above: dict[str, float] = {}
    if contract:
        # rate() drops the metric name: the two directions of one interface would be
        # one labelset ("vector cannot contain metrics with the same labelset") unless
        # told apart by a label before max by (site) takes the busier.
        rates = " or ".join(
            f"label_replace(rate(netmon_interface_{way}_bytes_total{{{sel}}}[5m30s]),"
            f' "direction", "{way}", "", "")'
            for way in ("receive", "transmit")
        )
        util = (
            f"max by (site) ({rates}) / on (site) max by (site) "
            f'(netmon_contract_bandwidth_bytes{{contract="{contract}",{sel}}} > 0)'
        )
        sub = f"({util})[{short}:{STEP}s] {at}"
        util_p95 = query(base, f"quantile_over_time(0.95, {sub})", end, timeout)
        above = query(
            base, f"count_over_time((({util}) > 0.8)[{short}:{STEP}s] {at})", end, timeout
        )
        seen = query(base, f"count_over_time({sub})", end, timeout)
        # no sample above 80 % is zero hours, but only where utilisation was measured
        above = {s: above.get(s, 0.0) * STEP / 3600 for s in seen}
    return {
        s: Quality(
            rtt_p95_ms=rtt[s] * 1000 if s in rtt else None,
            loss=loss.get(s),
            utilisation_p95=util_p95.get(s),
            hours_above_80=above.get(s),
            availability=avail.get(s),
            throughput=throughput.get(s),
        )
        for s in sites
    }
