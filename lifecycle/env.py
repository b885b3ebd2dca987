"""One environment per run: target, images, cluster handle, deployment, clients; torn down in reverse order.

Shaped like kubernetes-sigs/e2e-framework's `env`: each stage is built once, on first use, and registers its own
teardown, so whatever was set up is undone (the node guard before the cluster) however the run ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import yaml

from common.docker import DockerCli as Docker
from common.errors import DockerError, InfrastructureError
from common.names import DEFAULT_CLUSTER, FRONTEND_NODE_PORT
from support.adapters import GraphQLAdapter, RestAdapter, adapter_for
from support.chaos import ChaosHandle
from support.cluster import ClusterHandle
from support.diagnose import DeploymentNotReady, explain_not_ready
from support.faults import DockerCli, FaultInjector, NodeGuard
from support.profile import REFERENCE_PROFILE, Profile, ProfileError, load_profile, resolve_builder
from support.results import Results
from support.safety import SafetyPolicy
from support.victims import Victims

if TYPE_CHECKING:
    from kit.api import ClusterInfo

__all__ = ["Environment", "Options", "OptionsError", "Target", "profile_digest"]

REPO_ROOT = Path(__file__).resolve().parent.parent


MANIFESTS_ANNOTATION = "todo-e2e.dev/manifests-sha256"


def _annotate(rendered: str, digest: str) -> str:
    """The rendered manifests with every Deployment and Service annotated with the manifest set's digest."""
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") in ("Deployment", "Service"):
            doc.setdefault("metadata", {}).setdefault("annotations", {})[MANIFESTS_ANNOTATION] = digest
    return str(yaml.safe_dump_all(docs, sort_keys=False))


def node_ports(rendered: str) -> set[int]:
    """The NodePorts the rendered manifests' Services ask for."""
    return {
        int(port["nodePort"])
        for doc in yaml.safe_load_all(rendered)
        if isinstance(doc, dict) and doc.get("kind") == "Service"
        for port in (doc.get("spec") or {}).get("ports") or []
        if port.get("nodePort")
    }


def service_names(rendered: str) -> list[str]:
    """The names of the rendered manifests' Services, in order."""
    return [
        str(doc["metadata"]["name"])
        for doc in yaml.safe_load_all(rendered)
        if isinstance(doc, dict) and doc.get("kind") == "Service" and (doc.get("metadata") or {}).get("name")
    ]


class NodePortTaken(InfrastructureError):
    """A NodePort the manifests need is held by a Service the suite did not deploy."""

    phase = "deploy"


class OptionsError(ValueError):
    """A command-line option names something that does not exist or does not fit; the message says what to do."""


def profile_digest(path: Path) -> str:
    """The sha256 of the profile file as read (recorded with the results, so a run names exactly what it used)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Options:
    """The run's settings, validated once, before anything is created or applied."""

    cluster_name: str = DEFAULT_CLUSTER
    keep_cluster: bool = False
    manifests: Path | None = None  # None: the profile's manifests in kind mode; nothing is applied in staging mode
    images: dict[str, str] = field(default_factory=dict)  # explicit image overrides by tier (database, backend, ...)
    profile: Path = REFERENCE_PROFILE
    seed: int = 0
    staging_context: str | None = None
    kubeconfig: Path | None = None
    frontend_url: str | None = None  # None: the profile's access.frontend_url
    deploy_timeout: float = 300.0
    fast_failover: bool = True  # the kind cluster's node-failure detection settings (the benchmark compares)

    @property
    def staging(self) -> bool:
        """Whether the run targets an existing cluster instead of the suite's kind cluster."""
        return self.staging_context is not None

    def profile_path(self) -> Path:
        """The profile file (relative paths are taken from the repository root when not found from here)."""
        if self.profile.is_absolute() or self.profile.exists():
            return self.profile
        return REPO_ROOT / self.profile

    def target_profile(self) -> Profile:
        """The validated profile; a bad one is an OptionsError naming the file and every wrong field."""
        try:
            return load_profile(self.profile_path())
        except ProfileError as exc:
            raise OptionsError(f"--profile: {exc}") from None

    def manifests_dir(self, profile: Profile | None = None) -> Path | None:
        """The kustomize directory to apply, or None when nothing is to be applied (staging without one)."""
        if self.manifests is None:
            if self.staging:
                return None
            return REPO_ROOT / (profile or self.target_profile()).manifests
        return self.manifests if self.manifests.is_absolute() else REPO_ROOT / self.manifests

    def validate(self) -> None:
        """Refuse options that cannot work, naming the option and the fix; creates nothing."""
        profile = self.target_profile()
        folder = self.manifests_dir(profile)
        if folder is not None:
            if not folder.is_dir():
                raise OptionsError(f"--manifests {folder}: no such directory (give a kustomize base or overlay)")
            if not any((folder / n).is_file() for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")):
                raise OptionsError(f"--manifests {folder}: no kustomization.yaml there (give a kustomize directory)")
        tiers = {spec.tier for spec in profile.images.values()}
        unknown = sorted(set(self.images) - tiers)
        if unknown:
            raise OptionsError(
                f"image override(s) for tier(s) {unknown}: profile {profile.name!r} ({self.profile_path()}) "
                f"builds images for {sorted(tiers) or 'no tier'}"
            )
        if self.staging:
            if self.kubeconfig is None:
                raise OptionsError("--existing-context needs --kubeconfig FILE (the default kubeconfig is never used)")
            if not self.kubeconfig.is_file():
                raise OptionsError(f"--kubeconfig {self.kubeconfig}: no such file")


@dataclass(frozen=True)
class Target:
    """The cluster the suite works on: kubeconfig/context, plus the kind facts when it is the suite's own."""

    kubeconfig: Path
    context: str
    kubectl: str
    frontend_url: str
    kind_cluster: str | None
    marker: tuple[str, str] | None
    info: ClusterInfo | None = None


class Environment:
    """The run's environment, built stage by stage on first use; `close()` undoes the stages in reverse."""

    def __init__(self, options: Options, results: Results, say: Callable[[str], None] = print) -> None:
        """Validate the options first: a wrong directory or image name fails before anything is created."""
        options.validate()
        self.options = options
        self.profile = options.target_profile()
        path = options.profile_path()
        results.set_environment(
            {"profile": self.profile.name, "profile_path": str(path), "profile_sha256": profile_digest(path)}
        )
        self.results = results
        self.say = say
        self._stack = contextlib.ExitStack()
        self._target: Target | None = None
        self._images: dict[str, str] | None = None
        self._cluster: ClusterHandle | None = None
        self._deployed = False
        self._app: RestAdapter | GraphQLAdapter | None = None
        self._guard: NodeGuard | None = None
        self._guard_made = False
        self._faults: FaultInjector | None = None
        self._chaos: ChaosHandle | None = None
        self.timings: dict[str, float] = {}  # seconds per stage (cluster, image build/load), for the benchmark

    def close(self) -> None:
        """Tear everything down in reverse order of creation."""
        self._stack.close()

    # -- stages -----------------------------------------------------------------------------------------------
    @property
    def target(self) -> Target:
        """The suite's kind cluster (created or re-used through the kit), or the explicitly named context."""
        if self._target is None:
            self._target = self._make_target()
        return self._target

    def _make_target(self) -> Target:
        """Create or find the target cluster and register its teardown."""
        o = self.options
        frontend_url = o.frontend_url or self.profile.access.frontend_url
        if o.staging:
            assert o.kubeconfig is not None and o.staging_context is not None  # validated
            return Target(
                o.kubeconfig, o.staging_context, os.environ.get("KUBECTL", "kubectl"), frontend_url, None, None
            )
        from kit import api as kit

        started = time.monotonic()
        try:
            tools = kit.ensure_tools()
            # The front end's URL names the host port the kind config maps to the NodePort (30080 by default).
            port = urlsplit(frontend_url).port or FRONTEND_NODE_PORT
            info = kit.ensure_cluster(name=o.cluster_name, host_port=port, fast_failover=o.fast_failover)
        except Exception as exc:
            self.results.record_infrastructure_failure("cluster creation", type(exc).__name__, str(exc))
            raise
        ready_s = time.monotonic() - started
        self.timings["cluster"] = ready_s
        self.say(f"cluster {info.name} ready in {ready_s:.1f} s (context {info.context})")
        self.results.set_environment(
            {
                "setup_cluster_s": round(ready_s, 1),
                "setup_cluster_created": info.created,
                "cluster": info.name,
                "node_image": info.node_image,
                "node_image_id": tools.node_image_id,
                "kind_version": tools.kind_version,
                "k8s_version": tools.k8s_version,
            }
        )
        self._stack.callback(self._drop_cluster, info.name)
        return Target(
            Path(info.kubeconfig),
            info.context,
            str(tools.kubectl),
            info.frontend_url or frontend_url,
            info.name,
            (info.name, info.marker_token),
            info,
        )

    def _drop_cluster(self, name: str) -> None:
        """Delete the suite's cluster unless it is to be kept."""
        if self.options.keep_cluster:
            self.say(f"keeping cluster {name} (--keep-cluster)")
            return
        from kit import api as kit

        kit.delete_cluster(name)

    @property
    def node_containers(self) -> list[str]:
        """The kind node containers of the suite's cluster (empty in staging mode)."""
        if self.target.kind_cluster is None:
            return []
        from kit import api as kit

        return [n for names in kit.node_containers(self.target.kind_cluster).values() for n in names]

    @property
    def images(self) -> dict[str, str]:
        """Image per kustomize name: given by option, else built from app/ and loaded into the kind cluster."""
        if self._images is None:
            self._images = self._make_images()
        return self._images

    def _make_images(self) -> dict[str, str]:
        """Build and load the profile's images (kind mode) or take the explicit ones (staging)."""
        by_tier: dict[str, str] = {spec.tier: name for name, spec in self.profile.images.items()}
        chosen = {by_tier[tier]: image for tier, image in self.options.images.items()}
        info = self.target.info
        if info is not None:
            from kit import api as kit

            try:
                self._build_images(chosen, lambda folder, name: kit.build_image(REPO_ROOT / folder, name))
                for name, image in chosen.items():
                    started = time.monotonic()
                    kit.load_image(info, image)
                    self.timings[f"load {name}"] = time.monotonic() - started
            except Exception as exc:
                self.results.record_infrastructure_failure("image build/load", type(exc).__name__, str(exc))
                raise
        ids = {}
        if info is not None:  # staging images are not local
            for image in chosen.values():
                try:
                    ids[image] = Docker().image_id(image)
                except DockerError:
                    continue
        self.results.set_environment({"images": dict(chosen), "image_ids": ids})
        return chosen

    def _build_images(self, chosen: dict[str, str], build: Callable[[str, str], str]) -> None:
        """Fill in every profile image not given by option: from its folder, or once per builder callable."""
        builders: dict[str, list[str]] = {}
        for name, spec in self.profile.images.items():
            if name in chosen:
                continue
            started = time.monotonic()
            if spec.context is not None:
                chosen[name] = build(spec.context, name)
                self.timings[f"build {name}"] = time.monotonic() - started
                self.say(f"image {chosen[name]} built in {self.timings[f'build {name}']:.1f} s")
            elif spec.builder is not None:
                builders.setdefault(spec.builder, []).append(name)
        for builder, names in builders.items():
            # A builder builds every image it is named for in one go: list of kustomize names -> name -> image.
            started = time.monotonic()
            built = resolve_builder(builder)(names)
            missing = sorted(set(names) - set(built))
            if missing:
                raise RuntimeError(f"image builder {builder} returned no image for {missing}")
            chosen.update({name: str(built[name]) for name in names})
            took = time.monotonic() - started
            self.say(f"images {', '.join(chosen[n] for n in names)} built by {builder} in {took:.1f} s")

    @property
    def cluster(self) -> ClusterHandle:
        """The cluster handle (explicit kubeconfig and context)."""
        if self._cluster is None:
            t = self.target
            self._cluster = ClusterHandle(
                t.kubeconfig,
                t.context,
                kubectl=t.kubectl,
                marker=t.marker,
                kind_cluster=t.kind_cluster,
                profile=self.profile,
            )
        return self._cluster

    def safety_policy(self) -> SafetyPolicy:
        """Faults only on the suite's own cluster, or pod faults on the explicitly named context."""
        return SafetyPolicy(suite_cluster=self.options.cluster_name, allowed_context=self.options.staging_context)

    def deployed(self) -> ClusterHandle:
        """The manifests applied (after the safety check) and every tier Ready within the deploy budget."""
        if not self._deployed:
            self._deploy()
            self._deployed = True
        return self.cluster

    def _deploy(self) -> None:
        """Safety first, then render, apply and wait; a tier that never gets ready is recorded once, by name."""
        from support.conditions import rolled_out
        from support.safety import check
        from support.waits import WaitTimeout, until

        cluster = self.cluster
        # Nothing is applied to a cluster the suite may not touch.
        check(cluster.facts(), self.safety_policy(), "pod")
        folder = self.options.manifests_dir(self.profile)
        started = time.monotonic()
        if folder is not None:
            rendered = cluster.render(folder, self.images)
            digest = hashlib.sha256(rendered.encode()).hexdigest()
            self.results.set_environment({"manifests": str(folder), "manifests_sha256": digest})
            self._replace_other_manifest_set(cluster, rendered, digest)
            self._free_node_ports(cluster, node_ports(rendered))
            self.say(cluster.apply(_annotate(rendered, digest)).rstrip())
        else:
            self.say("staging mode: verifying what is deployed (no --manifests given, nothing applied)")
            self.results.set_environment({"manifests": None})
        budget = self.options.deploy_timeout
        try:
            until(rolled_out(cluster), timeout=budget, interval=1.0)
        except WaitTimeout as exc:
            problems = explain_not_ready(cluster)
            for p in problems:
                self.results.record_deploy_failure(p.tier, p.ready, p.desired, p.pods, p.message)
            raise DeploymentNotReady(problems, budget) from exc
        ready_s = time.monotonic() - started
        self.say(f"all tiers Ready in {ready_s:.1f} s")
        self.results.set_environment({"setup_deploy_s": round(ready_s, 1)})
        for name in cluster.secret_names():
            self.results.add_secret_values(cluster.secret_data(name).values())

    def _replace_other_manifest_set(self, cluster: ClusterHandle, rendered: str, digest: str) -> None:
        """Another manifest set was applied here before (a self-check entry, an older run): start from its absence.
        Applying over it could merge both (an emptyDir and a claim on one volume) or be refused (a Service's
        clusterIP is immutable: a headless one cannot become a ClusterIP one), so its Deployments go, their pods
        gone, and so do the Services the new set defines."""
        applied = cluster.deployment_annotations(MANIFESTS_ANNOTATION)
        if any(v != digest for v in applied.values()):
            self.say(f"a different manifest set is deployed ({sorted(applied)}): deleting its Deployments first")
            cluster.delete_deployments()
        # Services are looked at on their own: an earlier set's Deployments may be gone already (its NodePort
        # Services freed for another namespace) while its database Service is still there.
        services = cluster.service_annotations(MANIFESTS_ANNOTATION, service_names(rendered))
        stale = [name for name, value in services.items() if value != digest]
        if stale:
            self.say("deleted the Services of another manifest set " + ", ".join(cluster.delete_services(stale)))

    def _free_node_ports(self, cluster: ClusterHandle, ports: set[int]) -> None:
        """A profile in another namespace (the walk-through's after the reference app) needs the same NodePorts:
        the suite's own earlier deployment there is removed first; anything else holding them is an error."""
        holders = cluster.node_port_holders(ports, MANIFESTS_ANNOTATION)
        foreign = [h for h in holders if not h.ours]
        if foreign:
            taken = ", ".join(f"{h.ports} by Service {h.namespace}/{h.service}" for h in foreign)
            raise NodePortTaken(
                f"NodePort(s) the manifests need are taken: {taken}, which the suite did not deploy. Delete it, or "
                "run on a cluster of its own (--cluster-name NAME with another --frontend-url port)"
            )
        for namespace in sorted({h.namespace for h in holders}):
            self.say(f"the suite's earlier deployment in namespace {namespace} holds NodePorts we need: removing it")
            self.say("deleted " + ", ".join(cluster.delete_suite_deployment(namespace, MANIFESTS_ANNOTATION)))

    @property
    def app(self) -> RestAdapter | GraphQLAdapter:
        """The profile's workload adapter, reaching the API where the profile says (through the front end)."""
        if self._app is None:
            # The front end may answer elsewhere than the profile says (--frontend-url, the kind host port).
            self._app = adapter_for(self.profile.with_frontend_url(self.target.frontend_url), timeout=5.0)
            self._stack.callback(self._app.close)
        return self._app

    @property
    def guard(self) -> NodeGuard | None:
        """Restores every node the suite stopped or paused: at teardown, on failure, Ctrl-C and exit."""
        if not self._guard_made:
            self._guard_made = True
            if self.target.kind_cluster is not None:
                guard = NodeGuard(DockerCli(), self.target.kind_cluster)
                self._stack.enter_context(guard)
                self._stack.callback(self._record_guard, guard)
                self._guard = guard
        return self._guard

    def _record_guard(self, guard: NodeGuard) -> None:
        """The guard's final restore goes into the results, so a node left down keeps the run from ACCEPTED."""
        problems = guard.exit_problems
        self.results.record_check(
            "teardown",
            "every stopped or paused node restored at the end of the run",
            "failed" if problems else "passed",
            "; ".join(problems),
        )

    @property
    def faults(self) -> FaultInjector:
        """Fault injection behind the safety guard, victims chosen by the seed."""
        if self._faults is None:
            self._faults = FaultInjector(self.cluster, self.safety_policy(), Victims(self.options.seed), self.guard)
        return self._faults

    @property
    def chaos(self) -> ChaosHandle:
        """Chaos experiments in-process against the suite's cluster, journals kept with the results."""
        if self._chaos is None:
            t = self.target
            self._chaos = ChaosHandle(
                t.kubeconfig,
                t.context,
                t.frontend_url,
                self.results.path,
                facts=self.cluster.facts,
                allowed_context=t.context if self.options.staging else None,
                profile=self.profile,
                profile_path=self.options.profile_path(),
            )
        return self._chaos
