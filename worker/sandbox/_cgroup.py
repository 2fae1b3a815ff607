"""Trusted side: a cgroup per submission, so that limits bound the submission as a whole.

Each submission gets a cgroup ``S`` beneath the worker's own cgroup (read from
``/proc/self/cgroup``; never elsewhere in the hierarchy) with ``memory_bytes`` of memory
(anonymous, shared memory, memfd and tmpfs pages alike; no swap) and ``MAX_PROCESSES``
processes. Its parts run in a child cgroup ``S/parts`` holding ``PARTS_HEADROOM`` less, so
when a part exhausts memory the kernel's OOM killer chooses among the parts' processes and the
submission's first process survives to run the next part. The sandbox has no ``/sys``: its
first process moves itself into ``S`` and its worker into ``S/parts`` by writing ``0`` to
fds the runner opened, before either has read anything of the submission.

cgroup v2 is used where its ``memory`` and ``pids`` controllers can be had for children of
the worker's cgroup; otherwise the v1 ``memory`` and ``pids`` hierarchies. v2 allows no
processes in a cgroup whose children have controllers, so there ``S`` holds two children,
``S/sup`` (the first process) and ``S/parts``; and a worker whose own cgroup is the leaf
``autograde-worker`` (as ``python -m worker.sandbox.delegate`` sets up in a container) uses
its parent, the cgroup delegated to it.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass

#: Memory the submission's first process keeps for itself: its parts get this much less.
PARTS_HEADROOM = 32 * 2**20
#: Processes one submission may have at once (the first process and the worker included).
MAX_PROCESSES = 32
#: The leaf a delegated container's own processes live in (cgroup v2).
DELEGATED_LEAF = "autograde-worker"


class CgroupError(OSError):
    """No cgroup per submission can be had here."""


@dataclass(frozen=True)
class Tree:
    """Where this worker may create submission cgroups."""

    version: int
    memory: str  # directory beneath which submission cgroups go (v2: for both controllers)
    pids: str


def _mounts(mountinfo: str) -> list[tuple[str, str, str, set[str]]]:
    """(root, mount point, fstype, super options) of every cgroup mount."""
    out = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            out.append((fields[3], fields[4], tail[0], set(tail[2].split(","))))
    return out


def _under(mount_root: str, mount_point: str, path: str) -> str | None:
    """The directory of cgroup ``path`` inside a mount whose root is ``mount_root``."""
    if mount_root == "/":
        return mount_point.rstrip("/") + path
    if path == mount_root or path.startswith(mount_root.rstrip("/") + "/"):
        return mount_point.rstrip("/") + path[len(mount_root.rstrip("/")):]
    return None


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def find(proc_cgroup: str, mountinfo: str) -> Tree:
    """Where submission cgroups go, from /proc/self/cgroup and /proc/self/mountinfo text."""
    own: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for ctrl in parts[1].split(",") if parts[1] else [""]:
                own[ctrl] = parts[2]
    mounts = _mounts(mountinfo)
    reasons = []
    if "" in own:
        for root, point, fstype, _ in mounts:
            if fstype != "cgroup2":
                continue
            base = _under(root, point, own[""])
            if base is None:
                continue
            try:
                return Tree(2, _v2_base(base), _v2_base(base))
            except OSError as exc:
                reasons.append(f"cgroup v2: {exc}")
    found: dict[str, str] = {}
    for ctrl in ("memory", "pids"):
        for root, point, fstype, opts in mounts:
            if fstype == "cgroup" and ctrl in opts and ctrl in own:
                base = _under(root, point, own[ctrl])
                if base is not None and os.access(base, os.W_OK):
                    found[ctrl] = base
    if len(found) == 2:
        return Tree(1, found["memory"], found["pids"])
    missing = [c for c in ("memory", "pids") if c not in found]
    reasons.append("cgroup v1: no writable " + " or ".join(missing) + " hierarchy")
    raise CgroupError(errno.ENOENT, "; ".join(reasons))


def _v2_base(own: str) -> str:
    """The v2 cgroup to create children in, with memory and pids enabled for them."""
    base = own
    if os.path.basename(own) == DELEGATED_LEAF:
        base = os.path.dirname(own)
    enabled = set(_read(os.path.join(base, "cgroup.subtree_control")).split())
    if not {"memory", "pids"} <= enabled:
        available = set(_read(os.path.join(base, "cgroup.controllers")).split())
        if not {"memory", "pids"} <= available:
            raise CgroupError(errno.ENOENT, f"memory and pids controllers not offered at {base}")
        # Fails (EBUSY) while the cgroup holds processes: then it is not delegated to us.
        _write(os.path.join(base, "cgroup.subtree_control"), "+memory +pids")
    return base


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _mkdir(path: str) -> None:
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        pass


def _rmdir(path: str) -> None:
    """Remove a cgroup; its processes may take a moment to leave it after they died."""
    for _ in range(200):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                raise
            time.sleep(0.005)


def plan(tree: Tree, name: str, memory_bytes: int) -> list[tuple[str, str, str]]:
    """The steps that set up one submission's cgroups: ("mkdir", dir, "") or ("write",
    file, text), in order. Limits are written before any process enters."""
    parts_bytes = str(max(memory_bytes - PARTS_HEADROOM, memory_bytes // 2))
    top = os.path.join(tree.memory, name)
    parts = os.path.join(top, "parts")
    if tree.version == 2:
        return [
            ("mkdir", top, ""),
            ("write", os.path.join(top, "cgroup.subtree_control"), "+memory +pids"),
            ("write", os.path.join(top, "memory.max"), str(memory_bytes)),
            ("write", os.path.join(top, "memory.swap.max"), "0"),
            ("write", os.path.join(top, "pids.max"), str(MAX_PROCESSES)),
            ("mkdir", os.path.join(top, "sup"), ""),
            ("mkdir", parts, ""),
            ("write", os.path.join(parts, "memory.max"), parts_bytes),
            ("write", os.path.join(parts, "memory.swap.max"), "0"),
        ]
    steps = []
    for folder, limit in ((top, str(memory_bytes)), (parts, parts_bytes)):
        steps += [("mkdir", folder, ""),
                  ("write", os.path.join(folder, "memory.limit_in_bytes"), limit),
                  # memory + swap, where swap is accounted: no swapping past the limit
                  ("write", os.path.join(folder, "memory.memsw.limit_in_bytes"), limit)]
    pids = os.path.join(tree.pids, name)
    return steps + [("mkdir", pids, ""),
                    ("write", os.path.join(pids, "pids.max"), str(MAX_PROCESSES))]


class SubmissionCgroup:
    """One submission's cgroup: limits set, the sandbox placed in it, removed afterwards."""

    def __init__(self, tree: Tree, name: str, memory_bytes: int) -> None:
        self.tree = tree
        self.dir = os.path.join(tree.memory, name)
        self.pids_dir = os.path.join(tree.pids, name)
        self.parts_dir = os.path.join(self.dir, "parts")
        self.made: list[str] = []
        self._events: list[int] = []
        try:
            for op, path, text in plan(tree, name, memory_bytes):
                if op == "mkdir":
                    _mkdir(path)
                    self.made.append(path)
                elif os.path.exists(path) or not path.endswith("swap.max" if tree.version == 2
                                                              else "memsw.limit_in_bytes"):
                    _write(path, text)  # swap files exist only where swap is accounted
        except OSError:
            self.remove()
            raise

    def set_memory(self, memory_bytes: int) -> None:
        """Change the memory limit (before the sandbox has read its request)."""
        for op, path, text in plan(self.tree, os.path.basename(self.dir), memory_bytes):
            if op == "write" and ("memory." in path and "swap" not in path
                                  and "memsw" not in path):
                self._write_memory(path, text)

    def _write_memory(self, path: str, text: str) -> None:
        # v1 keeps memory+swap >= memory: raise the swap-inclusive limit first, lower it last.
        swap = path.replace("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
        has_swap = swap != path and os.path.exists(swap)
        if has_swap and int(text) > int(_read(path)):
            _write(swap, text)
            has_swap = False
        _write(path, text)
        if has_swap:
            _write(swap, text)

    def fds(self) -> list[int]:
        """For the sandbox: its own cgroup.procs twice (v1: memory, pids), to write ``0`` to
        first thing; the parts' cgroup.procs, for its worker; and pids.current, to read."""
        if self.tree.version == 2:
            own = [os.path.join(self.dir, "sup", "cgroup.procs")] * 2
            count = os.path.join(self.dir, "pids.current")
        else:
            own = [os.path.join(self.dir, "cgroup.procs"),
                   os.path.join(self.pids_dir, "cgroup.procs")]
            count = os.path.join(self.pids_dir, "pids.current")
        paths = own + [os.path.join(self.parts_dir, "cgroup.procs")]
        out = [os.open(p, os.O_WRONLY | os.O_CLOEXEC) for p in paths]
        return out + [os.open(count, os.O_RDONLY | os.O_CLOEXEC)]

    def oom_kills(self) -> int:
        """How many processes of the submission the OOM killer has ended so far."""
        if not self._events:
            names = (["memory.events"] if self.tree.version == 2
                     else ["memory.oom_control", "parts/memory.oom_control"])
            self._events = [os.open(os.path.join(self.dir, n), os.O_RDONLY | os.O_CLOEXEC)
                            for n in names]
        total = 0
        for fd in self._events:
            for line in os.pread(fd, 4096, 0).decode().splitlines():
                key, _, number = line.partition(" ")
                if key == "oom_kill":
                    total += int(number)
        return total

    def remove(self, wait: bool = True) -> bool:
        """Remove the cgroups (children first) once the sandbox has exited. Without ``wait``,
        give up at once while the kernel still counts exited processes in them (then call
        again later); return whether they are gone."""
        while self._events:
            os.close(self._events.pop())
        while self.made:
            path = self.made[-1]
            try:
                if wait:
                    _rmdir(path)
                else:
                    os.rmdir(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if wait or exc.errno != errno.EBUSY:
                    raise
                return False
            self.made.pop()
        return True
