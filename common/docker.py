"""The one Docker CLI wrapper: every docker call of the kit and the suite runs here, bounded, with a clear error."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Protocol

from common.errors import DockerError

__all__ = ["DockerCli", "DockerRunner", "docker"]

# How much of a failed command's output an error carries: the end is where docker says why.
_TAIL = 3000


class DockerRunner(Protocol):
    """Runs one docker argv (the binary first) with a time limit and optional stdin; injectable for tests."""

    def __call__(
        self, args: Sequence[str], timeout: float | None, input_text: str | None = None, /
    ) -> subprocess.CompletedProcess[str]:
        """Run argv and return the completed process (never raising on a non-zero exit)."""
        ...


def _subprocess_runner(
    args: Sequence[str], timeout: float | None, input_text: str | None = None, /
) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI for real."""
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=input_text, check=False)


def _command(args: Sequence[str]) -> str:
    """The command as a reader would type it, cut to a readable length."""
    return f"docker {' '.join(args)}"[:200]


class DockerCli:
    """The docker CLI: run with a timeout, and the few queries the kit and the faults need (labels, state, ids)."""

    def __init__(self, docker: str = "docker", runner: DockerRunner | None = None) -> None:
        """Use the `docker` binary (or another path); `runner` replaces the subprocess call in tests."""
        self.docker = docker
        self.runner: DockerRunner = runner or _subprocess_runner

    def completed(
        self, *args: str, check: bool = True, timeout: float | None = None, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `docker <args>`; DockerError when it cannot run, overruns, or (with check) exits non-zero."""
        argv = [self.docker, *args]
        try:
            # Tests' runners take (argv, timeout); stdin is passed only when there is some.
            proc = self.runner(argv, timeout) if input_text is None else self.runner(argv, timeout, input_text)
        except subprocess.TimeoutExpired as exc:
            raise DockerError(f"`{_command(args)}` did not finish within {timeout:g}s") from exc
        except OSError as exc:
            raise DockerError(f"`{_command(args)}` could not run ({exc}): is the docker CLI installed?") from exc
        if check and proc.returncode != 0:
            out = ((proc.stdout or "") + (proc.stderr or "")).strip()
            raise DockerError(f"`{_command(args)}` failed ({proc.returncode}):\n{out[-_TAIL:]}")
        return proc

    def run(self, *args: str, timeout: float | None = 60, input_text: str | None = None) -> str:
        """Run `docker <args>` and return its stdout; DockerError with the output's tail on failure."""
        return self.completed(*args, timeout=timeout, input_text=input_text).stdout

    def exec(self, container: str, *command: str, timeout: float | None = 60, input_text: str | None = None) -> str:
        """Run a command in a running container (`docker exec`, with -i when stdin is given); return its stdout."""
        flags = ["-i"] if input_text is not None else []
        return self.run("exec", *flags, container, *command, timeout=timeout, input_text=input_text)

    def labels(self, container: str) -> dict[str, str]:
        """A container's labels."""
        out = self.run("inspect", "--format", "{{json .Config.Labels}}", container)
        return dict(json.loads(out or "{}") or {})

    def state(self, container: str) -> str:
        """A container's state: running, paused, exited, ..."""
        return self.run("inspect", "--format", "{{.State.Status}}", container).strip()

    def image_exists(self, ref: str) -> bool:
        """Whether the local engine has the image."""
        return self.completed("image", "inspect", "--format", "{{.Id}}", ref, check=False, timeout=60).returncode == 0

    def image_id(self, ref: str) -> str:
        """The local image ID of a tag or reference."""
        return self.run("image", "inspect", "--format", "{{.Id}}", ref).strip()

    def image_label(self, ref: str, label: str) -> str | None:
        """One label of a local image, or None when the image is absent or lacks it."""
        proc = self.completed(
            "image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', ref, check=False, timeout=60
        )
        value = proc.stdout.strip() if proc.returncode == 0 else ""
        return value if value and value != "<no value>" else None

    def pipe(self, producer: Sequence[str], consumer: Sequence[str], *, timeout: float | None = None) -> str:
        """Run `docker <producer> | docker <consumer>` (an image save into a node's containerd); consumer's stdout."""
        with subprocess.Popen([self.docker, *producer], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as source:
            try:
                sink = subprocess.run(
                    [self.docker, *consumer], stdin=source.stdout, capture_output=True, text=True, timeout=timeout
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                source.kill()
                raise DockerError(f"`{_command(producer)} | {_command(consumer)}` did not complete: {exc}") from exc
            finally:
                if source.stdout:
                    source.stdout.close()
            _, source_err = source.communicate(timeout=60)
        if source.returncode != 0 or sink.returncode != 0:
            detail = (source_err.decode(errors="replace") + sink.stderr).strip()
            raise DockerError(
                f"`{_command(producer)} | {_command(consumer)}` failed ({source.returncode}, {sink.returncode}):\n"
                f"{detail[-_TAIL:]}"
            )
        return sink.stdout


_default = DockerCli()


def docker(
    *args: str, check: bool = True, timeout: float | None = None, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `docker <args>` with the default CLI (see DockerCli.completed)."""
    return _default.completed(*args, check=check, timeout=timeout, input_text=input_text)
