"""Item 12 of issue 10: one broken profile file stops only what uses it, with file:line:col."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import collectors.snmp.profile as profile_module
from collectors.snmp.profile import PROFILE_DIR, load_dir
from netmon.cli import main

TYPO = """\
name: typo
description: a profile with one typo
tables:
  - name: t
    walk: [1.3.6.1.4.1.9999.1]
    columns:
      c: {oid: 1.3.6.1.4.1.9999.1.1, tpye: gauge}
    metrics:
      - {name: netmon_x_ratio, help: h, value: c}
"""


@pytest.fixture
def profile_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped profiles plus one with a typo, as the package's folder."""
    for path in PROFILE_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "typo.yaml").write_text(TYPO)
    monkeypatch.setattr(profile_module, "PROFILE_DIR", tmp_path)
    profile_module.load_builtin.cache_clear()
    yield tmp_path
    profile_module.load_builtin.cache_clear()


def test_a_typo_names_its_file_line_and_column(profile_dir: Path) -> None:
    loaded = load_dir(profile_dir, "profiles")
    assert "typo" not in loaded.valid
    assert {"system", "if_mib", "mikrotik"} <= set(loaded.valid)
    # line 7, column 11: the mapping that holds the unknown key "tpye"
    assert loaded.broken["typo"].startswith("profiles/typo.yaml:7:")
    assert "tpye" in loaded.broken["typo"]


def test_netmon_profiles_lists_the_good_ones_and_names_the_broken(
    profile_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profiles"]) == 1
    out, err = capsys.readouterr()
    assert "mikrotik" in out
    assert "typo" not in out
    assert "typo.yaml:7:" in err
    assert "Traceback" not in err


def test_netmon_poll_with_the_broken_profile_says_why(
    profile_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETMON_TEST_COMMUNITY", "x")
    code = main(
        ["poll", "127.0.0.1", "--profile", "typo", "--community-env", "NETMON_TEST_COMMUNITY"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "profile typo is broken" in err
    assert "typo.yaml:7:" in err


def test_a_device_that_names_the_broken_profile_is_a_config_error_saying_why(
    profile_dir: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path_factory.mktemp("cfg")
    (root / "sites").mkdir()
    (root / "netmon.yaml").write_text("inventory: sites/*.yaml\n")
    (root / "sites" / "a.yaml").write_text(
        "kabupaten: Berau\nsites:\n  - id: s1\n    name: S1\n    kind: noc\n"
        "    devices:\n      - {id: r1, address: 127.0.0.1, profiles: [system, typo]}\n"
    )
    assert main(["check", "-c", str(root / "netmon.yaml"), "--no-secrets"]) == 1
    err = capsys.readouterr().err
    assert "profile 'typo' is broken: collectors/snmp/profiles/typo.yaml:7:" in err
    assert "a.yaml:7:" in err  # the device's line: where the admin has to look
