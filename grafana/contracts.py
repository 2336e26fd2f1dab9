"""Kontrak ISP: each ISP contract's month in figures: availability counted against the
ISP, RTT p95, loss, utilisation of the contracted bandwidth and hours above 80 %, from
the recorded series of the netmon-contract-quality group
(deploy/prometheus/rules/netmon-recording.yml). Texts in Bahasa Indonesia: the dashboard
is for Diskominfo and the ISPs. The exact month per contract (the outage journal, to the
second, local month boundaries) is `netmon report` and /api/v1/report; these are rolling
30-day figures from Prometheus.
"""

from __future__ import annotations

from grafana import promql as q
from grafana.dashboard import dashboard
from grafana.noc import AVAILABILITY_STEPS
from grafana.panels import (
    GREEN,
    JSON,
    ORANGE,
    RED,
    Grid,
    override,
    site_link,
    table,
    target,
    thresholds,
    timeseries,
)

HOURS_30D = 30 * 24
CELL = {"type": "color-background", "mode": "basic"}
CONGESTION = thresholds((GREEN, None), (ORANGE, 0.8), (RED, 0.95))


def _site(record: str) -> str:
    return q.selected(f'{record}{{site=~"$site"}}')


def _per_contract(record: str, how: str = "avg") -> str:
    return f"{how} by (contract) ({_site(record)})"


def _per_site(record: str) -> str:
    """A per-site figure on every (site, contract) pair of the selection."""
    return (
        f"{_site(record)} * on (site) group_right max by (site, contract) "
        f'(netmon_contract_info{{site=~"$site"}})'
    )


def _overrides() -> list[JSON]:
    return [
        override(
            "Ketersediaan",
            unit="percentunit",
            decimals=3,
            thresholds=AVAILABILITY_STEPS,
            custom__cellOptions=CELL,
        ),
        override("RTT p95", unit="s", decimals=1),
        override("Loss", unit="percentunit", decimals=2),
        override(
            "Utilisasi p95",
            unit="percentunit",
            decimals=1,
            thresholds=CONGESTION,
            custom__cellOptions=CELL,
        ),
        override("Jam > 80 %", unit="h", decimals=1),
    ]


def panels() -> Grid:
    g = Grid()
    avail = "site:netmon_contract_available:ratio30d"
    g.add(
        table(
            "Kontrak: ringkasan 30 hari",
            "Per kontrak ISP, lokasi terpilih, 30 hari terakhir: ketersediaan yang dihitung "
            "terhadap ISP (pemeliharaan, pemadaman PLN yang diumumkan, baterai lokasi habis "
            "dan waktu netmon buta tidak dihitung), RTT p95, loss, utilisasi p95 terhadap "
            "bandwidth kontrak, dan jumlah jam di atas 80 %. Setiap lokasi berbobot sama. "
            "Target ada di berkas kontrak; laporan bulanan yang tepat: netmon report.",
            [
                target(_per_contract(avail), table=True),
                target(_per_contract("site:netmon_probe_rtt_seconds:p95_30d"), table=True),
                target(_per_contract("site:netmon_probe_loss_ratio:avg30d"), table=True),
                target(_per_contract("site:netmon_contract_utilisation:p95_30d"), table=True),
                target(
                    _per_contract("site:netmon_contract_congested_hours:30d", "sum"), table=True
                ),
            ],
            columns={
                "contract": "Kontrak",
                "Value #A": "Ketersediaan",
                "Value #B": "RTT p95",
                "Value #C": "Loss",
                "Value #D": "Utilisasi p95",
                "Value #E": "Jam > 80 %",
            },
            sort_by="Ketersediaan",
            overrides=_overrides(),
        ),
        24,
        7,
    )
    g.add(
        timeseries(
            "Ketersediaan per kontrak",
            "Bagian waktu lokasi kontrak tersedia (up atau degraded), per 5 menit, rata-rata "
            "lokasi terpilih per kontrak. Penurunan adalah gangguan yang dihitung terhadap ISP.",
            [target(_per_contract("site:netmon_contract_available:ratio5m"), "{{contract}}")],
            unit="percentunit",
            decimals=2,
            max=1,
            steps=AVAILABILITY_STEPS,
            threshold_style="dashed",
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Utilisasi bandwidth kontrak per lokasi",
            "Laju antarmuka tersibuk lokasi (arah mana pun) dibagi bandwidth kontrak; di atas "
            "80 % berarti padat.",
            [target(_site("site:netmon_contract_utilisation:ratio5m"), "{{site}} {{contract}}")],
            unit="percentunit",
            decimals=1,
            steps=CONGESTION,
            threshold_style="dashed",
        ),
        12,
        8,
    )
    g.add(
        table(
            "Lokasi kontrak: 30 hari",
            "Setiap lokasi dan kontraknya, 30 hari terakhir. Jam gangguan = (1 - "
            "ketersediaan) x 720 jam: waktu yang dihitung terhadap ISP. Klik baris untuk "
            "dashboard lokasi.",
            [
                target(q.named(_site(avail), "name, kabupaten"), table=True),
                target(f"(1 - {_site(avail)}) * {HOURS_30D}", table=True),
                target(_per_site("site:netmon_probe_rtt_seconds:p95_30d"), table=True),
                target(_per_site("site:netmon_probe_loss_ratio:avg30d"), table=True),
                target(_site("site:netmon_contract_utilisation:p95_30d"), table=True),
                target(_site("site:netmon_contract_congested_hours:30d"), table=True),
            ],
            columns={
                "name": "Lokasi",
                "kabupaten": "Kabupaten",
                "contract": "Kontrak",
                "Value #A": "Ketersediaan",
                "Value #B": "Jam gangguan",
                "Value #C": "RTT p95",
                "Value #D": "Loss",
                "Value #E": "Utilisasi p95",
                "Value #F": "Jam > 80 %",
                "site": "site",
            },
            sort_by="Ketersediaan",
            overrides=[*_overrides(), override("Jam gangguan", unit="h", decimals=2)],
            links=[site_link()],
        ),
        24,
        10,
    )
    counted = (
        'netmon_site_status_cause{site=~"$site", cause!="power"} * on (site) group_left '
        '(contract) max by (site, contract) (netmon_contract_info{site=~"$site"})'
    )
    g.add(
        table(
            "Gangguan sekarang yang dihitung terhadap ISP",
            "Lokasi kontrak yang sedang down atau tidak terjangkau karena sebab selain "
            "listrik (putus link, perangkat, uplink), dengan lokasi akar gangguan. Yang "
            "dalam pemeliharaan atau pemadaman PLN yang diumumkan tidak dihitung di laporan.",
            [target(q.named(counted, "name, kabupaten"), table=True)],
            columns={
                "name": "Lokasi",
                "kabupaten": "Kabupaten",
                "contract": "Kontrak",
                "cause": "Sebab",
                "upstream": "Akar",
                "site": "site",
            },
            sort_by="Lokasi",
            links=[site_link()],
        ),
        24,
        7,
    )
    return g


def build() -> JSON:
    return dashboard(
        "netmon-contracts",
        "Kontrak ISP: ketersediaan yang dihitung terhadap ISP, RTT p95, loss, utilisasi "
        "bandwidth kontrak dan jam padat per kontrak dan lokasi, 30 hari terakhir.",
        panels(),
    )
