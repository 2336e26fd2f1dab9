"""deploy/container: the Compose file against the Compose Specification's JSON schema
(vendored by check-jsonschema), its mounts, secrets and pinned images; promtool, amtool and
`netmon check` on every config it mounts; hadolint and the COPY sources of the Dockerfile.
No Docker engine here: nothing is built or started."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy_checks import (
    CONTAINER,
    DEPLOY,
    need,
    netmon_check,
    run,
)
from tests.helpers import ROOT

pytestmark = pytest.mark.integration


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONTAINER / "compose.yaml").read_text())
    return data


def schema_errors(schema: dict[str, Any], doc: Any) -> list[str]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_matches_the_compose_spec_schema() -> None:
    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(text.read_text())
    assert schema_errors(schema, compose()) == []
    typo = compose()
    typo["services"]["netmon"]["read_onyl"] = True
    assert schema_errors(schema, typo), "the schema must reject unknown keys"


def test_compose_mounts_and_builds_what_exists() -> None:
    services = compose()["services"]
    build = services["netmon"]["build"]
    context = (CONTAINER / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).is_file()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (CONTAINER / source).exists(), f"{name}: {source} does not exist"
    provisioning = (ROOT / "grafana" / "provisioning" / "datasources").glob("*.yaml")
    wanted = {v for path in provisioning for v in re.findall(r"\$\{(\w+)\}", path.read_text())}
    assert wanted <= services["grafana"]["environment"].keys()


def test_compose_pins_images_and_keeps_35_days() -> None:
    services = compose()["services"]
    for name, service in services.items():
        image = service["image"]
        tag = image.rpartition(":")[2]
        assert ":" in image, f"{name}: {image} has no tag"
        assert re.match(r"^v?\d+\.\d+\.\d+$", tag), f"{name}: {image} is not pinned"
    flags = services["prometheus"]["command"]
    assert "--storage.tsdb.retention.time=35d" in flags
    assert "../prometheus/rules:/etc/prometheus/rules:ro" in services["prometheus"]["volumes"]


def provided_secrets(service: dict[str, Any], default_dir: str) -> set[str]:
    """Paths where compose puts the service's secrets."""
    out = set()
    for item in service.get("secrets", []):
        if isinstance(item, str):
            out.add(f"{default_dir}/{item}")
        else:
            out.add(item.get("target") or f"{default_dir}/{item['source']}")
    return out


def test_compose_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    shutil.copy(CONTAINER / "prometheus.yml", tmp_path / "prometheus.yml")
    shutil.copytree(DEPLOY / "prometheus" / "rules", tmp_path / "rules")
    result = run(need("promtool"), "check", "config", tmp_path / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout
    config = yaml.safe_load((CONTAINER / "prometheus.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]
    }
    assert {"netmon:9800", "alertmanager:9093"} <= targets
    assert {"netmon", "alertmanager"} <= compose()["services"].keys()


def test_compose_alertmanager_config_renders_and_passes_amtool(tmp_path: Path) -> None:
    services = compose()["services"]
    source = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
    wanted = set(re.findall(r"/etc/alertmanager/secrets/[\w-]+", source))
    given = provided_secrets(services["alertmanager"], "/run/secrets") | provided_secrets(
        services["alertmanager-config"], "/run/secrets"
    )
    assert wanted
    assert wanted <= given, f"not provided by compose: {wanted - given}"
    # render as the one-shot service does, with its secret where the config expects it
    src = tmp_path / "src"
    shutil.copytree(DEPLOY / "alertmanager", src)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "telegram-bot-token").write_text("4242424242:compose-Test_token\n")
    (src / "alertmanager.yml").write_text(
        source.replace("/etc/alertmanager/secrets/", f"{tmp_path}/secrets/")
    )
    rendered = tmp_path / "run" / "alertmanager.yml"
    result = run(sys.executable, src / "render_secrets.py", src / "alertmanager.yml", rendered)
    assert result.returncode == 0, result.stderr
    check = run(need("amtool"), "check-config", rendered)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "1 templates" in check.stdout
    command = services["alertmanager"]["command"]
    render_out = services["alertmanager-config"]["command"][1]
    assert render_out == "/tmp/alertmanager.yml"  # the volume, seen from the one-shot
    assert "--config.file=/run/alertmanager/alertmanager.yml" in command


def test_compose_netmon_config_passes_netmon_check(tmp_path: Path) -> None:
    shutil.copy(CONTAINER / "netmon.yaml", tmp_path / "netmon.yaml")
    shutil.copytree(ROOT / "config" / "sites", tmp_path / "sites")
    result = netmon_check(tmp_path / "netmon.yaml")
    assert result.returncode == 0, result.stderr
    assert ": OK," in result.stdout
    wanted = set(re.findall(r"/run/secrets/[\w-]+", (CONTAINER / "netmon.yaml").read_text()))
    assert wanted
    assert wanted <= provided_secrets(compose()["services"]["netmon"], "/run/secrets")


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (CONTAINER / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def context_allows(path: str) -> bool:
    """Docker's ignore-file rule: the last matching pattern wins; `!` lets a path in."""
    allowed = True
    for pattern in (CONTAINER / "Dockerfile.dockerignore").read_text().splitlines():
        pattern = pattern.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            allowed = negate
    return allowed


def test_dockerfile_builds_from_what_the_context_holds() -> None:
    instructions = dockerfile_instructions()
    known = {"ARG", "FROM", "ENV", "RUN", "WORKDIR", "COPY", "LABEL", "USER", "VOLUME"}
    known |= {"EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD"}
    assert {name for name, _ in instructions} <= known
    stages = [args.split()[-1] for name, args in instructions if name == "FROM" and " AS " in args]
    assert len([n for n, _ in instructions if n == "FROM"]) == 2
    assert stages == ["build"]
    for name, args in instructions:
        if name != "COPY":
            continue
        words = args.split()
        if words[0].startswith("--from="):
            assert words[0].removeprefix("--from=") in stages
            continue
        for source in words[:-1]:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            assert context_allows(source), f"COPY {source}: excluded by the ignore file"
    for unwanted in ("tests", "bench", ".venv", ".git", "config", "deploy"):
        assert not context_allows(unwanted), unwanted
    user = [args for name, args in instructions if name == "USER"][-1]
    assert user.split(":")[0] not in ("0", "root")
    assert "/-/healthy" in dict(instructions)["HEALTHCHECK"]


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = run(need("hadolint"), "--no-color", "-t", "style", CONTAINER / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
