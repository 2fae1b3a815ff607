"""Trusted side: a sandbox forked ahead of its submission, waiting for its request.

The runner asks the zygote for the next sandbox as soon as a run ends, so the fork, the
namespaces, the uid switch, Landlock and seccomp happen while the engine compares and makes
the next cases. The zygote gets only a control socket, a request socket and (with cgroups)
two fds of the sandbox's cgroup: nothing of any submission. The sandbox places itself in
its cgroup first thing. When a submission comes, the runner sets the memory limit and sends
the request (the pipes of the import and every part, then the source) on the request socket;
only the sandbox reads it.
"""

from __future__ import annotations

import os
import socket
import struct

from . import _cgroup, _wire

#: To the zygote: whether cgroup fds come along.
REQUEST = struct.Struct("<I")
#: To the sandbox, with the pipes' fds: the number of parts and the length of the head.
HEAD = struct.Struct("<IQ")


class ZygoteGone(Exception):
    """The zygote did not start a sandbox, or died while one ran (our failure, not theirs)."""


class Spare:
    """One sandbox, asked of the zygote ahead of its submission."""

    def __init__(self, zygote: socket.socket, cgroup: _cgroup.SubmissionCgroup | None) -> None:
        self.cgroup = cgroup
        self.ctl, ctl_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.req, req_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        theirs = [ctl_theirs.fileno(), req_theirs.fileno()]
        if cgroup is not None:
            theirs += cgroup.fds()
        try:
            socket.send_fds(zygote, [REQUEST.pack(cgroup is not None)], theirs)
        except OSError:
            self.close()
            raise
        finally:
            ctl_theirs.close()
            req_theirs.close()
            for fd in theirs[2:]:
                os.close(fd)
        self.pidfd = -1

    def take(self, timeout: float) -> int:
        """Wait until the zygote has forked the sandbox; its pidfd."""
        if self.pidfd >= 0:
            return self.pidfd
        self.ctl.settimeout(timeout)
        try:
            msg, fds, _, _ = socket.recv_fds(self.ctl, 64, 4)
        except OSError as exc:
            raise ZygoteGone(str(exc)) from exc
        finally:
            self.ctl.settimeout(None)
        if len(fds) != 1 or msg != _wire.frame(_wire.STARTED):
            for fd in fds:
                os.close(fd)
            raise ZygoteGone("no sandbox was started")
        self.pidfd = fds[0]
        return self.pidfd

    def close(self) -> None:
        """Kill the sandbox (if started) and close everything; the cgroup goes later."""
        if self.pidfd >= 0:
            try:
                import signal

                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.close(self.pidfd)
            self.pidfd = -1
        self.ctl.close()
        self.req.close()
