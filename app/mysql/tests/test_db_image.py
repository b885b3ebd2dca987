"""The database image's entrypoint, run on the host against a temporary data directory with real MariaDB."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymysql
import pytest

from app.testsupport import free_port
from common.deadline import WaitTimeout, wait_for

pytestmark = pytest.mark.mariadb

IMAGE_DIR = Path(__file__).resolve().parents[1]
ENTRYPOINT = IMAGE_DIR / "docker-entrypoint.sh"
DB_READY = IMAGE_DIR / "db-ready.sh"
DB_ALIVE = IMAGE_DIR / "db-alive.sh"
CONF = IMAGE_DIR / "conf" / "todo.cnf"
START_BUDGET = 60.0
STOP_BUDGET = 30.0
ROOT_PASSWORD = "root pw with 'quote' and \\ backslash"
APP_PASSWORD = 'app "pw"'
CRASH_RECOVERY = "Starting crash recovery"


@dataclass
class Instance:
    """The entrypoint's paths and environment for one data directory, and its current process."""

    base: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def datadir(self) -> Path:
        """The data directory (what the PVC is in the cluster)."""
        return self.base / "data"

    def start(self, *args: str, **overrides: str | None) -> subprocess.Popen[bytes]:
        """Run the entrypoint in the background with server arguments and env overrides (None removes one)."""
        env = dict(self.env)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        log = self.base / f"start-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                ["/bin/bash", str(ENTRYPOINT), *args], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        return self.process

    def log(self) -> str:
        """The current (latest) start's combined output."""
        return self.logs[-1].read_text(errors="replace")

    def run_to_exit(self, *args: str, **overrides: str | None) -> int:
        """Run the entrypoint expecting it to exit by itself (bounded); return its exit code."""
        process = self.start(*args, **overrides)
        try:
            return process.wait(timeout=START_BUDGET)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise

    def probe(self, script: Path) -> subprocess.CompletedProcess[str]:
        """Run a probe script with the container's environment."""
        return subprocess.run(
            ["/bin/bash", str(script)], env=self.env, capture_output=True, text=True, timeout=20, check=False
        )

    def wait_ready(self) -> None:
        """Bounded wait until db-ready succeeds; fail with the server log if the process died."""
        process = self.process
        assert process is not None

        def ready() -> subprocess.CompletedProcess[str]:
            """One db-ready run; an exited entrypoint fails the test at once (it will not come back)."""
            if process.poll() is not None:
                pytest.fail(f"entrypoint exited with {process.returncode}:\n{self.log()[-3000:]}")
            return self.probe(DB_READY)

        try:
            wait_for(
                ready, what="db-ready to pass", timeout=START_BUDGET, interval=0.2, done=lambda r: r.returncode == 0
            )
        except WaitTimeout as exc:
            pytest.fail(f"{exc}\n{self.log()[-3000:]}")

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send a signal to the server (PID of the exec'd entrypoint) and wait, bounded, for its exit code."""
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=STOP_BUDGET)

    def connect(self, user: str, password: str, database: str | None = None) -> pymysql.connections.Connection:
        """A TCP client connection, as the back end makes."""
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user=user,
            password=password,
            database=database,
            connect_timeout=3,
            read_timeout=10,
            autocommit=True,
        )

    def query(self, user: str, password: str, sql: str, database: str | None = None) -> list[tuple[object, ...]]:
        """Run one statement and return its rows."""
        with self.connect(user, password, database) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())


@pytest.fixture
def instance() -> Iterator[Instance]:
    """A fresh data directory holding only lost+found, as a new ext4 volume does."""
    if shutil.which("mariadbd") is None and not Path("/usr/sbin/mariadbd").exists():
        pytest.fail("mariadbd not found: apt-get install mariadb-server")
    base = Path(tempfile.mkdtemp(prefix="db-image-"))
    base.chmod(0o755)  # the server drops to the mysql user, which must reach the data directory
    (base / "data" / "lost+found").mkdir(parents=True)
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "MARIADB_DATADIR": str(base / "data"),
        "MARIADB_SOCKET": str(base / "run" / "mysqld.sock"),
        "MARIADB_PORT": str(port),
        "MARIADB_BIND_ADDRESS": "127.0.0.1",
        "MARIADB_CONF": str(CONF),
        "MYSQL_ROOT_PASSWORD": ROOT_PASSWORD,
        "MYSQL_USER": "todo",
        "MYSQL_PASSWORD": APP_PASSWORD,
        "MYSQL_DATABASE": "todo",
    }
    inst = Instance(base=base, port=port, env=env)
    yield inst
    if inst.process is not None and inst.process.poll() is None:
        inst.process.kill()
        inst.process.wait(timeout=10)
    shutil.rmtree(base, ignore_errors=True)


def test_initialise_once_restart_keep_data_and_shut_down_cleanly(instance: Instance) -> None:
    """First start initialises users and the database; restarts keep data, never re-initialise or recover."""
    instance.start()
    instance.wait_ready()
    first_log = instance.log()
    assert "initialising an empty data directory" in first_log
    assert "durability settings verified" in first_log

    instance.query("todo", APP_PASSWORD, "CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(20))", "todo")
    instance.query("todo", APP_PASSWORD, "INSERT INTO t VALUES (1, 'kept')", "todo")
    databases = {row[0] for row in instance.query("root", ROOT_PASSWORD, "SHOW DATABASES")}
    assert "todo" in databases and not any("lost" in str(d) for d in databases), databases
    accounts = set(instance.query("root", ROOT_PASSWORD, "SELECT User, Host FROM mysql.user"))
    assert accounts == {("root", "localhost"), ("root", "%"), ("todo", "%"), ("mariadb.sys", "localhost")}
    with pytest.raises(pymysql.err.OperationalError):
        instance.query("todo", APP_PASSWORD, "SELECT 1", "mysql")  # the app user owns only its database
    assert (instance.datadir / "lost+found").is_dir(), "lost+found must be left alone"
    assert not (instance.datadir / ".todo-init").exists(), "the staging directory was not cleaned up"
    assert instance.probe(DB_ALIVE).returncode == 0

    assert instance.stop() == 0
    assert "Shutdown complete" in instance.log()
    assert instance.probe(DB_ALIVE).returncode == 1

    # New credentials on restart must not touch an initialised directory (the official image's rule).
    instance.start(MYSQL_ROOT_PASSWORD=None, MYSQL_USER="other", MYSQL_PASSWORD="other-pw")
    instance.env.update(MYSQL_USER="todo")  # db-ready keeps probing as the real app user
    instance.wait_ready()
    second_log = instance.log()
    assert "starting without initialisation" in second_log
    assert "initialising" not in second_log
    assert CRASH_RECOVERY not in second_log, "a clean SIGTERM shutdown must not need crash recovery"
    assert instance.query("todo", APP_PASSWORD, "SELECT note FROM t", "todo") == [("kept",)]
    assert ("other",) not in instance.query("root", ROOT_PASSWORD, "SELECT User FROM mysql.user")

    # Control for the check above: a SIGKILL does need recovery, and the committed row still survives it.
    instance.query("todo", APP_PASSWORD, "INSERT INTO t VALUES (2, 'acked')", "todo")
    assert instance.stop(signal.SIGKILL) == -signal.SIGKILL
    instance.start()
    instance.wait_ready()
    assert CRASH_RECOVERY in instance.log()
    assert instance.query("todo", APP_PASSWORD, "SELECT id FROM t ORDER BY id", "todo") == [(1,), (2,)]
    assert instance.stop() == 0


def test_durable_settings_are_in_effect_and_probed(instance: Instance) -> None:
    """The running server has the durable settings; db-ready fails as soon as one is switched off."""
    instance.start()
    instance.wait_ready()
    variables = {
        str(name): str(value)
        for name, value in instance.query(
            "root",
            ROOT_PASSWORD,
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
            "('innodb_flush_log_at_trx_commit', 'innodb_doublewrite', 'sync_binlog', 'log_bin')",
        )
    }
    assert variables == {
        "innodb_flush_log_at_trx_commit": "1",
        "innodb_doublewrite": "ON",
        "sync_binlog": "1",
        "log_bin": "OFF",
    }
    instance.query("root", ROOT_PASSWORD, "SET GLOBAL innodb_flush_log_at_trx_commit = 2")
    result = instance.probe(DB_READY)
    assert result.returncode == 1 and "durability settings are not in effect" in result.stderr
    instance.query("root", ROOT_PASSWORD, "SET GLOBAL innodb_flush_log_at_trx_commit = 1")
    assert instance.probe(DB_READY).returncode == 0
    assert instance.stop() == 0


def test_non_durable_option_file_is_refused(instance: Instance) -> None:
    """An option file that relaxes flushing stops the entrypoint before anything is initialised."""
    relaxed = instance.base / "relaxed.cnf"
    relaxed.write_text(
        CONF.read_text().replace("innodb_flush_log_at_trx_commit = 1", "innodb_flush_log_at_trx_commit = 2")
    )
    assert instance.run_to_exit(MARIADB_CONF=str(relaxed)) == 64
    assert "innodb_flush_log_at_trx_commit is '2', must be 1" in instance.log()
    assert sorted(p.name for p in instance.datadir.iterdir()) == ["lost+found"]


@pytest.mark.parametrize(
    ("args", "refusal", "named"),
    [
        (["--innodb-flush-log-at-trx-commit=0"], "innodb_flush_log_at_trx_commit is '0', must be 1", None),
        (["--innodb_flush_log_at_trx_commit=2"], "innodb_flush_log_at_trx_commit is '2', must be 1", None),
        (
            ["--innodb-flush-log-at-trx-commit", "0"],
            "innodb_flush_log_at_trx_commit is '0', must be 1",
            "--innodb-flush-log-at-trx-commit=0",
        ),
        (["--loose-innodb-flush-log-at-trx-commit=2"], "innodb_flush_log_at_trx_commit is '2', must be 1", None),
        (["--sync-binlog=0"], "sync_binlog is '0', must be 1", None),
        (["--sync_binlog", "0"], "sync_binlog is '0', must be 1", "--sync_binlog=0"),
        (["--skip-innodb-doublewrite"], "innodb_doublewrite is 'FALSE', must be on", None),
        (["--innodb_doublewrite=OFF"], "innodb_doublewrite is 'FALSE', must be on", None),
        (["--innodb-flush-log-at-trx=0"], "innodb_flush_log_at_trx_commit is '0', must be 1", "abbreviated option"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_non_durable_command_line_is_refused(
    instance: Instance, args: list[str], refusal: str, named: str | None
) -> None:
    """A server argument that relaxes durability (any spelling) stops the entrypoint before anything starts."""
    assert instance.run_to_exit("--max-connections=100", *args) == 64
    log = instance.log()
    assert refusal in log, log
    assert f"set on the command line: {args[0]}" in log or (named is not None and named in log), log
    assert "the image runs only with durable settings" in log
    assert "durability settings verified" not in log
    assert sorted(p.name for p in instance.datadir.iterdir()) == ["lost+found"]


def test_mysql_ignore_db_dir_argument_starts_the_server(instance: Instance) -> None:
    """The walk-through's MySQL 5.7 argument --ignore-db-dir=lost+found is taken in MariaDB's spelling."""
    instance.start("--ignore-db-dir=lost+found", "--ignore_db_dir", "scratch", "--innodb_flush_log_at_trx_commit", "1")
    instance.wait_ready()
    log = instance.log()
    assert "dropping MySQL's --ignore-db-dir=lost+found: MariaDB ignores lost+found already" in log
    assert "MySQL's --ignore_db_dir=scratch is MariaDB's --ignore-db-dirs=scratch" in log
    assert "error-prone" not in log, "mariadbd was handed the old name as a prefix"
    assert "Duplicate ignore-db-dir" not in log, "lost+found was passed on although the option file has it"
    (ignored,), (flush,) = (
        instance.query("root", ROOT_PASSWORD, "SELECT @@ignore_db_dirs"),
        instance.query("root", ROOT_PASSWORD, "SELECT @@innodb_flush_log_at_trx_commit"),
    )
    assert set(str(ignored[0]).split(",")) == {"lost+found", "scratch"} and flush == (1,)
    databases = {row[0] for row in instance.query("root", ROOT_PASSWORD, "SHOW DATABASES")}
    assert "todo" in databases and "lost+found" not in databases
    assert instance.stop() == 0


def test_an_unknown_server_argument_fails_clearly(instance: Instance) -> None:
    """mariadbd's own complaint about the command line is in the entrypoint's error."""
    assert instance.run_to_exit("--no-such-option=1") == 64
    log = instance.log()
    assert "mariadbd could not parse its options" in log and "unknown variable 'no-such-option=1'" in log
    assert sorted(p.name for p in instance.datadir.iterdir()) == ["lost+found"]


def test_missing_root_password_fails_clearly(instance: Instance) -> None:
    """A fresh directory without MYSQL_ROOT_PASSWORD is left untouched and the error names the variable."""
    assert instance.run_to_exit(MYSQL_ROOT_PASSWORD=None) == 64
    assert "MYSQL_ROOT_PASSWORD is not set" in instance.log()
    assert sorted(p.name for p in instance.datadir.iterdir()) == ["lost+found"]


def test_user_without_password_fails_clearly(instance: Instance) -> None:
    """MYSQL_USER without MYSQL_PASSWORD is refused before initialising."""
    assert instance.run_to_exit(MYSQL_PASSWORD=None) == 64
    assert "MYSQL_USER and MYSQL_PASSWORD must be set together" in instance.log()


def test_foreign_files_without_system_schema_are_refused(instance: Instance) -> None:
    """A non-empty directory without mysql/ is not initialised over (it may be someone's data)."""
    (instance.datadir / "ibdata1").write_bytes(b"not ours")
    assert instance.run_to_exit() == 64
    assert "holds no mysql/ system schema but is not empty" in instance.log()
    assert (instance.datadir / "ibdata1").read_bytes() == b"not ours"


def test_interrupted_initialisation_is_redone(instance: Instance) -> None:
    """A staging directory left by a crash during initialisation is discarded and initialisation redone."""
    staging = instance.datadir / ".todo-init"
    (staging / "mysql").mkdir(parents=True)
    (staging / "ibdata1").write_bytes(b"half-written")
    instance.start()
    instance.wait_ready()
    assert "initialising an empty data directory" in instance.log()
    assert not staging.exists()
    assert instance.query("todo", APP_PASSWORD, "SELECT 1", "todo") == [(1,)]
    assert instance.stop() == 0
