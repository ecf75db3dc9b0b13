"""A seccomp filter for the Bash sandbox: no new Unix-domain sockets, no io_uring, no keyrings.

A Unix socket is reached by its path, and a read-only mount does not stop `connect()`; the
sandbox hides /run and /tmp, but a daemon's socket can sit anywhere (a docker socket in the home
folder, a database's in /var/lib). So the sandboxed command may not create an `AF_UNIX` socket at
all (`socket()` fails with EPERM); `socketpair()`, which pipes between processes use, still works.
io_uring is refused because its requests bypass seccomp. The kernel keyrings (`add_key`,
`request_key`, `keyctl`) have no namespace: the session keyring is inherited from sous and the
user's is shared by every process of that user, so the command could read the Kerberos tickets
and secrets kept there, or plant keys for programs outside. 32-bit x86 programs may not use
`socketcall` (it hides which call it is), and x32 programs get no system calls.

Two ways in: `program()` is the raw filter bubblewrap loads with `--seccomp FD`, and `install()`
loads it into the calling process (the network bridge does so in its child, after it has made
its own Unix connection to the proxy). Standard library only: the bridge loads this file by path.
"""

from __future__ import annotations

import ctypes
import errno
import struct

_LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000
_DENY = 0x00050000 | errno.EPERM
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (little-endian low word of args[0])
_AF_UNIX = 1
_IO_URING = (425, 426, 427)  # setup, enter, register: the same numbers on every architecture
_X32_BIT = 0x40000000

# architecture -> (socket's number, numbers refused outright)
_ARCHES = {
    0xC000003E: (41, (*_IO_URING, 248, 249, 250)),  # x86_64; add_key, request_key, keyctl
    0xC00000B7: (198, (*_IO_URING, 217, 218, 219)),  # aarch64
    0x40000003: (359, (102, *_IO_URING, 286, 287, 288)),  # i386: socketcall
}


def program(unix_sockets: bool = False) -> bytes:
    """The filter as an array of `struct sock_filter`; with `unix_sockets`
    (`sandbox.network.allowAllUnixSockets`) it lets `AF_UNIX` sockets be made and refuses the rest."""
    code: list[tuple[int, int | str, int | str, int]] = []  # (op, jump-if-true, jump-if-false, k); str jump = label
    labels: dict[str, int] = {}

    def emit(op: int, k: int, true: str | int = 0, false: str | int = 0) -> None:
        code.append((op, true, false, k))

    for n, (arch, (socket_nr, refused)) in enumerate(_ARCHES.items()):
        emit(_LD_ABS, _ARCH)
        emit(_JEQ, arch, 0, f"next{n}")
        emit(_LD_ABS, _NR)
        if arch == 0xC000003E:
            emit(_JGE, _X32_BIT, "deny", 0)
        for nr in refused:
            emit(_JEQ, nr, "deny", 0)
        if unix_sockets:
            emit(_RET, _ALLOW)
            labels[f"next{n}"] = len(code)
            continue
        emit(_JEQ, socket_nr, 0, "allow")
        emit(_LD_ABS, _ARG0)
        emit(_JEQ, _AF_UNIX, "deny", "allow")
        labels[f"next{n}"] = len(code)
    labels["allow"] = len(code)
    emit(_RET, _ALLOW)
    labels["deny"] = len(code)
    emit(_RET, _DENY)

    out = bytearray()
    for at, (op, true, false, k) in enumerate(code):
        jt = labels[true] - at - 1 if isinstance(true, str) else true
        jf = labels[false] - at - 1 if isinstance(false, str) else false
        out += struct.pack("<HBBI", op, jt, jf, k)
    return bytes(out)


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(unix_sockets: bool = False) -> None:
    """Load the filter into this process (and so into everything it runs). Raises OSError."""
    libc = ctypes.CDLL(None, use_errno=True)
    code = program(unix_sockets)
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _Program(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if (
        libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0
        or libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(prog), 0, 0) != 0
    ):
        err = ctypes.get_errno()
        raise OSError(err, f"cannot load the sandbox's seccomp filter: {errno.errorcode.get(err, err)}")
