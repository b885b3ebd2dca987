"""The one Docker CLI wrapper: its errors are infrastructure and name the command; real docker where marked."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

import pytest

from common.docker import DockerCli
from common.errors import DockerError, is_infrastructure

BASE_IMAGE = "debian:bookworm-slim"  # built by `python -m kit build`; the only image these tests use


def _answer(returncode: int, stdout: str = "", stderr: str = "") -> DockerCli:
    """A CLI whose every call answers the same (for the wrapper's own logic: messages, parsing)."""

    def runner(args: Sequence[str], timeout: float | None, *_: str | None) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(list(args), returncode, stdout, stderr)

    return DockerCli(runner=runner)


def test_a_missing_docker_binary_is_a_docker_error() -> None:
    with pytest.raises(DockerError, match="could not run") as err:
        DockerCli(docker="/nonexistent/docker").run("ps")
    assert is_infrastructure(err.value) and isinstance(err.value.__cause__, OSError)


def test_an_overrun_is_a_docker_error_naming_the_budget() -> None:
    def runner(args: Sequence[str], timeout: float | None, *_: str | None) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(list(args), timeout or 0)

    with pytest.raises(DockerError, match=r"`docker stop todo-e2e-worker` did not finish within 5s"):
        DockerCli(runner=runner).run("stop", "todo-e2e-worker", timeout=5)


def test_a_failed_command_names_it_its_code_and_the_output_tail() -> None:
    cli = _answer(1, stderr="Error response from daemon: No such container: nope")
    with pytest.raises(DockerError, match=r"`docker inspect nope` failed \(1\):\nError response.*No such container"):
        cli.run("inspect", "nope")
    assert cli.completed("inspect", "nope", check=False).returncode == 1


def test_labels_and_absent_image_labels() -> None:
    assert _answer(0, '{"io.x-k8s.kind.role":"worker"}\n').labels("w") == {"io.x-k8s.kind.role": "worker"}
    assert _answer(0, "null\n").labels("w") == {}
    assert _answer(0, "<no value>\n").image_label("img", "key") is None
    assert _answer(1).image_label("img", "key") is None


# A user's machine may lack Docker (then these are skipped, saying so); CI installs it (`kit preflight`, `kit base`),
# so there a missing docker CLI fails the test instead of keeping the run green.
requires_docker = pytest.mark.skipif(
    shutil.which("docker") is None and not os.environ.get("CI"), reason="no docker CLI on this machine"
)


@pytest.mark.docker
@requires_docker
def test_real_engine_queries() -> None:
    cli = DockerCli()
    assert cli.image_exists(BASE_IMAGE), f"{BASE_IMAGE} missing: run `python -m kit build`"
    assert cli.image_id(BASE_IMAGE).startswith("sha256:")
    assert cli.image_label(BASE_IMAGE, "io.todo-e2e.kit.key")  # the kit labels its base image with its input key
    assert not cli.image_exists("localhost/todo-e2e/no-such-image:never")
    with pytest.raises(DockerError, match="No such"):
        cli.state("todo-e2e-no-such-container")


@pytest.mark.docker
@requires_docker
def test_real_exec_and_pipe() -> None:
    cli = DockerCli()
    name = f"common-docker-test-{id(cli)}"
    cli.run("run", "-d", "--rm", "--name", name, "--network", "none", BASE_IMAGE, "sleep", "60", timeout=60)
    try:
        assert cli.state(name) == "running"
        assert cli.exec(name, "cat", input_text="through stdin") == "through stdin"
        version = cli.run("version", "--format", "{{.Client.Version}}").strip()
        piped = cli.pipe(["version", "--format", "{{.Client.Version}}"], ["exec", "-i", name, "cat"], timeout=60)
        assert piped.strip() == version
    finally:
        cli.completed("rm", "-f", name, check=False, timeout=60)
