"""`netmon report` as an operator runs it: a subprocess on a config, contracts and an
outage journal written here, by hand, in local wall-clock times; the expected durations
and availabilities are worked out below from those times, not by the code under test."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.report_data import NOVEMBER, WIB, WITA, record

NETMON_YAML = """\
listen: "127.0.0.1:9800"
inventory: sites/*.yaml
status:
  journal_file: outages.jsonl
"""
KUTIM = """\
kabupaten: Kutai Timur
timezone: Asia/Makassar
sites:
  - {id: desa-a, name: Kantor Desa A, kind: village_office}
  - {id: desa-b, name: Puskesmas B, kind: puskesmas}
"""
WEST = """\
kabupaten: Contoh Barat
timezone: Asia/Jakarta
sites:
  - {id: desa-w, name: Kantor Desa W, kind: village_office}
"""
CONTRACTS = """\
contracts:
  - id: isp-x-2026
    isp: PT ISP X
    title: Internet desa 2026
    start: 2026-01-01
    end: 2026-12-31
    measured_at: router
    bandwidth_mbps: 20
    sites: [desa-a, desa-b, desa-w]
    targets: {availability: 0.999, rtt_p95_ms: 150}
    penalties:
      - {below: 0.999, percent: 5}
      - {below: 0.99, percent: 10}
"""


JOURNAL = [
    # desa-a: a cut of 2:30:15 counts; a flat battery of 4 h is excluded (power)
    record(
        "desa-a",
        datetime(2026, 11, 10, 8, 0, 0, tzinfo=WITA),
        datetime(2026, 11, 10, 10, 30, 15, tzinfo=WITA),
    ),
    record(
        "desa-a",
        datetime(2026, 11, 12, 1, tzinfo=WITA),
        datetime(2026, 11, 12, 5, tzinfo=WITA),
        cause="power",
    ),
    # desa-b: maintenance, 1 h, excluded
    record(
        "desa-b",
        datetime(2026, 11, 15, 10, tzinfo=WITA),
        datetime(2026, 11, 15, 11, tzinfo=WITA),
        maintenance=True,
    ),
    # desa-w (WIB): 23:00-01:00 WIB across the month's end: 1 h in November
    record("desa-w", datetime(2026, 11, 30, 23, tzinfo=WIB), datetime(2026, 12, 1, 1, tzinfo=WIB)),
    # a torn line from a crash is skipped, not fatal
    '{"site": "desa-a", "root"',
    "\n",
    # an October outage is not November's
    record("desa-a", datetime(2026, 10, 3, 9, tzinfo=WITA), datetime(2026, 10, 3, 12, tzinfo=WITA)),
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "sites").mkdir()
    (tmp_path / "contracts").mkdir()
    (tmp_path / "netmon.yaml").write_text(NETMON_YAML)
    (tmp_path / "sites" / "kutim.yaml").write_text(KUTIM)
    (tmp_path / "sites" / "west.yaml").write_text(WEST)
    (tmp_path / "contracts" / "isp-x.yaml").write_text(CONTRACTS)
    (tmp_path / "outages.jsonl").write_text("".join(JOURNAL))
    return tmp_path / "netmon.yaml"


def report(config: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "netmon", "report", "-c", str(config), "--out", str(out)]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=180)


def test_contract_report_csv_html_pdf(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = report(config, out, "--month", "2026-11", "--contract", "isp-x-2026")
    assert done.returncode == 0, done.stderr
    stem = out / "report-2026-11-contract-isp-x-2026"
    assert sorted(p.name for p in out.iterdir()) == [
        f"{stem.name}.{x}" for x in ("csv", "html", "pdf")
    ]

    rows = {r["site"]: r for r in csv.DictReader(stem.with_suffix(".csv").open())}
    assert set(rows) == {"desa-a", "desa-b", "desa-w"}
    a, b, w = rows["desa-a"], rows["desa-b"], rows["desa-w"]
    assert (a["counted_seconds"], a["excluded_seconds"]) == ("9015", "14400")
    assert (a["outages_counted"], a["outages_excluded"]) == ("1", "1")
    assert float(a["availability"]) == pytest.approx(1 - 9015 / NOVEMBER, abs=1e-6)
    assert a["availability_met"] == "no"
    assert a["penalty_percent"] == "5"
    assert (b["counted_seconds"], b["excluded_seconds"], b["availability"]) == (
        "0",
        "3600",
        "1.000000",
    )
    assert b["penalty_percent"] == "0"
    assert w["timezone"] == "WIB"
    assert w["month_end"] == "2026-12-01T00:00:00+07:00"
    assert w["counted_seconds"] == "3600"
    assert float(w["availability"]) == pytest.approx(1 - 3600 / NOVEMBER, abs=1e-6)
    assert a["month_start"] == "2026-11-01T00:00:00+08:00"
    # without --prometheus the quality figures are "no data", never a number
    assert {a["rtt_p95_ms"], a["loss_ratio"], a["availability_prometheus"]} == {"tidak ada data"}

    html = stem.with_suffix(".html").read_text()
    assert "2026-11-10 08:00:00 WITA" in html
    assert "2026-11-10 10:30:15 WITA" in html
    assert "2:30:15" in html
    assert "2026-11-30 23:00:00 WIB" in html
    assert "2026-12-01 00:00:00 WIB" in html
    assert "listrik (baterai/daya lokasi habis)" in html  # the flat battery, excluded
    assert "pemeliharaan terjadwal" in html
    assert "<svg" in html
    assert "<script" not in html
    assert "tidak ada data" in html

    pdf = stem.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm (Debian poppler-utils) is needed: scripts/bootstrap.sh installs it"
    subprocess.run(
        [pdftoppm, "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    (png,) = tmp_path.glob("page*.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000  # a blank A4 page at 50 dpi is ~2 kB


def test_every_contract_and_kabupaten_in_english(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = report(config, out, "--month", "2026-11", "--lang", "en", "--no-pdf")
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"report-2026-11-{s}.{x}"
        for s in ("contract-isp-x-2026", "kabupaten-kutai-timur", "kabupaten-contoh-barat")
        for x in ("csv", "html")
    )
    html = (out / "report-2026-11-kabupaten-kutai-timur.html").read_text()
    assert "Monthly report, Kabupaten Kutai Timur" in html
    assert "no data" in html
    assert "Kantor Desa W" not in html  # another kabupaten's site
    # the sites table: a kabupaten's names each site's contract; a contract's report names
    # its contract once, in the box above the table
    header = "<th>Site</th><th>Contract</th>"
    assert header in html
    contract_html = (out / "report-2026-11-contract-isp-x-2026.html").read_text()
    assert header not in contract_html
    assert "<th>Site</th>" in contract_html
    rows = list(csv.DictReader((out / "report-2026-11-kabupaten-contoh-barat.csv").open()))
    assert [r["site"] for r in rows] == ["desa-w"]
    assert rows[0]["rtt_p95_ms"] == "no data"


def test_an_unknown_contract_is_an_error(config: Path, tmp_path: Path) -> None:
    done = report(config, tmp_path / "out", "--month", "2026-11", "--contract", "nope")
    assert done.returncode == 1
    assert "no contract 'nope'" in done.stderr
    done = report(config, tmp_path / "out", "--month", "2026-13")
    assert done.returncode == 1
    assert "YYYY-MM" in done.stderr
