"""Network faults without a cluster: the command lines, the undo bookkeeping and the safety refusals."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from common.deadline import wait_for
from common.errors import DockerError
from support.cluster import PodInfo
from support.faults import DockerCli
from support.netfaults import (
    TAG,
    KernelLacks,
    NetFault,
    NetFaultInjector,
    container_pid,
    crictl_inspect,
    delayers_running,
    drop_rules,
    filter_leftovers,
    hold_rules,
    in_netns,
    missing_module,
    netem_rules,
    qdisc_leftovers,
    stop_delayer,
)
from support.safety import SafetyPolicy, TargetFacts, UnsafeTarget
from support.undo import UndoStack
from support.victims import Victims

SUITE = "todo-e2e"


# -- command lines ------------------------------------------------------------------------------------------
def test_commands_enter_only_the_pods_network_namespace() -> None:
    assert in_netns(4242, ["tc", "qdisc", "show"]) == ["nsenter", "--target=4242", "--net", "--", "tc", "qdisc", "show"]
    for pid in (0, 1):
        with pytest.raises(ValueError, match="node's own namespace"):
            in_netns(pid, ["true"])


def test_container_pid_comes_from_crictl_inspect() -> None:
    assert crictl_inspect("containerd://abc123") == [
        *("crictl", "--runtime-endpoint", "unix:///run/containerd/containerd.sock"),
        *("inspect", "abc123"),
    ]
    assert container_pid(json.dumps({"info": {"pid": 777}})) == 777
    with pytest.raises(ValueError, match="not running"):
        container_pid(json.dumps({"info": {"pid": 0}}))
    with pytest.raises(ValueError, match=r"no \.info\.pid"):
        container_pid("{}")
    with pytest.raises(ValueError, match="not a container id"):
        crictl_inspect("containerd://abc; rm -rf /")


def test_netem_delay_only_touches_traffic_to_the_port() -> None:
    apply, undo = netem_rules(3306, delay_ms=200, jitter_ms=20)
    assert apply == [
        ["tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "10"],
        ["tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit"],
        ["tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:30", "htb", "rate", "10gbit"],
        ["tc", "qdisc", "add", "dev", "eth0", "parent", "1:30", "handle", "30:", "netem", "delay", "200ms", "20ms"],
        [
            *("tc", "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio", "1", "u32"),
            *("match", "ip", "dport", "3306", "0xffff", "flowid", "1:30"),
        ],
    ]
    assert undo == [["tc", "qdisc", "del", "dev", "eth0", "root"]]
    with pytest.raises(ValueError, match="delay or a loss"):
        netem_rules(3306)
    with pytest.raises(ValueError, match="partition"):
        netem_rules(3306, loss_pct=100)


def test_a_partition_drops_every_packet_and_its_undo_deletes_the_same_rule() -> None:
    apply, undo = drop_rules([3306])
    rule = ["OUTPUT", "-p", "tcp", "--dport", "3306", "-m", "comment", "--comment", TAG, "-j", "DROP"]
    assert apply == [["iptables", "-w", "5", "-I", *rule]]
    assert undo == [["iptables", "-w", "5", "-D", *rule]]


def test_packet_loss_is_a_random_drop_and_dns_covers_both_protocols() -> None:
    apply, undo = NetFault("loss", "loss", (3306,), loss_pct=10).commands()
    chance = ("-m", "statistic", "--mode", "random", "--probability", "0.1")
    tagged = ("-m", "comment", "--comment", TAG, "-j", "DROP")
    assert apply == [["iptables", "-w", "5", "-I", "OUTPUT", "-p", "tcp", "--dport", "3306", *chance, *tagged]]
    assert [c[3] for c in undo] == ["-D"]
    apply, undo = NetFault("dns", "drop", (53,), protocols=("udp", "tcp")).commands()
    assert [(c[6], c[8]) for c in apply] == [("udp", "53"), ("tcp", "53")]
    assert len(undo) == 2
    with pytest.raises(ValueError):
        drop_rules([70000])
    with pytest.raises(ValueError):
        drop_rules([53], probability=0)


def test_leftovers_are_found_by_qdisc_and_by_tag() -> None:
    clean = "qdisc noqueue 0: root refcnt 2\n"
    dirty = "qdisc htb 1: root refcnt 2 r2q 10 default 0x10\nqdisc netem 30: parent 1:30 limit 1000 delay 200ms\n"
    assert qdisc_leftovers(clean) == []
    assert len(qdisc_leftovers(dirty)) == 2
    rules = f"*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -m tcp --dport 3306 -m comment --comment {TAG} -j DROP\n"
    assert filter_leftovers(rules) == [f"-A OUTPUT -p tcp -m tcp --dport 3306 -m comment --comment {TAG} -j DROP"]
    assert filter_leftovers("*filter\n-A OUTPUT -j ACCEPT\n") == []


def test_a_missing_kernel_module_is_named() -> None:
    netem = ["tc", "qdisc", "add", "dev", "eth0", "parent", "1:30", "handle", "30:", "netem", "delay", "1ms"]
    assert missing_module(netem, "Error: Specified qdisc kind is unknown.") == "sch_netem (CONFIG_NET_SCH_NETEM)"
    assert missing_module(netem, "RTNETLINK answers: File exists") is None


# -- the injector, with a recording node --------------------------------------------------------------------
@dataclass
class FakeNode:
    """Answers the docker CLI as kind node containers would: labels, crictl, and a namespace's tc/iptables state."""

    labels: dict[str, dict[str, str]]
    fail: set[str] = field(default_factory=set)  # substrings of commands that fail
    kernel_lacks: str = ""  # a qdisc kind the kernel does not know
    state: dict[int, set[str]] = field(default_factory=dict)  # pid -> changes in place
    gone: set[int] = field(default_factory=set)
    calls: list[list[str]] = field(default_factory=list)
    delayers: set[str] = field(default_factory=set)  # labels of running NFQUEUE holders

    def __call__(
        self, args: Sequence[str], timeout: float | None, input_text: str | None = None, /
    ) -> subprocess.CompletedProcess[str]:
        """One docker call."""
        argv = list(args)[1:]
        self.calls.append(argv)
        line = " ".join(argv)
        if argv[0] == "inspect":
            return subprocess.CompletedProcess(argv, 0, json.dumps(self.labels[argv[-1]]), "")
        if any(f in line for f in self.fail):
            return subprocess.CompletedProcess(argv, 1, "", f"injected failure: {line}")
        if "crictl" in argv:
            return subprocess.CompletedProcess(argv, 0, json.dumps({"info": {"pid": int(argv[-1][1:])}}), "")
        if argv[2] == "test":
            pid = int(argv[-1].split("/")[2])
            return subprocess.CompletedProcess(argv, 1 if pid in self.gone else 0, "", "")
        if argv[2] == "sh":  # node-side: find or stop a pod's holder by its label
            label = re.search(r"-label=(\S+?)\$", argv[-1])
            assert label, argv
            if "pkill" in argv[-1]:
                self.delayers.discard(label.group(1))
            running = label.group(1) in self.delayers
            return subprocess.CompletedProcess(argv, 0, "4242\n" if running and "pgrep" in argv[-1] else "", "")
        pid = int(argv[3].split("=")[1])
        cmd = argv[6:]
        changes = self.state.setdefault(pid, set())
        if self.kernel_lacks and self.kernel_lacks in cmd:
            return subprocess.CompletedProcess(argv, 2, "", "Error: Specified qdisc kind is unknown.")
        if cmd[:3] == ["tc", "qdisc", "add"]:
            changes.add(f"qdisc {cmd[-1]}" if "netem" not in cmd else "qdisc netem")
        elif cmd[:3] == ["tc", "qdisc", "del"]:
            changes.difference_update({c for c in changes if c.startswith("qdisc")})
        elif cmd[0] == "iptables" and "-I" in cmd:
            changes.add("rule " + " ".join(cmd[4:]))
        elif cmd[0] == "iptables" and "-D" in cmd:
            changes.discard("rule " + " ".join(cmd[4:]))
        elif cmd[:2] == ["sh", "-c"] and "setsid" in cmd[2]:
            started = re.search(r"-label=(\S+)", cmd[2])
            assert started, cmd
            self.delayers.add(started.group(1))
        elif cmd[:2] == ["sh", "-c"] and "pkill" in cmd[2]:
            stopped = re.search(r"-label=(\S+?)\$", cmd[2])
            assert stopped, cmd
            self.delayers.discard(stopped.group(1))
        out = ""
        if cmd[:3] == ["tc", "qdisc", "show"]:
            out = "".join("qdisc netem 30: parent 1:3\n" for c in changes if c == "qdisc netem")
        elif cmd == ["iptables-save"]:
            out = "".join(f"-A {c[5:]}\n" for c in changes if c.startswith("rule "))
        return subprocess.CompletedProcess(argv, 0, out, "")


def _kind(cluster: str, role: str = "worker") -> dict[str, str]:
    return {"io.x-k8s.kind.cluster": cluster, "io.x-k8s.kind.role": role}


def _pod(name: str, pid: int, node: str = "todo-e2e-worker") -> PodInfo:
    return PodInfo(
        name, f"uid-{name}", "backend", node, "Running", True, False, 0, "10.0.0.1", {"backend": f"containerd://c{pid}"}
    )


class FakeCluster:
    """The few ClusterHandle calls the injector makes; facts decide the safety check."""

    namespace = "todo"

    def __init__(self, facts: TargetFacts, pods: list[PodInfo]) -> None:
        self._facts = facts
        self._pods = pods

    def facts(self) -> TargetFacts:
        return self._facts

    def all_pods(self) -> list[PodInfo]:
        return self._pods


SUITE_FACTS = TargetFacts(f"kind-{SUITE}", "https://127.0.0.1:6443", True, "ok", SUITE)
STAGING_FACTS = TargetFacts("staging", "https://10.1.2.3:6443", False, "no marker", None)


def _injector(
    node: FakeNode, facts: TargetFacts = SUITE_FACTS, pods: list[PodInfo] | None = None, *, staging: bool = False
) -> NetFaultInjector:
    cluster = FakeCluster(facts, pods or [])
    policy = SafetyPolicy(SUITE, allowed_context="staging" if staging else None)
    docker = None if staging else DockerCli(runner=node)
    return NetFaultInjector(cluster, policy, Victims(1), UndoStack(), docker, None if staging else SUITE)  # type: ignore[arg-type]


@pytest.fixture
def node() -> FakeNode:
    return FakeNode(
        {
            "todo-e2e-worker": _kind(SUITE),
            "other-worker": _kind("other"),
            "todo-e2e-control-plane": _kind(SUITE, "control-plane"),
        }
    )


def test_apply_then_heal_leaves_nothing(node: FakeNode) -> None:
    pods = [_pod("b1", 101), _pod("b2", 102)]
    injector = _injector(node, pods=pods)
    fault = injector.apply(NetFault("cut", "drop", (3306,)), "backend", pods)
    assert fault.targets == ["b1", "b2"] and "pid 101" in fault.detail
    assert all(node.state[p] for p in (101, 102))
    assert sorted(injector.leftovers()) == ["b1", "b2"]
    injector.heal("cut")
    assert not any(node.state.values())
    assert injector.leftovers() == {} and injector.undo_stack.pending == []


def test_a_fault_left_in_place_is_undone_even_when_another_heal_fails(node: FakeNode) -> None:
    b1, b2 = _pod("b1", 101), _pod("b2", 102)
    injector = _injector(node, pods=[b1, b2])
    injector.apply(NetFault("cut", "drop", (3306,)), "backend", [b1])
    injector.apply(NetFault("dns", "drop", (53,), protocols=("udp",)), "backend", [b2])
    node.fail = {"--target=101 --net -- iptables"}  # b1's undo cannot run
    problems = injector.undo_stack.restore_all()
    assert len(problems) == 1 and "cut in b1" in problems[0]
    assert node.state[102] == set()  # the other fault was still undone
    assert [c.key for c in injector.undo_stack.pending] == ["cut in b1"]  # and the failed one is kept for a retry
    node.fail = set()
    assert injector.undo_stack.restore_all() == []
    assert node.state[101] == set()


def test_a_change_interrupted_half_way_is_still_undone(node: FakeNode) -> None:
    pod = _pod("b1", 101)
    injector = _injector(node, pods=[pod])
    node.fail = {"-I OUTPUT -p tcp --dport 53"}  # the second rule of the pair fails
    with pytest.raises(DockerError, match="injected failure"):
        injector.apply(NetFault("dns", "drop", (53,), protocols=("udp", "tcp")), "backend", [pod])
    assert node.state[101]  # the first rule is in place
    node.fail = set()
    assert injector.undo_stack.restore_all() == []
    assert node.state[101] == set()


def test_a_pod_that_is_gone_took_its_fault_with_it(node: FakeNode) -> None:
    pod = _pod("b1", 101)
    injector = _injector(node, pods=[pod])
    injector.apply(NetFault("cut", "drop", (3306,)), "backend", [pod])
    node.gone.add(101)
    node.fail = {"iptables"}  # would fail, but is never needed
    assert injector.undo_stack.restore_all() == []


def test_a_kernel_without_netem_carries_the_delay_by_nfqueue_and_heal_leaves_nothing(node: FakeNode) -> None:
    pod = _pod("b1", 101)
    injector = _injector(node, pods=[pod])
    node.kernel_lacks = "netem"
    fault = injector.apply(NetFault("slow", "delay", (3306,), delay_ms=100, jitter_ms=10), "backend", [pod])
    assert "NFQUEUE holder" in fault.detail and "sch_netem" in fault.detail
    # The HTB root added before netem failed is gone; the queue rule and the pod's holder are in place.
    assert [c for c in node.state[101] if c.startswith("qdisc")] == []
    assert [c for c in node.state[101] if "NFQUEUE" in c and "--queue-bypass" in c]
    assert node.delayers == {f"{TAG}:b1"}
    left = injector.leftovers()["b1"]
    assert any(x.startswith("filter: ") for x in left) and any(x.startswith("delayer: ") for x in left)
    injector.heal("slow")
    assert node.state[101] == set() and node.delayers == set()
    assert injector.leftovers() == {} and injector.undo_stack.pending == []


def test_a_kernel_without_the_statistic_match_is_named_and_nothing_is_left(node: FakeNode) -> None:
    pod = _pod("b1", 101)
    injector = _injector(node, pods=[pod])
    node.kernel_lacks = "statistic"
    with pytest.raises(KernelLacks, match="xt_statistic"):
        injector.apply(NetFault("lossy", "loss", (3306,), loss_pct=20), "backend", [pod])
    assert node.state[101] == set() and injector.undo_stack.pending == []


def test_a_holder_left_running_is_found_and_scrubbed(node: FakeNode) -> None:
    pod = _pod("b1", 101)
    injector = _injector(node, pods=[pod])
    node.delayers.add(f"{TAG}:b1")  # e.g. from a chaostoolkit run in another process
    assert injector.scrub() == {"b1": ["delayer: pid 4242 on todo-e2e-worker"]}
    assert node.delayers == set()


def test_the_hold_rules_start_the_holder_first_and_stop_it_last() -> None:
    apply, undo = hold_rules(3306, 200, 20, "backend-7d9f-abc12")
    assert "setsid /usr/local/bin/kit-delay -queue 7 -delay 200ms -jitter 20ms -max 300s" in apply[0][2]
    assert f"-label={TAG}:backend-7d9f-abc12" in apply[0][2]
    assert apply[1][:4] == ["iptables", "-w", "5", "-I"] and apply[1][-3:] == ["--queue-num", "7", "--queue-bypass"]
    assert undo[0] == ["iptables", "-w", "5", "-D", *apply[1][4:]] and "pkill -TERM" in undo[1][2]
    for bad in ((0, 200, 0), (3306, 0, 0), (3306, 200, 300), (3306, 20_000, 0)):
        with pytest.raises(ValueError):
            hold_rules(*bad, "p")
    with pytest.raises(ValueError, match="not a pod name"):
        hold_rules(3306, 200, 0, "p; rm -rf /")


def test_network_faults_are_refused_outside_the_suite_cluster(node: FakeNode) -> None:
    pod = _pod("b1", 101)
    with pytest.raises(UnsafeTarget, match="node fault"):
        _injector(node, STAGING_FACTS, [pod], staging=True).apply(NetFault("cut", "drop", (3306,)), "backend", [pod])
    with pytest.raises(UnsafeTarget):
        _injector(node, STAGING_FACTS, [pod]).apply(NetFault("cut", "drop", (3306,)), "backend", [pod])
    assert not any(node.state.values())


def test_a_pod_on_another_clusters_node_is_refused(node: FakeNode) -> None:
    from support.faults import UnsafeNode

    pod = _pod("x", 101, node="other-worker")
    with pytest.raises(UnsafeNode):
        _injector(node, pods=[pod]).apply(NetFault("cut", "drop", (3306,)), "backend", [pod])
    assert not any(node.state.values())


def test_bad_input_is_refused_clearly(node: FakeNode) -> None:
    injector = _injector(node)
    with pytest.raises(RuntimeError, match="no Ready backend pod"):
        injector.apply(NetFault("cut", "drop", (3306,)), "backend", [])
    pod = _pod("b1", 101)
    injector.apply(NetFault("cut", "drop", (3306,)), "backend", [pod])
    with pytest.raises(RuntimeError, match="already in place"):
        injector.apply(NetFault("cut", "drop", (3306,)), "backend", [pod])


def test_scrub_removes_leftovers_it_never_recorded(node: FakeNode) -> None:
    """A rollback in another process finds the suite's changes by tag and removes them."""
    pods = [_pod("b1", 101), _pod("b2", 102)]
    first = _injector(node, pods=pods)
    first.apply(NetFault("cut", "drop", (3306,)), "backend", pods)
    first.apply(NetFault("loss", "loss", (53,), loss_pct=5), "backend", pods[:1])
    fresh = _injector(node, pods=pods)  # knows nothing of what `first` did
    removed = fresh.scrub()
    assert sorted(removed) == ["b1", "b2"] and len(removed["b1"]) == 2
    assert not any(node.state.values()) and fresh.leftovers() == {}


def test_the_holder_really_delays_the_port_and_its_undo_leaves_nothing(tmp_path: Path) -> None:
    """The NFQUEUE carrier for real, in a network namespace of this host (root: CI runs as root, never skips)."""
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("iptables"):
        if os.environ.get("CI"):
            pytest.fail("CI must run the delay-carrier test as root with ip and iptables")
        pytest.skip("needs root, ip and iptables")
    from kit.localgo import build_local

    binary = build_local("kit-delay")
    ns, port, pod = f"kd{os.getpid()}", 18099, f"unit-test-{os.getpid()}"

    def run(*cmd: str) -> str:
        return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True, check=True).stdout

    def fetch() -> float:
        out = run("curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{time_total}", f"http://127.0.0.1:{port}/")
        return float(out)

    subprocess.run(["ip", "netns", "add", ns], check=True)
    server = None
    try:
        run("ip", "link", "set", "lo", "up")
        server = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(
            lambda: (
                subprocess.run(["ip", "netns", "exec", ns, "curl", "-s", f"http://127.0.0.1:{port}/"]).returncode == 0
            ),
            what="the test server",
            timeout=10,
            interval=0.1,
            done=bool,
        )
        apply, undo = hold_rules(port, 150, 0, pod, delayer=str(binary))
        for command in apply:
            run(*command)
        # Each packet to the port is held 150 ms: the connection's SYN and the request at least.
        assert fetch() >= 0.3
        assert (
            TAG in run("iptables-save") and subprocess.run(delayers_running(pod), capture_output=True, text=True).stdout
        )
        for command in undo:
            run(*command)
        assert fetch() < 0.3
        assert TAG not in run("iptables-save")
        assert subprocess.run(delayers_running(pod), capture_output=True, text=True).stdout.split() == []
    finally:
        subprocess.run(stop_delayer(pod), check=False)
        if server is not None:
            server.kill()
            server.wait(10)
        subprocess.run(["ip", "netns", "del", ns], check=False)
