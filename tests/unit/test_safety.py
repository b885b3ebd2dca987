"""The safety guard's decisions, table-driven: which targets may get which faults, and why not."""

from __future__ import annotations

import pytest

from support.safety import FaultScope, SafetyPolicy, TargetFacts, UnsafeTarget, check, is_loopback_url

SUITE = "todo-e2e"
OWN = "kind-todo-e2e"
LOOP = "https://127.0.0.1:41234"
POLICY = SafetyPolicy(suite_cluster=SUITE)
STAGING = SafetyPolicy(suite_cluster=SUITE, allowed_context="staging-admin")


def facts(context: str = OWN, api: str = LOOP, marker: bool = True, kind_cluster: str | None = SUITE) -> TargetFacts:
    """Facts of the suite's own cluster, with any field overridden."""
    detail = "ConfigMap kube-system/todo-e2e-marker names this cluster" if marker else "ConfigMap not found (404)"
    return TargetFacts(context, api, marker, detail, kind_cluster)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("https://127.0.0.1:6443", True),
        ("https://127.0.0.1", True),
        ("https://127.1.2.3:6443", True),  # all of 127.0.0.0/8 is loopback
        ("https://[::1]:6443", True),
        ("https://[::ffff:127.0.0.1]:6443", True),  # IPv4-mapped loopback
        ("https://localhost:6443", True),
        ("https://LOCALHOST:6443", True),
        ("http://127.0.0.1:8080", True),
        ("https://0.0.0.0:6443", False),  # "any address", not loopback
        ("https://[::]:6443", False),
        ("https://10.0.0.5:6443", False),
        ("https://192.168.49.2:8443", False),
        ("https://[fe80::1]:6443", False),
        ("https://localhost.example.com:6443", False),
        ("https://kubernetes.default.svc", False),
        ("https://127.0.0.1.nip.io:6443", False),
        ("https://127.0.0.1@evil.example:6443", False),  # user info is not the host
        ("127.0.0.1:6443", False),  # no scheme: refuse rather than guess
        ("ftp://127.0.0.1", False),
        ("", False),
        ("https://[::1", False),  # unparseable
    ],
)
def test_loopback_detection(url: str, loopback: bool) -> None:
    """Only loopback hosts after URL parsing count; 0.0.0.0 and look-alike names do not."""
    assert is_loopback_url(url)[0] is loopback


# (facts, policy, scope, allowed, words the refusal must contain)
CASES: list[tuple[str, TargetFacts, SafetyPolicy, FaultScope, bool, list[str]]] = [
    ("own cluster, pod", facts(), POLICY, "pod", True, []),
    ("own cluster, node", facts(), POLICY, "node", True, []),
    ("own cluster via IPv6 loopback", facts(api="https://[::1]:40000"), POLICY, "node", True, []),
    ("own cluster via localhost", facts(api="https://localhost:40000"), POLICY, "node", True, []),
    ("kind cluster name unknown", facts(kind_cluster=None), POLICY, "node", True, []),
    ("wrong kind context", facts(context="kind-other"), POLICY, "pod", False, ["'kind-other'", OWN]),
    ("non-kind context", facts(context="gke_prod_europe"), POLICY, "node", False, ["'gke_prod_europe'"]),
    ("0.0.0.0 API server", facts(api="https://0.0.0.0:41234"), POLICY, "pod", False, ["0.0.0.0", "loopback"]),
    ("remote API server", facts(api="https://10.1.2.3:6443"), POLICY, "node", False, ["10.1.2.3"]),
    ("marker missing", facts(marker=False), POLICY, "pod", False, ["marker", "404"]),
    ("other kind cluster", facts(kind_cluster="other"), POLICY, "node", False, ["'other'"]),
    (
        "everything wrong",
        facts(context="prod", api="https://prod.example:443", marker=False, kind_cluster=None),
        POLICY,
        "pod",
        False,
        ["'prod'", "prod.example", "marker"],
    ),
    (
        "allowed context, pod",
        facts(context="staging-admin", api="https://10.0.0.1", marker=False),
        STAGING,
        "pod",
        True,
        [],
    ),
    (
        "allowed context, node refused",
        facts(context="staging-admin", api="https://10.0.0.1", marker=False),
        STAGING,
        "node",
        False,
        ["node fault", "staging-admin", "pod faults remain allowed"],
    ),
    (
        "allowed context does not cover another",
        facts(context="prod-admin", api="https://10.0.0.1"),
        STAGING,
        "pod",
        False,
        ["'prod-admin'", "does not match"],
    ),
    ("own cluster still fine with an allowed context set", facts(), STAGING, "node", True, []),
]


@pytest.mark.parametrize(
    ("facts_", "policy", "scope", "allowed", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decisions(
    facts_: TargetFacts, policy: SafetyPolicy, scope: FaultScope, allowed: bool, words: list[str]
) -> None:
    """Each combination is allowed or refused, and a refusal names what failed and what was seen."""
    if allowed:
        check(facts_, policy, scope)
        return
    with pytest.raises(UnsafeTarget) as caught:
        check(facts_, policy, scope)
    message = str(caught.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


def test_refusal_names_only_the_failing_check_and_the_options() -> None:
    """With only the marker missing, the message blames nothing else, and says what to do."""
    with pytest.raises(UnsafeTarget) as caught:
        check(facts(marker=False), POLICY, "pod")
    message = str(caught.value)
    assert "marker" in message
    assert "kube context is" not in message
    assert "not on loopback" not in message
    assert "--cluster-name" in message and "--existing-context" in message


def test_option_names_come_from_the_policy() -> None:
    """The conftest's real option names appear in refusals."""
    policy = SafetyPolicy(SUITE, cluster_option="--kind-cluster", context_option="--staging-context")
    with pytest.raises(UnsafeTarget, match="--staging-context"):
        check(facts(context="elsewhere"), policy, "pod")


def test_unsafe_target_is_not_an_assertion() -> None:
    """A refusal is an environment error, not a product failure, so it must not look like a failed check."""
    assert issubclass(UnsafeTarget, RuntimeError)
    assert not issubclass(UnsafeTarget, AssertionError)


def test_bad_scope_and_policy_are_programming_errors() -> None:
    """An unknown scope or an empty suite cluster name is rejected outright."""
    with pytest.raises(ValueError):
        check(facts(), POLICY, "cluster")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        check(facts(context="kind-"), SafetyPolicy(""), "pod")
