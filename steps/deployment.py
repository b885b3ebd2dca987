"""Steps about the desired state of the deployment and its configuration."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
from pytest_bdd import parsers, then, when

from support.budgets import within
from support.cluster import SERVICES, ClusterHandle
from support.conditions import endpoints_ready, pvc_bound, replicas_ready
from support.results import Results
from support.vocabulary import TIERS
from support.waits import Condition, until

__all__: list[str] = []

CONFIG_SETTINGS = ("DB_HOST", "DB_NAME", "DB_USERNAME", "DB_PASSWORD")


@then(parsers.re(r"the (?P<tier>database|back end|front end) runs (?P<count>\d+) ready replicas?"))
def _(deployed: ClusterHandle, tier: str, count: str) -> None:
    """Exactly that many Ready replicas of the tier."""
    until(replicas_ready(deployed, TIERS[tier], int(count)), timeout=10, interval=1)


DATA_DIR = "/var/lib/mysql"
DATA_CLAIM = "mysql-data"


@then("the database's volume claim is bound")
def _(deployed: ClusterHandle) -> None:
    """The database's PVC is Bound and the running database pod mounts it at its data directory."""
    until(pvc_bound(deployed, DATA_CLAIM), timeout=10, interval=1)
    mounts = deployed.claim_mounts("database")
    assert mounts.get(DATA_DIR) == DATA_CLAIM, (
        f"the database pod does not keep {DATA_DIR} on claim {DATA_CLAIM}: its claim mounts are {mounts or 'none'}"
    )


@then("every service of the app has ready endpoints")
def _(deployed: ClusterHandle) -> None:
    """Every Service of the contract has as many ready endpoints as its tier has Ready pods."""
    for tier, service in SERVICES.items():
        want = len(deployed.ready_pods(tier))
        assert want >= 1, f"tier {tier} has no Ready pod behind Service {service}"
        until(endpoints_ready(deployed, service, want), timeout=15, interval=1)


def _env_source(deployed: ClusterHandle, variable: str) -> dict[str, str]:
    """Where the back end's variable comes from: {'kind': configMap|secret|literal, 'name', 'key'}."""
    for entry in deployed.deployment_env("backend"):
        if entry.get("name") != variable:
            continue
        source = entry.get("valueFrom") or {}
        if "configMapKeyRef" in source:
            return {"kind": "configMap", **source["configMapKeyRef"]}
        if "secretKeyRef" in source:
            return {"kind": "secret", **source["secretKeyRef"]}
        return {"kind": "literal", "name": "", "key": ""}
    return {"kind": "missing", "name": "", "key": ""}


@then("the back end takes its database location from the shared settings")
def _(deployed: ClusterHandle) -> None:
    """DB_HOST and DB_NAME come from ConfigMap db-config (keys host, name), and those keys exist."""
    for variable, key in (("DB_HOST", "host"), ("DB_NAME", "name")):
        source = _env_source(deployed, variable)
        assert source == {"kind": "configMap", "name": "db-config", "key": key}, f"{variable} comes from {source}"
    data = deployed.config_map("db-config")
    assert data.get("host") and data.get("name"), f"db-config lacks host/name: keys {sorted(data)}"


@then("the back end takes its database credentials from the secrets")
def _(deployed: ClusterHandle) -> None:
    """DB_USERNAME and DB_PASSWORD come from Secret db-credentials (keys username, password)."""
    for variable, key in (("DB_USERNAME", "username"), ("DB_PASSWORD", "password")):
        source = _env_source(deployed, variable)
        assert source == {"kind": "secret", "name": "db-credentials", "key": key}, f"{variable} comes from {source}"
    data = deployed.secret_data("db-credentials")
    assert data.get("username") and data.get("password"), "Secret db-credentials lacks username/password"


@then("no secret value appears in any of the shared settings")
def _(deployed: ClusterHandle) -> None:
    """No Secret value (of 4+ characters) occurs in any ConfigMap of the namespace."""
    secrets = {
        f"{name}/{key}": value
        for name in deployed.secret_names()
        for key, value in deployed.secret_data(name).items()
        if len(value) >= 4
    }
    assert secrets, "the namespace holds no Secret values to check"
    leaks = [
        f"{secret} in ConfigMap {cm}/{key}"
        for cm, data in deployed.config_maps().items()
        for key, text in data.items()
        for secret, value in secrets.items()
        if value in text
    ]
    assert not leaks, "secret values found in ConfigMaps: " + ", ".join(leaks)


@dataclass(frozen=True)
class LonelyBackend:
    """A back-end pod started without its database settings."""

    pod: str
    started: float


@when("a back end is started without its database settings", target_fixture="lonely_backend")
def _(deployed: ClusterHandle, request: pytest.FixtureRequest) -> LonelyBackend:
    """Run the deployed back-end image once with no DB_* variables."""
    name = f"backend-no-settings-{uuid.uuid4().hex[:6]}"
    deployed.run_pod(name, deployed.deployment_image("backend"), {"POD_NAME": name, "NODE_NAME": "none"})
    request.addfinalizer(lambda: deployed.delete_pod(name, 0))
    return LonelyBackend(name, time.monotonic())


@then(parsers.parse("it stops within {seconds:d} seconds and names the missing setting"))
def _(deployed: ClusterHandle, lonely_backend: LonelyBackend, results: Results, seconds: int) -> None:
    """The pod fails (never Ready, never running on) and its log names a missing DB_* variable."""
    ended = Condition(
        f"back end {lonely_backend.pod} without settings to stop",
        lambda: (p := deployed.pod_phase(lonely_backend.pod)) in ("Failed", "Succeeded") and p,
    )
    phase = within(results, f"it stops within {seconds} s", ended, seconds)
    log = deployed.logs(lonely_backend.pod, tail=50)
    assert phase == "Failed", f"the back end without settings ended {phase}, expected a failure; log:\n{log}"
    named = [v for v in CONFIG_SETTINGS if v in log]
    assert named, f"the back end's log names none of {CONFIG_SETTINGS}:\n{log}"
    assert "Traceback" not in log, f"the back end died with a stack trace instead of a clear message:\n{log}"
