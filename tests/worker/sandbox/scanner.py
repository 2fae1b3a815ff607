"""A hostile submission that searches everything it can read for other submissions' data.

Markers are ``AGMARK`` followed by 24 hex digits. The scanner is given only the SHA-256 of
each marker it hunts (so its own memory never holds one), reads every readable mapping of its
memory through ``/proc/self/mem``, every file under ``/proc/self`` and every open fd (pipes
and sockets are peeked, not consumed), and reports the hashes it found.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "AGMARK"


def new_marker() -> str:
    """A fresh marker: AGMARK and 24 hex digits."""
    return PREFIX + secrets.token_hex(12)


def digest(marker: str) -> str:
    """What the scanner is told about a marker."""
    return hashlib.sha256(marker.encode()).hexdigest()


SCANNER = r'''
import ctypes, errno, fcntl, hashlib, os, re, socket, stat

WANTED = set({wanted!r})
_PATTERN = re.compile(rb"AG" + rb"MARK[0-9a-f]{{24}}")
_libc = ctypes.CDLL(None, use_errno=True)


def _hits(data, found):
    for m in _PATTERN.finditer(data):
        h = hashlib.sha256(m.group()).hexdigest()
        if h in WANTED:
            found.add(h)


def _memory(found):
    # /proc/self/mem is closed to a non-dumpable process: read the mappings directly, skipping
    # file-backed ones (past a file's end a read faults) and the kernel's special pages.
    with open("/proc/self/maps") as fh:
        ranges = [line.split() for line in fh]
    for fields in ranges:
        span, perms = fields[0], fields[1]
        name = fields[5] if len(fields) > 5 else ""
        if not perms.startswith("r") or (name and name not in ("[heap]", "[stack]")):
            continue
        lo, hi = (int(x, 16) for x in span.split("-"))
        pos, tail = lo, b""
        while pos < hi:
            n = min(hi - pos, 1 << 22)
            chunk = ctypes.string_at(pos, n)
            _hits(tail + chunk, found)
            tail = chunk[-40:]
            pos += n


def _proc_files(found):
    for root, dirs, files in os.walk("/proc/self", followlinks=False):
        if root.count("/") > 4:
            dirs[:] = []
        for name in files:
            if name in ("mem", "pagemap", "clear_refs", "kcore"):
                continue
            path = os.path.join(root, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                if stat.S_ISREG(os.fstat(fd).st_mode):
                    _hits(os.read(fd, 1 << 20), found)
            except OSError:
                pass
            finally:
                os.close(fd)


def _peek_pipe(fd):
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, 1031, 1 << 20)  # F_SETPIPE_SZ
    except OSError:
        pass
    try:
        n = _libc.tee(fd, w, 1 << 20, 2)  # SPLICE_F_NONBLOCK
        return os.read(r, max(n, 0)) if n > 0 else b""
    finally:
        os.close(r)
        os.close(w)


def _fds(found):
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            mode = os.fstat(fd).st_mode
            for link in (os.readlink(f"/proc/self/fd/{{fd}}"),):
                _hits(link.encode(), found)
            if stat.S_ISREG(mode):
                _hits(os.pread(fd, 1 << 24, 0), found)
            elif stat.S_ISFIFO(mode):
                _hits(_peek_pipe(fd), found)
            elif stat.S_ISSOCK(mode):
                s = socket.socket(fileno=os.dup(fd))
                try:
                    _hits(s.recv(1 << 20, socket.MSG_PEEK | socket.MSG_DONTWAIT), found)
                finally:
                    s.close()
        except OSError:
            pass


def scan():
    found = set()
    _memory(found)
    _proc_files(found)
    _fds(found)
    return sorted(found)


# {own_marker} is this file's own marker: finding it shows the scan sees source in memory.
AT_IMPORT = scan()
print("import:", " ".join(AT_IMPORT))


def scan_part(x):
    found = scan()
    print("part:", " ".join(found))
    return [float(len(found))]
'''


def scanner(wanted: list[str], own_marker: str) -> str:
    """The scanner's source, hunting the markers whose digests are ``wanted``."""
    return SCANNER.format(wanted=sorted(wanted), own_marker=own_marker)
