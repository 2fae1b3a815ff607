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

#: Syscalls student code never needs and that widen the kernel surface or reach outside:
#: running programs, debugging other processes, namespaces and mounts, kernel keyrings,
#: BPF, perf, io_uring, modules, clocks and similar administration.
DENIED = {
    "execve": 59, "execveat": 322, "ptrace": 101, "process_vm_readv": 310,
    "process_vm_writev": 311, "pidfd_getfd": 438, "kcmp": 312,
    "mount": 165, "umount2": 166, "unshare": 272, "setns": 308, "pivot_root": 155,
    "chroot": 161, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168,
    "acct": 163, "quotactl": 179, "open_by_handle_at": 304, "name_to_handle_at": 303,
    "personality": 135, "syslog": 103, "vhangup": 153, "settimeofday": 164,
    "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159, "iopl": 172, "ioperm": 173,
    "uselib": 134, "lookup_dcookie": 212,
}
_CLONE = 56
_CLONE3 = 435
_SOCKET = 41
_SOCKETPAIR = 53
_IOCTL = 16


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def seccomp_program() -> bytes:
    """The BPF program: deny-list on x86_64, kill on any other architecture."""
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
    for nr in sorted(DENIED.values()):
        prog += [_insn(_JEQ, nr, 0, 1), _insn(_RET, eperm)]
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
        _insn(_RET, _RET_ALLOW),
    ]
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
