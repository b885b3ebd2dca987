"""The renamed overlay (tests/profiles/renamed/) and its profile: every name and selector the profile names exists
in the rendered objects, none of the reference app's names or tier labels is left, and the check can fail."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from support.profile import Profile, load_profile, reference_profile
from support.profile_check import mismatches

from .render import find_kubectl, render

ROOT = Path(__file__).resolve().parents[2]
RENAMED = ROOT / "tests" / "profiles" / "renamed.yaml"
REFERENCE_LABELS = ("app.kubernetes.io/part-of", "app.kubernetes.io/component")


@cache
def _rendered(directory: str) -> list[dict[str, Any]]:
    """The rendered objects of a kustomize directory (relative to the repository); skipped only outside CI."""
    try:
        find_kubectl()
    except RuntimeError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no kubectl to render with (set $KUBECTL): {exc}")
    return render(ROOT / directory)


@pytest.fixture(scope="module")
def renamed() -> Profile:
    """The renamed profile."""
    return load_profile(RENAMED)


def test_the_renamed_profile_names_only_what_its_overlay_renders(renamed: Profile) -> None:
    """Every Deployment, Service, container, port, claim, key, selector and image of the profile exists there."""
    assert mismatches(renamed, _rendered(renamed.manifests)) == []


def test_the_reference_profile_names_only_what_the_kind_overlay_renders() -> None:
    """The same check holds for the reference app and its default manifests."""
    reference = reference_profile()
    assert mismatches(reference, _rendered(reference.manifests)) == []


def test_the_overlay_leaves_no_reference_name_or_tier_label(renamed: Profile) -> None:
    """Namespace, object names, container names and pod labels all differ from the reference app's."""
    reference = reference_profile()
    objects = _rendered(renamed.manifests)
    assert renamed.namespace != reference.namespace
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {renamed.namespace}
    old_names = {
        *(t.deployment for _, t in reference.tiers.items()),
        *(t.service for _, t in reference.tiers.items()),
        reference.tiers.database.pvc,
        *(source.name for tier in ("database", "backend", "frontend") for source in reference.wiring.of(tier).values()),
    }
    left = sorted(o["metadata"]["name"] for o in objects if o["metadata"]["name"] in old_names)
    assert not left, f"objects still named as in the reference app: {left}"
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        labels = obj["spec"]["template"]["metadata"]["labels"]
        assert not set(REFERENCE_LABELS) & set(labels), f"{obj['metadata']['name']} pods keep {labels}"
        names = {c["name"] for c in obj["spec"]["template"]["spec"]["containers"]}
        assert not names & {t.container for _, t in reference.tiers.items()}, f"containers {names} not renamed"
    for _, tier in renamed.tiers.items():
        assert not set(REFERENCE_LABELS) & set(tier.selector), f"the profile selects by {tier.selector}"


def test_a_profile_that_does_not_fit_is_told_what_is_missing(renamed: Profile) -> None:
    """The reference profile against the renamed objects, and one wrong field, are both reported by field."""
    objects = _rendered(renamed.manifests)
    problems = mismatches(reference_profile(), objects)
    assert any(p.startswith("namespace:") for p in problems), problems
    assert any(p.startswith("tiers.backend.deployment: no Deployment 'todo-backend'") for p in problems), problems
    backend = renamed.tiers.backend.model_copy(update={"container": "backend", "port": 9999})
    wrong = renamed.model_copy(update={"tiers": renamed.tiers.model_copy(update={"backend": backend})})
    problems = mismatches(wrong, objects)
    assert any(p.startswith("tiers.backend.container: no container 'backend'") for p in problems), problems
    assert any(p.startswith("tiers.backend.port:") for p in problems), problems
    other = renamed.tiers.frontend.model_copy(update={"selector": {"e2e.example.org/role": "nobody"}})
    wrong = renamed.model_copy(update={"tiers": renamed.tiers.model_copy(update={"frontend": other})})
    assert any(p.startswith("tiers.frontend.selector:") for p in mismatches(wrong, objects))
