"""Make a container's cgroup usable for per-submission cgroups, then run the worker.

Usage (as the container's command, as root)::

    python -m worker.sandbox.delegate celery -A worker.make_celery worker ...

Docker mounts the cgroup filesystem read-only: this remounts it read-write (the worker has
``CAP_SYS_ADMIN`` for the sandbox anyway). On cgroup v2 a cgroup with processes cannot give
controllers to its children, so the container's processes move into a leaf,
``autograde-worker``, and the container's own cgroup enables ``memory`` and ``pids`` for its
children; the runner then creates submission cgroups beside that leaf, never outside the
container's cgroup. Then it executes the given command. Where none of this is possible it
says why and still runs the command: the runner then refuses to start (or, with
``AUTOGRADE_SANDBOX_ALLOW_REDUCED=1``, reports ``no cgroup``).
"""

from __future__ import annotations

import os
import sys

from . import _cgroup
from . import _syscalls as sc


def remount_writable(mountinfo: str) -> list[str]:
    """Remount every read-only cgroup mount read-write; return the mount points changed."""
    changed = []
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 6 or not tail or tail[0] not in ("cgroup", "cgroup2"):
            continue
        if "ro" in fields[5].split(","):
            flags = sc.MS_REMOUNT | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC
            sc.mount("none", fields[4], None, flags, None)
            changed.append(fields[4])
    return changed


def delegate_v2(base: str) -> str:
    """Move every process of ``base`` into the leaf and give memory and pids to children."""
    leaf = os.path.join(base, _cgroup.DELEGATED_LEAF)
    os.makedirs(leaf, exist_ok=True)
    for _ in range(10):  # processes may fork while they move
        with open(os.path.join(base, "cgroup.procs")) as fh:
            pids = fh.read().split()
        if not pids:
            break
        for pid in pids:
            try:
                _cgroup._write(os.path.join(leaf, "cgroup.procs"), pid)
            except ProcessLookupError:
                pass
    _cgroup._write(os.path.join(base, "cgroup.subtree_control"), "+memory +pids")
    return leaf


def main(argv: list[str]) -> None:
    """Prepare the cgroups, then exec ``argv``."""
    try:
        with open("/proc/self/mountinfo") as fh:
            remount_writable(fh.read())
        with open("/proc/self/cgroup") as fh, open("/proc/self/mountinfo") as mi:
            own, mounts = fh.read(), mi.read()
        path = next((line[3:] for line in own.splitlines() if line.startswith("0::")), None)
        v2 = [p for r, p, t, _ in _cgroup._mounts(mounts) if t == "cgroup2" and r == "/"]
        # Only a container's own cgroup (seen as "/" through its cgroup namespace; the real
        # root has no cgroup.events) is delegated, never a host's hierarchy.
        if (path is not None and v2 and path.strip() == "/"
                and os.path.exists(os.path.join(v2[0], "cgroup.events"))):
            delegate_v2(v2[0])
        _cgroup.find(*_own_and_mounts())
    except OSError as exc:
        print(f"autograde: no cgroup per submission can be had here: {exc}", file=sys.stderr)
    if argv:
        os.execvp(argv[0], argv)


def _own_and_mounts() -> tuple[str, str]:
    with open("/proc/self/cgroup") as fh, open("/proc/self/mountinfo") as mi:
        return fh.read(), mi.read()


if __name__ == "__main__":
    main(sys.argv[1:])
