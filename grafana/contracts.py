"""Kontrak ISP: each ISP contract's month in figures: availability counted against the
ISP, RTT p95, loss, utilisation of the contracted bandwidth and hours above 80 %,
delivered throughput against the contract's target, from the recorded series of the
netmon-contract-quality group (deploy/prometheus/rules/netmon-recording.yml). Texts in
Bahasa Indonesia: the dashboard is for Diskominfo and the ISPs. The exact month per
contract (the outage journal, to the second, local month boundaries) is `netmon report`
and /api/v1/report; these are rolling 30-day figures from Prometheus.

Besides the common pickers it has its own, **Kontrak**: the contract ids (the `contract`
label of the contract series) at the selected sites; every panel shows only the picked
contracts.
"""

from __future__ import annotations

from grafana import promql as q
from grafana.dashboard import dashboard, query_variable
from grafana.noc import AVAILABILITY_STEPS
from grafana.panels import (
    GREEN,
    JSON,
    ORANGE,
    RED,
    Grid,
    Panel,
    override,
    site_link,
    table,
    target,
    thresholds,
    timeseries,
    value_mappings,
)

HOURS_30D = 30 * 24
CELL = {"type": "color-background", "mode": "basic"}
CONGESTION = thresholds((GREEN, None), (ORANGE, 0.8), (RED, 0.95))
#: a contract's throughput target is its own (the target series); the colours only say
#: how far from the contracted bandwidth the delivery is
DELIVERY = thresholds((RED, None), (ORANGE, 0.5), (GREEN, 0.8))
MET = value_mappings({0: ("tidak", RED), 1: ("ya", GREEN)})
#: the picker: the contract ids the recorded series carry, read from the series they take
#: their `contract` label from (netmon_contract_info, at the selected sites). A recorded
#: series has a contract only while its sites have that figure: a declared PLN cut drops
#: the availability tiles, a site without ICMP has no RTT; the picker must not lose the
#: contract then.
CONTRACT_VARIABLE = query_variable(
    "contract",
    "Kontrak",
    'label_values(netmon_contract_info{site=~"$site"}, contract)',
    multi=True,
    description="Kontrak ISP yang mencakup lokasi terpilih (label contract seri kontrak)",
)
PICKED = 'site=~"$site", contract=~"$contract"'


def _pair(record: str) -> str:
    """A recorded series per (site, contract) of the picked sites and contracts."""
    return q.selected(f"{record}{{{PICKED}}}")


def _contracts() -> str:
    """One series per picked (site, contract), value 1."""
    return f"max by (site, contract) (netmon_contract_info{{{PICKED}}})"


def _per_site(record: str) -> str:
    """A per-site figure (no contract label) on every picked (site, contract) pair."""
    return f"{q.selected(q.metric(record))} * on (site) group_right {_contracts()}"


def _per_contract(expr: str, how: str = "avg") -> str:
    return f"{how} by (contract) ({expr})"


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
        override(
            "Throughput",
            unit="percentunit",
            decimals=1,
            thresholds=DELIVERY,
            custom__cellOptions=CELL,
        ),
    ]


def _summary() -> Panel:
    avail = "site:netmon_contract_available:ratio30d"
    return table(
        "Kontrak: ringkasan 30 hari",
        "Per kontrak ISP, lokasi terpilih, 30 hari terakhir: ketersediaan yang dihitung "
        "terhadap ISP (pemeliharaan, pemadaman PLN yang diumumkan, baterai lokasi habis dan "
        "waktu netmon buta tidak dihitung), RTT p95, loss, utilisasi p95 terhadap bandwidth "
        "kontrak, jumlah jam di atas 80 %, throughput terkirim (unduhan terjadwal) terhadap "
        "bandwidth kontrak, dan bagian lokasi yang memenuhi target throughput kontrak. "
        "Setiap lokasi berbobot sama. Target ada di berkas kontrak; laporan bulanan yang "
        "tepat: netmon report.",
        [
            target(_per_contract(_pair(avail)), table=True),
            target(_per_contract(_per_site("site:netmon_probe_rtt_seconds:p95_30d")), table=True),
            target(_per_contract(_per_site("site:netmon_probe_loss_ratio:avg30d")), table=True),
            target(_per_contract(_pair("site:netmon_contract_utilisation:p95_30d")), table=True),
            target(
                _per_contract(_pair("site:netmon_contract_congested_hours:30d"), "sum"),
                table=True,
            ),
            target(_per_contract(_pair("site:netmon_contract_throughput:avg30d")), table=True),
            target(_per_contract(_pair("site:netmon_contract_throughput_met:bool30d")), table=True),
        ],
        columns={
            "contract": "Kontrak",
            "Value #A": "Ketersediaan",
            "Value #B": "RTT p95",
            "Value #C": "Loss",
            "Value #D": "Utilisasi p95",
            "Value #E": "Jam > 80 %",
            "Value #F": "Throughput",
            "Value #G": "Lokasi memenuhi target throughput",
        },
        sort_by="Ketersediaan",
        overrides=[
            *_overrides(),
            override("Lokasi memenuhi target throughput", unit="percentunit", decimals=0),
        ],
    )


def _sites() -> Panel:
    avail = "site:netmon_contract_available:ratio30d"
    target_ratio = f"max by (site, contract) (netmon_contract_throughput_target_ratio{{{PICKED}}})"
    return table(
        "Lokasi kontrak: 30 hari",
        "Setiap lokasi dan kontraknya, 30 hari terakhir. Jam gangguan = (1 - ketersediaan) x "
        "720 jam: waktu yang dihitung terhadap ISP. Throughput: rata-rata unduhan terjadwal "
        "terhadap bandwidth kontrak, dibandingkan target kontrak (kosong: lokasi tanpa "
        "pemeriksaan throughput). Klik baris untuk dashboard lokasi.",
        [
            target(q.named(_pair(avail), "name, kabupaten"), table=True),
            target(f"(1 - {_pair(avail)}) * {HOURS_30D}", table=True),
            target(_per_site("site:netmon_probe_rtt_seconds:p95_30d"), table=True),
            target(_per_site("site:netmon_probe_loss_ratio:avg30d"), table=True),
            target(_pair("site:netmon_contract_utilisation:p95_30d"), table=True),
            target(_pair("site:netmon_contract_congested_hours:30d"), table=True),
            target(_pair("site:netmon_contract_throughput:avg30d"), table=True),
            target(q.selected(target_ratio), table=True),
            target(_pair("site:netmon_contract_throughput_met:bool30d"), table=True),
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
            "Value #G": "Throughput",
            "Value #H": "Target throughput",
            "Value #I": "Memenuhi",
            "site": "site",
        },
        sort_by="Ketersediaan",
        overrides=[
            *_overrides(),
            override("Jam gangguan", unit="h", decimals=2),
            override("Target throughput", unit="percentunit", decimals=0),
            override("Memenuhi", mappings=MET, custom__cellOptions=CELL),
        ],
        links=[site_link()],
    )


def panels() -> Grid:
    g = Grid()
    g.add(_summary(), 24, 7)
    g.add(
        timeseries(
            "Ketersediaan per kontrak",
            "Bagian waktu lokasi kontrak tersedia (up atau degraded), per 5 menit, rata-rata "
            "lokasi terpilih per kontrak. Penurunan adalah gangguan yang dihitung terhadap ISP.",
            [
                target(
                    _per_contract(_pair("site:netmon_contract_available:ratio5m")), "{{contract}}"
                )
            ],
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
            [target(_pair("site:netmon_contract_utilisation:ratio5m"), "{{site}} {{contract}}")],
            unit="percentunit",
            decimals=1,
            steps=CONGESTION,
            threshold_style="dashed",
        ),
        12,
        8,
    )
    g.add(
        timeseries(
            "Throughput terkirim per lokasi",
            "Hasil unduhan terjadwal terakhir (pemeriksaan throughput, dari host netmon) dibagi "
            "bandwidth kontrak, per 5 menit; garis putus-putus: target throughput tiap kontrak. "
            "Di bawah target berarti ISP tidak mengirim yang dijanjikan.",
            [
                target(_pair("site:netmon_contract_throughput:ratio5m"), "{{site}} {{contract}}"),
                target(
                    f"max by (contract) (netmon_contract_throughput_target_ratio{{{PICKED}}})",
                    "target {{contract}}",
                ),
            ],
            unit="percentunit",
            decimals=1,
            overrides=[
                override(
                    "target.*", regex=True, custom__lineStyle={"fill": "dash", "dash": [10, 10]}
                )
            ],
        ),
        24,
        8,
    )
    g.add(_sites(), 24, 10)
    counted = (
        'netmon_site_status_cause{site=~"$site", cause!="power"} * on (site) group_left '
        f"(contract) {_contracts()}"
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
        "bandwidth kontrak, jam padat dan throughput terkirim terhadap target per kontrak dan "
        "lokasi, 30 hari terakhir. Pilih kontrak di atas.",
        panels(),
        extra=[CONTRACT_VARIABLE],
    )
