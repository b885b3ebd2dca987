"""Steps about the desired state of the deployment and its configuration."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
from pytest_bdd import parsers, then, when

from support.budgets import within
from support.cluster import ClusterHandle
from support.conditions import endpoints_ready, pvc_bound, replicas_ready
from support.profile import EnvSource
from support.redaction import secret_leaks
from support.results import Results
from support.vocabulary import TIERS
from support.waits import Condition, until

__all__: list[str] = []


@then(parsers.re(r"the (?P<tier>database|back end|front end) runs (?P<count>\d+) ready replicas?"))
def _(deployed: ClusterHandle, tier: str, count: str) -> None:
    """Exactly that many Ready replicas of the tier."""
    until(replicas_ready(deployed, TIERS[tier], int(count)), timeout=10, interval=1)


@then("the database's volume claim is bound")
def _(deployed: ClusterHandle) -> None:
    """The database's PVC is Bound and the running database pod mounts it at its data directory (the profile's)."""
    database = deployed.profile.tiers.database
    data_dir, claim = database.data_dir, database.pvc
    until(pvc_bound(deployed, claim), timeout=10, interval=1)
    mounts = deployed.claim_mounts("database")
    assert mounts.get(data_dir) == claim, (
        f"the database pod does not keep {data_dir} on claim {claim}: its claim mounts are {mounts or 'none'}"
    )


@then("every service of the app has ready endpoints")
def _(deployed: ClusterHandle) -> None:
    """Every Service the profile names has as many ready endpoints as its tier has Ready pods."""
    for tier, spec in deployed.profile.tiers.items():
        service = spec.service
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


def _check_wiring(deployed: ClusterHandle, wired: dict[str, EnvSource], what: str) -> None:
    """Each variable comes from the ConfigMap/Secret key the profile names, and that key holds a value."""
    assert wired, f"profile {deployed.profile.name!r} wires no back-end variable from {what}"
    for variable, want in wired.items():
        source = _env_source(deployed, variable)
        expected = {"kind": want.kind, "name": want.name, "key": want.key}
        assert source == expected, f"{variable} comes from {source}, the profile says {expected}"
        data = deployed.config_map(want.name) if want.config_map else deployed.secret_data(want.name)
        assert data.get(want.key), f"{want.kind} {want.name} has no value for key {want.key!r} (feeds {variable})"


@then("the back end takes its database location from the shared settings")
def _(deployed: ClusterHandle) -> None:
    """The back end's ConfigMap-fed variables (profile wiring, e.g. DB_HOST/DB_NAME) come from the keys named."""
    _check_wiring(deployed, deployed.profile.wiring.from_config_maps("backend"), "ConfigMaps")


@then("the back end takes its database credentials from the secrets")
def _(deployed: ClusterHandle) -> None:
    """The back end's Secret-fed variables (profile wiring, e.g. DB_USERNAME/DB_PASSWORD) come from the keys named."""
    _check_wiring(deployed, deployed.profile.wiring.from_secrets("backend"), "Secrets")


@then("no secret value appears in any of the shared settings")
def _(deployed: ClusterHandle) -> None:
    """No Secret value (of 4+ characters, in any of its forms) stands as a whole word in a ConfigMap."""
    secrets = {
        f"{name}/{key}": value for name in deployed.secret_names() for key, value in deployed.secret_data(name).items()
    }
    assert any(len(value) >= 4 for value in secrets.values()), "the namespace holds no Secret values to check"
    leaks = secret_leaks(secrets, deployed.config_maps())
    assert not leaks, "secret values found in ConfigMaps: " + ", ".join(leaks)


@dataclass(frozen=True)
class LonelyBackend:
    """A back-end pod started without its database settings."""

    pod: str
    started: float


@when("a back end is started without its database settings", target_fixture="lonely_backend")
def _(deployed: ClusterHandle, request: pytest.FixtureRequest) -> LonelyBackend:
    """Run the deployed back-end image once with none of its wired variables (the scenario needs the promise)."""
    name = f"backend-no-settings-{uuid.uuid4().hex[:6]}"
    # POD_NAME/NODE_NAME are the reference back end's own downward-API variables, not database settings.
    deployed.run_pod(name, deployed.deployment_image("backend"), {"POD_NAME": name, "NODE_NAME": "none"})
    request.addfinalizer(lambda: deployed.delete_pod(name, 0))
    return LonelyBackend(name, time.monotonic())


@then(parsers.parse("it stops within {seconds:d} seconds and names the missing setting"))
def _(deployed: ClusterHandle, lonely_backend: LonelyBackend, results: Results, seconds: int) -> None:
    """The pod fails (never Ready, never running on) and its log names one of its wired variables."""
    ended = Condition(
        f"back end {lonely_backend.pod} without settings to stop",
        lambda: (p := deployed.pod_phase(lonely_backend.pod)) in ("Failed", "Succeeded") and p,
    )
    phase = within(results, f"it stops within {seconds} s", ended, seconds)
    log = deployed.logs(lonely_backend.pod, tail=50)
    assert phase == "Failed", f"the back end without settings ended {phase}, expected a failure; log:\n{log}"
    settings = sorted(deployed.profile.wiring.backend)
    named = [v for v in settings if v in log]
    assert named, f"the back end's log names none of {settings}:\n{log}"
    assert "Traceback" not in log, f"the back end died with a stack trace instead of a clear message:\n{log}"
