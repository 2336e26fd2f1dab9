"""Config errors name file:line:col and the field; all errors come at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collectors import REGISTRY
from collectors.snmp import builtin_profiles
from netmon.config import ConfigErrors, load
from tests.helpers import ROOT, snmp_of

MAIN = """\
listen: "127.0.0.1:9800"
inventory: ["sites/*.yaml"]
defaults:
  interval: 60s
  snmp:
    community: {env: TEST_COMMUNITY}
"""

GOOD_SITES = """\
kabupaten: Kutai Timur
sites:
  - id: pop-sangatta
    name: POP Sangatta
    kind: pop
    devices:
      - {id: sw-sangatta, address: 10.20.0.1}
  - id: desa-a
    name: Kantor Desa A
    kind: village_office
    uplinks: [pop-sangatta]
    devices:
      - {id: rtr-a, address: 10.20.1.1, profiles: [system, if_mib, mikrotik]}
links:
  - {id: fo-1, kind: fiber, a: pop-sangatta/sw-sangatta:GPON 0/1/0, b: desa-a/rtr-a:sfp1}
"""


@pytest.fixture(autouse=True)
def _community(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_COMMUNITY", "s3cret-community")
    monkeypatch.chdir(ROOT)


def write(tmp: Path, main: str = MAIN, **sites: str) -> Path:
    (tmp / "sites").mkdir(exist_ok=True)
    (tmp / "netmon.yaml").write_text(main)
    for name, text in sites.items():
        (tmp / "sites" / f"{name}.yaml").write_text(text)
    return tmp / "netmon.yaml"


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load(path, REGISTRY)
    tmp = str(path.parent) + "/"
    return [str(e).replace(tmp, "") for e in info.value.errors]


def test_valid_config_builds_the_inventory(tmp_path: Path) -> None:
    config = load(write(tmp_path, kutim=GOOD_SITES), REGISTRY)
    inv = config.inventory
    assert set(inv.sites) == {"pop-sangatta", "desa-a"}
    assert inv.sites["desa-a"].uplinks == ("pop-sangatta",)
    assert inv.sites["desa-a"].uplink_kind == "fiber"
    assert inv.links["fo-1"].a.ifname == "GPON 0/1/0"
    rtr = inv.devices["rtr-a"]
    community = snmp_of(rtr).community
    assert community is not None
    assert community.reveal() == "s3cret-community"
    assert snmp_of(rtr).profiles == ("system", "if_mib", "mikrotik")
    assert rtr.interval == 60.0
    assert inv.summary() == {"Kutai Timur": (2, 2)}


def test_spaces_around_a_kabupaten_are_dropped(tmp_path: Path) -> None:
    """An invisible trailing space would make a kabupaten the status page's filter and
    Grafana's variable can never select."""
    text = GOOD_SITES.replace("kabupaten: Kutai Timur", 'kabupaten: "  Kutai Timur "')
    config = load(write(tmp_path, kutim=text), REGISTRY)
    assert {s.kabupaten for s in config.inventory.sites.values()} == {"Kutai Timur"}


POWER_CUT_SITES = """\
kabupaten: Kutai Timur
timezone: Asia/Makassar
sites:
  - {id: pop-sangatta, name: POP Sangatta, kind: pop, kecamatan: Sangatta Utara,
     devices: [{id: sw-sangatta, address: 10.20.0.1}]}
  - {id: desa-a, name: Kantor Desa A, kind: village_office, kecamatan: Bengalon,
     uplinks: [pop-sangatta], devices: [{id: rtr-a, address: 10.20.1.1}]}
  - {id: desa-b, name: Kantor Desa B, kind: village_office, kecamatan: Rantau Pulung,
     uplinks: [pop-sangatta], devices: [{id: rtr-b, address: 10.20.1.2}]}
power_cuts:
  - {start: 2026-11-24T08:00, end: 2026-11-24T12:00, kecamatan: [Bengalon],
     note: "PLN: pemeliharaan jaringan"}
  - {start: "2026-11-25T01:00:00+00:00", end: "2026-11-25T02:00:00+00:00", sites: [desa-b]}
  - {start: 2026-11-26T22:00, end: 2026-11-27T02:00}
"""


def test_declared_power_cuts_cover_their_kecamatan_sites_or_the_whole_file(
    tmp_path: Path,
) -> None:
    inv = load(write(tmp_path, kutim=POWER_CUT_SITES), REGISTRY).inventory
    wita = 8 * 3600  # a time without an offset is the file's local time
    morning = (
        datetime(2026, 11, 24, 8, tzinfo=UTC).timestamp() - wita,
        datetime(2026, 11, 24, 12, tzinfo=UTC).timestamp() - wita,
    )
    night = (
        datetime(2026, 11, 26, 22, tzinfo=UTC).timestamp() - wita,
        datetime(2026, 11, 27, 2, tzinfo=UTC).timestamp() - wita,
    )
    b_only = (
        datetime(2026, 11, 25, 1, tzinfo=UTC).timestamp(),
        datetime(2026, 11, 25, 2, tzinfo=UTC).timestamp(),
    )
    assert inv.sites["desa-a"].power_cuts == (morning, night)
    assert inv.sites["desa-b"].power_cuts == (b_only, night)
    assert inv.sites["pop-sangatta"].power_cuts == (night,)


def test_a_power_cut_naming_nothing_in_its_file_or_ending_first_is_an_error(
    tmp_path: Path,
) -> None:
    text = (
        POWER_CUT_SITES.split("power_cuts:")[0]
        + """power_cuts:
  - {start: 2026-11-24T08:00, end: 2026-11-24T12:00, kecamatan: [Bengalonn]}
  - {start: 2026-11-24T08:00, end: 2026-11-24T12:00, sites: [desa-z]}
  - {start: 2026-11-24T12:00, end: 2026-11-24T08:00}
"""
    )
    errors = errors_of(write(tmp_path, kutim=text))
    assert errors == [
        "sites/kutim.yaml:11:66: power_cuts.0.kecamatan.0: no site of this file is in "
        "kecamatan 'Bengalonn'",
        "sites/kutim.yaml:12:62: power_cuts.1.sites.0: no site 'desa-z' in this file",
        "sites/kutim.yaml:13:36: power_cuts.2.end: the power cut must end after it starts",
    ]


def test_secrets_never_print(tmp_path: Path) -> None:
    config = load(write(tmp_path, kutim=GOOD_SITES), REGISTRY)
    device = config.inventory.devices["rtr-a"]
    assert "s3cret" not in repr(device)
    assert "s3cret" not in str(snmp_of(device))
    assert "s3cret" not in repr(config)


def test_syntax_error_points_at_the_line(tmp_path: Path) -> None:
    bad = "kabupaten: X\nsites:\n  - id: a\n    name: [unclosed\n"
    errors = errors_of(write(tmp_path, kutim=bad))
    assert len(errors) == 2
    assert errors[0].startswith("sites/kutim.yaml:5:1: YAML syntax:"), errors
    assert errors[1].startswith("netmon.yaml:2:12: inventory: references between files")


def test_unknown_key_wrong_type_and_bad_value_all_at_once(tmp_path: Path) -> None:
    bad = """\
kabupaten: Kutai Timur
sites:
  - id: desa-a
    name: Kantor Desa A
    kind: village_office
    uplnks: [pop-x]
    devices:
      - {id: rtr-a, address: 10.20.1.300}
      - id: rtr-b
        address: 10.20.1.2
        port: many
"""
    errors = errors_of(write(tmp_path, kutim=bad))[:-1]  # last: the cross-file note
    assert errors == [
        "sites/kutim.yaml:6:5: sites.0.uplnks: unknown key 'uplnks'",
        "sites/kutim.yaml:8:30: sites.0.devices.0.address: not an IP address: '10.20.1.300'",
        "sites/kutim.yaml:11:15: sites.0.devices.1.port: "
        "Input should be a valid integer, unable to parse string as an integer",
    ]


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    other = """\
kabupaten: Berau
sites:
  - id: desa-a
    name: Duplicate
    kind: school
    devices:
      - {id: rtr-a, address: 10.30.1.1}
"""
    errors = errors_of(write(tmp_path, a_kutim=GOOD_SITES, b_berau=other))
    assert errors == [
        "sites/b_berau.yaml:3:9: sites.0.id: duplicate site id 'desa-a' "
        "(first at sites/a_kutim.yaml:8:5)",
    ]


def test_duplicate_device_id(tmp_path: Path) -> None:
    text = GOOD_SITES.replace("id: rtr-a", "id: sw-sangatta")
    errors = errors_of(write(tmp_path, kutim=text))
    assert errors[0].startswith("sites/kutim.yaml:13:14: sites.1.devices.0.id: duplicate device")
    assert "first at sites/kutim.yaml:7:9" in errors[0]


def test_missing_env_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_COMMUNITY")
    errors = errors_of(write(tmp_path, kutim=GOOD_SITES))
    assert errors == [
        "netmon.yaml:6:16: defaults.snmp.community: environment variable TEST_COMMUNITY is not set"
    ]


def test_literal_secret_is_refused(tmp_path: Path) -> None:
    main = MAIN.replace("{env: TEST_COMMUNITY}", "public")
    errors = errors_of(write(tmp_path, main, kutim=GOOD_SITES))
    assert len(errors) == 1
    assert errors[0].startswith("netmon.yaml:6:16: defaults.snmp.community: secrets are references")


def test_secret_file_relative_to_config(tmp_path: Path) -> None:
    main = MAIN.replace("{env: TEST_COMMUNITY}", "{file: secrets/community}")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "community").write_text("from-a-file\n")
    config = load(write(tmp_path, main, kutim=GOOD_SITES), REGISTRY)
    community = snmp_of(config.inventory.devices["rtr-a"]).community
    assert community is not None
    assert community.reveal() == "from-a-file"


def test_unknown_uplink_profile_and_link_end(tmp_path: Path) -> None:
    text = (
        GOOD_SITES.replace("uplinks: [pop-sangatta]", "uplinks: [pop-nowhere]")
        .replace("mikrotik]", "mikrotikk]")
        .replace("b: desa-a/rtr-a:sfp1", "b: desa-a/rtr-zz:sfp1")
    )
    errors = errors_of(write(tmp_path, kutim=text))
    assert errors == [
        "sites/kutim.yaml:11:14: sites.1.uplinks: unknown uplink site 'pop-nowhere'",
        "sites/kutim.yaml:13:68: sites.1.devices.0.profiles.2: unknown profile 'mikrotikk' "
        f"(known: {', '.join(sorted(builtin_profiles()))})",
        "sites/kutim.yaml:15:72: links.0.b: site 'desa-a' has no device 'rtr-zz'",
    ]


def test_uplink_cycle(tmp_path: Path) -> None:
    text = """\
kabupaten: K
sites:
  - {id: a, name: A, kind: pop, uplinks: [c]}
  - {id: b, name: B, kind: pop, uplinks: [a]}
  - {id: c, name: C, kind: pop, uplinks: [b]}
"""
    errors = errors_of(write(tmp_path, k=text))
    assert len(errors) == 1
    assert "uplink cycle:" in errors[0]
    assert errors[0].startswith("sites/k.yaml:")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = "kabupaten: A\nkabupaten: B\nsites: []\n"
    errors = errors_of(write(tmp_path, k=text))[:-1]
    assert errors == [
        "sites/k.yaml:2:1: kabupaten: duplicate key (YAML would silently keep only the last one)"
    ]


def test_broken_file_does_not_cause_phantom_reference_errors(tmp_path: Path) -> None:
    child = GOOD_SITES.replace("kind: pop", "kind: popp")
    errors = errors_of(write(tmp_path, kutim=child))
    assert errors[-1].startswith("netmon.yaml:2:12: inventory: references between files")
    assert any("sites.0.kind" in e for e in errors)
    assert not any("unknown" in e and "site" in e for e in errors)


def test_no_site_files(tmp_path: Path) -> None:
    errors = errors_of(write(tmp_path))
    assert errors == ["netmon.yaml:2:12: inventory: no site files match these patterns"]


def test_env_overrides_daemon_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETMON_LISTEN", "127.0.0.1:9999")
    monkeypatch.setenv("NETMON_RELOAD_ENABLED", "true")
    config = load(write(tmp_path, kutim=GOOD_SITES), REGISTRY)
    assert config.main.listen == "127.0.0.1:9999"
    assert config.main.http.reload_enabled is True


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NETMON_RELOAD_ENABLED", "bogus", "environment NETMON_RELOAD_ENABLED: Input should be"),
        ("NETMON_LOG_LEVEL", "verbose", "environment NETMON_LOG_LEVEL: Input should be 'debug'"),
        ("NETMON_LISTEN", "nope", "environment NETMON_LISTEN: Value error, listen must be"),
    ],
)
def test_a_bad_environment_override_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    found = errors_of(write(tmp_path, kutim=GOOD_SITES))
    assert len(found) == 1
    assert message in found[0]


def test_trap_user_encryption_needs_protocol_and_key_together() -> None:
    from pydantic import ValidationError

    from collectors.trap.config import TrapUser

    user = {"name": "u", "auth_key": {"env": "K"}, "engine_ids": ["0x8000000001020304"]}
    with pytest.raises(ValidationError, match="priv_protocol and priv_key together"):
        TrapUser.model_validate({**user, "priv_protocol": "aes128"})
    with pytest.raises(ValidationError, match="priv_protocol and priv_key together"):
        TrapUser.model_validate({**user, "priv_key": {"env": "P"}})
    assert TrapUser.model_validate(user).priv_protocol is None


def test_v3_user_with_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHK", "authkey123")
    monkeypatch.setenv("PRIVK", "privkey123")
    text = GOOD_SITES.replace(
        "{id: rtr-a, address: 10.20.1.1, profiles: [system, if_mib, mikrotik]}",
        "{id: rtr-a, address: 10.20.1.1, snmp: {version: 3, user: {name: netmon, "
        "auth: {protocol: sha256, key: {env: AUTHK}}, "
        "priv: {protocol: aes128, key: {env: PRIVK}}}}}",
    )
    config = load(write(tmp_path, kutim=text), REGISTRY)
    snmp = snmp_of(config.inventory.devices["rtr-a"])
    assert snmp.version == "3"
    assert snmp.community is None
    assert snmp.user is not None
    assert snmp.user.auth_key is not None
    assert snmp.user.auth_key.reveal() == "authkey123"
    assert "authkey123" not in repr(snmp)


def test_example_province_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETMON_SNMP_COMMUNITY", "example")
    monkeypatch.setenv("NETMON_SNMPV3_AUTH_KEY", "example-auth")
    monkeypatch.setenv("NETMON_SNMPV3_PRIV_KEY", "example-priv")
    monkeypatch.setenv("NETMON_MQTT_PASSWORD", "example")

    config = load(ROOT / "config/netmon.yaml", REGISTRY)
    inv = config.inventory
    assert len(inv.summary()) >= 3
    kinds = {s.kind for s in inv.sites.values()}
    assert {"noc", "pop", "village_office", "puskesmas", "school"} <= kinds
    assert {link.kind for link in inv.links.values()} >= {"fiber", "radio"}
    # every site below the NOC reaches it through its uplinks
    roots = [s.id for s in inv.sites.values() if not s.uplinks]
    for site in inv.sites:
        assert site in roots or set(inv.ancestors(site)) & set(roots)


VSAT_SITES = """\
kabupaten: Berau
sites:
  - id: pop-a
    name: POP A
    kind: pop
    devices:
      - {id: rtr-pop, address: 10.40.0.1}
  - id: desa-vsat
    name: Desa VSAT
    kind: village_office
    uplinks: [pop-a]
    devices:
      - {id: rtr-vsat, address: 10.40.60.1}
      - {id: modem-vsat, address: 10.40.60.2, interval: 10m, snmp: {retries: 0}}
  - id: desa-nolink
    name: Desa Tanpa Link
    kind: school
    uplinks: [pop-a]
links:
  - {id: vsat-1, kind: vsat, a: pop-a/rtr-pop:ether1, b: desa-vsat/rtr-vsat:ether1}
"""

MAIN_WITH_VSAT = (
    MAIN
    + """\
  by_uplink_kind:
    vsat: {interval: 5m, deadline: 2m, snmp: {timeout: 5s, retries: 2}}
"""
)


def test_defaults_by_uplink_kind_sit_between_defaults_and_device(tmp_path: Path) -> None:
    config = load(write(tmp_path, MAIN_WITH_VSAT, berau=VSAT_SITES), REGISTRY)
    inv = config.inventory
    assert inv.sites["desa-vsat"].uplink_kind == "vsat"
    rtr, modem, pop = (inv.devices[d] for d in ("rtr-vsat", "modem-vsat", "rtr-pop"))
    assert (rtr.interval, rtr.deadline, snmp_of(rtr).timeout, snmp_of(rtr).retries) == (
        300,
        120,
        5,
        2,
    )
    assert (modem.interval, snmp_of(modem).retries) == (600, 0)  # the device's own setting wins
    assert (pop.interval, snmp_of(pop).timeout, snmp_of(pop).retries) == (
        60,
        2,
        1,
    )  # plain defaults


def test_an_uplink_without_a_link_is_a_warning(tmp_path: Path) -> None:
    config = load(write(tmp_path, MAIN_WITH_VSAT, berau=VSAT_SITES), REGISTRY)
    tmp = str(tmp_path) + "/"
    assert [str(w).replace(tmp, "") for w in config.warnings] == [
        "sites/berau.yaml:18:14: sites.2.uplinks: no link joins this site to its uplink 'pop-a'"
    ]


def test_check_without_secrets_validates_the_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_COMMUNITY")
    path = write(tmp_path, kutim=GOOD_SITES)
    with pytest.raises(ConfigErrors):
        load(path, REGISTRY)
    config = load(path, REGISTRY, secrets=False)
    assert len(config.inventory.devices) == 2


def test_the_collector_sample_is_a_valid_site_file(tmp_path: Path) -> None:
    """Loaded as a site file, with the SNMP kind's own model and the uplink it names."""
    import yaml

    data = yaml.safe_load((ROOT / "collectors/snmp/sample.yaml").read_text())
    pop = {"id": "pop-sangatta", "name": "POP", "kind": "pop", "devices": []}
    data["sites"].append(pop)
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "sample.yaml").write_text(yaml.safe_dump(data))
    main = "inventory: sites/*.yaml\ndefaults: {snmp: {community: {env: C}}}\n"
    (tmp_path / "netmon.yaml").write_text(main)
    config = load(tmp_path / "netmon.yaml", REGISTRY, secrets=False)
    assert list(config.inventory.sites["desa-contoh"].devices)[:1] == ["rtr-desa-contoh"]
