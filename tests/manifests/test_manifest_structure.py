"""Every rendered directory holds the contract's objects, wired and hardened as docs/contract.md says."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, cast

import pytest
from kubernetes.utils import parse_quantity

from .facts import containers, deployments, find, pod_spec

Obj = dict[str, Any]
# The client leaves this helper untyped; it returns the quantity as a Decimal ("1Gi" -> 1073741824).
quantity = cast(Callable[[str | int], Decimal], parse_quantity)

PART_OF = "app.kubernetes.io/part-of"
COMPONENT = "app.kubernetes.io/component"
# tier -> (Deployment and Service name, port) from docs/contract.md
TIERS = {"database": ("mysql", 3306), "backend": ("todo-backend", 8080), "frontend": ("todo-frontend", 8080)}
EXPECTED = {
    ("Namespace", "todo"),
    ("ConfigMap", "db-config"),
    ("ConfigMap", "frontend-config"),
    ("Secret", "db-root-credentials"),
    ("Secret", "db-credentials"),
    ("PersistentVolumeClaim", "mysql-data"),
    *(("Service", name) for name, _ in TIERS.values()),
    *(("Deployment", name) for name, _ in TIERS.values()),
    ("PodDisruptionBudget", "todo-backend"),
    ("PodDisruptionBudget", "todo-frontend"),
}


def test_renders_exactly_the_expected_objects(objects: list[Obj]) -> None:
    """The render holds each expected object once and nothing else."""
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(names) == len(set(names)), f"duplicates in {names}"
    assert set(names) == EXPECTED


def test_everything_lives_in_the_todo_namespace(objects: list[Obj]) -> None:
    """Namespaced objects are in `todo`, so the suite's namespace guard covers all of them."""
    outside = [
        o["metadata"]["name"] for o in objects if o["kind"] != "Namespace" and o["metadata"].get("namespace") != "todo"
    ]
    assert outside == []


def test_every_object_and_pod_template_is_labelled(objects: list[Obj]) -> None:
    """part-of and name on every object and pod template; component on every tier object."""
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        assert labels.get(PART_OF) == "todo", f"{obj['kind']}/{obj['metadata']['name']} lacks {PART_OF}"
        assert labels.get("app.kubernetes.io/name"), f"{obj['kind']}/{obj['metadata']['name']} lacks a name label"
        if obj["kind"] != "Namespace":
            assert labels.get(COMPONENT) in TIERS, f"{obj['kind']}/{obj['metadata']['name']} lacks a tier"
    for workload in deployments(objects):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert labels[PART_OF] == "todo"
        assert labels[COMPONENT] == workload["metadata"]["labels"][COMPONENT]


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_selectors_pick_exactly_their_tier(objects: list[Obj], tier: str) -> None:
    """Deployment, Service and PDB selectors are part-of + component and match only that tier's pods."""
    name, _ = TIERS[tier]
    wanted = {PART_OF: "todo", COMPONENT: tier}
    workload = find(objects, "Deployment", name)
    assert workload["spec"]["selector"] == {"matchLabels": wanted}
    assert find(objects, "Service", name)["spec"]["selector"] == wanted
    if tier != "database":
        assert find(objects, "PodDisruptionBudget", name)["spec"]["selector"] == {"matchLabels": wanted}
    selected = [
        d["metadata"]["name"]
        for d in deployments(objects)
        if wanted.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert selected == [name]


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_service_port_reaches_the_container_port(objects: list[Obj], tier: str) -> None:
    """The Service's contract port targets a container port of the same number on the selected pods."""
    name, port = TIERS[tier]
    (service_port,) = find(objects, "Service", name)["spec"]["ports"]
    assert service_port["port"] == port
    declared = {
        p["name"]: p["containerPort"] for c in containers(find(objects, "Deployment", name)) for p in c["ports"]
    }
    target = service_port["targetPort"]
    container_port = declared[target] if isinstance(target, str) else target
    assert container_port == port, f"{name}: Service port {port} targets {target} -> {container_port}"


def test_replicas_and_rollout_strategies(objects: list[Obj]) -> None:
    """One database replica replaced by Recreate; two app replicas that never dip below two."""
    database = find(objects, "Deployment", "mysql")["spec"]
    assert database["replicas"] == 1
    assert database["strategy"] == {"type": "Recreate"}
    for name in ("todo-backend", "todo-frontend"):
        spec = find(objects, "Deployment", name)["spec"]
        assert spec["replicas"] == 2, name
        assert spec["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }


def test_database_volume_is_the_1gi_claim(objects: list[Obj]) -> None:
    """The MySQL data directory is the 1Gi ReadWriteOnce claim `mysql-data` on the default StorageClass."""
    claim = find(objects, "PersistentVolumeClaim", "mysql-data")["spec"]
    assert claim["accessModes"] == ["ReadWriteOnce"]
    assert quantity(claim["resources"]["requests"]["storage"]) == quantity("1Gi")
    assert "storageClassName" not in claim
    workload = find(objects, "Deployment", "mysql")
    volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
    (container,) = containers(workload)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/var/lib/mysql"]
    assert volumes[mount["name"]]["persistentVolumeClaim"]["claimName"] == "mysql-data"


def test_every_container_has_probes(objects: list[Obj]) -> None:
    """Readiness and liveness everywhere, on the contract's routes or the database's ready check."""
    expected = {
        "mysql": ("/usr/local/bin/db-ready", "/usr/local/bin/db-alive"),
        "todo-backend": ("/api/readyz", "/api/healthz"),
        "todo-frontend": ("/healthz", "/healthz"),
    }
    for workload in deployments(objects):
        (container,) = containers(workload)
        ports = {p["name"] for p in container["ports"]} | {p["containerPort"] for p in container["ports"]}
        seen = []
        for probe_name in ("readinessProbe", "livenessProbe"):
            probe = container[probe_name]
            if "httpGet" in probe:
                assert probe["httpGet"]["port"] in ports, f"{workload['metadata']['name']} {probe_name} port"
                seen.append(probe["httpGet"]["path"])
            else:
                seen.append(probe["exec"]["command"][0])
        for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(probe_name, {"timeoutSeconds": 0, "periodSeconds": 1})
            # A probe still running when the next one is due hides how slow the target really is. 1 s is the
            # smallest period and timeout Kubernetes allows, so a 1 s/1 s probe (polling a cheap route) is fine.
            assert (
                probe["timeoutSeconds"] < probe["periodSeconds"]
                or probe["periodSeconds"] == 1 == probe["timeoutSeconds"]
            ), f"{workload['metadata']['name']} {probe_name}"
        assert tuple(seen) == expected[workload["metadata"]["name"]]


def test_every_container_has_bounded_resources(objects: list[Obj]) -> None:
    """CPU and memory requests and limits on every container, requests not above limits."""
    for workload in deployments(objects):
        for container in containers(workload):
            resources = container["resources"]
            for resource in ("cpu", "memory"):
                request = quantity(resources["requests"][resource])
                limit = quantity(resources["limits"][resource])
                assert 0 < request <= limit, f"{workload['metadata']['name']} {resource}: {request} > {limit}"


@pytest.mark.parametrize("name", ["todo-backend", "todo-frontend"])
def test_app_tiers_terminate_gracefully(objects: list[Obj], name: str) -> None:
    """A preStop pause lets endpoints drop before SIGTERM, well inside the grace period."""
    workload = find(objects, "Deployment", name)
    (container,) = containers(workload)
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert 3 <= pause <= 10
    assert pod_spec(workload)["terminationGracePeriodSeconds"] >= pause + 15


@pytest.mark.parametrize("name", ["todo-backend", "todo-frontend"])
def test_app_tiers_spread_but_survive_losing_a_node(objects: list[Obj], name: str) -> None:
    """Replicas prefer distinct nodes, but only as a preference: on one surviving worker both still run."""
    spec = pod_spec(find(objects, "Deployment", name))
    tier = find(objects, "Deployment", name)["metadata"]["labels"][COMPONENT]
    (spread,) = spec["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["maxSkew"] == 1
    # DoNotSchedule would keep a replica Pending while one of two workers is down.
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
    assert spread["labelSelector"] == {"matchLabels": {PART_OF: "todo", COMPONENT: tier}}
    affinity = spec["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity
    (preferred,) = affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


@pytest.mark.parametrize("name", ["todo-backend", "todo-frontend"])
def test_app_tiers_run_unprivileged_and_read_only(objects: list[Obj], name: str) -> None:
    """Non-root, no privilege escalation, no capabilities, read-only root filesystem."""
    workload = find(objects, "Deployment", name)
    assert pod_spec(workload)["securityContext"]["runAsNonRoot"] is True
    for container in containers(workload):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        assert "add" not in context["capabilities"]


def test_database_may_start_as_root_but_not_escalate(objects: list[Obj]) -> None:
    """The database entrypoint chowns its volume as root, so no runAsNonRoot; but no escalation either."""
    workload = find(objects, "Deployment", "mysql")
    assert "runAsNonRoot" not in pod_spec(workload)["securityContext"]
    (container,) = containers(workload)
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert 20 <= pod_spec(workload)["terminationGracePeriodSeconds"] <= 120
