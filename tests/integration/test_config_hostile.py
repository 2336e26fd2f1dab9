"""Issue 12, item 1: hostile config files, through the real processes an admin runs.

Each case runs twice: `netmon check`, and a running `netmon run` that receives SIGHUP
(it must refuse the load with one error line, keep its old config and /metrics, count
the failure in netmon_config_reloads_total, and take a good config at the next SIGHUP).
Both run under a cap on their address space: a case that regresses to reading
/dev/zero or composing millions of nodes fails its test instead of eating the machine.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from netmon.config.yamlmarks import MAX_ALIAS_VALUES, MAX_NODES
from netmon.tools.simulate import free_tcp_port, free_udp_port
from tests.helpers import ROOT, values, wait_for, write_config

pytestmark = pytest.mark.integration

#: address space for each netmon process: a daemon with a small config takes about 250 MB
#: (threads and their malloc arenas included), the densest file within the bounds 500 MB
MEMORY_CAP = 1024 * 1024 * 1024
COMMUNITIES = {"rtr-a": ("public-a", ["system"]), "rtr-b": ("public-b", ["system"])}


@dataclass(frozen=True)
class Expect:
    """The one error line a hostile config must give."""

    file: Path
    says: str
    line: int | None = None  # None: somewhere in the file (an alias bomb's cut-off point)
    col: int | range | None = None  # a range: somewhere in it
    #: paths the case created (a FIFO, a link): removed before the good config is written
    made: tuple[Path, ...] = ()

    def check(self, error: str) -> None:
        match = re.match(rf"{re.escape(str(self.file))}:(\d+):(\d+): (.*)$", error)
        assert match, error
        line, col = int(match[1]), int(match[2])
        assert self.line is None or line == self.line, error
        cols = self.col if isinstance(self.col, range) else [self.col]
        assert self.col is None or col in cols, error
        assert self.says in match[3], error


def line_col(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column (in characters) of the first ``needle`` in ``text``."""
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def secret_case(root: Path, target: str, says: str) -> Expect:
    """rtr-b's community read from ``target``: the error points at its reference."""
    sites = root / "sites" / "test.yaml"
    text = sites.read_text().replace("file: secrets/rtr-b", f"file: {target}")
    sites.write_text(text)
    line, col = line_col(text, f"file: {target}")
    return Expect(sites, says, line, col)


def secret_dev_zero(root: Path) -> Expect:
    says = "cannot read secret file /dev/zero: a character device, not a regular file"
    return secret_case(root, "/dev/zero", says)


def secret_fifo(root: Path) -> Expect:
    fifo = root / "secrets" / "rtr-b"
    fifo.unlink()
    os.mkfifo(fifo)
    says = "cannot read secret file secrets/rtr-b: a FIFO, not a regular file"
    return dataclasses.replace(secret_case(root, "secrets/rtr-b", says), made=(fifo,))


def secret_too_big(root: Path) -> Expect:
    (root / "secrets" / "rtr-b").write_text("k" * (64 * 1024 + 1))
    says = "cannot read secret file secrets/rtr-b: larger than 64 KiB"
    return secret_case(root, "secrets/rtr-b", says)


def secret_not_utf8(root: Path) -> Expect:
    (root / "secrets" / "rtr-b").write_bytes("rahasia-désa\n".encode("latin-1"))
    return secret_case(root, "secrets/rtr-b", "secret file secrets/rtr-b is not UTF-8 text")


def extra(root: Path) -> Path:
    return root / "sites" / "extra.yaml"


def site_text(root: Path, text: str | bytes, says: str, needle: str | None = None) -> Expect:
    """A second site file; the error at ``needle`` in it (or anywhere, without one)."""
    path = extra(root)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    if needle is None:
        return Expect(path, says)
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    line, col = line_col(decoded, needle)
    return Expect(path, says, line, col)


def site_fifo(root: Path) -> Expect:
    os.mkfifo(extra(root))
    return Expect(extra(root), "cannot read: a FIFO, not a regular file", 1, 1, (extra(root),))


def site_dev_zero(root: Path) -> Expect:
    extra(root).symlink_to("/dev/zero")
    says = "cannot read: a character device, not a regular file"
    return Expect(extra(root), says, 1, 1, (extra(root),))


def site_too_big(root: Path) -> Expect:
    with extra(root).open("wb") as out:
        out.truncate(16 * 1024 * 1024 + 1)  # sparse: no disk used
    return Expect(extra(root), "cannot read: larger than 16 MiB", 1, 1)


def site_dense(root: Path) -> Expect:
    """More nodes than MAX_NODES in 2 bytes each, 2 MB: the mapping, its key and the list
    are the first 3 nodes, so item MAX_NODES - 2 is the node that crosses the limit."""
    extra(root).write_text("sites: [" + "a," * MAX_NODES + "a]\n")
    col = len("sites: [") + 2 * (MAX_NODES - 2 - 1) + 1
    return Expect(extra(root), f"more than {MAX_NODES} values in one file", 1, col)


def alias_bomb(root: Path) -> Expect:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    says = f"aliases expand to more than {MAX_ALIAS_VALUES} values"
    return site_text(root, "\n".join(lines) + "\n", says)


def alias_into_itself(root: Path) -> Expect:
    says = "sites.0: an alias refers to a value that contains it"
    return site_text(root, "kabupaten: K\nsites: &r [*r]\n", says, "&r")


def deep_brackets(root: Path) -> Expect:
    extra(root).write_text("sites: " + "[" * 10_000 + "]" * 10_000 + "\n")
    # which bracket: whichever bound stops it first (netmon's or libyaml's); not 1:1
    return Expect(extra(root), "nest", 1, range(len("sites: ") + 1, len("sites: ") + 10_001))


def site_not_utf8(root: Path) -> Expect:
    says = "not UTF-8 text (byte 0xe9); save the file as UTF-8"
    return site_text(root, b"kabupaten: K\xe9\nsites: []\n", says, "\ufffd")


def python_tag(root: Path) -> Expect:
    text = "kabupaten: K\nsites:\n  - !!python/name:os.system x\n"
    says = "sites.0: YAML: could not determine a constructor for the tag"
    return site_text(root, text, says, "!!python")


def nul_byte(root: Path) -> Expect:
    text = "kabupaten: K\nsites:\n  - id: a\x00b\n"
    return site_text(root, text, "YAML: control character U+0000 is not allowed", "\x00")


CASES: dict[str, Callable[[Path], Expect]] = {
    f.__name__: f
    for f in (
        secret_dev_zero,
        secret_fifo,
        secret_too_big,
        secret_not_utf8,
        site_fifo,
        site_dev_zero,
        site_too_big,
        site_dense,
        alias_bomb,
        alias_into_itself,
        deep_brackets,
        site_not_utf8,
        python_tag,
        nul_byte,
    )
}


def capped(*args: str) -> list[str]:
    prlimit = shutil.which("prlimit")
    assert prlimit, "prlimit (util-linux) is needed to cap the memory of these tests"
    return [prlimit, f"--as={MEMORY_CAP}", sys.executable, "-m", "netmon", *args]


def good_config(root: Path, devices: dict[str, tuple[str, list[str]]]) -> Path:
    """Devices on a UDP port nothing answers on: the polls do not matter here."""
    return write_config(root, free_udp_port(), devices, interval="1h", reload_enabled=False)


@pytest.mark.parametrize("spoil", CASES.values(), ids=CASES.keys())
def test_check_gives_one_error_line_at_its_place(
    tmp_path: Path, spoil: Callable[[Path], Expect]
) -> None:
    config = good_config(tmp_path, COMMUNITIES)
    expect = spoil(tmp_path)
    result = subprocess.run(
        capped("check", "-c", str(config)),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    expect.check(lines[0])
    assert "1 error(s); nothing was changed" in lines, lines


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
        body: bytes = resp.read()
        return body.decode()


def answers(url: str) -> bool:
    try:
        get(url)
    except OSError:
        return False
    return True


def reloads(base: str, result: str) -> list[float]:
    return values(get(base + "/metrics"), "netmon_config_reloads_total", result=result)


def devices(base: str) -> set[str]:
    return {t["device"] for t in json.loads(get(base + "/api/v1/targets"))["data"]}


@pytest.mark.parametrize("spoil", CASES.values(), ids=CASES.keys())
def test_the_daemon_refuses_it_on_sighup_runs_on_and_takes_the_next_good_config(
    tmp_path: Path, spoil: Callable[[Path], Expect]
) -> None:
    config = good_config(tmp_path, COMMUNITIES)
    base = f"http://127.0.0.1:{free_tcp_port()}"
    log = tmp_path / "netmon.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            capped("run", "-c", str(config), "--listen", base.removeprefix("http://")),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            cwd=ROOT,
        )
    try:
        wait_for(lambda: answers(base + "/-/ready"), 30, "netmon ready")
        expect = spoil(tmp_path)
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: reloads(base, "failure") == [1.0], 60, "the reload counted as failed")
        assert proc.poll() is None
        assert devices(base) == set(COMMUNITIES)  # the old config runs on
        events = [json.loads(line) for line in log.read_text().splitlines()]
        errors = [e for e in events if e["level"] == "error"]
        assert len(errors) == 1, errors
        expect.check(errors[0]["error"])
        # the next good config is taken: remove what the case made, drop rtr-b
        for path in expect.made:
            path.unlink()
        extra(tmp_path).unlink(missing_ok=True)
        good_config(tmp_path, {"rtr-a": COMMUNITIES["rtr-a"]})
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: reloads(base, "success") == [2.0], 60, "the good reload")
        assert devices(base) == {"rtr-a"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text()
