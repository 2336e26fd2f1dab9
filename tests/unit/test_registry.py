"""Issue 11, item 1: the collectors are one explicit list (collectors.REGISTRY) that the
CLI hands to the core; importing a collector registers nothing, and the core never
imports one."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import netmon.api
from collectors import REGISTRY, mqtt, service
from netmon.api import DeviceKind, Registry
from tests.helpers import ROOT

#: the one module of netmon allowed to import the collectors (the CLI's wiring), and the
#: demo, a tool that runs collectors' simulators beside netmon (issue 11 item 3: tools
#: move to subpackages of their own)
ALLOWED = {ROOT / "netmon/cli/wiring.py"}
TOOLS = ROOT / "netmon/tools/demo"


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_core_never_imports_a_collector() -> None:
    offenders = {}
    for path in sorted((ROOT / "netmon").rglob("*.py")):
        if path in ALLOWED or TOOLS in path.parents:
            continue
        found = sorted(n for n in _imported(path) if n.split(".")[0] == "collectors")
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


def test_the_api_keeps_no_registry_of_its_own() -> None:
    """No module-level dict, list or set in netmon.api that an import could fill."""
    mutable = {
        name: type(value).__name__
        for name, value in vars(netmon.api).items()
        if not name.startswith("__") and isinstance(value, dict | list | set)
    }
    assert mutable == {}


def test_importing_every_collector_changes_nothing_in_the_core() -> None:
    """In a fresh interpreter: the API's module namespace, contents included, is the same
    before and after every collector package is imported (nothing registered itself)."""
    script = (
        "import netmon.api, netmon.config\n"
        "def seen(): return {k: repr(v) for k, v in vars(netmon.api).items()}\n"
        "before = seen()\n"
        "import collectors.icmp, collectors.mqtt, collectors.service, collectors.snmp, "
        "collectors.trap\n"
        "after = seen()\n"
        "print(sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_the_list_has_each_kind_once() -> None:
    with pytest.raises(ValueError, match=r"stream section listed twice.*: mqtt"):
        Registry(streams=[mqtt.MQTT, mqtt.MQTT])
    with pytest.raises(ValueError, match=r"device block key listed twice.*: service"):
        Registry(polling=REGISTRY.polling, device_kinds=[service.SERVICE, service.SERVICE])


def test_a_device_block_needs_its_polling_collector() -> None:
    orphan = DeviceKind(kind="camera", key="camera", model=object, build=lambda b, _c: b)
    with pytest.raises(ValueError, match="device block 'camera': no polling collector"):
        Registry(polling=REGISTRY.polling, device_kinds=[orphan])


def test_an_unknown_kind_is_a_lookup_error_naming_the_known_ones() -> None:
    without_snmp = Registry(polling={k: f for k, f in REGISTRY.polling.items() if k != "snmp"})
    with pytest.raises(LookupError, match=r"'snmp'.*known: icmp, service\)"):
        without_snmp.collector_factory("snmp")


#: the daemon's core (issue 11): it runs, validates and reads for status whatever the
#: registry lists, and names no collector kind itself
CORE = [
    *(ROOT / "netmon" / f"{name}.py" for name in ("scheduler", "store", "exposition", "http")),
    *(ROOT / "netmon" / f"{name}.py" for name in ("daemon", "directory", "jobs", "streams")),
    ROOT / "netmon" / "inventory.py",
    *sorted((ROOT / "netmon" / "status").glob("*.py")),
    *sorted((ROOT / "netmon" / "config").glob("*.py")),
]


def _kind_names() -> set[str]:
    names = set(REGISTRY.polling) | {s.kind for s in REGISTRY.streams}
    names |= {s.section for s in REGISTRY.streams}
    names |= {s.section for s in REGISTRY.device_kinds if s.section}
    return names | {key for spec in REGISTRY.device_kinds for key in spec.keys}


def _named(path: Path, kinds: set[str]) -> list[str]:
    """Where a module names a kind: a string (not a docstring), an attribute, a field."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    found = []
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                name = node.value.split(":")[0]
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
        if name in kinds:
            found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}: {name}")
    return found


def test_the_core_names_no_collector_kind() -> None:
    kinds = _kind_names()
    assert {"snmp", "icmp", "service", "mqtt", "trap", "profiles"} <= kinds
    offenders = [where for path in CORE for where in _named(path, kinds)]
    assert offenders == []
