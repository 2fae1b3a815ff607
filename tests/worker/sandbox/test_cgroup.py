"""Setting up a cgroup per submission: where it goes and what is written, v1 and v2."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.sandbox import _cgroup
from worker.sandbox._cgroup import MAX_PROCESSES, PARTS_HEADROOM, CgroupError, Tree

V1_MOUNTS = """\
30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
31 25 0:27 / /sys/fs/cgroup/pids rw,relatime shared:10 - cgroup cgroup rw,pids
32 25 0:28 / /sys/fs/cgroup/unified rw,relatime shared:11 - cgroup2 cgroup2 rw
"""


def _v2_tree(root: Path, own: str, controllers: str, enabled: str) -> Path:
    """A directory laid out like a cgroup2 mount, with the worker's cgroup at ``own``."""
    base = root / own.strip("/")
    base.mkdir(parents=True, exist_ok=True)
    (base / "cgroup.controllers").write_text(controllers)
    (base / "cgroup.subtree_control").write_text(enabled)
    return base


def _v2_mount(root: Path) -> str:
    return f"40 25 0:30 / {root} rw,relatime - cgroup2 cgroup2 rw\n"


class TestWhere:
    def test_v2_enables_memory_and_pids_beneath_own_cgroup(self, tmp_path: Path) -> None:
        """cgroup v2: children go beneath the worker's own cgroup, whose subtree gets memory
        and pids."""
        base = _v2_tree(tmp_path, "/svc/worker", "cpu memory pids", "")
        tree = _cgroup.find("0::/svc/worker\n", _v2_mount(tmp_path))
        assert tree == Tree(2, str(base), str(base))
        assert (base / "cgroup.subtree_control").read_text() == "+memory +pids"

    def test_v2_delegated_leaf_uses_its_parent(self, tmp_path: Path) -> None:
        """A worker in the delegation leaf uses the cgroup delegated to it, no higher."""
        base = _v2_tree(tmp_path, "/", "memory pids", "memory pids")
        (base / _cgroup.DELEGATED_LEAF).mkdir()
        tree = _cgroup.find(f"0::/{_cgroup.DELEGATED_LEAF}\n", _v2_mount(tmp_path))
        assert tree.version == 2 and Path(tree.memory) == base

    def test_v2_without_controllers_falls_to_v1_or_refuses(self, tmp_path: Path) -> None:
        """Without memory and pids offered to the worker's cgroup, v2 is not used; with no
        writable v1 hierarchy either, there is no cgroup and the error says why."""
        _v2_tree(tmp_path, "/w", "cpu", "")
        with pytest.raises(CgroupError, match="not offered"):
            _cgroup.find("0::/w\n", _v2_mount(tmp_path))

    def test_v1_uses_both_hierarchies_at_own_paths(self, tmp_path: Path) -> None:
        """cgroup v1: the memory and pids hierarchies, each at the worker's own path in it."""
        mem, pids = tmp_path / "memory" / "job" / "7", tmp_path / "pids"
        mem.mkdir(parents=True)
        pids.mkdir()
        mounts = V1_MOUNTS.replace("/sys/fs/cgroup", str(tmp_path))
        tree = _cgroup.find("5:pids:/\n4:memory:/job/7\n0::/\n", mounts)
        assert tree == Tree(1, str(mem), str(pids) + "/")

    def test_v1_mount_of_a_subtree(self, tmp_path: Path) -> None:
        """A hierarchy mounted from a subtree (as in a container) maps paths below its root."""
        (tmp_path / "m" / "inner").mkdir(parents=True)
        (tmp_path / "p").mkdir()
        mounts = (f"1 0 0:1 /docker/abc {tmp_path}/m rw - cgroup cgroup rw,memory\n"
                  f"2 0 0:2 /docker/abc {tmp_path}/p rw - cgroup cgroup rw,pids\n")
        tree = _cgroup.find("4:memory:/docker/abc/inner\n5:pids:/docker/abc\n", mounts)
        assert tree == Tree(1, f"{tmp_path}/m/inner", f"{tmp_path}/p")

    def test_nothing_mounted(self) -> None:
        """No cgroup mounts at all: CgroupError naming what is missing."""
        with pytest.raises(CgroupError, match="memory or pids"):
            _cgroup.find("0::/\n", "")


class TestPlan:
    def test_v2_plan(self) -> None:
        """v2: the submission's cgroup gets the limits and two children (the first process
        apart from the parts, which hold the headroom less); limits come before children."""
        steps = _cgroup.plan(Tree(2, "/cg", "/cg"), "autograde-3-9", 256 * 2**20)
        top = "/cg/autograde-3-9"
        assert steps[0] == ("mkdir", top, "")
        writes = {path: text for op, path, text in steps if op == "write"}
        assert writes[f"{top}/cgroup.subtree_control"] == "+memory +pids"
        assert writes[f"{top}/memory.max"] == str(256 * 2**20)
        assert writes[f"{top}/memory.swap.max"] == "0"
        assert writes[f"{top}/pids.max"] == str(MAX_PROCESSES)
        assert writes[f"{top}/parts/memory.max"] == str(256 * 2**20 - PARTS_HEADROOM)
        made = [path for op, path, _ in steps if op == "mkdir"]
        assert made == [top, f"{top}/sup", f"{top}/parts"]
        assert steps.index(("write", f"{top}/memory.max", str(256 * 2**20))) < steps.index(
            ("mkdir", f"{top}/sup", ""))

    def test_v1_plan(self) -> None:
        """v1: memory limit for the submission and its parts, and a pids cgroup."""
        steps = _cgroup.plan(Tree(1, "/m/own", "/p"), "autograde-0-1", 100 * 2**20)
        writes = {path: text for op, path, text in steps if op == "write"}
        assert writes["/m/own/autograde-0-1/memory.limit_in_bytes"] == str(100 * 2**20)
        assert writes["/m/own/autograde-0-1/parts/memory.limit_in_bytes"] == str(
            100 * 2**20 - PARTS_HEADROOM)
        assert writes["/p/autograde-0-1/pids.max"] == str(MAX_PROCESSES)


class TestDelegate:
    def test_container_processes_move_to_a_leaf(self, tmp_path: Path) -> None:
        """v2 in a container: its processes go to the leaf, and its cgroup gives memory and
        pids to children (where the runner then creates submission cgroups)."""
        from worker.sandbox import delegate

        base = _v2_tree(tmp_path, "/", "memory pids", "")
        (base / "cgroup.procs").write_text("")
        leaf = base / _cgroup.DELEGATED_LEAF
        leaf.mkdir()
        (leaf / "cgroup.procs").write_text("")
        assert delegate.delegate_v2(str(base)) == str(leaf)
        assert (base / "cgroup.subtree_control").read_text() == "+memory +pids"
        tree = _cgroup.find(f"0::/{_cgroup.DELEGATED_LEAF}\n", _v2_mount(tmp_path))
        assert Path(tree.memory) == base
