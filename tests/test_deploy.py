"""Issue 13, item 5: the container images and Kubernetes manifests, checked offline.

The manifests are rendered by ``kubectl kustomize`` (the base and the production overlay) and every
object is validated against the Kubernetes 1.32 API schemas (kubernetes-validate, strict: an unknown
field is an error). Then what the schemas cannot know: probes on paths our processes serve,
non-root pods, budgets and autoscalers for every Deployment, only the gateway reachable from
outside, no secret in git. No cluster and no Docker engine here (docs/deploy.md says what was
checked and what was not).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.core.paths import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
KUBERNETES_VERSION = "1.32.0"
OVERLAYS = {"base": DEPLOY / "k8s" / "base", "production": DEPLOY / "k8s" / "overlays" / "production"}
KINDS = ("gateway", "rasa", "actions")
# What each process serves, by port: the probes must use these (tests elsewhere check they answer).
SERVED = {
    8080: {"/healthz", "/readyz", "/metrics"},
    5005: {"/", "/webhooks/citybot/"},
    5055: {"/health", "/metrics"},
}


@cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with kustomize) is needed: scripts/setup.sh installs Debian's kubectl package"
    out = subprocess.run([kubectl, "kustomize", str(OVERLAYS[overlay])], capture_output=True, text=True, check=True)
    return tuple(doc for doc in yaml.safe_load_all(out.stdout) if doc)


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in rendered(overlay) if doc["kind"] == kind}


def deployment(overlay: str, name: str) -> dict[str, Any]:
    return objects(overlay, "Deployment")[f"citybot-{name}"]


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_object_is_valid_for_the_kubernetes_api(overlay: str) -> None:
    docs = rendered(overlay)
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"} <= {
        doc["kind"] for doc in docs
    }
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("name", KINDS)
def test_each_kind_runs_replicated_non_root_with_probes_and_resources(overlay: str, name: str) -> None:
    spec = deployment(overlay, name)["spec"]
    assert spec["replicas"] >= (3 if overlay == "production" and name != "actions" else 2)
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and "memory" in container["resources"]["limits"]
    [port] = [p["containerPort"] for p in container["ports"]]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] in SERVED[port], (name, probe)
    # Something the process writes goes to a mounted volume (the root file system is read-only).
    mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
    assert "/tmp" in mounts
    env = {e["name"]: e for e in container.get("env", [])}
    if "PROMETHEUS_MULTIPROC_DIR" in env:  # a folder of its own, on a volume
        assert env["PROMETHEUS_MULTIPROC_DIR"]["value"] in mounts


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_deployment_has_a_budget_and_an_autoscaler_that_match_it(overlay: str) -> None:
    budgets = objects(overlay, "PodDisruptionBudget").values()
    scalers = objects(overlay, "HorizontalPodAutoscaler").values()
    for name, found in objects(overlay, "Deployment").items():
        labels = found["spec"]["template"]["metadata"]["labels"]
        assert any(
            b["spec"]["minAvailable"] >= 1 and b["spec"]["selector"]["matchLabels"].items() <= labels.items()
            for b in budgets
        ), name
        [scaler] = [s for s in scalers if s["spec"]["scaleTargetRef"]["name"] == name]
        assert 2 <= scaler["spec"]["minReplicas"] <= found["spec"]["replicas"] <= scaler["spec"]["maxReplicas"]


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_only_the_gateway_is_reachable_from_outside(overlay: str) -> None:
    policies = objects(overlay, "NetworkPolicy").values()
    assert any(p["spec"]["podSelector"] == {} and "ingress" not in p["spec"] for p in policies)  # deny by default

    def sources(name: str) -> list[dict[str, Any]]:
        [policy] = [
            p for p in policies if p["spec"]["podSelector"].get("matchLabels") == {"app.kubernetes.io/name": name}
        ]
        return [source for rule in policy["spec"]["ingress"] for source in rule["from"]]

    def namespaces(name: str) -> set[str]:
        return {
            s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for s in sources(name)
            if "namespaceSelector" in s
        }

    def pods(name: str) -> set[str]:
        return {s["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for s in sources(name) if "podSelector" in s}

    assert namespaces("citybot-gateway") == {"ingress-nginx", "monitoring"} and not pods("citybot-gateway")
    assert pods("citybot-rasa") == {"citybot-gateway"} and namespaces("citybot-rasa") == {"monitoring"}
    assert pods("citybot-actions") == {"citybot-rasa"} and namespaces("citybot-actions") == {"monitoring"}
    for service in objects(overlay, "Service").values():
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"  # the ingress is the only way in


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_the_ingress_has_tls_and_publishes_no_health_or_metrics(overlay: str) -> None:
    [ingress] = objects(overlay, "Ingress").values()
    [rule] = ingress["spec"]["rules"]
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    paths = {p["path"] for p in rule["http"]["paths"]}
    assert "/socket.io" in paths and "/console" in paths and "/webchat" in paths
    assert not paths & {"/", "/metrics", "/healthz", "/readyz"}
    services = set(objects(overlay, "Service"))
    assert {p["backend"]["service"]["name"] for p in rule["http"]["paths"]} <= services


def test_production_uses_the_citys_registry_and_namespace_and_no_secret_is_in_git() -> None:
    docs = rendered("production")
    assert all(doc["metadata"].get("namespace") == "citybot" for doc in docs if doc["kind"] != "Namespace")
    for found in objects("production", "Deployment").values():
        [container] = found["spec"]["template"]["spec"]["containers"]
        assert re.fullmatch(r"registry\.example\.city/citybot/(app|rasa):\d+\.\d+\.\d+", container["image"])
    assert not [doc for doc in docs if doc["kind"] == "Secret"]  # created outside git (docs/deploy.md)


def test_every_setting_in_the_config_map_is_one_the_code_reads() -> None:
    [config] = objects("base", "ConfigMap").values()
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("bot", "channels", "actions")
        for path in (PROJECT_ROOT / folder).rglob("*.py")
    ) + (PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")
    known_elsewhere = {
        "SANIC_WORKERS",
        "TICKET_LOCK_LIFETIME",
        "RASA_TELEMETRY_ENABLED",
    }  # rasa and rasa-sdk read these
    for key in config["data"]:
        assert key in known_elsewhere or key in code, f"{key} is read by nothing"


def _stages(dockerfile: Path) -> list[list[str]]:
    """The instructions of each stage (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


@pytest.mark.parametrize("image", ["app", "rasa"])
def test_images_run_as_non_root_without_build_tools_from_files_that_exist(image: str) -> None:
    stages = _stages(DEPLOY / f"Dockerfile.{image}")
    assert len(stages) == 2 and " AS build" in stages[0][0]  # build stage, then a clean run stage
    run = stages[-1]
    assert [line for line in run if line.startswith("USER ")] == ["USER 10001:10001"]
    assert not [line for line in run if line.startswith("RUN ") and re.search(r"apt-get|pip install|gcc", line)]
    for line in (line for stage in stages for line in stage if line.startswith("COPY ") and "--from" not in line):
        for source in line.split()[1:-1]:
            assert (PROJECT_ROOT / source).exists(), f"{image}: {source} does not exist"
    copied = {line.split()[1].rstrip("/") for line in run if line.startswith("COPY ")}
    needed = {"bot/rasa_plugins", "nlu", "knowledge", "models"} if image == "rasa" else {"bot", "channels", "actions"}
    assert needed | {"knowledge", "nlu"} <= copied
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"var", ".venv", ".venv-rasa", ".git"} <= set(ignored)  # no secrets or environments in the context
