"""Issue 12 item 6: which config is running. After each load /metrics says
netmon_config_info{sha256, revision}: the digest of the files the load read and the git
commit of their checkout (-dirty when they differ from it), so an operator can tell which
push is live. The expected values are computed here with hashlib and git themselves."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from tests.harness import start

pytestmark = pytest.mark.integration

SITE = """\
kabupaten: Berau
sites:
  - id: pop-a
    name: POP A
    kind: pop
    devices:
      - id: rtr-a
        address: 127.0.0.1
        profiles: []
        service: {checks: [{name: web, kind: tcp, port: 9}]}
"""


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=admin", "-c", "user.email=a@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    )
    return done.stdout.strip()


def expected_digest(root: Path) -> str:
    """netmon.yaml and the site files, each as relative path NUL bytes NUL, sorted."""
    out = hashlib.sha256()
    for path in sorted([root / "netmon.yaml", *sorted((root / "sites").glob("*.yaml"))]):
        out.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return out.hexdigest()


def info(text: str) -> dict[str, str]:
    (line,) = [ln for ln in text.splitlines() if ln.startswith("netmon_config_info{")]
    return dict(re.findall(r'(\w+)="([^"]*)"', line))


async def test_the_running_config_is_named_by_digest_and_commit(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    (tmp_path / "netmon.yaml").write_text("defaults: {interval: 60s}\n")
    (tmp_path / "sites" / "berau.yaml").write_text(SITE)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first push")
    first = git(tmp_path, "rev-parse", "HEAD")
    async with start(tmp_path / "netmon.yaml") as running:
        _, text = await running.get("/metrics")
        assert info(text) == {"sha256": expected_digest(tmp_path), "revision": first}

        # an edit not committed yet: a new digest, the commit marked dirty
        (tmp_path / "sites" / "berau.yaml").write_text(SITE.replace("POP A", "POP Tanjung"))
        assert await running.daemon.reload() == (True, [])
        _, text = await running.get("/metrics")
        dirty = info(text)
        assert dirty == {"sha256": expected_digest(tmp_path), "revision": f"{first}-dirty"}

        git(tmp_path, "commit", "-q", "-am", "rename the POP")
        second = git(tmp_path, "rev-parse", "HEAD")
        assert await running.daemon.reload() == (True, [])
        _, text = await running.get("/metrics")
        assert info(text) == {"sha256": dirty["sha256"], "revision": second}

        # a push that does not load leaves the running config's identity alone
        (tmp_path / "netmon.yaml").write_text("defaults: {interval: often}\n")
        ok, _errors = await running.daemon.reload()
        assert not ok
        _, text = await running.get("/metrics")
        assert info(text)["revision"] == second
        assert "config loaded" in running.logs.getvalue()


async def test_a_config_outside_git_has_an_empty_revision(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    (tmp_path / "netmon.yaml").write_text("defaults: {interval: 60s}\n")
    (tmp_path / "sites" / "berau.yaml").write_text(SITE)
    async with start(tmp_path / "netmon.yaml") as running:
        _, text = await running.get("/metrics")
        assert info(text) == {"sha256": expected_digest(tmp_path), "revision": ""}
