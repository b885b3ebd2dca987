"""The database image itself (built from app/mysql with the kit's base image): command-line durability at start."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.deadline import wait_for
from common.docker import DockerCli
from kit import docker as kit_docker
from kit.images import BASE_TAG
from kit.pins import input_key

pytestmark = pytest.mark.docker

IMAGE_DIR = Path(__file__).resolve().parents[1]
REPOSITORY = "localhost/todo-mysql-test"
# Only what goes into the image: an edit to these tests or the README must not rebuild it.
IMAGE_INPUTS = ("Dockerfile", "conf", "docker-entrypoint.sh", "db-ready.sh", "db-alive.sh")
START_BUDGET = 90.0

docker = DockerCli()


@pytest.fixture(scope="module")
def image() -> str:
    """The image built from this checkout (re-used while its inputs and the base image are unchanged)."""
    if not docker.image_exists(BASE_TAG):
        pytest.fail(f"{BASE_TAG} is missing: `python -m kit build` makes it (no registry is used)")
    key = input_key("db-image-test", docker.image_id(BASE_TAG), *[IMAGE_DIR / name for name in IMAGE_INPUTS])
    tag = f"{REPOSITORY}:{key[:12]}"
    kit_docker.build(IMAGE_DIR, tag, key)
    # Older builds of this test image only (never anyone else's images).
    for old in docker.run("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", REPOSITORY).split():
        if old != tag:
            docker.completed("rmi", old, check=False, timeout=60)
    return tag


@pytest.fixture
def container_name() -> Iterator[str]:
    """A unique container name, removed afterwards whatever happened."""
    name = f"todo-mysql-test-{uuid.uuid4().hex[:8]}"
    yield name
    docker.completed("rm", "-f", "-v", name, check=False, timeout=60)


def _run(image: str, name: str, *args: str, detach: bool = False) -> subprocess.CompletedProcess[str]:
    """`docker run` the image with the MYSQL_* contract and server arguments, without a network."""
    env = ["-e", "MYSQL_ROOT_PASSWORD=root-pw", "-e", "MYSQL_USER=todo", "-e", "MYSQL_PASSWORD=pw"]
    mode = ["-d"] if detach else []
    return docker.completed(
        "run",
        *mode,
        "--name",
        name,
        "--network",
        "none",
        *env,
        "-e",
        "MYSQL_DATABASE=todo",
        image,
        *args,
        check=False,
        timeout=START_BUDGET,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--innodb-flush-log-at-trx-commit=0"], "innodb_flush_log_at_trx_commit is '0', must be 1"),
        (["--innodb_flush_log_at_trx_commit", "2"], "innodb_flush_log_at_trx_commit is '2', must be 1"),
        (["--sync-binlog=0"], "sync_binlog is '0', must be 1"),
        (["--skip-innodb-doublewrite"], "innodb_doublewrite is 'FALSE', must be on"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_non_durable_argument_stops_the_container(
    image: str, container_name: str, args: list[str], message: str
) -> None:
    """The container exits 64 at start and its log names the setting, the durable value and the argument."""
    done = _run(image, container_name, *args)
    assert done.returncode == 64, done.stdout + done.stderr
    assert message in done.stderr and "set on the command line:" in done.stderr, done.stderr
    assert "ready for connections" not in done.stderr


def test_the_walk_through_argument_starts_a_durable_server(image: str, container_name: str) -> None:
    """--ignore-db-dir=lost+found (MySQL 5.7, the walk-through's manifests) starts; the server stays durable."""
    started = _run(image, container_name, "--ignore-db-dir=lost+found", detach=True)
    assert started.returncode == 0, started.stderr

    def ready() -> bool:
        """db-ready, the image's own readiness probe, passes."""
        if docker.state(container_name) != "running":
            raise ContainerExited(docker.completed("logs", container_name, check=False).stderr[-3000:])
        return docker.completed("exec", container_name, "db-ready", check=False, timeout=30).returncode == 0

    wait_for(ready, what=f"db-ready in {container_name}", timeout=START_BUDGET, interval=1, fatal=(ContainerExited,))
    settings = docker.exec(
        container_name,
        "mariadb",
        "-uroot",
        "-proot-pw",
        "-N",
        "-e",
        "SELECT @@innodb_flush_log_at_trx_commit, @@innodb_doublewrite, @@sync_binlog, @@ignore_db_dirs",
    )
    assert settings.split() == ["1", "1", "1", "lost+found"]
    log = docker.completed("logs", container_name, check=False).stderr
    assert "dropping MySQL's --ignore-db-dir=lost+found" in log
    assert "durability settings verified" in log


class ContainerExited(RuntimeError):
    """The container stopped while the test waited for it to become ready."""
