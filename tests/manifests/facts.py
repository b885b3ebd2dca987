"""Small read-only views over rendered objects: lookups, references and secret values."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = [
    "Ref",
    "containers",
    "deployments",
    "find",
    "leaked_secret_values",
    "missing_references",
    "pod_spec",
    "references",
    "secret_values",
]

Obj = dict[str, Any]


class Ref(NamedTuple):
    """One reference from a workload to a ConfigMap or Secret (key None: the whole object)."""

    source: str
    kind: str
    name: str
    key: str | None


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    """The one object of this kind and name; fails naming what exists instead."""
    hits = [o for o in objects if o.get("kind") == kind and o.get("metadata", {}).get("name") == name]
    if len(hits) != 1:
        present = sorted(f"{o.get('kind')}/{o.get('metadata', {}).get('name')}" for o in objects)
        raise AssertionError(f"expected exactly one {kind}/{name}, found {len(hits)} among {present}")
    return hits[0]


def deployments(objects: list[Obj]) -> list[Obj]:
    """Every Deployment in the render."""
    return [o for o in objects if o.get("kind") == "Deployment"]


def pod_spec(workload: Obj) -> Obj:
    """The pod spec of a Deployment."""
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Obj) -> list[Obj]:
    """Init and regular containers of a Deployment."""
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def references(objects: list[Obj]) -> Iterator[Ref]:
    """Every ConfigMap/Secret reference made by a Deployment: env, envFrom and volumes."""
    for workload in deployments(objects):
        owner = workload["metadata"]["name"]
        for container in containers(workload):
            where = f"{owner}/{container['name']}"
            for env in container.get("env", []):
                source = env.get("valueFrom", {})
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    yield Ref(f"{where} env {env['name']}", "ConfigMap", ref["name"], ref["key"])
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    yield Ref(f"{where} env {env['name']}", "Secret", ref["name"], ref["key"])
            for env_from in container.get("envFrom", []):
                if "configMapRef" in env_from:
                    yield Ref(f"{where} envFrom", "ConfigMap", env_from["configMapRef"]["name"], None)
                if "secretRef" in env_from:
                    yield Ref(f"{where} envFrom", "Secret", env_from["secretRef"]["name"], None)
        for volume in pod_spec(workload).get("volumes", []):
            where = f"{owner} volume {volume['name']}"
            sources = [volume, *volume.get("projected", {}).get("sources", [])]
            for source in sources:
                if "configMap" in source:
                    config = source["configMap"]
                    keys = [item["key"] for item in config.get("items", [])] or [None]
                    yield from (Ref(where, "ConfigMap", config["name"], key) for key in keys)
                if "secret" in source:
                    secret = source["secret"]
                    name = secret.get("secretName", secret.get("name"))
                    keys = [item["key"] for item in secret.get("items", [])] or [None]
                    yield from (Ref(where, "Secret", name, key) for key in keys)


def _keys(obj: Obj) -> set[str]:
    """The data keys a ConfigMap or Secret provides."""
    return {*obj.get("data", {}), *obj.get("stringData", {}), *obj.get("binaryData", {})}


def missing_references(objects: list[Obj]) -> list[str]:
    """A message for every reference whose object or key is not in the render."""
    provided = {(o["kind"], o["metadata"]["name"]): _keys(o) for o in objects if o["kind"] in {"ConfigMap", "Secret"}}
    problems = []
    for ref in references(objects):
        keys = provided.get((ref.kind, ref.name))
        if keys is None:
            problems.append(f"{ref.source}: {ref.kind} {ref.name} is not in the render")
        elif ref.key is not None and ref.key not in keys:
            problems.append(f"{ref.source}: {ref.kind} {ref.name} has no key {ref.key!r} (has {sorted(keys)})")
    return problems


def secret_values(secret: Obj) -> dict[str, str]:
    """A Secret's values in clear text, from stringData and base64 data alike."""
    values = {key: base64.b64decode(value).decode() for key, value in secret.get("data", {}).items()}
    values.update({key: str(value) for key, value in secret.get("stringData", {}).items()})
    return values


def leaked_secret_values(objects: list[Obj]) -> list[str]:
    """A message for every secret value found inside any ConfigMap key or value."""
    leaks = []
    for secret in (o for o in objects if o["kind"] == "Secret"):
        for key, value in secret_values(secret).items():
            for config in (o for o in objects if o["kind"] == "ConfigMap"):
                for config_key, config_value in config.get("data", {}).items():
                    if value and (value in str(config_value) or value == config_key):
                        leaks.append(
                            f"Secret {secret['metadata']['name']} key {key} appears in "
                            f"ConfigMap {config['metadata']['name']} key {config_key}"
                        )
    return leaks
