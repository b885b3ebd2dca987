"""Preflight decisions, without Docker: what the kit changes on which host, and the refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kit.preflight import (
    RUNTIME_NAME,
    HostFacts,
    PreflightError,
    decide,
    missing_capabilities,
    runc_wrapper_script,
)

FULL = (1 << 41) - 1
NO_SYS_RESOURCE = FULL & ~(1 << 24)


def facts(**kw: object) -> HostFacts:
    base: dict[str, object] = dict(
        system="Linux",
        is_root=True,
        has_apt=True,
        docker_cli=True,
        dockerd_installed=True,
        docker_reachable=False,
        default_runtime=None,
        cap_bounding=FULL,
        cap_last=40,
        sysctls={"fs.inotify.max_user_instances": 512, "fs.inotify.max_user_watches": 524288},
    )
    base.update(kw)
    return HostFacts(**base)  # type: ignore[arg-type]


def test_missing_capabilities_names_the_lacking_bits() -> None:
    assert missing_capabilities(FULL, 40) == []
    assert missing_capabilities(NO_SYS_RESOURCE, 40) == ["CAP_SYS_RESOURCE"]


def test_build_host_installs_docker_wraps_runc_and_starts_dockerd() -> None:
    plan = decide(
        facts(
            dockerd_installed=False,
            docker_cli=False,
            cap_bounding=NO_SYS_RESOURCE,
            sysctls={"fs.inotify.max_user_instances": 128, "fs.inotify.max_user_watches": 8192},
        )
    )
    assert plan.install_docker and plan.start_dockerd
    assert plan.runc_wrapper_caps == ["CAP_SYS_RESOURCE"]
    assert plan.raise_sysctls == {"fs.inotify.max_user_instances": 512, "fs.inotify.max_user_watches": 524288}


def test_ready_host_changes_nothing() -> None:
    assert decide(facts(docker_reachable=True, default_runtime="runc")).empty


def test_running_docker_without_wrapper_on_a_capless_host_is_refused_with_advice() -> None:
    with pytest.raises(PreflightError, match=r"CAP_SYS_RESOURCE.*runc wrapper"):
        decide(facts(docker_reachable=True, default_runtime="runc", cap_bounding=NO_SYS_RESOURCE))
    assert decide(facts(docker_reachable=True, default_runtime=RUNTIME_NAME, cap_bounding=NO_SYS_RESOURCE)).empty


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"is_root": False}, "not root"),
        ({"has_apt": False}, "no apt-get"),
        ({"system": "Darwin", "is_root": False}, "Docker Desktop"),
    ],
)
def test_unfixable_hosts_get_an_actionable_error_and_no_plan(kw: dict[str, object], needle: str) -> None:
    with pytest.raises(PreflightError, match=needle) as err:
        decide(facts(**kw))
    assert "docker" in str(err.value).lower()


def test_non_root_does_not_touch_sysctls() -> None:
    plan = decide(facts(is_root=False, docker_reachable=True, sysctls={"fs.inotify.max_user_instances": 128}))
    assert plan.raise_sysctls == {}


@pytest.mark.parametrize(
    "spec",
    [
        {
            "process": {
                "capabilities": {
                    "bounding": ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_KILL"],
                    "effective": ["CAP_SYS_RESOURCE"],
                    "permitted": ["CAP_KILL", "CAP_SYS_RESOURCE"],
                }
            }
        },
    ],
)
@pytest.mark.parametrize("form", ["bundle", "bundle=", "process"])
def test_runc_wrapper_strips_the_capability_and_keeps_valid_json(
    tmp_path: Path, spec: dict[str, object], form: str
) -> None:
    fake_runc = tmp_path / "runc"
    fake_runc.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\n')
    fake_runc.chmod(0o755)
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(runc_wrapper_script(["CAP_SYS_RESOURCE"], str(fake_runc)))
    wrapper.chmod(0o755)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    target = bundle / "config.json" if form.startswith("bundle") else tmp_path / "process.json"
    target.write_text(json.dumps(spec, separators=(",", ":")))
    args = {
        "bundle": ["create", "--bundle", str(bundle), "id"],
        "bundle=": ["create", f"--bundle={bundle}", "id"],
        "process": ["exec", "--process", str(target), "id"],
    }[form]
    subprocess.run([str(wrapper), *args], check=True)
    caps = json.loads(target.read_text())["process"]["capabilities"]
    assert caps == {"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": [], "permitted": ["CAP_KILL"]}
    assert (tmp_path / "args").read_text().split() == args, "the real runc gets the same arguments"


# -- kernel support for the network faults -------------------------------------------------------------------
OUR_KERNEL = """
# CONFIG_MODULES is not set
CONFIG_NF_TABLES=y
CONFIG_IP_NF_IPTABLES=y
CONFIG_NETFILTER_XT_MATCH_STATISTIC=y
CONFIG_NET_SCH_HTB=y
CONFIG_NETFILTER_XT_TARGET_NFQUEUE=y
CONFIG_NETFILTER_NETLINK_QUEUE=y
# CONFIG_NET_SCH_NETEM is not set
"""


def test_kernel_check_names_each_missing_module() -> None:
    from kit.preflight import missing_kernel_modules

    missing = missing_kernel_modules(OUR_KERNEL, set())
    assert missing == ["latency (tc netem): sch_netem (CONFIG_NET_SCH_NETEM)"]
    assert missing_kernel_modules(OUR_KERNEL.replace("CONFIG_NET_SCH_HTB=y", ""), set()) == [
        "latency (tc netem): sch_netem (CONFIG_NET_SCH_NETEM)",
        "latency class (tc htb): sch_htb (CONFIG_NET_SCH_HTB)",
    ]


def test_kernel_check_accepts_built_in_or_loadable_modules() -> None:
    from kit.preflight import missing_kernel_modules

    config = OUR_KERNEL.replace("# CONFIG_NET_SCH_NETEM is not set", "CONFIG_NET_SCH_NETEM=m")
    assert missing_kernel_modules(config, {"sch_netem"}) == []
    # =m without the module file installed is not support.
    assert missing_kernel_modules(config, set()) == ["latency (tc netem): sch_netem (CONFIG_NET_SCH_NETEM)"]


def test_packet_filtering_needs_either_iptables_or_nf_tables() -> None:
    from kit.preflight import missing_kernel_modules

    without_legacy = OUR_KERNEL.replace("CONFIG_IP_NF_IPTABLES=y", "")
    assert not any("packet filtering" in m for m in missing_kernel_modules(without_legacy, set()))
    neither = without_legacy.replace("CONFIG_NF_TABLES=y", "")
    assert any(
        m.startswith("packet filtering") and "ip_tables" in m and "nf_tables" in m
        for m in missing_kernel_modules(neither, set())
    )


def test_preflight_fails_only_for_what_the_catalogue_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our hosts lack netem: reported, and then the NFQUEUE carrier is required; no packet loss is fatal."""
    from kit import preflight

    monkeypatch.setattr(preflight, "_loadable_modules", set)
    monkeypatch.setattr(preflight, "_kernel_config", lambda: OUR_KERNEL)
    assert preflight.check_network_fault_kernel(preflight.CATALOGUE_NETWORK_FEATURES) == [
        "latency (tc netem): sch_netem (CONFIG_NET_SCH_NETEM)"
    ]
    preflight.report_network_fault_kernel()
    monkeypatch.setattr(
        preflight, "_kernel_config", lambda: OUR_KERNEL.replace("CONFIG_NETFILTER_XT_TARGET_NFQUEUE=y", "")
    )
    with pytest.raises(preflight.PreflightError, match=r"xt_NFQUEUE"):
        preflight.report_network_fault_kernel()
    with_netem = OUR_KERNEL.replace("CONFIG_NETFILTER_XT_TARGET_NFQUEUE=y", "") + "\nCONFIG_NET_SCH_NETEM=y\n"
    monkeypatch.setattr(preflight, "_kernel_config", lambda: with_netem)
    preflight.report_network_fault_kernel()  # netem carries the latency: no NFQUEUE needed
    monkeypatch.setattr(
        preflight, "_kernel_config", lambda: OUR_KERNEL.replace("CONFIG_NETFILTER_XT_MATCH_STATISTIC=y", "")
    )
    with pytest.raises(preflight.PreflightError, match=r"xt_statistic"):
        preflight.report_network_fault_kernel()
    monkeypatch.setattr(preflight, "_kernel_config", lambda: None)
    preflight.report_network_fault_kernel()  # cannot tell: reported, the scenarios say so themselves
