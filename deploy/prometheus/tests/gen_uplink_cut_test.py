"""Write uplink_cut_200_test.yml: a POP fails and takes 200 sites with it.

The promtool test proves "one cut, one page" in simulated time: exactly one UplinkDown,
never a SiteDown, and 200 informational SiteUnreachable that all carry root=pop-x.
Polls are jittered the way they are in the field: the sites behind the POP learn of the
failure 1, 2 or 3 minutes after it happened, and every tenth site first reports "down" for
a minute (its own poll failed before netmon had a newer result for the POP).

The output is committed; tests/integration/test_alerting.py regenerates it into a temporary
file and fails when the two differ. Run from the repository root:

    python deploy/prometheus/tests/gen_uplink_cut_test.py
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "uplink_cut_200_test.yml"

SITES = 200
MINUTES = 30  # samples at 0..MINUTES, one a minute
POP = "pop-x"
POP_NAME = "POP Sangkulirang"
KECAMATAN = "Sangkulirang"
KABUPATEN = "Kutai Timur"
KINDS = ("village_office", "school", "puskesmas", "public_area")

STALE = "stale"
#: one sample: a value, None for "no sample" or STALE for a staleness marker
Sample = float | str | None


def flip_minute(i: int) -> int:
    """Minute at which site i is reported unreachable (jittered polls: 1..3)."""
    return 1 + i % 3


def races_parent(i: int) -> bool:
    """Every tenth site reports "down" for the minute before it turns unreachable."""
    return i % 10 == 0


def child_id(i: int) -> str:
    return f"desa-{i:03d}"


def compress(samples: Sequence[Sample]) -> str:
    """Per-minute samples -> promtool series notation ('1x4 0x2 _x3 stale')."""
    parts: list[str] = []
    i = 0
    while i < len(samples):
        value = samples[i]
        j = i
        while j < len(samples) and samples[j] == value:
            j += 1
        run = j - i
        if value is None:
            parts.append(f"_x{run}")  # _xN is N missing samples
        elif value == STALE:
            parts.extend([STALE] * run)
        else:
            text = f"{value:g}"
            parts.append(text if run == 1 else f"{text}x{run - 1}")  # axN is N+1 samples
        i = j
    return " ".join(parts)


def series(name: str, labels: dict[str, str], samples: Sequence[Sample]) -> list[str]:
    """One input series; long label sets are folded over lines of at most 100 chars."""
    out = ["      - series: >-"]
    line = f"          {name}{{"
    pairs = [f'{k}="{v}"' for k, v in labels.items()]
    for n, pair in enumerate(pairs):
        text = pair + ("," if n < len(pairs) - 1 else "}")
        if len(line) + 1 + len(text) > 100 and not line.endswith("{"):
            out.append(line)
            line = "          " + text
        else:
            line += text if line.endswith("{") else " " + text
    if not pairs:
        line += "}"
    out.append(line)
    out.append(f"        values: '{compress(samples)}'")
    return out


def during(start: int, stop: int | None = None) -> list[Sample]:
    """1 from minute start (inclusive) to stop (exclusive, with a staleness marker)."""
    out: list[Sample] = []
    for m in range(MINUTES + 1):
        if m < start:
            out.append(None)
        elif stop is None or m < stop:
            out.append(1.0)
        elif m == stop:
            out.append(STALE)
        else:
            out.append(None)
    return out


def state(on: range) -> list[Sample]:
    return [1.0 if m in on else 0.0 for m in range(MINUTES + 1)]


def site_info(site: str, name: str, kind: str, network: str, uplink: str) -> list[str]:
    labels = {
        "site": site,
        "name": name,
        "kind": kind,
        "kabupaten": KABUPATEN,
        "kecamatan": KECAMATAN,
        "network": network,
        "lat": "0.98",
        "lon": "117.98",
        "uplink": uplink,
        "uplink_kind": "fiber" if kind == "pop" else "radio",
        "timezone": "Asia/Makassar",
        "contact_name": "Pak Yusuf" if kind == "pop" else "",
        "contact_phone": "+62 811 5550 0100" if kind == "pop" else "",
        "isp": "",
        "isp_circuit": "",
        "maintenance": "false",
    }
    return series("netmon_site_info", labels, during(0))


def pop_series() -> list[str]:
    out = ["      # the POP: down (power) from t=0"]
    out += site_info(POP, POP_NAME, "pop", "intranet", "noc-samarinda")
    out += series("netmon_site_status", {"site": POP, "status": "down"}, during(0))
    out += series("netmon_site_status", {"site": POP, "status": "up"}, state(range(0)))
    out += series(
        "netmon_site_status_since_timestamp_seconds", {"site": POP}, [0.0] * (MINUTES + 1)
    )
    out += series(
        "netmon_site_status_cause", {"site": POP, "cause": "power", "upstream": ""}, during(0)
    )
    out += series("netmon_site_root", {"site": POP, "root": POP}, during(0))
    behind = [1.0 + sum(1 for i in range(SITES) if flip_minute(i) <= m) for m in range(MINUTES + 1)]
    out += series("netmon_outage_sites", {"root": POP}, behind)
    return out


def child_series(i: int) -> list[str]:
    site = child_id(i)
    flip = flip_minute(i)
    down_from = flip - 1 if races_parent(i) else flip
    network = "intranet" if i % 4 == 0 else "public"
    note = ", down the minute before" if races_parent(i) else ""
    out = [f"      # {site}: unreachable from {flip}m{note}"]
    out += site_info(site, f"Desa {i:03d}", KINDS[i % len(KINDS)], network, POP)
    out += series("netmon_site_status", {"site": site, "status": "up"}, state(range(down_from)))
    out += series(
        "netmon_site_status", {"site": site, "status": "down"}, state(range(down_from, flip))
    )
    out += series(
        "netmon_site_status",
        {"site": site, "status": "unreachable"},
        state(range(flip, MINUTES + 1)),
    )
    since: list[Sample] = [
        0.0 if m < down_from else 60.0 * (down_from if m < flip else flip)
        for m in range(MINUTES + 1)
    ]
    out += series("netmon_site_status_since_timestamp_seconds", {"site": site}, since)
    if races_parent(i):
        out += series(
            "netmon_site_status_cause",
            {"site": site, "cause": "device", "upstream": ""},
            during(down_from, flip),
        )
    out += series(
        "netmon_site_status_cause", {"site": site, "cause": "uplink", "upstream": POP}, during(flip)
    )
    out += series("netmon_site_root", {"site": site, "root": site}, during(0, flip))
    out += series("netmon_site_root", {"site": site, "root": POP}, during(flip))
    return out


HEADER = f"""\
# GENERATED by gen_uplink_cut_test.py: do not edit, change the script and run it.
#
# One cut, one page: {POP} fails at t=0 and takes {SITES} sites with it. The sites learn
# of it 1-3 minutes later (jittered polls), every tenth reports "down" for a minute first.
# Expected: exactly one UplinkDown (from 3m: 2m after the outage counted >= 2 sites),
# never a SiteDown, and {SITES} SiteUnreachable (info) that all carry root={POP}.
rule_files:
  - ../rules/netmon-alerts.yml
evaluation_interval: 1m
group_eval_order:
  - netmon-power-history
  - netmon-site-alerts
  - netmon-escalation
  - netmon-monitoring

tests:
  - name: a {SITES}-site cut under one POP is one UplinkDown and no SiteDown
    interval: 1m
    input_series:
"""

UPLINK_DOWN = f"""\
      - eval_time: 3m
        alertname: UplinkDown
        exp_alerts:
          - exp_labels:
              severity: page
              site: {POP}
              root: {POP}
              name: {POP_NAME}
              kind: pop
              kabupaten: {KABUPATEN}
              kecamatan: {KECAMATAN}
              network: intranet
              timezone: Asia/Makassar
              tz: WITA
            exp_annotations:
              summary: >-
                UPLINK PUTUS: {POP_NAME} (Kec. {KECAMATAN}), {SITES} situs di belakangnya
                terputus
              summary_en: >-
                UPLINK DOWN: {POP_NAME} ({KECAMATAN}), {SITES} site(s) behind it cut off
              description: >-
                {POP_NAME} di Kecamatan {KECAMATAN}, {KABUPATEN} mati sejak 01-01-1970 08:00
                WITA; {SITES} situs di belakangnya tidak terjangkau. Penyebab: listrik/daya.
                Tangani situs ini dulu; halaman situs di belakangnya ditahan.
              description_en: >-
                {POP_NAME} in {KECAMATAN}, {KABUPATEN} is down since 01-01-1970 08:00 WITA;
                {SITES} site(s) behind it are unreachable. Cause: power. Fix this site first;
                pages of the sites behind it are held back.
              sites_behind: '{SITES}'
              affected_sites: '{SITES + 1}'
              since: '0'
              since_local: '01-01-1970 08:00 WITA'
              cause: power
              upstream: ''
              contact: 'Pak Yusuf (+62 811 5550 0100)'
              isp: ''
              isp_circuit: ''
              map_url: 'https://www.openstreetmap.org/?mlat=0.98&mlon=117.98'
              dashboard_url: >-
                https://grafana.netmon.invalid/d/netmon-site/netmon-site?var-site={POP}
              devices: ''
              battery: ''
"""


def expectations() -> list[str]:
    out = ["    alert_rule_test:"]
    out += [
        "      - eval_time: 2m",
        "        alertname: UplinkDown",
        "        exp_alerts: []",
    ]
    out += UPLINK_DOWN.rstrip("\n").split("\n")
    for t in ("1m", "3m", "5m", "6m", "10m", "30m"):
        out += [
            f"      - eval_time: {t}",
            "        alertname: SiteDown",
            "        exp_alerts: []",
        ]
    out += ["    promql_expr_test:"]
    for t in ("5m", "10m", "30m"):
        out += [
            "      # nothing pending or firing as SiteDown",
            '      - expr: ALERTS{alertname="SiteDown"}',
            f"        eval_time: {t}",
            "        exp_samples: []",
        ]
    firing = 'ALERTS{alertstate="firing", root!=""}'
    out += [
        "      # one page in total, and every one of the sites is an info alert under the root",
        f"      - expr: count by (alertname, root, severity) ({firing})",
        "        eval_time: 10m",
        "        exp_samples:",
        f'          - labels: \'{{alertname="UplinkDown", root="{POP}", severity="page"}}\'',
        "            value: 1",
        "          - labels: >-",
        f'              {{alertname="SiteUnreachable", root="{POP}", severity="info"}}',
        f"            value: {SITES}",
    ]
    return out


def render() -> str:
    lines = HEADER.rstrip("\n").split("\n")
    lines += pop_series()
    for i in range(SITES):
        lines += child_series(i)
    lines += expectations()
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write")
    args = parser.parse_args(argv)
    out: Path = args.output
    out.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
