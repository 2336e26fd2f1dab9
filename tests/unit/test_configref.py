"""The configuration reference (docs/configuration.md) is current, complete and correct."""

from __future__ import annotations

import enum
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import pytest
from pydantic import BaseModel, Field

from collectors import REGISTRY
from netmon.config import load
from netmon.config.models import MainConfig
from netmon.config.site_models import SiteFile
from netmon.schema import SecretRef, Strict
from netmon.tools.reference import config as configref
from tests.helpers import ROOT, snmp_of

DOC = ROOT / "docs" / "configuration.md"
REGENERATE = "run `netmon reference config > docs/configuration.md`"
EXAMPLE = re.compile(r"<!-- example: (.+?) -->\n```yaml\n(.*?)\n```", re.S)
SECRETS = {
    "NETMON_SNMP_COMMUNITY": "community-for-the-example",
    "NETMON_SNMPV3_AUTH_KEY": "intranet-auth-passphrase",
    "NETMON_SNMPV3_PRIV_KEY": "intranet-priv-passphrase",
    "NETMON_MQTT_PASSWORD": "mqtt-password",
    "NETMON_TRAP_COMMUNITY": "trap-community",
    "NETMON_TRAP_AUTH_KEY": "trap-auth-passphrase",
    "NETMON_TRAP_PRIV_KEY": "trap-priv-passphrase",
}

MINIMAL_MAIN = "defaults: {snmp: {community: {env: NETMON_SNMP_COMMUNITY}}}\n"
MINIMAL_SITES = """\
kabupaten: Berau
sites:
  - {id: pop-a, name: POP A, kind: pop, devices: [{id: rtr-a, address: 10.0.0.1}]}
"""


def _profiles() -> set[str]:
    from collectors.snmp import builtin_profiles

    return set(builtin_profiles())


def _stream_models() -> dict[str, type[BaseModel]]:
    return {name: spec.model for name, spec in REGISTRY.sections().items()}


def _models_in(tp: Any) -> list[type[BaseModel]]:
    """Models inside an annotation, found independently of netmon.tools.reference.config."""
    if get_origin(tp) is Annotated:
        return _models_in(get_args(tp)[0])
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in get_args(tp) for m in _models_in(arg)]


def _reachable() -> set[type[BaseModel]]:
    todo: list[type[BaseModel]] = [MainConfig, SiteFile, SecretRef, *_stream_models().values()]
    for spec in REGISTRY.device_kinds:  # each kind's keys of a device entry and of defaults
        models = (spec.model, spec.defaults, spec.overrides, spec.top)
        todo.extend(m for m in models if m is not None)
    seen: set[type[BaseModel]] = set()
    while todo:
        model = todo.pop()
        if model not in seen:
            seen.add(model)
            for info in model.model_fields.values():
                todo.extend(_models_in(info.annotation))
    return seen


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    for variable, _target in configref.env_overrides():
        monkeypatch.delenv(variable, raising=False)


def test_the_committed_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == configref.render(REGISTRY), (
        f"docs/configuration.md is stale: {REGENERATE}"
    )


def test_the_output_does_not_depend_on_the_process() -> None:
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    out = subprocess.run(
        [sys.executable, "-m", "netmon.tools.reference.config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout == configref.render(REGISTRY)


def test_every_field_of_every_model_is_listed() -> None:
    text = configref.render(REGISTRY)
    listed = {(e.model, e.name): e.path for e in configref.entries(REGISTRY, shown_only=True)}
    missing = []
    for model in _reachable():
        for name in model.model_fields:
            path = listed.get((model, name))
            if path is None or f"| `{path}` |" not in text:
                missing.append(f"{model.__name__}.{name}")
    assert not missing, f"fields missing from the reference: {sorted(missing)}"
    for name in _stream_models():
        assert f"## `{name}:` in netmon.yaml" in text


def test_no_field_lacks_a_description() -> None:
    gaps = configref.undocumented(REGISTRY)
    assert not gaps, (
        f"add a docstring under these fields in their model (then regenerate the reference): {gaps}"
    )


def test_types_defaults_and_constraints_are_in_plain_words() -> None:
    rows = {e.path: e for e in configref.entries(REGISTRY)}
    timeout = rows["defaults.snmp.timeout"]
    assert (timeout.type, timeout.default) == ("duration", "`2s`")
    assert timeout.constraints == "more than 0"
    assert rows["mqtt.session_expiry"].default == "`7d`"
    assert rows["sites[].devices[].icmp.interval"].default == "`200ms`"
    assert rows["status.hold"].constraints == "at least 0"
    assert rows["defaults.snmp.port"].constraints == "1 to 65535"
    assert rows["sites[].kind"].default == "*required*"
    assert rows["sites[].network"].type == "one of `public`, `intranet`"
    assert rows["sites[].uplinks"].type == "list of id"
    assert "secret reference" in rows["sites[].devices[].snmp.community"].type
    assert rows["traps.communities"].type.startswith("list of secret reference")
    assert rows["mqtt.protocol"].type == 'one of `3.1.1`, `"5"`'  # YAML's 5 is no string
    assert rows["mqtt.subscriptions[].device"].default == '`"{site}"`'
    assert rows["traps.users[].engine_ids"].constraints == "at least 1 item"
    kinds = rows["defaults.by_uplink_kind"].type
    assert kinds.startswith("mapping from link kind (one of `fiber`, `radio`, `vsat`")
    assert "defaults.by_uplink_kind.<link_kind>.snmp.user.auth.key" in rows


class _Kind(enum.StrEnum):
    """An enum with its own docstring."""

    a = "a"


class _Sample(Strict):
    above: int = 1
    """first line
    second line"""
    # an ordinary comment documents nothing
    plain: int = 2
    field: int = Field(default=4, description="from   Field")
    """loses to the description"""
    kind: _Kind = _Kind.a


def test_descriptions_come_from_field_docs_then_the_type() -> None:
    """A field's description (given, or pydantic's from the docstring under it), else its
    type's docstring; a comment is no documentation."""
    found = {
        name: configref.describe(_Sample, name, info) for name, info in _Sample.model_fields.items()
    }
    assert found == {
        "above": "first line second line",
        "plain": "",
        "field": "from Field",
        "kind": "An enum with its own docstring.",
    }


def test_environment_overrides_are_documented_and_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {
        "NETMON_LISTEN": ("0.0.0.0:19800", "0.0.0.0:19800"),
        "NETMON_LOG_LEVEL": ("debug", "debug"),
        "NETMON_RELOAD_ENABLED": ("true", True),
    }
    text = configref.render(REGISTRY)
    sites = tmp_path / "sites"
    sites.mkdir()
    (tmp_path / "netmon.yaml").write_text(MINIMAL_MAIN)
    (sites / "a.yaml").write_text(MINIMAL_SITES)
    for variable, target in configref.env_overrides():
        assert target is not None, (
            f"{variable}: add it to netmon.tools.reference.config.ENV_TARGETS"
        )
        assert f"| `{variable}` | [`{target}`]" in text
        assert variable in values, f"{variable}: add a sample value to this test"
        raw, expected = values[variable]
        with monkeypatch.context() as env:
            env.setenv(variable, raw)
            node: Any = load(tmp_path / "netmon.yaml", REGISTRY).main
        for key in target.split("."):
            node = getattr(node, key)
        assert node == expected, f"{variable}={raw} did not set {target}"


def test_the_examples_load_with_the_real_loader(tmp_path: Path) -> None:
    """The examples, put into a copy of the example province, load; berau.yaml's place
    takes the site file example (its uplinks are sites of the other files)."""
    examples = dict(EXAMPLE.findall(DOC.read_text(encoding="utf-8")))
    streams = sorted(_stream_models())
    assert set(examples) == {"netmon.yaml", "site file", "contract file", *streams}
    (tmp_path / "netmon.yaml").write_text(
        "\n".join(examples[name] for name in ["netmon.yaml", *streams]) + "\n"
    )
    sites = tmp_path / "sites"
    sites.mkdir()
    for path in sorted((ROOT / "config" / "sites").glob("*.yaml")):
        if path.name != "berau.yaml":
            shutil.copy(path, sites / path.name)
    (sites / "berau.yaml").write_text(examples["site file"] + "\n")
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "telkom.yaml").write_text(examples["contract file"] + "\n")
    config = load(tmp_path / "netmon.yaml", REGISTRY)
    # the contract names its circuit; the site file example's POP has it
    assert config.contracts["tlk-kutim-2026"].sites == ("pop-tanjung-redeb",)
    assert sorted(config.sections) == streams
    inventory = config.inventory
    modem = inventory.devices["modem-teluk-harapan"]
    assert inventory.sites["desa-teluk-harapan"].uplink_kind == "vsat"
    assert (modem.interval, snmp_of(modem).timeout, snmp_of(modem).port) == (300.0, 5.0, 1161)
    assert inventory.devices["rtr-suaran"].interval == 60.0
    assert inventory.sites["desa-suaran"].maintenance
    community = snmp_of(inventory.devices["rtr-suaran"]).community
    assert community is not None
    assert community.reveal() == SECRETS["NETMON_SNMP_COMMUNITY"]
    assert not any("berau" in str(w) for w in config.warnings), config.warnings
