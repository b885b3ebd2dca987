"""The suite's cluster handle: the official kubernetes client, plus kubectl for kustomize and apply."""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from common.names import DATABASE, MARKER_NAME, MARKER_NAMESPACE
from support.adapters import HttpAnswer, HttpCall, Sender
from support.profile import Profile, SqlReconciliation, SqlValue, Tier, reference_profile
from support.safety import TargetFacts
from support.waits import Condition, until

__all__ = [
    "MARKER_NAME",
    "MARKER_NAMESPACE",
    "ClusterHandle",
    "DeploymentStatus",
    "ExecResult",
    "ManifestError",
    "NodeInfo",
    "NodePortHolder",
    "PodInfo",
    "image_name",
    "override_images",
    "render_manifests",
    "table_check_problems",
]

_WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod", "CronJob"}


class ManifestError(Exception):
    """The manifests directory cannot be rendered."""


@dataclass(frozen=True)
class PodInfo:
    """What the suite needs to know about one pod."""

    name: str
    uid: str
    tier: str
    node: str
    phase: str
    ready: bool
    terminating: bool
    restarts: int
    ip: str
    container_ids: dict[str, str] = field(default_factory=dict)
    conditions: dict[str, str] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeploymentStatus:
    """Desired versus observed replicas of one Deployment."""

    name: str
    desired: int
    ready: int
    available: int
    updated: int


@dataclass(frozen=True)
class NodeInfo:
    """One node with its Ready condition and roles."""

    name: str
    ready: bool
    control_plane: bool
    unschedulable: bool
    conditions: dict[str, str]
    taints: tuple[str, ...]


@dataclass(frozen=True)
class ExecResult:
    """Outcome of a command run in a container."""

    rc: int
    stdout: str
    stderr: str


def image_name(ref: str) -> str:
    """The image name without tag or digest: 'reg:5000/todo-backend:local' -> 'reg:5000/todo-backend'."""
    ref = ref.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    return ref[:colon] if colon > slash else ref


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container and init container of a workload document."""
    spec = doc.get("spec") or {}
    kind = doc.get("kind")
    if kind == "Pod":
        pod_spec = spec
    elif kind == "CronJob":
        pod_spec = (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    else:
        pod_spec = (spec.get("template") or {}).get("spec") or {}
    return list(pod_spec.get("containers") or []) + list(pod_spec.get("initContainers") or [])


def override_images(docs: list[dict[str, Any]], images: dict[str, str]) -> list[str]:
    """Replace container images whose name (tag ignored) is a key of images; return what was replaced."""
    replaced: list[str] = []
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") not in _WORKLOAD_KINDS:
            continue
        for container in _containers(doc):
            current = str(container.get("image", ""))
            name = image_name(current)
            # Match the full name or its last path segment, so 'todo-backend' also matches 'x/todo-backend'.
            key = name if name in images else name.rsplit("/", 1)[-1]
            if key in images:
                container["image"] = images[key]
                replaced.append(f"{doc['metadata']['name']}/{container.get('name')}: {current} -> {images[key]}")
    return replaced


def render_manifests(kubectl: Path | str, manifests_dir: Path, images: dict[str, str]) -> str:
    """Run `kubectl kustomize` on the directory and apply the image overrides; return multi-doc YAML."""
    manifests_dir = Path(manifests_dir)
    if not manifests_dir.is_dir():
        raise ManifestError(f"manifests directory {manifests_dir} does not exist (or is not a directory)")
    names = ("kustomization.yaml", "kustomization.yml", "Kustomization")
    if not any((manifests_dir / name).is_file() for name in names):
        raise ManifestError(
            f"manifests directory {manifests_dir} has no kustomization.yaml: "
            "--manifests must name a kustomize directory (base or overlay)"
        )
    done = subprocess.run(
        [str(kubectl), "kustomize", str(manifests_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise ManifestError(f"kubectl kustomize {manifests_dir} failed: {done.stderr.strip()[:2000]}")
    docs = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    used = {image_name(str(c.get("image", ""))) for d in docs if isinstance(d, dict) for c in _containers(d)}
    used |= {name.rsplit("/", 1)[-1] for name in used}
    missing = sorted(set(images) - used)
    if missing:
        raise ManifestError(f"manifests in {manifests_dir} use no image named {', '.join(missing)}")
    override_images(docs, images)
    return str(yaml.safe_dump_all(docs, sort_keys=False))


def _pod_info(pod: Any, profile: Profile) -> PodInfo:
    """Flatten a V1Pod into PodInfo; its tier is the one whose profile selector its labels match ('' for none)."""
    status = pod.status
    statuses = list(status.container_statuses or []) if status else []
    conditions = {c.type: c.status for c in (status.conditions or [])} if status else {}
    waiting = {
        s.name: f"{s.state.waiting.reason}: {s.state.waiting.message or ''}".strip()
        for s in statuses
        if s.state and s.state.waiting
    }
    return PodInfo(
        name=pod.metadata.name,
        uid=pod.metadata.uid,
        tier=profile.tier_of(pod.metadata.labels or {}) or "",
        node=pod.spec.node_name or "",
        phase=(status.phase if status else "") or "",
        ready=conditions.get("Ready") == "True",
        terminating=pod.metadata.deletion_timestamp is not None,
        restarts=sum(s.restart_count or 0 for s in statuses),
        ip=(status.pod_ip if status else "") or "",
        container_ids={s.name: s.container_id or "" for s in statuses},
        conditions=conditions,
        waiting=waiting,
    )


def _container(spec: Any, tier: Tier, owner: str) -> Any:
    """The tier's named container of a pod spec, or an error naming the container the profile expects."""
    for container in spec.containers or []:
        if container.name == tier.container:
            return container
    names = [c.name for c in spec.containers or []]
    raise LookupError(f"{owner} has no container {tier.container!r} (the profile's); its containers are {names}")


@dataclass(frozen=True)
class NodePortHolder:
    """A Service in another namespace holding a NodePort the manifests ask for."""

    namespace: str
    service: str
    ports: tuple[int, ...]
    ours: bool  # deployed by an earlier run of the suite (annotated), so the suite may remove it


def table_check_problems(lines: list[str]) -> list[str]:
    """CHECK TABLE's rows (table, op, msg_type, msg_text) that say it is not OK; a check without a status is one."""
    rows = [line.split("\t") for line in lines]
    statuses = [r[3] for r in rows if len(r) == 4 and r[2] == "status"]
    problems = [line for line, r in zip(lines, rows, strict=True) if len(r) != 4 or r[2] == "error"]
    problems += [line for line, r in zip(lines, rows, strict=True) if len(r) == 4 and r[2] == "status" and r[3] != "OK"]
    return problems if statuses else problems or ["CHECK TABLE gave no status row: " + "; ".join(lines)[:300]]


class ClusterHandle:
    """One kube context of one kubeconfig file, scoped to the app a target profile describes."""

    def __init__(
        self,
        kubeconfig: Path,
        context: str,
        namespace: str | None = None,
        *,
        kubectl: Path | str = "kubectl",
        marker: tuple[str, str] | None = None,
        kind_cluster: str | None = None,
        profile: Profile | None = None,
    ) -> None:
        self.kubeconfig = Path(kubeconfig)
        self.context = context
        # Names, labels, containers and SQL come from the profile; tools that take none get the reference app's.
        self.profile = profile or reference_profile()
        self.namespace = namespace or self.profile.namespace
        self.kubectl = str(kubectl)
        # (cluster name, token) the kit wrote into the marker ConfigMap; None means "no marker expected".
        self.marker = marker
        self.kind_cluster = kind_cluster
        # Explicit file and context: the user's default kubeconfig is never read.
        self.api_client: Any = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(self.kubeconfig), context=context
        )
        # Typed Any on purpose: the generated models make every field Optional, while the API server always
        # fills the ones read here; a missing one fails loudly at runtime either way.
        self.core: Any = client.CoreV1Api(self.api_client)
        self.apps: Any = client.AppsV1Api(self.api_client)
        self.discovery: Any = client.DiscoveryV1Api(self.api_client)

    @property
    def api_server(self) -> str:
        """The API server URL of the selected context."""
        return str(self.api_client.configuration.host)

    # -- applying ----------------------------------------------------------------------------------
    def kubectl_cmd(self, *args: str) -> list[str]:
        """A kubectl command line bound to this kubeconfig and context."""
        return [self.kubectl, "--kubeconfig", str(self.kubeconfig), "--context", self.context, *args]

    def render(self, manifests_dir: Path, images: dict[str, str]) -> str:
        """Render a kustomize directory with image overrides (todo-backend/todo-frontend/todo-mysql)."""
        return render_manifests(self.kubectl, manifests_dir, images)

    def apply(self, rendered: str, timeout: float = 120) -> str:
        """Declaratively apply rendered YAML (`kubectl apply -f -`); return kubectl's summary."""
        done = subprocess.run(
            self.kubectl_cmd("apply", "-f", "-"),
            input=rendered,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kubectl apply failed ({done.returncode}): {done.stderr.strip()[:2000]}")
        return done.stdout

    # -- observing ---------------------------------------------------------------------------------
    def tier(self, tier: str) -> Tier:
        """One tier as the profile describes it."""
        return self.profile.tiers.get(tier)

    def pods(self, tier: str) -> list[PodInfo]:
        """Pods of one tier (the profile's selector), terminating ones included."""
        selector = self.tier(tier).selector_string()
        items = self.core.list_namespaced_pod(self.namespace, label_selector=selector).items
        return sorted((_pod_info(p, self.profile) for p in items), key=lambda p: p.name)

    def all_pods(self) -> list[PodInfo]:
        """Every pod in the suite namespace."""
        items = self.core.list_namespaced_pod(self.namespace).items
        return sorted((_pod_info(p, self.profile) for p in items), key=lambda p: p.name)

    def ready_pods(self, tier: str) -> list[PodInfo]:
        """Ready, non-terminating pods of one tier."""
        return [p for p in self.pods(tier) if p.ready and not p.terminating]

    def ready_count(self, tier: str) -> int:
        """How many pods of a tier are Ready and not terminating."""
        return len(self.ready_pods(tier))

    def deployment(self, tier: str) -> DeploymentStatus:
        """Replica counts of a tier's Deployment."""
        name = self.tier(tier).deployment
        dep = self.apps.read_namespaced_deployment(name, self.namespace)
        st = dep.status
        return DeploymentStatus(
            name=name,
            desired=dep.spec.replicas or 0,
            ready=st.ready_replicas or 0,
            available=st.available_replicas or 0,
            updated=st.updated_replicas or 0,
        )

    def deployment_env(self, tier: str) -> list[dict[str, Any]]:
        """The env entries of a tier's container (the profile names it), as plain dicts (value or valueFrom)."""
        spec = self.tier(tier)
        dep = self.apps.read_namespaced_deployment(spec.deployment, self.namespace)
        container = _container(dep.spec.template.spec, spec, f"Deployment {spec.deployment}")
        return [self.api_client.sanitize_for_serialization(e) for e in (container.env or [])]

    def pvc_phase(self, name: str | None = None) -> str:
        """Phase of a PersistentVolumeClaim ('Bound', 'Pending', ...); by default the database's."""
        claim = name or self.profile.tiers.database.pvc
        return str(self.core.read_namespaced_persistent_volume_claim(claim, self.namespace).status.phase)

    def services(self) -> list[str]:
        """Names of the Services in the suite namespace."""
        return sorted(s.metadata.name for s in self.core.list_namespaced_service(self.namespace).items)

    def endpoints(self, service: str) -> list[str]:
        """Ready endpoint addresses of a Service (EndpointSlices)."""
        slices = self.discovery.list_namespaced_endpoint_slice(
            self.namespace, label_selector=f"kubernetes.io/service-name={service}"
        ).items
        addresses: list[str] = []
        for sl in slices:
            for ep in sl.endpoints or []:
                if ep.conditions is None or ep.conditions.ready is not False:
                    addresses.extend(ep.addresses or [])
        return sorted(addresses)

    def config_map(self, name: str, namespace: str | None = None) -> dict[str, str]:
        """A ConfigMap's data."""
        return dict(self.core.read_namespaced_config_map(name, namespace or self.namespace).data or {})

    def config_maps(self) -> dict[str, dict[str, str]]:
        """Every ConfigMap's data in the suite namespace."""
        return {c.metadata.name: dict(c.data or {}) for c in self.core.list_namespaced_config_map(self.namespace).items}

    def secret_data(self, name: str) -> dict[str, str]:
        """A Secret's decoded values (never logged: callers hand them to results for redaction)."""
        data = self.core.read_namespaced_secret(name, self.namespace).data or {}
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    def secret_names(self) -> list[str]:
        """Names of the Secrets in the suite namespace."""
        return sorted(s.metadata.name for s in self.core.list_namespaced_secret(self.namespace).items)

    def nodes(self) -> list[NodeInfo]:
        """Every node with its conditions."""
        result: list[NodeInfo] = []
        for node in self.core.list_node().items:
            conditions = {c.type: c.status for c in (node.status.conditions or [])}
            labels = node.metadata.labels or {}
            result.append(
                NodeInfo(
                    name=node.metadata.name,
                    ready=conditions.get("Ready") == "True",
                    control_plane="node-role.kubernetes.io/control-plane" in labels,
                    unschedulable=bool(node.spec.unschedulable),
                    conditions=conditions,
                    taints=tuple(f"{t.key}:{t.effect}" for t in (node.spec.taints or [])),
                )
            )
        return sorted(result, key=lambda n: n.name)

    def node(self, name: str) -> NodeInfo:
        """One node by name."""
        for node in self.nodes():
            if node.name == name:
                return node
        raise LookupError(f"node {name!r} not found in context {self.context}")

    def events(self, limit: int = 200) -> list[str]:
        """Recent events of the suite namespace and of nodes, oldest first, one line each."""
        lines: list[tuple[str, str]] = []
        sources = [self.core.list_namespaced_event(self.namespace).items]
        # Node events are a bonus; the namespace's are what matters.
        with contextlib.suppress(ApiException):
            node_events = self.core.list_namespaced_event("default", field_selector="involvedObject.kind=Node")
            sources.append(node_events.items)
        for items in sources:
            for ev in items:
                when = ev.last_timestamp or ev.event_time or ev.first_timestamp or ev.metadata.creation_timestamp
                stamp = when.isoformat() if when else ""
                obj = f"{ev.involved_object.kind}/{ev.involved_object.name}"
                lines.append(
                    (
                        stamp,
                        f"{stamp} {ev.type} {ev.reason} {obj} x{ev.count or 1}: {ev.message or ''}".strip(),
                    )
                )
        lines.sort(key=lambda item: item[0])
        return [line for _, line in lines[-limit:]]

    def logs(self, pod: str, *, container: str | None = None, previous: bool = False, tail: int = 200) -> str:
        """A pod's log tail (current or previous container instance)."""
        kwargs: dict[str, Any] = {"tail_lines": tail, "previous": previous}
        if container:
            kwargs["container"] = container
        return str(self.core.read_namespaced_pod_log(pod, self.namespace, **kwargs))

    def exec(self, pod: str, command: list[str], *, container: str | None = None, timeout: float = 30) -> ExecResult:
        """Run a command in a pod's container (websocket exec) and return rc, stdout, stderr."""
        # A dedicated client: stream() must not share connection state with ordinary calls.
        api = client.CoreV1Api(
            config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=str(self.kubeconfig), context=self.context
            )
        )
        kwargs: dict[str, Any] = {}
        if container:
            kwargs["container"] = container
        ws = stream(
            api.connect_get_namespaced_pod_exec,
            pod,
            self.namespace,
            command=command,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
            **kwargs,
        )
        try:
            ws.run_forever(timeout=timeout)
            if ws.is_open():
                raise TimeoutError(f"exec {command[0]!r} in pod {pod} still running after {timeout:g}s")
            out, err = ws.read_stdout(), ws.read_stderr()
            rc = ws.returncode
        finally:
            ws.close()
        return ExecResult(rc=int(rc if rc is not None else -1), stdout=out or "", stderr=err or "")

    def _app_deployments(self) -> list[Any]:
        """The profile's Deployments that exist in the namespace (the app is the union of its tiers)."""
        names = {tier.deployment for _, tier in self.profile.tiers.items()}
        items = self.apps.list_namespaced_deployment(self.namespace).items
        return [d for d in items if d.metadata.name in names]

    def deployment_annotations(self, key: str) -> dict[str, str]:
        """One annotation of every Deployment of the app (name -> value, '' when absent)."""
        return {d.metadata.name: (d.metadata.annotations or {}).get(key, "") for d in self._app_deployments()}

    def node_port_holders(self, ports: set[int], marker: str) -> list[NodePortHolder]:
        """Services outside the app's namespace that hold one of these NodePorts, and whether the suite put them there
        (the Service, or a Deployment in its namespace, carries the `marker` annotation of an earlier apply)."""
        if not ports:
            return []
        holders = []
        suite_namespaces: dict[str, bool] = {}
        for svc in self.core.list_service_for_all_namespaces().items:
            namespace = svc.metadata.namespace
            if namespace == self.namespace:
                continue
            held = sorted({int(p.node_port) for p in (svc.spec.ports or []) if p.node_port} & ports)
            if not held:
                continue
            if namespace not in suite_namespaces:
                deps = self.apps.list_namespaced_deployment(namespace).items
                suite_namespaces[namespace] = any(marker in (d.metadata.annotations or {}) for d in deps)
            ours = marker in (svc.metadata.annotations or {}) or suite_namespaces[namespace]
            holders.append(NodePortHolder(namespace, svc.metadata.name, tuple(held), ours))
        return holders

    def delete_suite_deployment(self, namespace: str, marker: str, timeout: float = 120) -> list[str]:
        """Delete what an earlier apply of the suite left in another namespace: its annotated Deployments (their pods
        gone), its annotated Services and every Service there that holds a NodePort. Returns what was deleted."""
        deleted = []
        for dep in self.apps.list_namespaced_deployment(namespace).items:
            if marker in (dep.metadata.annotations or {}):
                self.apps.delete_namespaced_deployment(dep.metadata.name, namespace, propagation_policy="Foreground")
                deleted.append(f"Deployment {namespace}/{dep.metadata.name}")
        for svc in self.core.list_namespaced_service(namespace).items:
            if marker in (svc.metadata.annotations or {}) or any(p.node_port for p in svc.spec.ports or []):
                self.core.delete_namespaced_service(svc.metadata.name, namespace)
                deleted.append(f"Service {namespace}/{svc.metadata.name}")
        names = {d.split("/", 1)[1] for d in deleted if d.startswith("Deployment")}
        until(
            Condition(
                f"the pods of the suite's earlier Deployments in {namespace} gone",
                lambda: (
                    not [
                        p
                        for p in self.core.list_namespaced_pod(namespace).items
                        if any(r.name.rsplit("-", 1)[0] in names for r in p.metadata.owner_references or [])
                    ]
                ),
            ),
            timeout=timeout,
            interval=1.0,
        )
        return deleted

    def delete_deployments(self, timeout: float = 120) -> None:
        """Delete the app's Deployments and wait until their pods are gone (a different manifest set follows)."""
        for dep in self._app_deployments():
            self.apps.delete_namespaced_deployment(dep.metadata.name, self.namespace, propagation_policy="Foreground")
        until(
            Condition(
                f"every pod of the app's old Deployments in {self.namespace} gone",
                lambda: not [p for p in self.all_pods() if p.tier],
            ),
            timeout=timeout,
            interval=1.0,
        )

    def service_annotations(self, key: str, names: list[str]) -> dict[str, str]:
        """One annotation of each of these Services that exists in the app's namespace (name -> value, '' when
        absent)."""
        wanted = set(names)
        return {
            svc.metadata.name: (svc.metadata.annotations or {}).get(key, "")
            for svc in self.core.list_namespaced_service(self.namespace).items
            if svc.metadata.name in wanted
        }

    def delete_services(self, names: list[str]) -> list[str]:
        """Delete these Services of the app's namespace where they exist; returns the names deleted."""
        deleted = []
        for name in names:
            try:
                self.core.delete_namespaced_service(name, self.namespace)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                continue
            deleted.append(name)
        return deleted

    def delete_pod(self, name: str, grace_seconds: int | None = None) -> None:
        """Delete a pod, with an explicit grace period (0 = immediately) or the pod's own."""
        body = client.V1DeleteOptions(grace_period_seconds=grace_seconds) if grace_seconds is not None else None
        self.core.delete_namespaced_pod(name, self.namespace, grace_period_seconds=grace_seconds, body=body)

    def pod_request(
        self, pod: str, method: str, path: str, body: Any = None, *, port: int | None = None, timeout: float = 10
    ) -> tuple[int, Any]:
        """An HTTP request to one chosen pod via the API server's pod proxy (default: the back end's container port)."""
        port = port or self.profile.tiers.backend.target_port
        resource = f"/api/v1/namespaces/{self.namespace}/pods/{pod}:{port}/proxy{path}"
        try:
            method_, url, headers, data, post = self.api_client.param_serialize(
                method=method,
                resource_path=resource,
                header_params={"Accept": "application/json", "Content-Type": "application/json"},
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(
                method_, url, header_params=headers, body=data, post_params=post, _request_timeout=timeout
            )
            response.read()
            status, raw = int(response.status), response.data
        except ApiException as exc:
            status, raw = int(exc.status or 0), exc.body or b""
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        try:
            return int(status), json.loads(text) if text else None
        except ValueError:
            return int(status), text

    def pod_sender(self, pod: str) -> Sender:
        """A workload adapter's sender to one chosen back-end pod, through the API server's pod proxy."""

        def send(call: HttpCall, fresh: bool = False) -> HttpAnswer:
            """Send one call to the pod; `fresh` means nothing here (the pod is chosen by name)."""
            status, body = self.pod_request(pod, call.method, call.path, call.json)
            text = body if isinstance(body, str) else json.dumps(body)[:2000]
            return HttpAnswer(status, None if isinstance(body, str) else body, text)

        return send

    def run_pod(self, name: str, image: str, env: dict[str, str], *, component: str = "probe") -> None:
        """Start a one-off pod (never restarted) in the suite namespace, outside every tier's selector."""
        pod = client.V1Pod(
            metadata=client.V1ObjectMeta(
                name=name,
                labels={"app.kubernetes.io/part-of": "todo-e2e", "app.kubernetes.io/component": component},
            ),
            spec=client.V1PodSpec(
                restart_policy="Never",
                termination_grace_period_seconds=1,
                containers=[
                    client.V1Container(
                        name="main",
                        image=image,
                        image_pull_policy="IfNotPresent",
                        env=[client.V1EnvVar(name=k, value=v) for k, v in env.items()],
                    )
                ],
            ),
        )
        self.core.create_namespaced_pod(self.namespace, pod)

    def pod_phase(self, name: str) -> str:
        """A pod's phase (Pending, Running, Succeeded, Failed)."""
        return str(self.core.read_namespaced_pod(name, self.namespace).status.phase or "")

    def deployment_image(self, tier: str) -> str:
        """The image of a tier's container (the profile names it)."""
        spec = self.tier(tier)
        dep = self.apps.read_namespaced_deployment(spec.deployment, self.namespace)
        return str(_container(dep.spec.template.spec, spec, f"Deployment {spec.deployment}").image)

    @property
    def sql(self) -> SqlReconciliation:
        """Where the profile says stored to-dos live; an error when it does not say (no SQL reconciliation)."""
        if self.profile.sql is None:
            raise LookupError(
                f"profile {self.profile.name!r} has no sql section: stored to-dos cannot be read with SQL "
                "(tag the scenario @needs_sql_reconciliation)"
            )
        return self.profile.sql

    def _value(self, value: SqlValue, field_name: str) -> str:
        """A value the profile gives literally or by ConfigMap/Secret key."""
        if value.value is not None:
            return value.value
        assert value.key is not None  # validated with the profile
        data = self.config_map(value.config_map) if value.config_map else self.secret_data(str(value.secret))
        source = f"ConfigMap {value.config_map}" if value.config_map else f"Secret {value.secret}"
        if value.key not in data:
            raise LookupError(f"{source} has no key {value.key!r} (the profile's {field_name}); keys {sorted(data)}")
        return data[value.key]

    def _sql(self, query: str, timeout: float = 60) -> list[str]:
        """Run one SELECT with the app's credentials inside the database pod; one line per row."""
        sql = self.sql
        creds = self.secret_data(sql.credentials.secret)
        username, password = creds[sql.credentials.username_key], creds[sql.credentials.password_key]
        database = self._value(sql.database, "sql.database")
        pods = self.ready_pods(DATABASE)
        if not pods:
            raise RuntimeError("no Ready database pod to query")
        pod = pods[0]
        # The password is an argument of sh, not of the client, which reads it from MYSQL_PWD.
        script = (
            "client=$(command -v mariadb || command -v mysql) "
            '|| { echo "no mariadb/mysql client" >&2; exit 127; }; '
            'MYSQL_PWD="$1" exec "$client" --protocol=TCP --host=127.0.0.1 --user="$2" --batch --raw '
            '--skip-column-names --execute="$4" "$3"'
        )
        done = self.exec(
            pod.name,
            ["sh", "-c", script, "sql", password, username, database, query],
            container=self.profile.tiers.database.container,
            timeout=timeout,
        )
        if done.rc != 0:
            raise RuntimeError(f"SQL query in pod {pod.name} failed ({done.rc}): {done.stderr.strip()[:500]}")
        return [line for line in done.stdout.splitlines() if line]

    def database_titles(self, like_prefix: str, timeout: float = 60) -> list[str]:
        """Stored titles starting with the prefix, read with SQL inside the database pod (the profile's table)."""
        return self._sql(self.sql.titles_query(like_prefix), timeout)

    def database_rows(self, like_prefix: str) -> list[tuple[int, str, bool]]:
        """(id, title, completed) of the rows whose title starts with the prefix, read with SQL."""
        rows = []
        for line in self._sql(self.sql.rows_query(like_prefix)):
            ident, completed, title = line.split("\t", 2)
            rows.append((int(ident), title, completed not in ("0", "", "NULL")))
        return rows

    def database_table_check(self) -> list[str]:
        """The server's CHECK TABLE of the to-do table: [] when it reports the table OK, else its messages."""
        lines = self._sql(self.sql.check_query())
        return table_check_problems(lines)

    def database_max_id(self) -> int:
        """The highest key in the to-do table (0 when empty)."""
        (line,) = self._sql(self.sql.max_key_query())
        return int(line)

    def database_titles_after(self, row_id: int) -> list[str]:
        """Titles of every row stored after the given key, whoever stored them."""
        return self._sql(self.sql.titles_after_query(row_id))

    def claim_mounts(self, tier: str) -> dict[str, str]:
        """For each live pod of the tier, its container's (the profile's) mounts: mount path -> claim name."""
        mounts: dict[str, str] = {}
        spec = self.tier(tier)
        for pod in self.core.list_namespaced_pod(self.namespace, label_selector=spec.selector_string()).items:
            if pod.metadata.deletion_timestamp is not None:
                continue
            claims = {
                v.name: v.persistent_volume_claim.claim_name
                for v in pod.spec.volumes or []
                if v.persistent_volume_claim is not None
            }
            for m in _container(pod.spec, spec, f"pod {pod.metadata.name}").volume_mounts or []:
                if m.name in claims:
                    mounts[m.mount_path] = claims[m.name]
        return mounts

    # -- safety ------------------------------------------------------------------------------------
    def marker_state(self) -> tuple[bool, str]:
        """Does the marker ConfigMap match what the kit created for this run?"""
        if self.marker is None:
            return False, "no marker expected: this is not the suite's own cluster"
        expected_cluster, expected_token = self.marker
        try:
            data = self.config_map(MARKER_NAME, MARKER_NAMESPACE)
        except ApiException as exc:
            return (
                False,
                f"marker ConfigMap {MARKER_NAMESPACE}/{MARKER_NAME} unreadable: {exc.status} {exc.reason}",
            )
        if data.get("cluster") != expected_cluster:
            return False, f"marker names cluster {data.get('cluster')!r}, expected {expected_cluster!r}"
        if data.get("token") != expected_token:
            return False, "marker token differs from the one the suite created"
        return True, f"marker {MARKER_NAMESPACE}/{MARKER_NAME} matches cluster {expected_cluster!r}"

    def facts(self) -> TargetFacts:
        """What the safety guard needs to decide whether faults may be injected here."""
        marker_ok, detail = self.marker_state()
        return TargetFacts(
            context=self.context,
            api_server=self.api_server,
            marker_ok=marker_ok,
            marker_detail=detail,
            kind_cluster=self.kind_cluster,
        )
