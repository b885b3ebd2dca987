"""Host preflight: a reachable Docker engine that can run kind's privileged node containers.

On a Linux host where Docker is not reachable and we are root with apt (the build hosts), the kit installs Debian's
docker.io and starts dockerd itself; where the capability bounding set lacks capabilities that runc asks for in
privileged containers, it registers a runc wrapper as dockerd's default runtime. Anywhere else it explains what to
install and changes nothing.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from common.docker import docker
from common.errors import DockerError, InfrastructureError
from kit.log import info, phase
from kit.pins import cache_dir
from kit.poll import PollTimeout, poll

__all__ = [
    "CAPABILITY_NAMES",
    "NETWORK_FAULT_MODULES",
    "NFQUEUE_FEATURES",
    "HostFacts",
    "Plan",
    "PreflightError",
    "check_network_fault_kernel",
    "decide",
    "ensure_docker",
    "gather_facts",
    "missing_capabilities",
    "missing_kernel_modules",
    "report_network_fault_kernel",
    "runc_wrapper_script",
]

# Linux capability numbers (include/uapi/linux/capability.h); only names we may have to strip need to be right.
CAPABILITY_NAMES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]
RUNTIME_NAME = "kit-runc"
WRAPPER_PATH = Path("/usr/local/libexec/todo-e2e/runc-capfix")
DAEMON_JSON = Path("/etc/docker/daemon.json")
INOTIFY_WANTED = {"fs.inotify.max_user_instances": 512, "fs.inotify.max_user_watches": 524288}


class PreflightError(InfrastructureError, RuntimeError):
    """The host cannot run the kit, with what to do about it."""

    phase = "preflight"


@dataclass(frozen=True)
class HostFacts:
    """What the preflight decision depends on (gathered from the host, or made up in tests)."""

    system: str
    is_root: bool
    has_apt: bool
    docker_cli: bool
    dockerd_installed: bool
    docker_reachable: bool
    default_runtime: str | None
    cap_bounding: int
    cap_last: int
    sysctls: dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """The changes preflight will make, in order; empty when the host is ready."""

    install_docker: bool = False
    runc_wrapper_caps: list[str] = field(default_factory=list)
    start_dockerd: bool = False
    raise_sysctls: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when nothing needs to change."""
        return not (self.install_docker or self.runc_wrapper_caps or self.start_dockerd or self.raise_sysctls)


def missing_capabilities(cap_bounding: int, cap_last: int) -> list[str]:
    """Capabilities the kernel knows but this process's bounding set lacks (runc fails on them in --privileged)."""
    names = []
    for bit in range(min(cap_last, len(CAPABILITY_NAMES) - 1) + 1):
        if not cap_bounding & (1 << bit):
            names.append(CAPABILITY_NAMES[bit])
    return names


def decide(facts: HostFacts) -> Plan:
    """Decide what to change, or raise PreflightError naming what the user must install."""
    plan = Plan()
    if facts.system != "Linux" and not facts.docker_reachable:
        raise PreflightError(
            f"Docker is not reachable on this {facts.system} host. Install and start Docker Desktop (or another "
            "Docker engine), check `docker info` works, then re-run."
        )
    missing = missing_capabilities(facts.cap_bounding, facts.cap_last)
    if facts.docker_reachable:
        if missing and facts.default_runtime != RUNTIME_NAME:
            raise PreflightError(
                f"Docker is running, but this host's capability bounding set lacks {', '.join(missing)}, so kind's "
                "privileged node containers will fail ('unable to apply caps'). Stop dockerd and re-run as root so "
                f"the kit can register its runc wrapper ({WRAPPER_PATH}) as the default runtime, or register such a "
                "wrapper yourself (see README, 'Host preflight')."
            )
    else:
        if not facts.is_root or not facts.has_apt:
            why = "not root" if not facts.is_root else "no apt-get"
            raise PreflightError(
                f"Docker is not reachable and the kit cannot fix that here ({why}). Install a Docker engine "
                "(Debian/Ubuntu: `sudo apt-get install docker.io`; elsewhere: https://docs.docker.com/engine/install/),"
                " start it, make sure `docker info` works for this user, then re-run."
            )
        plan.install_docker = not (facts.dockerd_installed and facts.docker_cli)
        plan.runc_wrapper_caps = missing
        plan.start_dockerd = True
    if facts.is_root and facts.system == "Linux":
        plan.raise_sysctls = {k: v for k, v in INOTIFY_WANTED.items() if facts.sysctls.get(k, v) < v}
    return plan


def runc_wrapper_script(caps: list[str], real_runc: str) -> str:
    """A runc wrapper that strips `caps` from the OCI spec files runc is given, then execs the real runc."""
    seds = " ".join(f"-e 's/,[[:space:]]*\"{c}\"//g' -e 's/\"{c}\"[[:space:]]*,//g' -e 's/\"{c}\"//g'" for c in caps)
    return f"""#!/bin/sh
# Written by the todo-e2e cluster kit (kit/preflight.py). This host's capability bounding set lacks
# {" ".join(caps)}; runc refuses privileged containers that ask for it ("unable to apply caps"). Strip it from
# the OCI spec (the bundle's config.json, or the --process file of `runc exec`) and run the real runc.
strip() {{ [ -f "$1" ] && sed -i {seds} "$1"; }}
prev=""
for arg in "$@"; do
  case "$prev" in
    --bundle|-b) strip "$arg/config.json" ;;
    --process|-p) strip "$arg" ;;
  esac
  case "$arg" in
    --bundle=*) strip "${{arg#--bundle=}}/config.json" ;;
    --process=*) strip "${{arg#--process=}}" ;;
  esac
  prev="$arg"
done
exec {real_runc} "$@"
"""


def _read_int(path: str) -> int:
    try:
        return int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _docker_info() -> tuple[bool, str | None]:
    if not shutil.which("docker"):
        return False, None
    try:
        out = docker("info", "--format", "{{.DefaultRuntime}}", check=False, timeout=20)
    except DockerError:  # overran or could not run: not reachable (yet)
        return False, None
    if out.returncode != 0:
        return False, None
    return True, out.stdout.strip() or None


def gather_facts() -> HostFacts:
    """Read the host facts preflight decides on."""
    reachable, runtime = _docker_info()
    cap_bnd = 0
    for line in Path("/proc/self/status").read_text().splitlines() if Path("/proc/self/status").exists() else []:
        if line.startswith("CapBnd:"):
            cap_bnd = int(line.split()[1], 16)
    sysctls = {k: _read_int("/proc/sys/" + k.replace(".", "/")) for k in INOTIFY_WANTED}
    return HostFacts(
        system=platform.system(),
        is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
        has_apt=shutil.which("apt-get") is not None,
        docker_cli=shutil.which("docker") is not None,
        dockerd_installed=shutil.which("dockerd") is not None or Path("/usr/sbin/dockerd").exists(),
        docker_reachable=reachable,
        default_runtime=runtime,
        cap_bounding=cap_bnd if cap_bnd else (1 << 64) - 1,
        cap_last=_read_int("/proc/sys/kernel/cap_last_cap") or 40,
        sysctls=sysctls,
    )


def _run(cmd: list[str], **kw: object) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise PreflightError(f"`{' '.join(cmd)}` failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")


def _apply(plan: Plan) -> None:
    if plan.install_docker:
        with phase("installing Debian's docker.io (apt-get)"):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, capture_output=True)
            proc = subprocess.run(
                ["apt-get", "install", "-y", "-qq", "docker.io"], env=env, capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise PreflightError(f"apt-get install docker.io failed: {proc.stderr.strip()[-800:]}")
    daemon: dict[str, object] = {}
    if DAEMON_JSON.exists():
        daemon = json.loads(DAEMON_JSON.read_text() or "{}")
    if plan.runc_wrapper_caps:
        real = shutil.which("runc") or "/usr/sbin/runc"
        WRAPPER_PATH.parent.mkdir(parents=True, exist_ok=True)
        WRAPPER_PATH.write_text(runc_wrapper_script(plan.runc_wrapper_caps, real))
        WRAPPER_PATH.chmod(0o755)
        daemon.setdefault("runtimes", {})[RUNTIME_NAME] = {"path": str(WRAPPER_PATH)}  # type: ignore[index]
        daemon["default-runtime"] = RUNTIME_NAME
        info(
            f"this host lacks {', '.join(plan.runc_wrapper_caps)} in its capability bounding set: registered "
            f"runc wrapper {WRAPPER_PATH} as dockerd's default runtime '{RUNTIME_NAME}'"
        )
    if plan.start_dockerd:
        # Docker's images (node image, app images) live in the kit's cache directory, so they are cached with it.
        daemon.setdefault("data-root", str(cache_dir() / "docker"))
        DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
        DAEMON_JSON.write_text(json.dumps(daemon, indent=2) + "\n")
        log = cache_dir() / "logs" / "dockerd.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with phase(f"starting dockerd (log: {log})"):
            with log.open("ab") as out:
                subprocess.Popen(["dockerd"], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                poll("dockerd to answer `docker info`", lambda: _docker_info()[0], timeout=60, interval=0.5)
            except PollTimeout as exc:
                tail = log.read_text(errors="replace")[-1500:]
                raise PreflightError(f"{exc}; last log lines:\n{tail}") from exc
    for key, value in plan.raise_sysctls.items():
        _run(["sysctl", "-w", f"{key}={value}"])
        info(f"raised {key} to {value} (kind needs it for multi-node clusters)")


def ensure_docker() -> HostFacts:
    """Make Docker reachable and able to run kind's nodes, or raise PreflightError; returns the final facts."""
    facts = gather_facts()
    plan = decide(facts)
    if plan.empty:
        info(f"docker reachable (default runtime: {facts.default_runtime}); nothing to change")
        return facts
    _apply(plan)
    facts = gather_facts()
    if not facts.docker_reachable:
        raise PreflightError("Docker is still not reachable after preflight; see the dockerd log in the cache dir.")
    return facts


# -- kernel support for the network faults ---------------------------------------------------------------
# Each entry is satisfied by any one of its (module, config option) pairs; the node containers share this kernel.
NETWORK_FAULT_MODULES: dict[str, tuple[tuple[str, str], ...]] = {
    "latency (tc netem)": (("sch_netem", "CONFIG_NET_SCH_NETEM"),),
    "latency class (tc htb)": (("sch_htb", "CONFIG_NET_SCH_HTB"),),
    "packet filtering (iptables / nf_tables)": (
        ("ip_tables", "CONFIG_IP_NF_IPTABLES"),
        ("nf_tables", "CONFIG_NF_TABLES"),
    ),
    "packet loss (iptables statistic match)": (("xt_statistic", "CONFIG_NETFILTER_XT_MATCH_STATISTIC"),),
    "latency without netem (iptables NFQUEUE target)": (("xt_NFQUEUE", "CONFIG_NETFILTER_XT_TARGET_NFQUEUE"),),
    "latency without netem (netfilter queue)": (("nfnetlink_queue", "CONFIG_NETFILTER_NETLINK_QUEUE"),),
}


def missing_kernel_modules(
    config: str, loadable: set[str], required: dict[str, tuple[tuple[str, str], ...]] | None = None
) -> list[str]:
    """Required features the kernel neither builds in (=y) nor offers as a module (=m and the .ko present)."""
    options = {}
    for line in config.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.startswith("CONFIG_"):
            options[key] = value.strip()
    missing = []
    for feature, alternatives in (required or NETWORK_FAULT_MODULES).items():
        ok = any(
            options.get(option) == "y" or (options.get(option) == "m" and module in loadable)
            for module, option in alternatives
        )
        if not ok:
            names = " or ".join(f"{module} ({option})" for module, option in alternatives)
            missing.append(f"{feature}: {names}")
    return missing


def _kernel_config() -> str | None:
    """The running kernel's build configuration, from /proc/config.gz or /boot/config-<release>."""
    import gzip

    proc = Path("/proc/config.gz")
    if proc.is_file():
        return gzip.decompress(proc.read_bytes()).decode(errors="replace")
    boot = Path("/boot") / f"config-{platform.release()}"
    return boot.read_text(errors="replace") if boot.is_file() else None


def _loadable_modules() -> set[str]:
    """Module names listed in /lib/modules/<release>/modules.dep (empty on kernels without modules)."""
    dep = Path("/lib/modules") / platform.release() / "modules.dep"
    if not dep.is_file():
        return set()
    names = set()
    for line in dep.read_text(errors="replace").splitlines():
        path = line.split(":", 1)[0]
        names.add(Path(path).name.split(".ko", 1)[0].replace("-", "_"))
    return names


# What the catalogue's network scenarios need (packet filters: loss, partitions, DNS). Latency takes netem, or,
# where the kernel has none (the build hosts'), an NFQUEUE target and queue for the kit's holder (kit-delay).
CATALOGUE_NETWORK_FEATURES = ("packet filtering (iptables / nf_tables)", "packet loss (iptables statistic match)")
NETEM = "latency (tc netem)"
NFQUEUE_FEATURES = ("latency without netem (iptables NFQUEUE target)", "latency without netem (netfilter queue)")


def check_network_fault_kernel(required: tuple[str, ...] | None = None) -> list[str]:
    """Raise PreflightError naming each kernel module the network faults need and this host lacks.

    With `required` (feature names of NETWORK_FAULT_MODULES) only those are fatal; what else is missing is
    returned, for the caller to report.
    """
    config = _kernel_config()
    if config is None:
        raise PreflightError(
            "cannot tell whether the kernel offers netem and packet filtering: no /proc/config.gz and no "
            f"/boot/config-{platform.release()}"
        )
    missing = missing_kernel_modules(config, _loadable_modules())
    fatal = [m for m in missing if required is None or m.split(":", 1)[0] in required]
    if fatal:
        raise PreflightError(f"the kernel {platform.release()} lacks what the network faults need: " + "; ".join(fatal))
    return [m for m in missing if m not in fatal]


def report_network_fault_kernel() -> None:
    """Preflight's kernel check: fail when the catalogue's network faults cannot run here, report the rest."""
    try:
        optional = check_network_fault_kernel(CATALOGUE_NETWORK_FEATURES)
        if any(m.startswith(NETEM + ":") for m in optional):
            # No netem: the latency scenario needs the NFQUEUE carrier, so that becomes fatal when missing.
            optional = check_network_fault_kernel(CATALOGUE_NETWORK_FEATURES + NFQUEUE_FEATURES)
    except PreflightError as exc:
        if "cannot tell" in str(exc):
            info(f"{exc}: the network scenarios will say so if they cannot run")
            return
        raise
    netem_missing = [m for m in optional if m.startswith(NETEM + ":")]
    rest = [m for m in optional if m not in netem_missing and not m.startswith(NFQUEUE_FEATURES)]
    if netem_missing:
        info(f"kernel lacks {netem_missing[0]}: latency faults are carried by the kit's NFQUEUE holder (kit-delay)")
    if rest:
        info("kernel lacks " + "; ".join(rest) + " (no scenario of the catalogue needs it)")
    if not optional:
        info("kernel offers every network fault (packet filters, loss, netem)")
