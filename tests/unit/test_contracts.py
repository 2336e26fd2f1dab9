"""ISP contracts: validated like the rest of the config (every error at file:line:col),
circuits resolved to the sites that carry them, one contract per site at a time."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from collectors import REGISTRY
from netmon.config import ConfigErrors, load
from netmon.status import contract_series

MAIN = """\
inventory: ["sites/*.yaml"]
defaults:
  snmp:
    community: {env: TEST_COMMUNITY}
"""

SITES = """\
kabupaten: Kutai Timur
sites:
  - id: pop-sangatta
    name: POP Sangatta
    kind: pop
    isp: {name: Telkom, circuit_id: TLK-0007}
    devices:
      - {id: sw-sangatta, address: 10.20.0.1}
  - id: desa-a
    name: Kantor Desa A
    kind: village_office
    uplinks: [pop-sangatta]
    devices:
      - {id: rtr-a, address: 10.20.1.1}
  - id: desa-b
    name: Kantor Desa B
    kind: village_office
    uplinks: [pop-sangatta]
    isp: {name: Telkom, circuit_id: TLK-0042}
    devices:
      - {id: rtr-b, address: 10.20.2.1}
"""

GOOD = """\
contracts:
  - id: tlk-kutim-2026
    isp: Telkom Indonesia
    title: Internet desa Kutai Timur 2026
    start: 2026-01-01
    end: 2026-12-31
    measured_at: router
    bandwidth_mbps: 20
    sites: [desa-a]
    circuits: [TLK-0042, TLK-0007]
    targets: {availability: 0.99, rtt_p95_ms: 150, loss_ratio: 0.01, throughput_ratio: 0.8}
    excludes: [power, maintenance]
    penalties:
      - {below: 0.99, percent: 5}
      - {below: 0.97, percent: 10}
"""


@pytest.fixture(autouse=True)
def _community(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_COMMUNITY", "community")


def write(tmp: Path, *contract_files: str, main: str = MAIN) -> Path:
    (tmp / "sites").mkdir()
    (tmp / "contracts").mkdir()
    (tmp / "netmon.yaml").write_text(main)
    (tmp / "sites" / "kutai-timur.yaml").write_text(SITES)
    for i, text in enumerate(contract_files):
        (tmp / "contracts" / f"c{i}.yaml").write_text(text)
    return tmp / "netmon.yaml"


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load(path, REGISTRY)
    return [str(e).replace(str(path.parent) + "/", "") for e in info.value.errors]


def test_a_valid_contract_file_loads_with_its_circuits_resolved_to_sites(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, GOOD), REGISTRY)
    contract = loaded.contracts["tlk-kutim-2026"]
    # the listed site first, then the circuits' sites in the order the circuits are named
    assert contract.sites == ("desa-a", "desa-b", "pop-sangatta")
    assert (contract.isp, contract.title, contract.measured_at) == (
        "Telkom Indonesia",
        "Internet desa Kutai Timur 2026",
        "router",
    )
    assert (contract.start, contract.end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert contract.bandwidth_mbps == 20
    assert contract.bandwidth_bytes == 2_500_000  # 20e6 bit/s / 8
    t = contract.targets
    assert (t.availability, t.rtt_p95_ms, t.loss_ratio, t.throughput_ratio) == (
        0.99,
        150,
        0.01,
        0.8,
    )
    assert contract.excludes == frozenset({"power", "maintenance"})
    assert contract.penalties == ((0.99, 5), (0.97, 10))
    assert contract.source.endswith("contracts/c0.yaml")


def test_excludes_default_to_all_four_and_no_contract_file_is_no_contracts(
    tmp_path: Path,
) -> None:
    minimal = GOOD.split("    targets:")[0]
    loaded = load(write(tmp_path, minimal), REGISTRY)
    contract = loaded.contracts["tlk-kutim-2026"]
    assert contract.excludes == frozenset({"power", "power_cut", "maintenance", "monitoring_stale"})
    assert contract.penalties == ()
    assert contract.targets.availability is None
    (tmp_path / "contracts" / "c0.yaml").unlink()
    assert load(tmp_path / "netmon.yaml", REGISTRY).contracts == {}


def test_the_globs_are_relative_to_netmon_yaml_and_a_single_one_may_be_a_string(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, main=MAIN + "contracts: isp/*.yaml\n")
    (tmp_path / "isp").mkdir()
    (tmp_path / "isp" / "telkom.yaml").write_text(GOOD)
    assert list(load(path, REGISTRY).contracts) == ["tlk-kutim-2026"]


BAD = """\
contracts:
  - id: tlk-a
    isp: Telkom
    title: A
    start: 2026-12-31
    end: 2026-01-01
    measured_at: router
    bandwidth_mbps: 20
    sites: [desa-a, desa-x]
    circuits: [NOPE-1]
  - id: tlk-a
    isp: Telkom
    title: A again
    start: 2026-01-01
    end: 2026-12-31
    measured_at: router
    bandwidth_mbps: 20
    sites: [desa-b]
"""


def test_each_reference_error_is_at_its_file_line_col(tmp_path: Path) -> None:
    assert errors_of(write(tmp_path, BAD)) == [
        "contracts/c0.yaml:6:10: contracts.0.end: the contract ends before it starts",
        "contracts/c0.yaml:9:21: contracts.0.sites.1: no site 'desa-x' in the site files",
        "contracts/c0.yaml:10:16: contracts.0.circuits.0: no site has isp.circuit_id 'NOPE-1'",
        "contracts/c0.yaml:11:9: contracts.1.id: duplicate contract id 'tlk-a' "
        "(first at contracts/c0.yaml:2:9)",
    ]


SCHEMA = """\
contracts:
  - id: Tlk A
    isp: Telkom
    title: A
    start: 2026-01-01
    end: 2026-12-31
    measured_at: modem
    bandwidth_mbps: 0
    sites: [desa-a]
    targets: {availability: 99}
    excludes: [power, weather]
    penalties:
      - {below: 0.97, percent: 10}
      - {below: 0.99, percent: 5}
    colour: blue
  - id: tlk-b
    isp: Telkom
    title: B
    start: 2026-01-01
    end: 2026-12-31
    measured_at: cpe
    bandwidth_mbps: 10
"""


def test_each_schema_error_is_at_its_file_line_col(tmp_path: Path) -> None:
    got = errors_of(write(tmp_path, SCHEMA))
    where = [e.split(": ")[0] + ": " + e.split(": ")[1] for e in got]
    assert where == [
        "contracts/c0.yaml:2:9: contracts.0.id",
        "contracts/c0.yaml:7:18: contracts.0.measured_at",
        "contracts/c0.yaml:8:21: contracts.0.bandwidth_mbps",
        "contracts/c0.yaml:10:29: contracts.0.targets.availability",
        "contracts/c0.yaml:11:23: contracts.0.excludes.1",
        "contracts/c0.yaml:13:7: contracts.0.penalties",
        "contracts/c0.yaml:15:5: contracts.0.colour",
        "contracts/c0.yaml:16:5: contracts.1",
    ]
    assert got[-1].endswith("a contract covers sites or circuits: give at least one of them")
    assert "sorted by below, descending" in got[5]


OTHER = """\
contracts:
  - id: icon-2026
    isp: PLN Icon Plus
    title: Backup
    start: {start}
    end: {end}
    measured_at: cpe
    bandwidth_mbps: 10
    circuits: [TLK-0042]
"""


def test_a_site_in_two_contracts_of_overlapping_periods_is_refused(tmp_path: Path) -> None:
    # desa-b is in GOOD (all of 2026) by its circuit; here by the same circuit, from June
    other = OTHER.format(start="2026-06-01", end="2027-05-31")
    assert errors_of(write(tmp_path, GOOD, other)) == [
        "contracts/c1.yaml:9:16: contracts.0.circuits.0: site 'desa-b' is also in contract "
        "'tlk-kutim-2026' (contracts/c0.yaml:10:16) for an overlapping period "
        "(2026-01-01 to 2026-12-31)",
    ]


def test_contracts_one_after_the_other_may_share_a_site(tmp_path: Path) -> None:
    # the day after GOOD ends: no overlap (both ends are inclusive)
    other = OTHER.format(start="2027-01-01", end="2027-12-31")
    loaded = load(write(tmp_path, GOOD, other), REGISTRY)
    assert loaded.contracts["icon-2026"].sites == ("desa-b",)
    assert "desa-b" in loaded.contracts["tlk-kutim-2026"].sites


def test_the_example_contracts_cover_example_sites(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import ROOT

    monkeypatch.chdir(ROOT)
    loaded = load(ROOT / "config" / "netmon.yaml", REGISTRY, secrets=False)
    assert loaded.contracts["bakti-vsat-kaltim-2026"].sites == (
        "desa-teluk-harapan",  # circuit BAKTI-VSAT-BR-0091 in config/sites/berau.yaml
        "desa-tabang-lama",  # BAKTI-VSAT-KK-0233 in kutai-kartanegara.yaml
    )


def test_the_series_carry_the_throughput_target_only_where_a_contract_sets_one(
    tmp_path: Path,
) -> None:
    """What the recording rules compare delivered throughput with: the contract file's
    throughput_ratio, per site it covers; a contract without that target exports none."""
    without = GOOD.replace("tlk-kutim-2026", "tlk-kutim-2025").replace("2026-", "2025-")
    without = without.replace(", throughput_ratio: 0.8", "")
    loaded = load(write(tmp_path, GOOD, without), REGISTRY)
    found = {
        (s.name, dict(s.labels)["contract"], dict(s.labels)["site"]): s.value
        for s in contract_series.samples(loaded.contracts, loaded.inventory)
        if s.name == "netmon_contract_throughput_target_ratio"
    }
    name = "netmon_contract_throughput_target_ratio"
    assert found == {(name, "tlk-kutim-2026", s): 0.8 for s in ("desa-a", "desa-b", "pop-sangatta")}
