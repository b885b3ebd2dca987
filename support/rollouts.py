"""Upgrades, rollbacks and configuration rollouts of the app's Deployments, each undone if the scenario is not.

The back end reports the version it runs in /api/info (APP_VERSION, from the pod label
app.kubernetes.io/version through the downward API), so an upgrade is a change of that label in the pod
template: a new ReplicaSet of the same build that says which version it is. The rollback is the Deployment's
own (`kubectl rollout undo`). The database's restart uses its strategy (Recreate); the front end's
configuration rollout changes its ConfigMap to an equivalent value and restarts it.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from support.cluster import ClusterHandle
from support.faults import Fault
from support.safety import SafetyPolicy, check
from support.undo import UndoStack
from support.waits import Condition

__all__ = [
    "RESTART_ANNOTATION",
    "VERSION_LABEL",
    "Rollouts",
    "annotation_patch",
    "equivalent_address",
    "label_patch",
    "reported_versions",
    "template_rolled",
    "versions_reported",
]

VERSION_LABEL = "app.kubernetes.io/version"
# The annotation `kubectl rollout restart` sets; any change of it rolls the pods.
RESTART_ANNOTATION = "kubectl.kubernetes.io/restartedAt"


def equivalent_address(value: str, namespace: str) -> str:
    """Another spelling of the same address, so a configuration rollout changes the value but not the behaviour:
    a Service's short name becomes its full name in the namespace, and loopback's name and number swap."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    host, colon, port = rest.partition(":")
    port, slash, path = port.partition("/") if colon else ("", "", "")
    if host == "127.0.0.1":
        host = "localhost"
    elif host == "localhost":
        host = "127.0.0.1"
    elif "." not in host:
        host = f"{host}.{namespace}.svc.cluster.local"
    else:
        raise ValueError(f"no equivalent spelling known for the address {value!r} (a Service name or loopback)")
    return f"{scheme}{sep}{host}{colon}{port}{slash}{path}"


def label_patch(label: str, value: str) -> dict[str, Any]:
    """A strategic-merge patch setting one pod-template label (the selector does not use it)."""
    return {"spec": {"template": {"metadata": {"labels": {label: value}}}}}


def annotation_patch(annotation: str, value: str) -> dict[str, Any]:
    """A strategic-merge patch setting one pod-template annotation."""
    return {"spec": {"template": {"metadata": {"annotations": {annotation: value}}}}}


def _info_path(cluster: ClusterHandle) -> str:
    """Where a back-end replica reports itself (the profile's REST info route)."""
    info = getattr(cluster.profile.adapter, "info", None)
    return str(getattr(info, "path", None) or "/api/info")


def reported_versions(cluster: ClusterHandle) -> dict[str, str]:
    """The version each Ready back-end pod reports in /api/info (asked pod by pod, through the API server)."""
    found: dict[str, str] = {}
    for pod in cluster.ready_pods("backend"):
        status, body = cluster.pod_request(pod.name, "GET", _info_path(cluster), timeout=5)
        found[pod.name] = str(body.get("version")) if status == 200 and isinstance(body, dict) else f"<{status}>"
    return found


def versions_reported(cluster: ClusterHandle, version: str, replicas: int) -> Condition:
    """Rollout finished: exactly `replicas` Ready back-end pods, all reporting `version`, none of another."""

    def check_() -> dict[str, str] | None:
        """Pod -> version once every Ready pod reports the expected one."""
        status = cluster.deployment("backend")
        if not (status.updated == status.ready == status.available == status.desired == replicas):
            return None
        seen = reported_versions(cluster)
        return seen if len(seen) == replicas and set(seen.values()) == {version} else None

    return Condition(f"{replicas} back-end replicas reporting version {version!r}", check_)


def template_rolled(cluster: ClusterHandle, tier: str, version: str, replicas: int) -> Condition:
    """Rollout finished: `replicas` Ready pods of the tier, every Ready one labelled with `version`."""

    def check_() -> list[str] | None:
        """The Ready pods once all of them carry the version."""
        status = cluster.deployment(tier)
        if not (status.updated == status.ready == status.available == status.desired == replicas):
            return None
        ready = {p.name for p in cluster.ready_pods(tier)}
        selector = cluster.profile.tiers.get(tier).selector_string()
        # Compared here, not in the selector: a template without the label (version '') has pods without it.
        labelled = {
            p.metadata.name
            for p in cluster.core.list_namespaced_pod(cluster.namespace, label_selector=selector).items
            if (p.metadata.labels or {}).get(VERSION_LABEL, "") == version
        }
        return sorted(ready) if len(ready) == replicas and ready <= labelled else None

    return Condition(f"{replicas} Ready {tier} replicas of version {version!r}", check_)


class Rollouts:
    """Rollouts behind the safety guard (pod scope: they only change the app's own Deployments)."""

    def __init__(self, cluster: ClusterHandle, policy: SafetyPolicy, undo: UndoStack) -> None:
        self.cluster = cluster
        self.policy = policy
        self.undo_stack = undo

    def _deployment(self, tier: str) -> Any:
        """The tier's Deployment object."""
        return self.cluster.apps.read_namespaced_deployment(self._name(tier), self.cluster.namespace)

    def _name(self, tier: str) -> str:
        """The tier's Deployment name (from the target profile)."""
        return self.cluster.tier(tier).deployment

    def _patch(self, tier: str, body: dict[str, Any]) -> int:
        """Patch a Deployment; return its new generation."""
        dep = self.cluster.apps.patch_namespaced_deployment(self._name(tier), self.cluster.namespace, body)
        return int(dep.metadata.generation)

    def _fault(self, name: str, tier: str, detail: str) -> Fault:
        """A Fault whose clock starts now, with the tier's current pods as the old ones."""
        pods = self.cluster.pods(tier)
        return Fault(
            name,
            tier,
            [self._name(tier)],
            time.monotonic(),
            time.time(),
            old_uids={p.uid for p in pods},
            old_restarts={p.name: p.restarts for p in pods},
            detail=detail,
        )

    def version(self, tier: str = "backend") -> str:
        """The version label of the tier's pod template."""
        return str((self._deployment(tier).spec.template.metadata.labels or {}).get(VERSION_LABEL, ""))

    def upgrade(self, version: str, tier: str = "backend") -> Fault:
        """Roll the tier to a pod template that reports `version` (same image, new ReplicaSet)."""
        check(self.cluster.facts(), self.policy, "pod")
        before = self.version(tier)
        if before == version:
            raise RuntimeError(f"{self._name(tier)} already runs version {version!r}: nothing would roll")
        # Undone by putting the label back (one more rollout) unless the scenario's own rollback did it.
        self.undo_stack.record(
            f"{tier} version {version}",
            f"{tier} upgraded",
            lambda: self._restore_version(tier, before),
        )
        fault = self._fault(f"{tier} upgraded", tier, f"{self._name(tier)}: version {before!r} -> {version!r}")
        self._patch(tier, label_patch(VERSION_LABEL, version))
        return fault

    def _restore_version(self, tier: str, version: str) -> None:
        """Put the version label back if it still differs."""
        if self.version(tier) != version:
            self._patch(tier, label_patch(VERSION_LABEL, version))

    def rollback(self, tier: str = "backend") -> Fault:
        """The Deployment's own rollback to its previous revision (`kubectl rollout undo`)."""
        check(self.cluster.facts(), self.policy, "pod")
        fault = self._fault(f"{tier} rolled back", tier, f"kubectl rollout undo deployment/{self._name(tier)}")
        done = subprocess.run(
            self.cluster.kubectl_cmd(
                "--namespace", self.cluster.namespace, "rollout", "undo", f"deployment/{self._name(tier)}"
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kubectl rollout undo of {self._name(tier)} failed: {done.stderr.strip()[:500]}")
        return fault

    def restart(self, tier: str) -> Fault:
        """Restart a tier the way `kubectl rollout restart` does (its own strategy: rolling, or Recreate)."""
        check(self.cluster.facts(), self.policy, "pod")
        strategy = self._deployment(tier).spec.strategy.type
        fault = self._fault(
            f"{tier} restarted ({strategy})", tier, f"{self._name(tier)} restarted, strategy {strategy}"
        )
        self._patch(tier, annotation_patch(RESTART_ANNOTATION, datetime.now(UTC).isoformat()))
        return fault

    def change_frontend_config(self, variable: str) -> tuple[Fault, str]:
        """Give the front end's ConfigMap-fed `variable` (profile wiring) an equivalent value and restart the front end
        so it takes effect; returns the fault and the new value."""
        check(self.cluster.facts(), self.policy, "pod")
        source = self.cluster.profile.wiring.from_config_maps("frontend").get(variable)
        if source is None or source.config_map is None or source.key is None:
            raise KeyError(f"the profile wires no front-end variable {variable!r} from a ConfigMap")
        name, key = source.config_map, source.key
        before = self.cluster.config_map(name)
        if key not in before:
            raise KeyError(f"ConfigMap {name} has no key {key!r} (keys: {sorted(before)})")
        value = equivalent_address(before[key], self.cluster.namespace)
        self.undo_stack.record(
            f"{name} {key}", "front-end configuration changed", lambda: self._restore_config(name, before)
        )
        self.cluster.core.patch_namespaced_config_map(name, self.cluster.namespace, {"data": {key: value}})
        fault = self.restart("frontend")
        return Fault(
            "front-end configuration changed",
            "frontend",
            fault.targets,
            fault.t0,
            fault.wall_t0,
            fault.old_uids,
            fault.old_restarts,
            f"{name}.{key}: {before[key]!r} -> {value!r}, front end restarted",
        ), value

    def _restore_config(self, name: str, data: dict[str, str]) -> None:
        """Put the ConfigMap back and restart the front end on it, if it still differs."""
        if self.cluster.config_map(name) != data:
            self.cluster.core.patch_namespaced_config_map(name, self.cluster.namespace, {"data": data})
            self._patch("frontend", annotation_patch(RESTART_ANNOTATION, datetime.now(UTC).isoformat()))

    def rollout_status(self, tier: str, timeout: float) -> float:
        """Wait as `kubectl rollout status` does (the raw tool, for comparison); return the seconds it took."""
        started = time.monotonic()
        done = subprocess.run(
            self.cluster.kubectl_cmd(
                "--namespace",
                self.cluster.namespace,
                "rollout",
                "status",
                f"deployment/{self._name(tier)}",
                f"--timeout={max(1, int(timeout))}s",
            ),
            capture_output=True,
            text=True,
            timeout=timeout + 30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"kubectl rollout status of {self._name(tier)} failed within {timeout:g} s: "
                f"{(done.stderr or done.stdout).strip()[:500]}"
            )
        return time.monotonic() - started

    def frontend_env(self, name: str) -> dict[str, str]:
        """The value of one environment variable in every Ready front-end pod (as its processes see it)."""
        found: dict[str, str] = {}
        for pod in self.cluster.ready_pods("frontend"):
            done = self.cluster.exec(pod.name, ["printenv", name], container=next(iter(pod.container_ids), None))
            found[pod.name] = done.stdout.strip() if done.rc == 0 else f"<unset: rc {done.rc}>"
        return found
