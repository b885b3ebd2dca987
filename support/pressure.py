"""Resource pressure from inside the app's own pods: a full database volume and CPU-starved back-end containers.

Both work through `kubectl exec`-style calls into the pods (pod-scoped, so they are allowed in staging mode too)
and both are bounded twice: by their own size or duration, and by the UndoStack that removes them on heal,
teardown, failure and Ctrl-C.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from support.cluster import ClusterHandle, PodInfo
from support.faults import Fault
from support.safety import SafetyPolicy, check
from support.undo import UndoStack

__all__ = [
    "DATA_DIR",
    "FILL_FILE",
    "HOG_TAG",
    "DiskSpace",
    "PressureInjector",
    "VolumeTooLarge",
    "cpu_hog_script",
    "fill_script",
    "fill_size",
    "hog_pids_script",
    "parse_df",
]

DATA_DIR = "/var/lib/mysql"
# A file in the data directory's root is not a table to the server: it only takes the space.
FILL_FILE = f"{DATA_DIR}/todo-e2e-fill.bin"
# Left for the last step of the fill: fallocate takes all but this at once, then single blocks take the rest, so
# the filesystem is full to its last block (InnoDB still stores rows in pages it holds already: only a full
# filesystem makes it refuse one, "table is full", when it must grow a file).
RESERVE_BYTES = 256 << 10
BLOCK_BYTES = 4096
# Never write more than this: on kind's local-path storage the "volume" is the host's disk.
MAX_FILL_BYTES = 2 << 30
# Every CPU hog carries this argument, so a leftover one is found by its command line.
HOG_TAG = "todo-e2e-cpu-hog"


class VolumeTooLarge(RuntimeError):
    """The data volume has more free space than the suite may fill (it is a shared disk, not a sized volume)."""


@dataclass(frozen=True)
class DiskSpace:
    """Size and free space of a filesystem, in bytes."""

    size: int
    available: int


def parse_df(output: str) -> DiskSpace:
    """Size and available bytes from `df -Pk PATH` (POSIX format: 1024-byte blocks, one line per filesystem)."""
    lines = [line for line in output.splitlines() if line.strip()]
    if len(lines) < 2:
        raise ValueError(f"unexpected df output: {output[:200]!r}")
    fields = lines[-1].split()
    try:
        size_kb, avail_kb = int(fields[1]), int(fields[3])
    except (IndexError, ValueError) as exc:
        raise ValueError(f"unexpected df line: {lines[-1]!r}") from exc
    return DiskSpace(size_kb * 1024, avail_kb * 1024)


def fill_size(space: DiskSpace, max_fill: int = MAX_FILL_BYTES, reserve: int = RESERVE_BYTES) -> int:
    """Bytes to write so that only `reserve` stays free; refuse when that exceeds the bound."""
    wanted = space.available - reserve
    if wanted > max_fill:
        raise VolumeTooLarge(
            f"the database's data directory has {space.available / 2**30:.1f} GiB free (filesystem "
            f"{space.size / 2**30:.1f} GiB): filling it would write more than the {max_fill / 2**30:.1f} GiB the "
            "suite allows itself; this volume is a shared disk (kind's local-path), not a sized volume"
        )
    return max(0, wanted)


def fill_script(path: str, size: int, reserve: int = RESERVE_BYTES) -> list[str]:
    """Write `size` bytes into path (fallocate, else dd), then blocks until the filesystem is full; print df.

    The last dd is bounded too: at most `reserve` plus 16 blocks, never the unbounded "until ENOSPC".
    """
    mib, rest = divmod(size, 1 << 20)
    blocks = reserve // BLOCK_BYTES + 16
    script = (
        'fallocate -l "$2" "$1" 2>/dev/null || '
        '{ dd if=/dev/zero of="$1" bs=1048576 count="$3" 2>/dev/null; '
        'dd if=/dev/zero of="$1" bs=1 count="$4" seek="$3" oflag=append conv=notrunc 2>/dev/null; true; }; '
        f'dd if=/dev/zero of="$1" bs={BLOCK_BYTES} count="$5" oflag=append conv=notrunc 2>/dev/null; '
        'df -Pk "$(dirname "$1")"'
    )
    return ["sh", "-c", script, "fill", path, str(size), str(mib), str(rest), str(blocks)]


def cpu_hog_script(seconds: float, workers: int) -> list[str]:
    """Start `workers` busy loops that end by themselves after `seconds`; print their pids."""
    if not 0 < seconds <= 600 or not 0 < workers <= 8:
        raise ValueError(f"CPU hog bounded to 600 s and 8 workers, asked for {seconds} s and {workers}")
    code = f"import time\nend = time.monotonic() + {float(seconds)}\nwhile time.monotonic() < end:\n    pass\n"
    script = (
        'i=0; while [ "$i" -lt "$2" ]; do python3 -c "$1" "$3" </dev/null >/dev/null 2>&1 & echo $!; i=$((i+1)); done'
    )
    return ["sh", "-c", script, "hog", code, str(workers), HOG_TAG]


def hog_pids_script() -> list[str]:
    """Print the pids of running CPU hogs: python3 processes with the tag in their command line (no procps)."""
    # The comm test first: this very shell and its grep carry the tag in their own command lines.
    script = (
        'for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = python3 ] || continue; '
        'tr "\\0" " " < "$d/cmdline" 2>/dev/null | grep -q -- "$1" && echo "${d#/proc/}"; done; true'
    )
    return ["sh", "-c", script, "hogs", HOG_TAG]


class PressureInjector:
    """Disk fill and CPU hogs, behind the safety guard (pod scope), each recorded on the UndoStack first."""

    def __init__(self, cluster: ClusterHandle, policy: SafetyPolicy, undo: UndoStack) -> None:
        self.cluster = cluster
        self.policy = policy
        self.undo_stack = undo

    def _exec(self, pod: PodInfo, command: Sequence[str], timeout: float = 60) -> str:
        """Run a command in the pod's (only) container, raising with its stderr on failure."""
        container = next(iter(pod.container_ids), None)
        done = self.cluster.exec(pod.name, list(command), container=container, timeout=timeout)
        if done.rc != 0:
            raise RuntimeError(f"{command[0]} in pod {pod.name} failed ({done.rc}): {done.stderr.strip()[:300]}")
        return done.stdout

    def _database(self) -> PodInfo:
        """The Ready database pod."""
        pods = self.cluster.ready_pods("database")
        if len(pods) != 1:
            raise RuntimeError(f"expected one Ready database pod, found {[p.name for p in pods]}")
        return pods[0]

    # -- disk ----------------------------------------------------------------------------------------
    def disk_space(self) -> DiskSpace:
        """The data directory's filesystem as the database pod sees it."""
        return parse_df(self._exec(self._database(), ["df", "-Pk", DATA_DIR]))

    def fill_volume(self, max_fill: int = MAX_FILL_BYTES) -> Fault:
        """Fill the data directory's filesystem to within RESERVE_BYTES; refuse (VolumeTooLarge) past the bound."""
        check(self.cluster.facts(), self.policy, "pod")
        pod = self._database()
        size = fill_size(self.disk_space(), max_fill)
        fault = Fault(
            "database volume filled",
            "database",
            [pod.name],
            time.monotonic(),
            time.time(),
            old_uids={pod.uid},
            old_restarts={pod.name: pod.restarts},
            detail=f"{size / 2**20:.0f} MiB written to {FILL_FILE} in pod {pod.name}",
        )
        self.undo_stack.record(f"fill file in {pod.name}", fault.name, lambda: self._remove_fill(pod))
        after = parse_df(self._exec(pod, fill_script(FILL_FILE, size), timeout=300))
        fault.detail += f"; {after.available / 2**20:.1f} MiB left free"
        return fault

    def _remove_fill(self, pod: PodInfo) -> None:
        """Delete the fill file; the pod being gone means the file went with it only if the volume did too."""
        current = self._database()  # the file lives on the volume, so remove it from whichever pod mounts it now
        self._exec(current, ["rm", "-f", FILL_FILE])

    def free_volume(self, fault: Fault) -> None:
        """Remove the fill file (the heal)."""
        problems = self.undo_stack.undo(fault=fault.name)
        if problems:
            raise RuntimeError("could not free the database volume: " + "; ".join(problems))

    def fill_left(self) -> bool:
        """Whether the fill file is still on the volume."""
        done = self.cluster.exec(self._database().name, ["test", "-e", FILL_FILE], timeout=30)
        return done.rc == 0

    # -- CPU -----------------------------------------------------------------------------------------
    def starve_cpu(self, tier: str, seconds: float, workers: int = 2) -> Fault:
        """Busy loops in every Ready pod of the tier, competing with the app for its CPU limit."""
        check(self.cluster.facts(), self.policy, "pod")
        pods = self.cluster.ready_pods(tier)
        if not pods:
            raise RuntimeError(f"no Ready {tier} pod to starve")
        fault = Fault(
            f"{tier} CPU starved",
            tier,
            [p.name for p in pods],
            time.monotonic(),
            time.time(),
            old_uids={p.uid for p in pods},
            old_restarts={p.name: p.restarts for p in pods},
            detail=f"{workers} busy loop(s) for {seconds:g} s in each of {', '.join(p.name for p in pods)}",
        )
        for pod in pods:
            self.undo_stack.record(f"CPU hogs in {pod.name}", fault.name, partial(self._stop_hogs, pod))
            self._exec(pod, cpu_hog_script(seconds, workers))
        return fault

    def _hog_pids(self, pod: PodInfo) -> list[str]:
        """Pids of the hogs still running in one pod."""
        return self._exec(pod, hog_pids_script()).split()

    def _stop_hogs(self, pod: PodInfo) -> None:
        """Kill a pod's hogs; a pod that is gone took them with it."""
        if pod.name not in {p.name for p in self.cluster.pods(pod.tier)}:
            return
        pids = self._hog_pids(pod)
        if pids:
            self._exec(pod, ["sh", "-c", 'kill -9 "$@" 2>/dev/null; true', "kill", *pids])

    def end_starvation(self, fault: Fault) -> None:
        """Stop every hog of the fault (the heal)."""
        problems = self.undo_stack.undo(fault=fault.name)
        if problems:
            raise RuntimeError("could not stop the CPU hogs: " + "; ".join(problems))

    def hogs_left(self, tier: str) -> dict[str, list[str]]:
        """Running hogs per pod of the tier."""
        found: dict[str, list[str]] = {}
        for pod in self.cluster.pods(tier):
            if pod.phase == "Running" and not pod.terminating:
                pids = self._hog_pids(pod)
                if pids:
                    found[pod.name] = pids
        return found
