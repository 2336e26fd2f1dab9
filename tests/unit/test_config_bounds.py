"""Issue 12, item 1: config loading is bounded, and each hostile file is one error at its
``file:line:col``: YAML files (size, nodes, values through aliases, nesting, encoding,
characters, tags) and secret files (regular files only, bounded, never blocking).

Memory-hungry cases (``/dev/zero``, a dense 16 MiB file, an alias bomb) run as processes
under a memory cap in tests/integration/test_config_hostile.py.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from netmon.config import yamlmarks
from netmon.config.yamlmarks import ConfigErrors, LoadBudget, MarkedDoc, load_marked
from netmon.schema import SecretError, SecretRef, read_secret
from tests.helpers import ROOT

#: how long a read that must not block may take before the test calls it a hang
PROMPT = 10.0


def refusal(path: Path, budget: LoadBudget | None = None) -> str:
    """The one error line a load of ``path`` ends in."""
    with pytest.raises(ConfigErrors) as info:
        load_marked(path, budget=budget)
    assert len(info.value.errors) == 1, info.value.errors
    line = str(info.value.errors[0])
    assert "\n" not in line  # one line, not the position on a second one
    return line


def at(path: Path, line: int, col: int) -> str:
    return f"{path}:{line}:{col}: "


def line_col(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column (in characters) of the first ``needle`` in ``text``."""
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def promptly(step: Callable[[], object], fifo: Path) -> object:
    """Run ``step`` in a thread; if it blocks on ``fifo``, unblock it and fail."""
    result: list[object] = []

    def run() -> None:
        try:
            result.append(step())
        except Exception as exc:  # the assertion is about what it raised
            result.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(PROMPT)
    if worker.is_alive():  # a writer that closes at once gives the blocked reader EOF
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(PROMPT)
        pytest.fail(f"reading {fifo} blocked for {PROMPT}s")
    return result[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


# -- files: what is read at all ------------------------------------------------------


def test_a_fifo_is_refused_at_once_instead_of_blocking(fifo: Path) -> None:
    got = promptly(lambda: load_marked(fifo), fifo)
    assert isinstance(got, ConfigErrors)
    assert str(got) == f"{fifo}:1:1: cannot read: a FIFO, not a regular file"


def test_a_device_is_refused_unread(tmp_path: Path) -> None:
    """/dev/null, not /dev/zero: today's code would read /dev/zero until memory ran out
    (that case runs under a memory cap in the integration test)."""
    link = tmp_path / "site.yaml"
    link.symlink_to("/dev/null")
    assert refusal(link) == f"{link}:1:1: cannot read: a character device, not a regular file"


def test_a_file_over_the_size_limit_is_refused_and_one_at_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "kabupaten: Berau\nsites: []\n"
    path = tmp_path / "site.yaml"
    path.write_text(text)
    monkeypatch.setattr(yamlmarks, "MAX_FILE_BYTES", len(text))
    assert load_marked(path).data == {"kabupaten": "Berau", "sites": []}
    monkeypatch.setattr(yamlmarks, "MAX_FILE_BYTES", len(text) - 1)
    assert refusal(path) == f"{path}:1:1: cannot read: larger than {len(text) - 1} bytes"


def test_a_sparse_file_of_16_mib_and_one_byte_is_refused_without_reading_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as out:
        out.truncate(16 * 1024 * 1024 + 1)  # no disk used; NULs if anyone read it
    assert refusal(path) == f"{path}:1:1: cannot read: larger than 16 MiB"


# -- encoding and characters: named as such, at their place ------------------------------


def test_a_file_that_is_not_utf8_is_named_so_at_the_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_bytes("kabupaten: Berau\nname: Désa é".encode() + b"\xe9\n")
    # line 2, after "name: Désa é" (12 characters, 14 bytes)
    assert refusal(path) == at(path, 2, 13) + "not UTF-8 text (byte 0xe9); save the file as UTF-8"


@pytest.mark.parametrize(("char", "name"), [("\x00", "U+0000"), ("\x07", "U+0007")])
def test_a_control_character_is_one_line_at_its_place(tmp_path: Path, char: str, name: str) -> None:
    text = f"kabupaten: Bérau\nsites:\n  - id: désa{char}x\n"
    path = tmp_path / "site.yaml"
    path.write_text(text)
    line, col = line_col(text, char)
    assert refusal(path) == at(path, line, col) + f"YAML: control character {name} is not allowed"


def test_a_python_tag_is_one_line_at_the_tag(tmp_path: Path) -> None:
    text = "kabupaten: Berau\nsites:\n  - !!python/name:os.system x\n"
    path = tmp_path / "site.yaml"
    path.write_text(text)
    line, col = line_col(text, "!!python")
    got = refusal(path)
    assert got.startswith(at(path, line, col) + "sites.0: YAML: could not determine a constructor")
    assert "python/name:os.system" in got


@pytest.mark.parametrize("scalar", ["!!int twelve", "1" * 5000, "!!float x"])
def test_a_scalar_its_tag_cannot_build_is_an_error_at_it(tmp_path: Path, scalar: str) -> None:
    """An int of 5,000 digits is over Python's int-from-text limit: a ValueError today."""
    text = f"kabupaten: Berau\nport: {scalar}\n"
    path = tmp_path / "site.yaml"
    path.write_text(text)
    assert refusal(path).startswith(at(path, 2, 7) + "port: YAML: ")


# -- sizes: nodes, values through aliases, nesting ------------------------------------------


def flow_list(items: int) -> str:
    """A document of 3 + ``items`` nodes: the top mapping, the key, the list, its items."""
    return "sites: [" + ", ".join(["a"] * items) + "]\n"


def test_the_node_limit_counts_every_node_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlmarks, "MAX_NODES", 50)
    path = tmp_path / "site.yaml"
    path.write_text(flow_list(47))
    assert len(load_marked(path).data["sites"]) == 47
    path.write_text(flow_list(48))
    col = len("sites: [") + 3 * 47 + 1  # the 48th item, the 51st node
    assert refusal(path) == at(path, 1, col) + "more than 50 values in one file"


def test_an_alias_bomb_stops_at_the_value_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten nodes written, 9**6 values through aliases: refused past MAX_VALUES."""
    monkeypatch.setattr(yamlmarks, "MAX_VALUES", 1000)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 6)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert "expands to more than 1000 values (nested aliases?)" in refusal(path)


def test_aliases_stop_at_their_own_limit_long_before_the_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bomb costs memory as it is built: aliases have a budget of their own, far below
    the values a file may hold as written."""
    monkeypatch.setattr(yamlmarks, "MAX_ALIAS_VALUES", 500)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 6)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert refusal(path).endswith("aliases expand to more than 500 values")


def test_a_block_shared_by_many_devices_is_no_bomb(tmp_path: Path) -> None:
    """One SNMPv3 user written once and referred to by 2,000 devices: 8 values each."""
    user = "{version: '3', user: {name: n, auth: {key: {env: A}}, priv: {key: {env: P}}}}"
    lines = [f"shared: &v3 {user}", "devices:"]
    lines += [f"  - {{id: d{i}, snmp: *v3}}" for i in range(2_000)]
    path = tmp_path / "shared.yaml"
    path.write_text("\n".join(lines) + "\n")
    doc = load_marked(path)
    assert len(doc.data["devices"]) == 2_000
    assert doc.data["devices"][-1]["snmp"]["user"]["priv"] == {"key": {"env": "P"}}


def nested(depth: int) -> str:
    """``sites`` holding ``depth`` - 1 lists in one another: ``depth`` levels in all."""
    return "sites: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"


def test_nesting_is_bounded_as_written_at_the_list_that_crosses_the_limit(
    tmp_path: Path,
) -> None:
    limit = yamlmarks.MAX_DEPTH
    path = tmp_path / "deep.yaml"
    path.write_text(nested(limit))
    assert isinstance(load_marked(path).data["sites"], list)
    path.write_text(nested(limit + 1))
    col = len("sites: ") + limit  # the list at level limit + 1
    assert refusal(path) == at(path, 1, col) + f"nested more than {limit} levels deep"


def test_ten_thousand_brackets_are_one_error_in_the_brackets_not_a_recursion_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(nested(10_001))
    got = refusal(path)
    where, _, message = got.partition(": ")
    line, col = (int(n) for n in where.removeprefix(f"{path}:").split(":"))
    assert (line, len("sites: ") < col <= len("sites: ") + 10_000) == (1, True), got
    assert "nest" in message


def test_nesting_through_aliases_is_bounded_at_the_alias_that_crosses_it(
    tmp_path: Path,
) -> None:
    """Each line nests the one before through an alias: 3 levels written, 150 built."""
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 150)]
    path = tmp_path / "deep.yaml"
    path.write_text("\n".join(lines) + "\n")
    got = refusal(path)
    assert got.endswith(f"nested more than {yamlmarks.MAX_DEPTH} levels deep (through aliases)")


def test_an_alias_into_itself_is_an_error_at_its_anchor(tmp_path: Path) -> None:
    text = "kabupaten: Berau\nsites: &r [*r]\n"
    path = tmp_path / "loop.yaml"
    path.write_text(text)
    line, col = line_col(text, "&r")
    assert (
        refusal(path)
        == at(path, line, col) + "sites.0: an alias refers to a value that contains it"
    )


def test_a_key_that_is_a_collection_is_refused_without_building_it(tmp_path: Path) -> None:
    """``? &k [*k]`` would otherwise be built as a list containing itself."""
    text = "kabupaten: Berau\n? &k [*k]\n: x\n"
    path = tmp_path / "key.yaml"
    path.write_text(text)
    line, col = line_col(text, "&k")
    assert refusal(path) == at(path, line, col) + "keys must be text"


# -- one load: all its files together -------------------------------------------------------


def test_a_load_budget_bounds_the_files_together(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(flow_list(10))  # 12 values: the mapping, the list, 10 items (keys aren't)
    second.write_text(flow_list(10))
    budget = LoadBudget(bytes_left=10_000, values_left=20)
    assert isinstance(load_marked(first, budget=budget), MarkedDoc)
    assert budget.values_left == 20 - 12
    assert "the config files add up to more than" in refusal(second, budget)
    size = len(flow_list(10))
    budget = LoadBudget(bytes_left=size * 2 - 1)
    load_marked(first, budget=budget)
    assert (
        refusal(second, budget)
        == f"{second}:1:1: not read: the config files add up to more than 64 MiB"
    )


def test_the_limits_admit_a_province_of_ten_thousand_devices() -> None:
    """The example province, counted with PyYAML's own parser and scaled: 5,000 devices fit
    each limit of a single file (a kabupaten has hundreds), 10,000 the limits of one load
    (the limits are set by memory: the daemon stays under 200 MB facing hostile files)."""
    files = glob.glob(str(ROOT / "config/sites/*.yaml"))
    texts = [Path(f).read_text() for f in files]
    devices = sum(
        len(site.get("devices") or []) for t in texts for site in yaml.safe_load(t)["sites"]
    )
    starts = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
    nodes = sum(1 for t in texts for e in yaml.parse(t) if isinstance(e, starts))
    size = sum(len(t.encode()) for t in texts)
    one_file, one_load = 5_000 / devices, 10_000 / devices
    assert nodes * one_file < yamlmarks.MAX_NODES
    assert nodes * one_file < yamlmarks.MAX_VALUES  # the examples use no aliases
    assert size * one_file < yamlmarks.MAX_FILE_BYTES
    assert nodes * one_load < yamlmarks.MAX_LOAD_VALUES
    assert size * one_load < yamlmarks.MAX_LOAD_BYTES


# -- secrets --------------------------------------------------------------------------------


def secret(tmp_path: Path, name: str) -> Callable[[], str]:
    return lambda: read_secret(SecretRef(file=name), tmp_path)


def test_a_secret_from_a_fifo_is_refused_at_once(tmp_path: Path, fifo: Path) -> None:
    got = promptly(secret(tmp_path, fifo.name), fifo)
    assert isinstance(got, SecretError)
    assert str(got) == "cannot read secret file pipe: a FIFO, not a regular file"


@pytest.mark.parametrize(
    ("target", "kind"), [("/dev/null", "a character device"), ("/tmp", "a directory")]
)
def test_a_secret_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, target: str, kind: str
) -> None:
    (tmp_path / "key").symlink_to(target)
    with pytest.raises(SecretError) as info:
        secret(tmp_path, "key")()
    assert str(info.value) == f"cannot read secret file key: {kind}, not a regular file"


def test_a_secret_file_of_64_kib_is_read_and_one_byte_more_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("k" * (64 * 1024))
    assert secret(tmp_path, "key")() == "k" * (64 * 1024)
    (tmp_path / "key").write_text("k" * (64 * 1024 + 1))
    with pytest.raises(SecretError) as info:
        secret(tmp_path, "key")()
    assert str(info.value) == "cannot read secret file key: larger than 64 KiB"


def test_a_secret_that_is_not_utf8_names_the_file_never_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "key").write_bytes("rahasia-désa\n".encode("latin-1"))
    with pytest.raises(SecretError) as info:
        secret(tmp_path, "key")()
    assert str(info.value) == "secret file key is not UTF-8 text"
    assert "rahasia" not in str(info.value)
