"""Issue 13 item 1: profiles outside the package. `profiles_dirs:` in netmon.yaml is
searched before the built-in profiles; a user's profile may replace a built-in one by
name (netmon check says so); a broken one stops only the devices that use it; an edited
one changes the settings (so the poll) of its devices only."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors import REGISTRY
from netmon.config import ConfigErrors, load
from tests.helpers import snmp_of

MTU = """\
name: my_mtu
description: Interface MTU (a user's profile)
tables:
  - name: mtu
    walk: [1.3.6.1.2.1.2.2.1]
    columns:
      ifMtu: {oid: 1.3.6.1.2.1.2.2.1.4}
    labels:
      ifindex: "@index"
    metrics:
      - name: netmon_interface_largest_frame_bytes
        help: Largest packet an interface sends (IF-MIB ifMtu).
        value: {column: ifMtu}
"""


def write(root: Path, devices: str, main_extra: str = "profiles_dirs: [profiles]\n") -> Path:
    (root / "sites").mkdir(exist_ok=True)
    (root / "profiles").mkdir(exist_ok=True)
    (root / "netmon.yaml").write_text(
        "defaults: {snmp: {community: {env: T_COMMUNITY}}}\n" + main_extra
    )
    (root / "sites" / "a.yaml").write_text(
        "kabupaten: Berau\nsites:\n  - id: pop-a\n    name: POP A\n    kind: pop\n"
        f"    devices:\n{devices}"
    )
    return root / "netmon.yaml"


TWO = (
    "      - {id: rtr-a, address: 10.0.0.1, profiles: [system, my_mtu]}\n"
    "      - {id: rtr-b, address: 10.0.0.2, profiles: [system, if_mib]}\n"
)


@pytest.fixture(autouse=True)
def _community(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_COMMUNITY", "c")


def test_a_users_profile_is_found_in_its_folder(tmp_path: Path) -> None:
    config = write(tmp_path, TWO)
    (tmp_path / "profiles" / "my_mtu.yaml").write_text(MTU)
    inventory = load(config, REGISTRY).inventory
    specs = snmp_of(inventory.devices["rtr-a"]).specs
    assert [p.name for p in specs] == ["system", "my_mtu"]
    assert [m.name for m in specs[1].metric_meta()] == ["netmon_interface_largest_frame_bytes"]


def test_a_profile_that_replaces_a_builtin_one_is_said(tmp_path: Path) -> None:
    config = write(tmp_path, TWO.replace("my_mtu", "if_mib"))
    (tmp_path / "profiles" / "if_mib.yaml").write_text(MTU.replace("my_mtu", "if_mib"))
    loaded = load(config, REGISTRY)
    warnings = [str(w) for w in loaded.warnings]
    # netmon.yaml line 2 is `profiles_dirs: [profiles]`: column 17 is the folder's name
    assert warnings == [
        f"{config}:2:17: profiles_dirs.0: profile 'if_mib' of profiles replaces the built-in one"
    ]
    specs = snmp_of(loaded.inventory.devices["rtr-b"]).specs
    assert specs[1].description == "Interface MTU (a user's profile)"  # the user's wins


def test_a_folder_that_is_not_there_is_an_error(tmp_path: Path) -> None:
    config = write(tmp_path, TWO, "profiles_dirs: [profiles, nowhere]\n")
    (tmp_path / "profiles" / "my_mtu.yaml").write_text(MTU)
    with pytest.raises(ConfigErrors) as caught:
        load(config, REGISTRY)
    assert [str(e).split(": ", 1)[1] for e in caught.value.errors] == [
        "profiles_dirs.1: not a folder: nowhere"
    ]


def test_a_broken_profile_stops_only_the_devices_that_use_it(tmp_path: Path) -> None:
    config = write(tmp_path, TWO)
    (tmp_path / "profiles" / "my_mtu.yaml").write_text(MTU.replace("walk:", "wlak:"))
    with pytest.raises(ConfigErrors) as caught:
        load(config, REGISTRY)
    errors = [str(e) for e in caught.value.errors]
    assert len(errors) == 1, errors
    assert (
        "sites.0.devices.0.profiles.1: profile 'my_mtu' is broken: profiles/my_mtu.yaml:"
        in (errors[0])
    )


def test_an_edited_profile_changes_its_devices_settings_only(tmp_path: Path) -> None:
    config = write(tmp_path, TWO)
    (tmp_path / "profiles" / "my_mtu.yaml").write_text(MTU)
    before = load(config, REGISTRY).inventory.devices
    (tmp_path / "profiles" / "my_mtu.yaml").write_text(MTU.replace("Largest", "Biggest"))
    after = load(config, REGISTRY).inventory.devices
    # a job's identity is its settings: rtr-a's poll restarts, rtr-b's goes on
    assert snmp_of(before["rtr-a"]) != snmp_of(after["rtr-a"])
    assert snmp_of(before["rtr-b"]) == snmp_of(after["rtr-b"])
