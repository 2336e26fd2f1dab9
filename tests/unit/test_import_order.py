"""Every entry module imports on its own, first, in a fresh interpreter: an import cycle
(netmon.api loads netmon.config on its last line, which reaches back into modules that
import netmon.api) shows only when the cycle's far end is imported first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST = ["netmon.inventory", "netmon.status", "netmon.api", "netmon.config", "netmon.report"]


@pytest.mark.parametrize("module", FIRST)
def test_module_imports_first(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-1500:]
