"""Inside the sandbox: the layers a submission's first process puts around itself.

Order matters: namespaces and mounts need root; then the slot uid (so that RLIMIT_NPROC
binds), a user namespace without capabilities, no_new_privs, Landlock, seccomp. All of this
happens before the process has read anything of the submission; the rlimits, which depend on
the assignment's limits, follow once the request is read (lowering a limit needs no
privilege).
"""

from __future__ import annotations

import math
import os
import resource
import signal
import socket
import sys
from typing import Any

from . import _filters
from . import _syscalls as sc

DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom")
SCRATCH_BYTES = 16 * 2**20
MAX_PROCESSES = 32
MAX_FILES = 64


def enter(req: dict[str, Any], layers: frozenset[str], keep: list[int]) -> None:
    """Apply every available layer to this process; ``keep`` are the fds it may hold."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
    if "namespaces" in layers:
        sc.unshare(sc.CLONE_NEWNS | sc.CLONE_NEWIPC | sc.CLONE_NEWUTS)
        socket.sethostname("sandbox")
        uid = req["uid"]
        sc.mount("scratch", "/tmp", "tmpfs", sc.MS_NOSUID | sc.MS_NODEV,
                 f"size={SCRATCH_BYTES},nr_inodes=512,mode=0700,uid={uid},gid={uid}")
        _mount_proc()
    _close_fds_except(keep)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    os.setsid()
    if "uid" in layers:
        os.setgroups([])
        os.setresgid(req["uid"], req["uid"], req["uid"])
        os.setresuid(req["uid"], req["uid"], req["uid"])
        sc.prctl(sc.PR_SET_DUMPABLE, 1)  # changing uid cleared it; /proc/self must be ours
    if "userns" in layers:
        own, group = os.geteuid(), os.getegid()
        sc.unshare(sc.CLONE_NEWUSER)
        sc.write_file("/proc/self/setgroups", "deny")
        sc.write_file("/proc/self/uid_map", f"{own} {own} 1")
        sc.write_file("/proc/self/gid_map", f"{group} {group} 1")
        sc.drop_capabilities()
        sc.prctl(sc.PR_SET_DUMPABLE, 0)
    os.chdir(req["scratch"])
    sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
    if "landlock" in layers:
        _filters.install_landlock(sc.landlock_abi(), req["scratch"], DEVICES)
    if "seccomp" in layers:
        _filters.install_seccomp()
    for name in [n for n in sys.modules if n == "worker" or n.startswith("worker.")]:
        _HIDDEN.append(sys.modules.pop(name))


#: Our own modules, out of sys.modules so that ``import worker`` fails, but still alive.
_HIDDEN: list[object] = []


def _mount_proc() -> None:
    flags = sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
    try:
        sc.mount("proc", "/proc", "proc", flags, "subset=pid")
    except OSError:
        sc.mount("proc", "/proc", "proc", flags, None)


def _close_fds_except(keep: list[int]) -> None:
    # fds 0-2 are reassigned by the caller; everything else not in ``keep`` goes.
    low = 3
    for fd in sorted(set(keep)):
        if fd > low:
            os.closerange(low, fd)
        low = max(low, fd + 1)
    os.closerange(low, 65536)


def set_rlimits(limits: dict[str, Any], nparts: int) -> None:
    """Per-process limits; the CPU hard limit covers the import and every part in turn."""
    mem = int(limits["memory_bytes"])
    cpu = math.ceil(limits["import_seconds"]) + 1
    cpu_hard = cpu + math.ceil(limits["part_seconds"] * max(nparts, 1)) + 1
    for res, value in (
        (resource.RLIMIT_AS, mem),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_NPROC, MAX_PROCESSES),
        (resource.RLIMIT_FSIZE, SCRATCH_BYTES),
        (resource.RLIMIT_NOFILE, MAX_FILES),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ):
        resource.setrlimit(res, (value, cpu_hard if res == resource.RLIMIT_CPU else value))


def die_with_parent() -> None:
    """Be killed when the parent dies (matters when there is no PID namespace to end)."""
    sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)


def limit_cpu(seconds: float) -> None:
    """A part's own CPU budget (its wall clock is watched from outside)."""
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (min(math.ceil(seconds) + 1, hard), hard))
