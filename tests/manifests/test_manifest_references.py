"""Configuration wiring: every reference resolves, matches the contract, and secrets stay secret."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from .facts import containers, find, leaked_secret_values, missing_references, references, secret_values
from .variants import fresh

Obj = dict[str, Any]

# (Deployment, variable) -> (kind, object, key): docs/contract.md, "Configuration (environment)".
CONTRACT_ENV = {
    ("todo-backend", "DB_HOST"): ("ConfigMap", "db-config", "host"),
    ("todo-backend", "DB_NAME"): ("ConfigMap", "db-config", "name"),
    ("todo-backend", "DB_USERNAME"): ("Secret", "db-credentials", "username"),
    ("todo-backend", "DB_PASSWORD"): ("Secret", "db-credentials", "password"),
    ("mysql", "MYSQL_ROOT_PASSWORD"): ("Secret", "db-root-credentials", "password"),
    ("mysql", "MYSQL_USER"): ("Secret", "db-credentials", "username"),
    ("mysql", "MYSQL_PASSWORD"): ("Secret", "db-credentials", "password"),
    ("mysql", "MYSQL_DATABASE"): ("ConfigMap", "db-config", "name"),
    ("todo-frontend", "SERVER_URI"): ("ConfigMap", "frontend-config", "server-uri"),
}


def _env(objects: list[Obj], deployment: str) -> dict[str, Obj]:
    """The env entries of a Deployment's containers by variable name."""
    return {e["name"]: e for c in containers(find(objects, "Deployment", deployment)) for e in c.get("env", [])}


def test_every_reference_resolves(objects: list[Obj]) -> None:
    """Each configMapKeyRef, secretKeyRef, envFrom and volume source names an object and key in the render."""
    assert list(references(objects)), "no references found: the walker is broken"
    assert missing_references(objects) == []


def test_a_dangling_reference_is_reported() -> None:
    """The reference check itself fails on a key that does not exist."""
    objects = fresh("base")
    (container,) = containers(find(objects, "Deployment", "todo-backend"))
    (db_host,) = [e for e in container["env"] if e["name"] == "DB_HOST"]
    db_host["valueFrom"]["configMapKeyRef"]["key"] = "hostname"
    assert missing_references(objects) == [
        "todo-backend/backend env DB_HOST: ConfigMap db-config has no key 'hostname' (has ['host', 'name'])"
    ]


@pytest.mark.parametrize(("deployment", "variable"), sorted(CONTRACT_ENV))
def test_contract_variables_come_from_the_contract_keys(objects: list[Obj], deployment: str, variable: str) -> None:
    """Each contract variable is read from the ConfigMap or Secret key the contract names."""
    kind, name, key = CONTRACT_ENV[(deployment, variable)]
    source = _env(objects, deployment)[variable]["valueFrom"]
    ref = source["configMapKeyRef" if kind == "ConfigMap" else "secretKeyRef"]
    assert (ref["name"], ref["key"]) == (name, key)
    assert not ref.get("optional", False), "a missing contract value must stop the pod, not start it empty"


def test_back_end_identity_comes_from_the_downward_api(objects: list[Obj]) -> None:
    """POD_NAME, NODE_NAME and APP_VERSION let /api/info tell which replica answered."""
    env = _env(objects, "todo-backend")
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    path = env["APP_VERSION"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert path == "metadata.labels['app.kubernetes.io/version']"
    labels = find(objects, "Deployment", "todo-backend")["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"], "APP_VERSION would be empty"


def test_configuration_values_match_the_services(objects: list[Obj]) -> None:
    """The database host is the MySQL Service and SERVER_URI points at the back-end Service port."""
    db_config = find(objects, "ConfigMap", "db-config")["data"]
    assert db_config["host"] == find(objects, "Service", "mysql")["metadata"]["name"]
    (backend_port,) = find(objects, "Service", "todo-backend")["spec"]["ports"]
    expected = f"http://todo-backend:{backend_port['port']}"
    assert find(objects, "ConfigMap", "frontend-config")["data"]["server-uri"] == expected


def test_no_secret_value_appears_in_a_config_map(objects: list[Obj]) -> None:
    """Passwords and user names live only in Secrets."""
    secrets = [o for o in objects if o["kind"] == "Secret"]
    assert all(secret_values(s) for s in secrets), "a Secret without values"
    assert leaked_secret_values(objects) == []


def test_a_leaked_secret_is_reported() -> None:
    """The leak check itself finds a password copied into a ConfigMap, also base64-encoded at the source."""
    objects = fresh("base")
    secret = find(objects, "Secret", "db-credentials")
    password = secret["stringData"].pop("password")
    secret.setdefault("data", {})["password"] = base64.b64encode(password.encode()).decode()
    find(objects, "ConfigMap", "db-config")["data"]["dsn"] = f"mysql://todo_app:{password}@mysql/todo"
    assert leaked_secret_values(objects) == [
        "Secret db-credentials key password appears in ConfigMap db-config key dsn",
        "Secret db-credentials key username appears in ConfigMap db-config key dsn",
    ]


def test_development_secrets_say_so(objects: list[Obj]) -> None:
    """The shipped passwords announce that they are development values to be replaced."""
    for name in ("db-root-credentials", "db-credentials"):
        assert "dev-only" in secret_values(find(objects, "Secret", name))["password"]
