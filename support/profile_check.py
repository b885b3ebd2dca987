"""Does a profile describe a manifest set? Every name, selector, container, port, key and image it names, checked
against the rendered objects (`kubectl kustomize DIR`), before anything is applied.

`mismatches(profile, objects)` returns one line per thing the profile names that the objects do not have; an empty
list means every name and selector the profile relies on exists there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from support.profile import EnvSource, Profile, Tier

__all__ = ["mismatches"]

Obj = Mapping[str, Any]


def _index(objects: Iterable[Obj]) -> dict[tuple[str, str], Obj]:
    """(kind, name) -> object."""
    return {(str(o.get("kind")), str((o.get("metadata") or {}).get("name"))): o for o in objects if isinstance(o, dict)}


def _pod_spec(deployment: Obj) -> Mapping[str, Any]:
    """The pod template's spec of a Deployment."""
    return ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}


def _template_labels(deployment: Obj) -> dict[str, str]:
    """The labels its pods get."""
    return dict((((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})


def _keys(obj: Obj) -> set[str]:
    """The keys of a ConfigMap or Secret (data, stringData, binaryData)."""
    return {k for field in ("data", "stringData", "binaryData") for k in (obj.get(field) or {})}


def _image_name(ref: str) -> str:
    """An image reference without tag or digest."""
    ref = ref.split("@", 1)[0]
    return ref[: ref.rfind(":")] if ref.rfind(":") > ref.rfind("/") else ref


def _key_ref(objs: dict[tuple[str, str], Obj], kind: str, name: str, key: str, what: str) -> list[str]:
    """A ConfigMap/Secret key the profile names exists."""
    obj = objs.get((kind, name))
    if obj is None:
        return [f"{what}: no {kind} {name!r}"]
    if key not in _keys(obj):
        return [f"{what}: {kind} {name!r} has no key {key!r} (keys {sorted(_keys(obj))})"]
    return []


def _env(container: Mapping[str, Any], variable: str, source: EnvSource, where: str) -> list[str]:
    """The container takes the variable from the key the profile names."""
    for entry in container.get("env") or []:
        if entry.get("name") != variable:
            continue
        ref_kind = "configMapKeyRef" if source.config_map else "secretKeyRef"
        ref = (entry.get("valueFrom") or {}).get(ref_kind) or {}
        if ref.get("name") != source.name or ref.get("key") != source.key:
            return [f"{where}: {variable} does not come from {source.kind} {source.name}/{source.key}: {entry}"]
        return []
    return [f"{where}: no variable {variable}"]


def _tier(objs: dict[tuple[str, str], Obj], profile: Profile, name: str, tier: Tier) -> list[str]:
    """One tier's Deployment, pods, container, ports and Service."""
    where = f"tiers.{name}"
    dep = objs.get(("Deployment", tier.deployment))
    if dep is None:
        return [f"{where}.deployment: no Deployment {tier.deployment!r}"]
    problems: list[str] = []
    labels = _template_labels(dep)
    if not tier.matches(labels):
        problems.append(f"{where}.selector: {tier.selector_string()} does not select its pods (labels {labels})")
    match = dict(((dep.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
    if not all(labels.get(k) == v for k, v in match.items()):
        problems.append(f"{where}.deployment: its matchLabels {match} do not select its own pods")
    others = [
        str((o.get("metadata") or {}).get("name"))
        for (kind, other), o in objs.items()
        if kind == "Deployment" and other != tier.deployment and tier.matches(_template_labels(o))
    ]
    if others:
        problems.append(f"{where}.selector: {tier.selector_string()} also selects the pods of {sorted(others)}")
    replicas = (dep.get("spec") or {}).get("replicas", 1)
    if replicas != tier.replicas:
        problems.append(f"{where}.replicas: {tier.replicas}, but Deployment {tier.deployment} runs {replicas}")
    containers = {str(c.get("name")): c for c in _pod_spec(dep).get("containers") or []}
    container = containers.get(tier.container)
    if container is None:
        problems.append(f"{where}.container: no container {tier.container!r} (it has {sorted(containers)})")
    else:
        ports = {p.get("containerPort") for p in container.get("ports") or []}
        if ports and tier.target_port not in ports:
            problems.append(f"{where}: the container listens on {sorted(ports)}, not {tier.target_port}")
        for variable, source in profile.wiring.of(name).items():
            problems += _env(container, variable, source, f"wiring.{name}")
    service = objs.get(("Service", tier.service))
    if service is None:
        problems.append(f"{where}.service: no Service {tier.service!r}")
    else:
        spec = service.get("spec") or {}
        selector = dict(spec.get("selector") or {})
        if not selector or not all(labels.get(k) == v for k, v in selector.items()):
            problems.append(f"{where}.service: Service {tier.service} selects {selector}, not the tier's pods")
        ports = {p.get("port") for p in spec.get("ports") or []}
        if tier.port not in ports:
            problems.append(f"{where}.port: Service {tier.service} has ports {sorted(ports)}, not {tier.port}")
    return problems


def _database(objs: dict[tuple[str, str], Obj], profile: Profile) -> list[str]:
    """The claim exists and the database container mounts it at the data directory."""
    db = profile.tiers.database
    if ("PersistentVolumeClaim", db.pvc) not in objs:
        return [f"tiers.database.pvc: no PersistentVolumeClaim {db.pvc!r}"]
    dep = objs.get(("Deployment", db.deployment))
    if dep is None:
        return []  # reported with the tier
    spec = _pod_spec(dep)
    volumes = {
        v.get("name")
        for v in spec.get("volumes") or []
        if (v.get("persistentVolumeClaim") or {}).get("claimName") == db.pvc
    }
    for container in spec.get("containers") or []:
        if container.get("name") == db.container:
            mounts = {m.get("mountPath") for m in container.get("volumeMounts") or [] if m.get("name") in volumes}
            if db.data_dir not in mounts:
                return [f"tiers.database.data_dir: {db.data_dir} is not on claim {db.pvc} (mounted at {mounts})"]
    return []


def mismatches(profile: Profile, objects: Iterable[Obj]) -> list[str]:
    """Every name, selector, key and image the profile names that the rendered objects lack; [] when all exist."""
    objs = _index(objects)
    problems: list[str] = []
    namespaced = [o for o in objs.values() if (o.get("metadata") or {}).get("namespace") is not None]
    elsewhere = sorted({str(o["metadata"]["namespace"]) for o in namespaced} - {profile.namespace})
    if not namespaced or elsewhere:
        problems.append(f"namespace: {profile.namespace!r}, but the objects live in {elsewhere or 'no namespace'}")
    for name, tier in profile.tiers.items():
        problems += _tier(objs, profile, name, tier)
    problems += _database(objs, profile)
    root = profile.wiring.root_password
    problems += _key_ref(objs, "Secret", root.secret, root.key, "wiring.root_password")
    for name in ("database", "backend", "frontend"):
        for variable, source in profile.wiring.of(name).items():
            kind = "ConfigMap" if source.config_map else "Secret"
            problems += _key_ref(objs, kind, source.name, source.key, f"wiring.{name}.{variable}")
    if profile.sql is not None:
        creds = profile.sql.credentials
        for key in (creds.username_key, creds.password_key):
            problems += _key_ref(objs, "Secret", creds.secret, key, "sql.credentials")
        value = profile.sql.database
        if value.key is not None:
            kind, ref = ("ConfigMap", value.config_map) if value.config_map else ("Secret", value.secret)
            problems += _key_ref(objs, kind, str(ref), value.key, "sql.database")
    used = {
        _image_name(str(c.get("image", "")))
        for o in objs.values()
        if o.get("kind") == "Deployment"
        for c in _pod_spec(o).get("containers") or []
    }
    used |= {name.rsplit("/", 1)[-1] for name in used}
    for image in profile.images:
        if image not in used:
            problems.append(f"images.{image}: no container runs an image of that name (they run {sorted(used)})")
    return problems
