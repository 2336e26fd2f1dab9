"""What the deployment file tests share: paths, running tools, `netmon check`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.helpers import ROOT

DEPLOY = ROOT / "deploy"
UNIT = DEPLOY / "systemd" / "netmon.service"
CONTAINER = DEPLOY / "container"
K8S = DEPLOY / "k8s"
NETMON_BIN = Path(sys.executable).parent / "netmon"
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
NOT_RESOURCES = {"kustomization.yaml", "prometheus-scrape.yaml"}


def run(
    *cmd: str | Path, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def need(binary: str) -> str:
    path = shutil.which(binary) or shutil.which(binary, path=str(NETMON_BIN.parent))
    if path is None:
        pytest.fail(f"{binary} is not installed: run scripts/bootstrap.sh")
    return path


def netmon_check(config: Path, shard: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"NETMON_SHARD": shard} if shard is not None else {}
    cmd = (sys.executable, "-m", "netmon", "check", "--no-secrets", "-c", config)
    return run(*cmd, env=env)
