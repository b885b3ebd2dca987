"""Failure classes by type: every exception the kit and the Docker wrapper raise is infrastructure, nothing else is."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.deadline import WaitTimeout
from common.errors import DockerError, InfrastructureError, is_infrastructure
from kit import api
from kit.artifacts import CacheError
from kit.cluster import ClusterError, KindError, run_kind
from kit.docker import ImageBuildError, ImageLoadError
from kit.gobuild import GoBuildError
from kit.nodeimage import NodeImageError
from kit.pins import PinsError, load_pins
from kit.poll import PollTimeout, poll
from kit.preflight import PreflightError

# The phases support/results.py counts as infrastructure (INFRA_PHASES), plus the generic one.
KNOWN_PHASES = {
    "preflight",
    "docker",
    "cluster",
    "cluster-create",
    "image-build",
    "image-load",
    "kit",
    "infrastructure",
}

KIT_ERRORS: list[type[InfrastructureError]] = [
    CacheError,
    ClusterError,
    DockerError,
    GoBuildError,
    ImageBuildError,
    ImageLoadError,
    KindError,
    NodeImageError,
    PinsError,
    PreflightError,
]


@pytest.mark.parametrize("error", KIT_ERRORS, ids=lambda e: e.__name__)
def test_each_kit_error_is_infrastructure_with_a_known_phase(error: type[InfrastructureError]) -> None:
    exc = error("what failed and what to do")
    assert isinstance(exc, InfrastructureError)
    assert is_infrastructure(exc)
    assert exc.phase in KNOWN_PHASES
    assert str(exc) == "what failed and what to do"


def test_poll_timeout_is_infrastructure() -> None:
    with pytest.raises(PollTimeout) as err:
        poll("3 nodes Ready", lambda: {"worker": "False"}, timeout=0, interval=0.01, done=lambda s: False)
    assert isinstance(err.value, InfrastructureError) and is_infrastructure(err.value)
    assert err.value.phase in KNOWN_PHASES


def test_a_suite_wait_timeout_is_a_product_failure() -> None:
    exc = WaitTimeout("Alice's list to show 3 to-dos", 60, 60.1, ["a", "b"])
    assert isinstance(exc, AssertionError)
    assert not is_infrastructure(exc)


def test_a_malformed_pins_file_raises_pins_error(tmp_path: Path) -> None:
    pins = tmp_path / "pins.toml"
    pins.write_text("[kind]\nversion = 'v0.30.0'\n")
    with pytest.raises(PinsError, match="missing section") as err:
        load_pins(pins)
    assert is_infrastructure(err.value) and isinstance(err.value, ValueError)


def test_a_kind_binary_that_cannot_run_raises_kind_error(tmp_path: Path) -> None:
    with pytest.raises(KindError, match="could not run") as err:
        run_kind(tmp_path / "no-such-kind", "get", "clusters", timeout=10)
    assert is_infrastructure(err.value) and isinstance(err.value.__cause__, OSError)


def test_building_an_app_image_without_a_dockerfile_raises_image_build_error(tmp_path: Path) -> None:
    with pytest.raises(ImageBuildError, match="no Dockerfile") as err:
        api.build_image(tmp_path, "todo-backend")
    assert is_infrastructure(err.value)


def test_classification_follows_the_cause_chain() -> None:
    try:
        try:
            raise DockerError("`docker stop todo-e2e-worker` failed (1): Cannot connect to the Docker daemon")
        except DockerError as inner:
            raise AssertionError("the node did not stop") from inner
    except AssertionError as outer:
        assert is_infrastructure(outer)


def test_classification_follows_the_implicit_context() -> None:
    try:
        try:
            raise ClusterError("cluster todo-e2e never became ready")
        except ClusterError:
            raise RuntimeError("teardown failed while handling it")  # noqa: B904 -- the implicit context is the point
    except RuntimeError as outer:
        assert outer.__cause__ is None and is_infrastructure(outer)


def test_classification_never_reads_the_message() -> None:
    app_failure = AssertionError("the back end logged: No space left on device; cannot connect to the Docker daemon")
    assert not is_infrastructure(app_failure)
    assert not is_infrastructure(None)


def test_a_looping_chain_terminates() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert not is_infrastructure(first)
