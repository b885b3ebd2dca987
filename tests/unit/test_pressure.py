"""Pressure and rollout faults without a cluster: the command lines, the bounds and the patches."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support.pressure import HOG_TAG, DiskSpace, VolumeTooLarge, cpu_hog_script, fill_script, fill_size, parse_df
from support.rollouts import RESTART_ANNOTATION, VERSION_LABEL, annotation_patch, label_patch

DF = """Filesystem     1024-blocks     Used Available Capacity Mounted on
/dev/vda         263174212 16486000  79691100      18% /var/lib/mysql
"""


def test_df_is_read_in_bytes() -> None:
    assert parse_df(DF) == DiskSpace(263174212 * 1024, 79691100 * 1024)
    with pytest.raises(ValueError):
        parse_df("Filesystem\n")


def test_a_shared_disk_is_never_filled() -> None:
    with pytest.raises(VolumeTooLarge, match="shared disk"):
        fill_size(parse_df(DF))


def test_a_small_volume_is_filled_to_its_reserve() -> None:
    space = DiskSpace(size=1 << 30, available=300 << 20)
    assert fill_size(space, reserve=1 << 20) == 299 << 20
    assert fill_size(DiskSpace(1 << 30, 0)) == 0


def test_the_fill_writes_the_asked_size_to_the_named_file() -> None:
    argv = fill_script("/var/lib/mysql/todo-e2e-fill.bin", (5 << 20) + 7, reserve=64 << 10)
    assert argv[:2] == ["sh", "-c"]
    assert argv[4:] == ["/var/lib/mysql/todo-e2e-fill.bin", str((5 << 20) + 7), "5", "7", str(16 + 16)]


def test_the_fill_leaves_a_small_filesystem_full_to_its_last_block(tmp_path: Path) -> None:
    """Run for real on a tmpfs of 8 MiB (root only: CI runs as root, so there it never skips)."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must run the fill test as root (it mounts a tmpfs)")
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "volume"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    try:

        def df() -> DiskSpace:
            return parse_df(subprocess.run(["df", "-Pk", str(mount)], capture_output=True, text=True).stdout)

        size = fill_size(df())
        out = subprocess.run(fill_script(str(mount / "fill.bin"), size), capture_output=True, text=True, check=True)
        assert parse_df(out.stdout).available == 0, out.stdout
        assert (mount / "fill.bin").stat().st_size <= 8 << 20
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_cpu_hogs_end_by_themselves_and_carry_the_tag() -> None:
    argv = cpu_hog_script(20, 2)
    assert argv[-2:] == ["2", HOG_TAG]
    assert "time.monotonic() + 20.0" in argv[4]
    for seconds, workers in ((0, 1), (601, 1), (10, 0), (10, 9)):
        with pytest.raises(ValueError, match="bounded"):
            cpu_hog_script(seconds, workers)


def test_rollout_patches_touch_only_the_pod_template() -> None:
    assert label_patch(VERSION_LABEL, "2.0") == {"spec": {"template": {"metadata": {"labels": {VERSION_LABEL: "2.0"}}}}}
    assert annotation_patch(RESTART_ANNOTATION, "t")["spec"]["template"]["metadata"]["annotations"] == {
        RESTART_ANNOTATION: "t"
    }


def test_the_hog_scan_finds_exactly_the_hogs_and_they_can_be_stopped() -> None:
    """Run here, in a real shell: the scan must not count itself or its grep (both carry the tag)."""
    from support.pressure import hog_pids_script

    started = subprocess.run(cpu_hog_script(30, 1), capture_output=True, text=True, check=True).stdout.split()
    try:
        from common.deadline import wait_for

        # The hogs are started in the background: on a loaded host they may take a moment to show up.
        found = wait_for(
            lambda: subprocess.run(hog_pids_script(), capture_output=True, text=True, check=True).stdout.split(),
            what=f"the scan to find the hogs {started}",
            timeout=10,
            interval=0.2,
            done=lambda seen: seen == started,
        )
        assert found == started
    finally:
        subprocess.run(["kill", "-9", *started], check=False)
    subprocess.run(["sh", "-c", f"while kill -0 {started[0]} 2>/dev/null; do sleep 0.1; done"], timeout=10, check=False)
    assert subprocess.run(hog_pids_script(), capture_output=True, text=True, check=True).stdout.split() == []


@pytest.mark.parametrize(
    ("value", "equivalent"),
    [
        ("http://todo-backend:8080", "http://todo-backend.todo.svc.cluster.local:8080"),
        ("127.0.0.1:30081", "localhost:30081"),
        ("http://localhost:30081/graphql", "http://127.0.0.1:30081/graphql"),
    ],
)
def test_a_configuration_rollout_respells_the_same_address(value: str, equivalent: str) -> None:
    """The rollout changes the setting, never where it points (the reference's Service name, the walk-through's
    loopback address as the browser reaches it)."""
    from support.rollouts import equivalent_address

    assert equivalent_address(value, "todo") == equivalent


def test_an_address_without_a_known_equivalent_is_refused() -> None:
    from support.rollouts import equivalent_address

    with pytest.raises(ValueError, match="no equivalent spelling"):
        equivalent_address("https://api.example.internal", "todo")


def test_check_table_is_ok_only_with_an_ok_status_and_no_error() -> None:
    from support.cluster import table_check_problems

    assert table_check_problems(["todo.todos\tcheck\tstatus\tOK"]) == []
    assert table_check_problems(["todo.todos\tcheck\tnote\tsomething", "todo.todos\tcheck\tstatus\tOK"]) == []
    corrupt = ["todo.todos\tcheck\terror\tCorrupt", "todo.todos\tcheck\tstatus\tOperation failed"]
    assert table_check_problems(corrupt) == corrupt
    assert table_check_problems([]) == ["CHECK TABLE gave no status row: "]
