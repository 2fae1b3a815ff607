"""The seccomp filter and the Landlock ruleset applied to every sandboxed process.

Standard library only (loaded by the zygote before the filesystem view is narrowed).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

from . import _syscalls as sc

AUDIT_ARCH_X86_64 = 0xC000003E
_RET_KILL_PROCESS = 0x80000000
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000

# BPF opcodes.
_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06

_AF_UNIX = 1
_TIOCSTI = 0x5412
_TIOCLINUX = 0x541C

#: The only syscalls a sandboxed process may make (x86_64 numbers): what CPython, numpy and
#: the sandbox's own code need: files, memory, signals, time, processes and threads, pipes and
#: Unix sockets. Everything else (ptrace, mounts and namespaces, exec, keyrings, bpf, perf,
#: io_uring, module loading, System V IPC, mlock, uid and owner changes, ...) fails with
#: EPERM. socket, socketpair, clone and ioctl are allowed only with the arguments checked
#: below; clone3 answers ENOSYS (its flags cannot be read), so the C library uses clone.
ALLOWED = {
    "read": 0, "write": 1, "open": 2, "close": 3, "stat": 4, "fstat": 5, "lstat": 6, "poll": 7,
    "lseek": 8, "mmap": 9, "mprotect": 10, "munmap": 11, "brk": 12, "rt_sigaction": 13,
    "rt_sigprocmask": 14, "rt_sigreturn": 15, "ioctl": 16, "pread64": 17, "pwrite64": 18,
    "readv": 19, "writev": 20, "access": 21, "pipe": 22, "select": 23, "sched_yield": 24,
    "mremap": 25, "msync": 26, "mincore": 27, "madvise": 28, "dup": 32, "dup2": 33,
    "pause": 34, "nanosleep": 35, "getitimer": 36, "alarm": 37, "setitimer": 38, "getpid": 39,
    "sendfile": 40, "socket": 41, "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45,
    "sendmsg": 46, "recvmsg": 47, "shutdown": 48, "bind": 49, "listen": 50, "getsockname": 51,
    "getpeername": 52, "socketpair": 53, "setsockopt": 54, "getsockopt": 55, "clone": 56,
    "fork": 57, "vfork": 58, "exit": 60, "wait4": 61, "kill": 62, "uname": 63, "fcntl": 72,
    "flock": 73, "fsync": 74, "fdatasync": 75, "truncate": 76, "ftruncate": 77, "getdents": 78,
    "getcwd": 79, "chdir": 80, "fchdir": 81, "rename": 82, "mkdir": 83, "rmdir": 84,
    "creat": 85, "link": 86, "unlink": 87, "symlink": 88, "readlink": 89, "chmod": 90,
    "fchmod": 91, "umask": 95, "gettimeofday": 96, "getrlimit": 97, "getrusage": 98,
    "sysinfo": 99, "times": 100, "getuid": 102, "getgid": 104, "geteuid": 107, "getegid": 108,
    "setpgid": 109, "getppid": 110, "getpgrp": 111, "setsid": 112, "getgroups": 115,
    "getresuid": 118, "getresgid": 120, "getpgid": 121, "getsid": 124, "capget": 125,
    "rt_sigpending": 127, "rt_sigtimedwait": 128, "rt_sigqueueinfo": 129, "rt_sigsuspend": 130,
    "sigaltstack": 131, "utime": 132, "statfs": 137, "fstatfs": 138, "getpriority": 140,
    "sched_setparam": 142, "sched_getparam": 143, "sched_setscheduler": 144,
    "sched_getscheduler": 145, "sched_get_priority_max": 146, "sched_get_priority_min": 147,
    "sched_rr_get_interval": 148, "prctl": 157, "arch_prctl": 158, "setrlimit": 160,
    "gettid": 186, "readahead": 187, "getxattr": 191, "lgetxattr": 192, "fgetxattr": 193,
    "listxattr": 194, "llistxattr": 195, "flistxattr": 196, "tkill": 200, "time": 201,
    "futex": 202, "sched_setaffinity": 203, "sched_getaffinity": 204, "epoll_create": 213,
    "getdents64": 217, "set_tid_address": 218, "restart_syscall": 219, "fadvise64": 221,
    "timer_create": 222, "timer_settime": 223, "timer_gettime": 224, "timer_getoverrun": 225,
    "timer_delete": 226, "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230,
    "exit_group": 231, "epoll_wait": 232, "epoll_ctl": 233, "tgkill": 234, "utimes": 235,
    "waitid": 247, "openat": 257, "mkdirat": 258, "newfstatat": 262, "unlinkat": 263,
    "renameat": 264, "linkat": 265, "symlinkat": 266, "readlinkat": 267, "fchmodat": 268,
    "faccessat": 269, "pselect6": 270, "ppoll": 271, "set_robust_list": 273,
    "get_robust_list": 274, "splice": 275, "tee": 276, "sync_file_range": 277, "vmsplice": 278,
    "utimensat": 280, "epoll_pwait": 281, "signalfd": 282, "timerfd_create": 283,
    "eventfd": 284, "fallocate": 285, "timerfd_settime": 286, "timerfd_gettime": 287,
    "accept4": 288, "signalfd4": 289, "eventfd2": 290, "epoll_create1": 291, "dup3": 292,
    "pipe2": 293, "preadv": 295, "pwritev": 296, "rt_tgsigqueueinfo": 297, "recvmmsg": 299,
    "prlimit64": 302, "sendmmsg": 307, "getcpu": 309, "renameat2": 316, "getrandom": 318,
    "memfd_create": 319, "membarrier": 324, "copy_file_range": 326, "preadv2": 327,
    "pwritev2": 328, "statx": 332, "rseq": 334, "pidfd_send_signal": 424, "pidfd_open": 434,
    "close_range": 436, "faccessat2": 439, "epoll_pwait2": 441, "futex_waitv": 449,
}
_CLONE = 56
_CLONE3 = 435
_SOCKET = 41
_SOCKETPAIR = 53
_IOCTL = 16


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def seccomp_program() -> bytes:
    """The BPF program: an allow list on x86_64, kill on any other architecture."""
    eperm = _RET_ERRNO | errno.EPERM
    prog = [
        _insn(_LD_W_ABS, 4),  # seccomp_data.arch
        _insn(_JEQ, AUDIT_ARCH_X86_64, 1, 0),
        _insn(_RET, _RET_KILL_PROCESS),
        _insn(_LD_W_ABS, 0),  # seccomp_data.nr
        _insn(_JGE, 0x40000000, 0, 1),  # the x32 ABI
        _insn(_RET, _RET_ERRNO | errno.ENOSYS),
        # glibc falls back to clone() when clone3() is unknown; clone's flags can be checked.
        _insn(_JEQ, _CLONE3, 0, 1),
        _insn(_RET, _RET_ERRNO | errno.ENOSYS),
    ]
    # Each block below loads an argument, so it ends in a return on every path.
    for nr in (_SOCKET, _SOCKETPAIR):
        prog += [
            _insn(_JEQ, nr, 0, 4),
            _insn(_LD_W_ABS, 16),  # args[0]: the address family
            _insn(_JEQ, _AF_UNIX, 0, 1),
            _insn(_RET, _RET_ALLOW),
            _insn(_RET, _RET_ERRNO | errno.EACCES),
        ]
    prog += [
        _insn(_JEQ, _CLONE, 0, 4),
        _insn(_LD_W_ABS, 16),  # args[0]: clone flags
        _insn(_JSET, sc.CLONE_NS_MASK, 0, 1),
        _insn(_RET, eperm),
        _insn(_RET, _RET_ALLOW),
        _insn(_JEQ, _IOCTL, 0, 5),
        _insn(_LD_W_ABS, 24),  # args[1]: the request
        _insn(_JEQ, _TIOCSTI, 1, 0),
        _insn(_JEQ, _TIOCLINUX, 0, 1),
        _insn(_RET, eperm),
        _insn(_RET, _RET_ALLOW),
    ]
    checked = {_SOCKET, _SOCKETPAIR, _CLONE, _IOCTL}
    for nr in sorted(set(ALLOWED.values()) - checked):
        prog += [_insn(_JEQ, nr, 0, 1), _insn(_RET, _RET_ALLOW)]
    prog.append(_insn(_RET, eperm))
    return b"".join(prog)


def install_seccomp() -> None:
    """Install the filter for this process and its future children (needs no_new_privs)."""
    program = seccomp_program()
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("<HxxxxxxQ", len(program) // 8, ctypes.addressof(buf))
    sc.syscall(sc.SYS_SECCOMP, ctypes.c_uint(1), ctypes.c_uint(0), fprog)  # SET_MODE_FILTER


# Landlock filesystem rights.
_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_ALL_V1 = (1 << 13) - 1
_FS_REFER = 1 << 13
_FS_TRUNCATE = 1 << 14
_FS_IOCTL_DEV = 1 << 15
_NET_ALL = (1 << 0) | (1 << 1)  # bind and connect TCP
_SCOPE_ALL = (1 << 0) | (1 << 1)  # abstract unix sockets, signals


def install_landlock(abi: int, writable: str, devices: tuple[str, ...]) -> None:
    """Allow reading everywhere, writing only below ``writable``; no TCP; scoped signals."""
    handled = _FS_ALL_V1
    if abi >= 2:
        handled |= _FS_REFER
    if abi >= 3:
        handled |= _FS_TRUNCATE
    if abi >= 5:
        handled |= _FS_IOCTL_DEV
    net = _NET_ALL if abi >= 4 else 0
    scoped = _SCOPE_ALL if abi >= 6 else 0
    attr = struct.pack("<QQQ", handled, net, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = sc.syscall(sc.SYS_LANDLOCK_CREATE_RULESET, attr[:size], ctypes.c_size_t(size),
                         ctypes.c_uint32(0))
    try:
        read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
        rules = [("/", read), (writable, handled)]
        rules += [(dev, _FS_READ_FILE | _FS_WRITE_FILE) for dev in devices]
        for path, access in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                beneath = struct.pack("<Qi", access & handled, fd)  # packed struct
                sc.syscall(sc.SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1),
                           beneath, ctypes.c_uint32(0))
            finally:
                os.close(fd)
        sc.syscall(sc.SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
