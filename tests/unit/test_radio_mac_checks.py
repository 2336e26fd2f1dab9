"""radio_mac across the inventory: one MAC on two devices is an error naming both places.
Positions are counted in the YAML text written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors import REGISTRY
from netmon.config import load
from tests.helpers import ROOT
from tests.unit.test_config import errors_of, write  # the same netmon.yaml (MAIN) as there

SITES = """\
kabupaten: Kutai Timur
sites:
  - id: pop-a
    name: POP A
    kind: pop
    devices:
      - {id: ap-a, address: 10.20.0.2, profiles: [system, if_mib, airos]}
      - {id: sw-a, address: 10.20.0.1, radio_mac: "68:72:51:00:34:25"}
  - id: desa-b
    name: Desa B
    kind: village_office
    uplinks: [pop-a]
    devices:
      - {id: cpe-b, address: 10.20.1.2, radio_mac: 68-72-51-00-34-26, profiles: [system]}
links:
  - {id: bh-1, kind: radio, a: pop-a/ap-a:ath0, b: desa-b/cpe-b:ath0}
"""

#: sw-a's radio_mac as written in SITES (a quoted scalar starts at its quote)
QUOTED = '"68:72:51:00:34:25"'

OTHER = """\
kabupaten: Berau
sites:
  - id: desa-c
    name: Desa C
    kind: school
    devices:
      - {id: cpe-c, address: 10.30.1.2, radio_mac: 6872.5100.3425, profiles: [system]}
"""


@pytest.fixture(autouse=True)
def _community(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_COMMUNITY", "s3cret-community")
    monkeypatch.chdir(ROOT)


def at(text: str, needle: str, nth: int = 0) -> str:
    """line:col (1-based) where ``needle`` starts, its ``nth`` occurrence in ``text``."""
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(needle, pos + 1)
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"{line}:{col}"


def test_distinct_macs_load(tmp_path: Path) -> None:
    config = load(write(tmp_path, kutim=SITES), REGISTRY)
    assert config.inventory.devices.keys() == {"ap-a", "sw-a", "cpe-b"}


def test_the_same_mac_on_two_devices_of_a_file(tmp_path: Path) -> None:
    # written another way, but the same MAC: 68:72:51:00:34:25
    text = SITES.replace("68-72-51-00-34-26", "68-72-51-00-34-25")
    assert errors_of(write(tmp_path, kutim=text)) == [
        f"sites/kutim.yaml:{at(text, '68-72-51')}: sites.1.devices.0.radio_mac: duplicate "
        f"radio_mac 68:72:51:00:34:25 (first on device 'sw-a' at "
        f"sites/kutim.yaml:{at(text, QUOTED)})"
    ]


def test_the_same_mac_in_another_file_names_the_first(tmp_path: Path) -> None:
    # files load in name order: a_kutim first, so the one in b_berau is the duplicate
    assert errors_of(write(tmp_path, a_kutim=SITES, b_berau=OTHER)) == [
        f"sites/b_berau.yaml:{at(OTHER, '6872.5100')}: sites.0.devices.0.radio_mac: "
        f"duplicate radio_mac 68:72:51:00:34:25 (first on device 'sw-a' at "
        f"sites/a_kutim.yaml:{at(SITES, QUOTED)})"
    ]


def test_every_repeat_names_the_first(tmp_path: Path) -> None:
    text = SITES.replace("68-72-51-00-34-26", "68:72:51:00:34:25")
    errors = errors_of(write(tmp_path, a_kutim=text, b_berau=OTHER))
    first = f"(first on device 'sw-a' at sites/a_kutim.yaml:{at(text, QUOTED)})"
    assert [e.split(": ", 1)[0] for e in errors] == [
        f"sites/a_kutim.yaml:{at(text, '68:72:51', 1)}",
        f"sites/b_berau.yaml:{at(OTHER, '6872.5100')}",
    ]
    assert all(e.endswith(first) for e in errors)


def test_a_repeated_device_id_is_not_also_a_repeated_mac(tmp_path: Path) -> None:
    # the same entry twice: one error, the device id's
    again = OTHER.replace("cpe-c", "sw-a").replace("6872.5100.3425", '"68:72:51:00:34:25"')
    errors = errors_of(write(tmp_path, a_kutim=SITES, b_berau=again))
    assert len(errors) == 1
    assert "duplicate device id 'sw-a'" in errors[0]
