"""Shared names are written once: the kit, support and chaos read the same constants."""

from __future__ import annotations

from chaos.todo_chaos import actions, probes
from common import names
from kit import cluster as kit_cluster
from support import chaos, cluster
from support.profile import reference_profile


def test_every_gherkin_spelling_maps_to_a_tier() -> None:
    assert set(names.GHERKIN_TIERS.values()) == set(names.TIERS)
    # "back end" and "back-end" are the back end: the spelling only adds a space or a hyphen.
    assert all(spelled.replace(" ", "").replace("-", "") == tier for spelled, tier in names.GHERKIN_TIERS.items())


def test_profiles_describe_exactly_the_tiers() -> None:
    assert set(reference_profile().expected_replicas) == set(names.TIERS)


def test_one_cluster_name_and_port() -> None:
    assert kit_cluster.FRONTEND_NODE_PORT == names.FRONTEND_NODE_PORT
    assert kit_cluster.ClusterSpec(name=names.DEFAULT_CLUSTER).host_port == names.FRONTEND_NODE_PORT
    assert (chaos.SUITE_CLUSTER, chaos.SUITE_CONTEXT) == (names.DEFAULT_CLUSTER, names.DEFAULT_CONTEXT)
    assert actions.DEFAULT_BASE_URL == probes.DEFAULT_BASE_URL == names.DEFAULT_FRONTEND_URL
    assert names.DEFAULT_FRONTEND_URL.endswith(f":{names.FRONTEND_NODE_PORT}")
    assert kit_cluster.MARKER == (cluster.MARKER_NAMESPACE, cluster.MARKER_NAME) == ("kube-system", "todo-e2e-marker")
