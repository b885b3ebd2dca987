"""The walk-through's manifests rendered with `kubectl kustomize`: the article's objects and what overlays change."""

from __future__ import annotations

import base64
import copy
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = ROOT / "manifests" / "walkthrough"
# The nox tests session points $KUBECTL at the kit-built kubectl; under CI a missing kubectl fails, never skips.
KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl")
DEPLOYMENTS = ("mysql", "to-do-app-backend", "to-do-app-frontend")
LABELS = {
    "mysql": {"app": "mysql", "tier": "database"},
    "to-do-app-backend": {"app": "to-do-app", "tier": "backend"},
    "to-do-app-frontend": {"app": "to-do-app", "tier": "frontend"},
}
# Liveness and readiness paths the back end's own tests prove it serves (test_walkthrough_backend.py).
BACKEND_PROBES = {"livenessProbe": "/actuator/health/liveness", "readinessProbe": "/actuator/health/readiness"}

Objects = dict[tuple[str, str], dict[str, Any]]


def render(overlay: str) -> Objects:
    """Render base or an overlay; objects keyed by (kind, name)."""
    if KUBECTL is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no kubectl under CI: the tests session sets $KUBECTL (`python -m kit kubectl`)")
        pytest.skip("no kubectl: set $KUBECTL (the tests session does, with `python -m kit kubectl`)")
    path = MANIFESTS / overlay
    done = subprocess.run([KUBECTL, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"kubectl kustomize {path} failed: {done.stderr}"
    objects: Objects = {}
    for doc in yaml.safe_load_all(done.stdout):
        if doc:
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{key} rendered twice"
            objects[key] = doc
    return objects


@pytest.fixture(scope="module")
def base() -> Objects:
    """The article's deployment as published."""
    return render("base")


@pytest.fixture(scope="module")
def kind() -> Objects:
    """The kind overlay."""
    return render("overlays/kind")


@pytest.fixture(scope="module")
def hardened() -> Objects:
    """The hardened overlay."""
    return render("overlays/hardened")


def container(objects: Objects, deployment: str) -> dict[str, Any]:
    """The single container of a Deployment."""
    containers = objects[("Deployment", deployment)]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, f"{deployment} has {len(containers)} containers"
    result: dict[str, Any] = containers[0]
    return result


def env_sources(objects: Objects, deployment: str) -> dict[str, tuple[str, str, str]]:
    """Env var -> (ConfigMap|Secret, object name, key) for a Deployment's container."""
    sources: dict[str, tuple[str, str, str]] = {}
    for var in container(objects, deployment).get("env", []):
        ref = var.get("valueFrom", {})
        if "configMapKeyRef" in ref:
            sources[var["name"]] = ("ConfigMap", ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"])
        elif "secretKeyRef" in ref:
            sources[var["name"]] = ("Secret", ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"])
    return sources


def test_base_has_exactly_the_articles_objects(base: Objects) -> None:
    """ConfigMaps, Secrets, Services, the PVC and the three Deployments, nothing more (no disruption budgets)."""
    assert sorted(base) == sorted(
        [
            ("ConfigMap", "db-conf"),
            ("ConfigMap", "backend-conf"),
            ("Secret", "db-root-credentials"),
            ("Secret", "db-credentials"),
            ("Service", "mysql"),
            ("PersistentVolumeClaim", "mysql-pv-claim"),
            ("Deployment", "mysql"),
            ("Service", "to-do-app-backend"),
            ("Deployment", "to-do-app-backend"),
            ("Service", "to-do-app-frontend"),
            ("Deployment", "to-do-app-frontend"),
        ]
    )


def test_base_config_and_secrets(base: Objects) -> None:
    """db-conf names the host and database; the Secrets hold the keys the article's env refers to."""
    assert base[("ConfigMap", "db-conf")]["data"] == {"host": "mysql", "name": "to-do-app-db"}
    assert set(base[("Secret", "db-root-credentials")]["data"]) == {"password"}
    assert set(base[("Secret", "db-credentials")]["data"]) == {"username", "password"}
    for secret in ("db-root-credentials", "db-credentials"):
        for value in base[("Secret", secret)]["data"].values():
            assert base64.b64decode(value, validate=True), f"{secret} holds an empty or invalid value"
    assert set(base[("ConfigMap", "backend-conf")]["data"]) == {"server-uri"}


def test_base_database(base: Objects) -> None:
    """Headless Service on 3306, a 1Gi RWO claim, one server with Recreate, the article's argument and volume."""
    service = base[("Service", "mysql")]["spec"]
    assert service["clusterIP"] == "None"
    assert [p["port"] for p in service["ports"]] == [3306]
    assert service["selector"] == LABELS["mysql"]
    claim = base[("PersistentVolumeClaim", "mysql-pv-claim")]["spec"]
    assert claim["accessModes"] == ["ReadWriteOnce"]
    assert claim["resources"]["requests"]["storage"] == "1Gi"
    deployment = base[("Deployment", "mysql")]["spec"]
    assert deployment["strategy"]["type"] == "Recreate"
    assert deployment.get("replicas", 1) == 1
    mysql = container(base, "mysql")
    assert mysql["image"] == "mysql:5.7"
    assert mysql["args"] == ["--ignore-db-dir=lost+found"]
    assert env_sources(base, "mysql") == {
        "MYSQL_ROOT_PASSWORD": ("Secret", "db-root-credentials", "password"),
        "MYSQL_USER": ("Secret", "db-credentials", "username"),
        "MYSQL_PASSWORD": ("Secret", "db-credentials", "password"),
        "MYSQL_DATABASE": ("ConfigMap", "db-conf", "name"),
    }
    (mount,) = mysql["volumeMounts"]
    assert mount["mountPath"] == "/var/lib/mysql"
    (volume,) = deployment["template"]["spec"]["volumes"]
    assert volume["name"] == mount["name"]
    assert volume["persistentVolumeClaim"]["claimName"] == "mysql-pv-claim"


@pytest.mark.parametrize("tier", ["backend", "frontend"])
def test_base_app_tiers(base: Objects, tier: str) -> None:
    """Two replicas each, Service port 80 to container port 8080, selected by the article's labels."""
    name = f"to-do-app-{tier}"
    service = base[("Service", name)]["spec"]
    assert service["type"] == "LoadBalancer"
    assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [(80, 8080)]
    assert service["selector"] == LABELS[name]
    deployment = base[("Deployment", name)]["spec"]
    assert deployment["replicas"] == 2
    assert deployment["selector"]["matchLabels"] == LABELS[name]
    assert container(base, name)["image"] == f"kubernetesdemo/{name}"
    assert [p["containerPort"] for p in container(base, name)["ports"]] == [8080]


def test_base_wiring(base: Objects) -> None:
    """The back end reads db-conf and db-credentials; the front end reads backend-conf's server-uri."""
    assert env_sources(base, "to-do-app-backend") == {
        "DB_HOST": ("ConfigMap", "db-conf", "host"),
        "DB_NAME": ("ConfigMap", "db-conf", "name"),
        "DB_USERNAME": ("Secret", "db-credentials", "username"),
        "DB_PASSWORD": ("Secret", "db-credentials", "password"),
    }
    assert env_sources(base, "to-do-app-frontend") == {"SERVER_URI": ("ConfigMap", "backend-conf", "server-uri")}


@pytest.mark.parametrize("overlay", ["base", "overlays/kind", "overlays/hardened"])
def test_labels_and_references_resolve(overlay: str) -> None:
    """Every object carries its tier's labels, every Service selects its pods, every env reference exists."""
    objects = render(overlay)
    for name in DEPLOYMENTS:
        deployment = objects[("Deployment", name)]
        assert deployment["metadata"]["labels"] == LABELS[name]
        assert deployment["spec"]["template"]["metadata"]["labels"] == LABELS[name]
        service = objects[("Service", name)]
        assert service["metadata"]["labels"] == LABELS[name]
        assert service["spec"]["selector"] == LABELS[name]
        for kind, obj, key in env_sources(objects, name).values():
            assert key in objects[(kind, obj)].get("data", {}), f"{name} reads {kind} {obj} key {key}: missing"


def test_base_and_kind_have_no_probes_limits_or_budgets(base: Objects, kind: Objects) -> None:
    """As published: no probes, no resources, no lifecycle hooks, no tolerations, no disruption budgets."""
    for objects in (base, kind):
        assert not [key for key in objects if key[0] == "PodDisruptionBudget"]
        for name in DEPLOYMENTS:
            spec = objects[("Deployment", name)]["spec"]["template"]["spec"]
            assert "tolerations" not in spec and "affinity" not in spec and "topologySpreadConstraints" not in spec
            found = set(container(objects, name)) & {
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
                "resources",
                "lifecycle",
            }
            assert not found, f"{name} has {found}"


def _without_kind_changes(objects: Objects) -> Objects:
    """Drop exactly what the kind overlay may change: Service type/nodePorts, images and pull policy, server-uri."""
    result = copy.deepcopy(objects)
    for (kind, _), obj in result.items():
        if kind == "Service":
            obj["spec"].pop("type", None)
            for port in obj["spec"]["ports"]:
                port.pop("nodePort", None)
                port.pop("protocol", None)
        if kind == "Deployment":
            for c in obj["spec"]["template"]["spec"]["containers"]:
                c.pop("image")
                c.pop("imagePullPolicy", None)
    result[("ConfigMap", "backend-conf")]["data"].pop("server-uri")
    return result


def test_kind_changes_only_what_kind_needs(base: Objects, kind: Objects) -> None:
    """Apart from Service types and node ports, images and server-uri, the kind overlay is the article's base."""
    assert _without_kind_changes(kind) == _without_kind_changes(base)


def test_kind_overlay_values(kind: Objects) -> None:
    """NodePorts 30080 (front end) and 30081 (back end), local images never pulled, server-uri 127.0.0.1:30081."""
    for name, port in (("to-do-app-frontend", 30080), ("to-do-app-backend", 30081)):
        spec = kind[("Service", name)]["spec"]
        assert spec["type"] == "NodePort"
        assert [(p["port"], p["targetPort"], p["nodePort"]) for p in spec["ports"]] == [(80, 8080, port)]
    assert kind[("Service", "mysql")]["spec"]["clusterIP"] == "None"
    images = {name: container(kind, name)["image"] for name in DEPLOYMENTS}
    assert images == {
        "mysql": "todo-mysql:local",
        "to-do-app-backend": "to-do-app-backend:local",
        "to-do-app-frontend": "to-do-app-frontend:local",
    }
    assert {container(kind, name)["imagePullPolicy"] for name in DEPLOYMENTS} == {"Never"}
    assert kind[("ConfigMap", "backend-conf")]["data"]["server-uri"] == "127.0.0.1:30081"
    assert container(kind, "mysql")["args"] == ["--ignore-db-dir=lost+found"]


def test_hardened_keeps_the_articles_names_and_wiring(kind: Objects, hardened: Objects) -> None:
    """The hardened overlay adds objects (disruption budgets) but renames or rewires nothing."""
    added = set(hardened) - set(kind)
    assert added == {("PodDisruptionBudget", "to-do-app-backend"), ("PodDisruptionBudget", "to-do-app-frontend")}
    assert set(kind) <= set(hardened)
    for name in DEPLOYMENTS:
        wiring = env_sources(hardened, name)
        assert {k: v for k, v in wiring.items() if k in env_sources(kind, name)} == env_sources(kind, name)
        assert container(hardened, name)["image"] == container(kind, name)["image"]
    for key in [k for k in kind if k[0] in ("ConfigMap", "Secret", "Service", "PersistentVolumeClaim")]:
        if key == ("Service", "mysql"):  # its address only (test_hardened_database_has_a_stable_address)
            continue
        assert hardened[key] == kind[key], f"{key} changed"


def test_hardened_database_has_a_stable_address(kind: Objects, hardened: Objects) -> None:
    """The article's headless database Service becomes a ClusterIP one (an address that survives the pod's
    replacement, whatever the back end's DNS cache holds); name, labels, selector and port stay the article's."""
    article, ours = kind[("Service", "mysql")], hardened[("Service", "mysql")]
    assert article["spec"]["clusterIP"] == "None"
    assert "clusterIP" not in ours["spec"] and ours["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert ours["metadata"] == article["metadata"]
    assert ours["spec"]["selector"] == article["spec"]["selector"]
    assert ours["spec"]["ports"] == article["spec"]["ports"]


def test_hardened_probes_shutdown_and_resources(hardened: Objects) -> None:
    """Probes on every tier, preStop plus a grace period that covers it, requests and limits everywhere."""
    backend = container(hardened, "to-do-app-backend")
    for probe, path in BACKEND_PROBES.items():
        assert backend[probe]["httpGet"] == {"path": path, "port": 8080}
    assert backend["startupProbe"]["httpGet"]["path"] == BACKEND_PROBES["livenessProbe"]
    graceful = {e["name"]: e.get("value") for e in backend["env"]}["GRACEFUL_TIMEOUT"]
    assert graceful.endswith("s")
    frontend = container(hardened, "to-do-app-frontend")
    assert frontend["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080}
    mysql = container(hardened, "mysql")
    assert mysql["readinessProbe"]["exec"]["command"] == ["/usr/local/bin/db-ready"]
    assert mysql["livenessProbe"]["exec"]["command"] == ["/usr/local/bin/db-alive"]
    for name in DEPLOYMENTS:
        pod = hardened[("Deployment", name)]["spec"]["template"]["spec"]
        c = container(hardened, name)
        assert {"requests", "limits"} <= set(c["resources"]), name
        assert "readinessProbe" in c and "livenessProbe" in c, name
        drain = int(graceful.removesuffix("s")) if name == "to-do-app-backend" else 0
        pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        assert pod["terminationGracePeriodSeconds"] > pre_stop + drain, name
        if name != "mysql":
            assert pre_stop >= 5, f"{name}: no preStop sleep"
            assert hardened[("Deployment", name)]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_hardened_node_loss_spread_and_budgets(hardened: Objects) -> None:
    """Pods leave a lost node within 5 s, replicas prefer different nodes, a drain keeps one replica per tier."""
    for name in DEPLOYMENTS:
        pod = hardened[("Deployment", name)]["spec"]["template"]["spec"]
        tolerations = {t["key"]: t for t in pod["tolerations"]}
        for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
            assert tolerations[key]["effect"] == "NoExecute" and tolerations[key]["tolerationSeconds"] <= 5
    for name in ("to-do-app-backend", "to-do-app-frontend"):
        pod = hardened[("Deployment", name)]["spec"]["template"]["spec"]
        (spread,) = pod["topologySpreadConstraints"]
        assert spread["whenUnsatisfiable"] == "ScheduleAnyway", "a hard rule would leave a replica Pending on node loss"
        assert spread["labelSelector"]["matchLabels"] == LABELS[name]
        budget = hardened[("PodDisruptionBudget", name)]["spec"]
        assert budget["minAvailable"] == 1
        assert budget["selector"]["matchLabels"] == LABELS[name]
