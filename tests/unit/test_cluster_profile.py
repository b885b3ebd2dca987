"""The cluster handle's pure parts read the profile: a pod's tier comes from the profile's selectors."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from support.cluster import _pod_info
from support.profile import load_profile, reference_profile

RENAMED = load_profile(Path(__file__).resolve().parents[1] / "profiles" / "renamed.yaml")


def _pod(labels: dict[str, str]) -> client.V1Pod:
    """A running pod with these labels."""
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name="p", uid="u", labels=labels),
        spec=client.V1PodSpec(containers=[], node_name="worker"),
        status=client.V1PodStatus(phase="Running"),
    )


def test_a_pods_tier_is_the_one_whose_profile_selector_matches() -> None:
    """The renamed labels are the back end under the renamed profile; the reference labels are no tier there."""
    renamed = _pod({"e2e.example.org/stack": "renamed-todo", "e2e.example.org/role": "api", "extra": "x"})
    reference = _pod({"app.kubernetes.io/part-of": "todo", "app.kubernetes.io/component": "backend"})
    assert _pod_info(renamed, RENAMED).tier == "backend"
    assert _pod_info(reference, RENAMED).tier == ""
    assert _pod_info(reference, reference_profile()).tier == "backend"
    assert _pod_info(renamed, reference_profile()).tier == ""


def test_the_front_end_may_be_reached_elsewhere_than_the_profile_says() -> None:
    """with_frontend_url moves the front end (and an API reached through it), still refusing public addresses."""
    moved = reference_profile().with_frontend_url("http://127.0.0.1:31080")
    assert moved.access.frontend_url == "http://127.0.0.1:31080"
    assert moved.access.api_base_url == "http://127.0.0.1:31080"
    assert reference_profile().with_frontend_url(reference_profile().access.frontend_url) is reference_profile()
    with pytest.raises(ValueError, match="neither loopback nor a private"):
        reference_profile().with_frontend_url("http://8.8.8.8")
