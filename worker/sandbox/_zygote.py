"""The zygote: a freshly exec'd, numpy-warm, secret-free process that forks sandboxes.

Started by :class:`worker.sandbox.SandboxRunner` with a scrubbed environment. Before numpy
is imported it moves into its own mount and (empty) network namespaces and pivots into a
minimal read-only root: the standard library, numpy, the C library directory and three
device nodes. It then probes which layers the kernel allows, reports them, and serves
requests: for each submission it forks a child that is PID 1 of a new PID namespace and
hands the runner a pidfd for it. It stays single-threaded, so user namespaces stay possible.
"""

from __future__ import annotations

import gc
import os
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from typing import Any

from . import _syscalls as sc

# Mount point of the new root, inside the zygote's private mount namespace. Chosen at start so
# that it is never an ancestor of what gets bound into it (a checkout under /tmp, say).
ROOT = "/tmp"
_ROOT_CANDIDATES = ("/mnt", "/media", "/srv", "/tmp")


def _pick_root(sources: list[str]) -> str:
    """The first candidate mount point that exists and hides none of ``sources``."""
    for cand in _ROOT_CANDIDATES:
        if os.path.isdir(cand) and not any(
            os.path.realpath(s) == cand or os.path.realpath(s).startswith(cand + "/")
            for s in sources
        ):
            return cand
    raise OSError("no mount point for the sandbox root that hides none of its sources")
SITE = "/sandbox/site"
BOOT = "/sandbox/boot"
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom")
ALL_LAYERS = ("namespaces", "filesystem", "uid", "userns", "landlock", "seccomp")
#: A request: whether cgroup fds come along (the sandbox's cgroup.procs twice, the parts'
#: cgroup.procs, pids.current).
_REQUEST = struct.Struct("<I")
_MAX_FDS = 512


def _libc_dir() -> str:
    with open("/proc/self/maps") as fh:
        for line in fh:
            path = line.split()[-1]
            if "/libc.so" in path or "/libc-" in path:
                return os.path.dirname(path)
    raise OSError("cannot find the C library")


def _bind(src: str, dst: str, *, device: bool = False) -> None:
    target = ROOT + dst
    if device:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    else:
        os.makedirs(target, mode=0o755, exist_ok=True)
    sc.mount(src, target, None, sc.MS_BIND, None)
    flags = sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | sc.MS_NOSUID
    sc.mount("none", target, None, flags | (sc.MS_NOEXEC if device else sc.MS_NODEV), None)


def _build_root(cfg: dict[str, Any]) -> None:
    """Private mount + network namespaces; pivot into a tmpfs holding read-only binds."""
    global ROOT
    libdir = _libc_dir()
    ROOT = _pick_root([cfg["stdlib"], libdir, cfg["numpy"], cfg["pkg"]["worker.sandbox"]])
    sc.unshare(sc.CLONE_NEWNS | sc.CLONE_NEWNET)
    sc.mount("none", "/", None, sc.MS_REC | sc.MS_PRIVATE, None)
    sc.mount("sandbox", ROOT, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "size=1m,mode=0755")
    _bind(cfg["stdlib"], cfg["stdlib"])
    hidden = cfg["stdlib"] + "/site-packages"  # the base interpreter's own packages
    if os.path.isdir(hidden):
        sc.mount("empty", ROOT + hidden, "tmpfs", sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV,
                 "size=4k")
    _bind(libdir, libdir)
    _bind(cfg["numpy"], SITE + "/numpy")
    if os.path.isdir(cfg["numpy"] + ".libs"):
        _bind(cfg["numpy"] + ".libs", SITE + "/numpy.libs")
    _bind(cfg["pkg"]["worker.sandbox"], BOOT)
    for dev in DEVICES:
        _bind(dev, dev, device=True)
    for mountpoint in ("/tmp", "/proc"):
        os.makedirs(ROOT + mountpoint, mode=0o755)
    os.chdir(ROOT)
    os.mkdir(".old")
    sc.pivot_root(".", ".old")
    os.chdir("/")
    sc.umount("/.old")
    os.rmdir("/.old")


def _warm_numpy() -> None:
    """Run numpy's common paths once, so that no part process pays for first-use setup."""
    import numpy as np

    a = np.linspace(0.1, 1.0, 64).reshape(8, 8)
    b = a + 9 * np.eye(8)
    rng = np.random.default_rng(0)
    for result in (
        a @ a, a.T @ a, np.dot(a, a[0]), np.exp(a), np.log(a), np.sqrt(a), np.tanh(a),
        np.maximum(a, 0), np.where(a > 0.5, a, 0), (a > 0).astype(float),
        a.sum(axis=1, keepdims=True), a.mean(axis=0), a.max(axis=1), a.argmax(axis=1),
        np.einsum("ij,jk->ik", a, a), np.linalg.norm(a), np.linalg.solve(b, a[0]),
        np.linalg.inv(b), np.outer(a[0], a[1]), np.clip(a, 0, 1), rng.standard_normal(4),
        np.concatenate([a, a]), np.isclose(a, a).all(), np.abs(a) ** 2, np.std(a),
        np.eye(3)[[0, 1]], np.array([[1, 2], [3, 4.5]], dtype=np.float64),
    ):
        del result


def _seal_root() -> None:
    sc.umount(BOOT)
    sc.mount("none", "/", None, sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV, None)


def _probe(cfg: dict[str, Any], have: set[str]) -> set[str]:
    """Try the per-submission layers in a throwaway child; return those that worked."""
    from . import _confine

    r, w = os.pipe()
    pid = _fork(have)
    if pid == 0:
        ok = []
        try:
            if "namespaces" in have:
                sc.unshare(sc.CLONE_NEWNS | sc.CLONE_NEWIPC | sc.CLONE_NEWUTS)
                sc.mount("probe", "/tmp", "tmpfs", 0, "size=4k")
                _confine._mount_proc()
                ok.append("namespaces")
            attempts: list[tuple[str, Callable[[], None]]] = [
                ("uid", partial(_try_uid, cfg["uid"])), ("userns", _try_userns),
                ("landlock", _try_landlock), ("seccomp", _try_seccomp)]
            for layer, attempt in attempts:
                try:
                    attempt()
                    ok.append(layer)
                except OSError as exc:
                    print(f"sandbox probe: {layer}: {exc}", file=sys.stderr)
        finally:
            os.write(w, " ".join(ok).encode())
            os._exit(0)
    os.close(w)
    words = os.read(r, 4096).decode().split()
    os.close(r)
    os.waitpid(pid, 0)
    found = {"namespaces", "filesystem"} & have if "namespaces" in words else set()
    return found | (set(words) - {"namespaces"})


def _try_uid(uid: int) -> None:
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    sc.prctl(sc.PR_SET_DUMPABLE, 1)


def _try_userns() -> None:
    own = os.geteuid()
    sc.unshare(sc.CLONE_NEWUSER)
    sc.write_file("/proc/self/setgroups", "deny")
    sc.write_file("/proc/self/uid_map", f"{own} {own} 1")
    sc.drop_capabilities()


def _try_landlock() -> None:
    from . import _filters

    sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
    _filters.install_landlock(sc.landlock_abi(), "/tmp", ())


def _try_seccomp() -> None:
    from . import _filters

    sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
    _filters.install_seccomp()
    try:
        os.execv("/nonexistent", ["x"])
    except PermissionError:
        return
    except OSError:
        pass
    raise OSError("seccomp filter did not take effect")


_PIDNS_FD = -1


def _fork(layers: set[str] | frozenset[str]) -> int:
    """Fork; with namespaces the child is PID 1 of a fresh PID namespace."""
    if "namespaces" not in layers:
        return os.fork()
    sc.unshare(sc.CLONE_NEWPID)
    try:
        return os.fork()
    finally:
        if os.getpid() != 1:
            sc.setns(_PIDNS_FD, sc.CLONE_NEWPID)


def _serve(sock: socket.socket, layers: frozenset[str], uid: int) -> None:
    """Fork a sandbox per request. A request is a fixed-size header and fds: the zygote never
    reads anything of a submission (its source, inputs and pipes travel on a socket that only
    the forked sandbox reads), so no later sandbox can find them in the memory it inherits."""
    from . import _inside, _wire

    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    # pid -> the runner's control socket for that submission, and its scratch directory
    live: dict[int, tuple[socket.socket, str]] = {}
    while True:
        ready, _, _ = select.select([sock.fileno(), wake_r], [], [])
        if wake_r in ready:
            while True:
                try:
                    if not os.read(wake_r, 512):
                        break
                except BlockingIOError:
                    break
            _reap(live, _wire)
        if sock.fileno() not in ready:
            continue
        try:
            head, fds, _, _ = socket.recv_fds(sock, _REQUEST.size, _MAX_FDS)
            if not head:
                raise EOFError
        except (EOFError, ConnectionError):
            _reap(live, _wire)  # the runner has gone: tidy up and leave
            for _, scratch in live.values():
                if scratch != "/tmp":
                    shutil.rmtree(scratch, ignore_errors=True)
            return
        (cgroup,) = _REQUEST.unpack(head) if len(head) == _REQUEST.size else (-1,)
        if cgroup not in (0, 1) or len(fds) != 2 + 4 * cgroup:
            for fd in fds:
                os.close(fd)
            continue
        scratch = "/tmp"  # a private tmpfs in the submission's mount namespace
        if "namespaces" not in layers:  # reduced: a private directory on the host instead
            scratch = tempfile.mkdtemp(prefix="autograde-sandbox-")
            if "uid" in layers:
                os.chown(scratch, uid, uid)
        cfg = {"uid": uid, "scratch": scratch, "cgroup": bool(cgroup)}
        pid = _fork(layers)
        if pid == 0:
            sock.close()
            os.close(wake_r)
            os.close(wake_w)
            _inside.run_submission(fds, layers, cfg)
        for fd in fds[1:]:
            os.close(fd)
        ctl = socket.socket(fileno=fds[0])
        pidfd = os.pidfd_open(pid)
        try:
            socket.send_fds(ctl, [_wire.frame(_wire.STARTED)], [pidfd])
        except OSError:
            pass
        finally:
            os.close(pidfd)
        live[pid] = (ctl, scratch)
        _reap(live, _wire)


def _reap(live: dict[int, tuple[socket.socket, str]], wire: Any) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        entry = live.pop(pid, None)
        if entry is not None:
            ctl, scratch = entry
            if scratch != "/tmp":
                shutil.rmtree(scratch, ignore_errors=True)
            try:
                ctl.send(wire.frame(wire.EXITED, struct.pack("<i", status)))
            except OSError:
                pass
            ctl.close()


def main(cfg: dict[str, Any]) -> None:
    """Set up, report the available layers, then serve until the runner goes away."""
    global _PIDNS_FD
    sock = socket.socket(fileno=cfg["fd"])
    have: set[str] = set()
    _PIDNS_FD = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if "namespaces" in cfg["withhold"]:
            raise OSError("namespaces withheld")
        _build_root(cfg)
        have = {"namespaces", "filesystem"}
        sys.path[:] = [cfg["stdlib"], cfg["stdlib"] + "/lib-dynload", SITE]
        sys.modules["worker.sandbox"].__path__ = [BOOT]
    except OSError:
        sys.path[:] = [cfg["stdlib"], cfg["stdlib"] + "/lib-dynload",
                       os.path.dirname(cfg["numpy"])]
    import numpy  # noqa: F401 - warm the interpreter once for every sandbox

    from . import _inside, _wire  # noqa: F401 - loaded before the boot directory goes

    _warm_numpy()
    if have:
        _seal_root()
    layers = _probe(cfg, have) - set(cfg["withhold"])
    gc.collect()
    gc.freeze()  # forked children then leave these objects (and their pages) alone
    sock.sendall(_wire.frame(_wire.READY, _wire.encode_json(sorted(layers))))
    _serve(sock, frozenset(layers), cfg["uid"])
