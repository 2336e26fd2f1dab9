"""deploy/k8s: the manifests against the Kubernetes schemas kubernetes-validate bundles,
strictly; the restricted Pod Security Standard; replicas equal to the shards, and
`netmon check` as every pod runs it. No cluster here: nothing is applied."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy_checks import (
    K8S,
    K8S_VERSIONS,
    NOT_RESOURCES,
    need,
    netmon_check,
    run,
)
from tests.helpers import ROOT

pytestmark = pytest.mark.integration


def k8s_docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]


def manifests() -> dict[str, dict[str, Any]]:
    """kind/name -> resource, for every manifest file (the kustomization and the Prometheus
    fragment are not resources)."""
    out = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name not in NOT_RESOURCES:
            for doc in k8s_docs(path.name):
                out[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return out


def pod_spec() -> Any:
    return manifests()["StatefulSet/netmon"]["spec"]["template"]["spec"]


def k8s_netmon_yaml() -> Any:
    return manifests()["ConfigMap/netmon-config"]["data"]["netmon.yaml"]


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_k8s_manifests_match_the_kubernetes_schemas(version: str) -> None:
    errors = []
    for name, doc in manifests().items():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{name}: {'.'.join(map(str, exc.path))}: {exc.message}")
    assert errors == []
    typo = manifests()["StatefulSet/netmon"]
    typo["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsNonRot"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, version, strict=True)


def test_kustomization_applies_every_manifest_but_the_example_secret() -> None:
    (kustomization,) = k8s_docs("kustomization.yaml")
    files_here = {p.name for p in K8S.glob("*.yaml")} - NOT_RESOURCES - {"secret.example.yaml"}
    assert set(kustomization["resources"]) == files_here
    assert manifests()["Namespace/netmon"]["metadata"]["name"] == kustomization["namespace"]


def test_k8s_replicas_equal_the_shards_and_the_pieces_fit() -> None:
    found = manifests()
    statefulset = found["StatefulSet/netmon"]["spec"]
    shards = yaml.safe_load(k8s_netmon_yaml())["shards"]
    assert statefulset["replicas"] == len(shards) >= 2
    assert len({s["name"] for s in shards}) == len(shards)
    (container,) = pod_spec()["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["NETMON_SHARD"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    labels = statefulset["template"]["metadata"]["labels"]
    for selector in (
        statefulset["selector"]["matchLabels"],
        found["Service/netmon"]["spec"]["selector"],
        found["PodDisruptionBudget/netmon"]["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= labels.items()
    assert statefulset["serviceName"] == "netmon"
    assert found["Service/netmon"]["spec"]["clusterIP"] == "None"
    claims = {c["metadata"]["name"] for c in statefulset["volumeClaimTemplates"]}
    volumes = {v["name"]: v for v in pod_spec()["volumes"]} | {c: {} for c in claims}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert set(mounts.values()) <= volumes.keys()
    assert mounts["/var/lib/netmon"] in claims  # the state file survives the pod
    secret_keys = set(found["Secret/netmon-secrets"]["stringData"])
    referenced = set(re.findall(r"/run/secrets/netmon/([\w-]+)", k8s_netmon_yaml()))
    assert referenced
    assert referenced <= secret_keys
    assert mounts["/run/secrets/netmon"] == "secrets"


def test_k8s_pods_meet_the_restricted_pod_security_standard() -> None:
    pod = pod_spec()
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    safe = {"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}
    assert {s["name"] for s in pod["securityContext"]["sysctls"]} <= safe
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    assert pod["automountServiceAccountToken"] is False


def test_k8s_sites_configmap_is_the_example_province() -> None:
    data = manifests()["ConfigMap/netmon-sites"]["data"]
    expected = {p.name: p.read_text() for p in sorted((ROOT / "config" / "sites").glob("*.yaml"))}
    assert data == expected, "config/sites changed: regenerate it (deploy/k8s/README.md)"


def test_k8s_config_passes_netmon_check_in_every_pod(tmp_path: Path) -> None:
    """Each pod name picks its own shard from the ConfigMap's config, and one pod more
    would pick none: replicas and shards agree as netmon itself reads them."""
    (tmp_path / "netmon.yaml").write_text(k8s_netmon_yaml())
    (tmp_path / "sites").mkdir()
    for name, text in manifests()["ConfigMap/netmon-sites"]["data"].items():
        (tmp_path / "sites" / name).write_text(text)
    replicas = manifests()["StatefulSet/netmon"]["spec"]["replicas"]
    for pod in [f"netmon-{i}" for i in range(replicas)]:
        result = netmon_check(tmp_path / "netmon.yaml", shard=pod)
        assert result.returncode == 0, f"{pod}: {result.stderr}"
        assert ": OK," in result.stdout
    extra = netmon_check(tmp_path / "netmon.yaml", shard=f"netmon-{replicas}")
    assert extra.returncode == 1
    assert "names no shard" in extra.stderr


def test_k8s_scrape_job_passes_promtool(tmp_path: Path) -> None:
    config = yaml.safe_load((K8S / "prometheus-scrape.yaml").read_text())
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "netmon"  # the alert rules select job="netmon"
    (sd,) = job.pop("kubernetes_sd_configs")
    assert sd == {"role": "pod", "namespaces": {"names": ["netmon"]}}
    keep = {r["regex"] for r in job["relabel_configs"] if r.get("action") == "keep"}
    labels = manifests()["StatefulSet/netmon"]["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] in keep
    assert "metrics" in keep  # the container port's name
    # Debian's promtool has no Kubernetes discovery: check the rest against static targets
    job["static_configs"] = [{"targets": ["netmon-0.netmon.netmon.svc:9800"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = run(need("promtool"), "check", "config", tmp_path / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
