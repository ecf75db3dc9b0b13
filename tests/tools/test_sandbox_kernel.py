"""What the kernel shares between a sandboxed command and sous without a namespace around it:
the keyrings (Kerberos tickets, `keyctl` secrets) are reached by system call, not by path."""

from __future__ import annotations

import ctypes
import platform
from pathlib import Path

import pytest

from sous.core import ToolContext
from sous.tools import _sandbox
from sous.tools.bash import TOOL

pytestmark = pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")

_KEYCTL = {"x86_64": (248, 250), "aarch64": (217, 219)}.get(platform.machine())
_KEYCTL_JOIN_SESSION_KEYRING, _KEYCTL_REVOKE, _KEYCTL_READ, _SESSION_KEYRING = 1, 3, 11, -3


@pytest.fixture
def secret_key():
    """A key in a session keyring of this process's own (the sandboxed command inherits it), as a
    Kerberos ticket cache or `keyctl padd` would leave one."""
    if _KEYCTL is None:
        pytest.skip("keyctl numbers known for x86_64 and aarch64 only")
    add_key, keyctl = _KEYCTL
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall(keyctl, _KEYCTL_JOIN_SESSION_KEYRING, None)
    key = libc.syscall(add_key, b"user", b"sous-test", b"hunter2", 7, ctypes.c_int(_SESSION_KEYRING))
    if key < 0:
        pytest.skip("kernel keyrings are not available here")
    yield key
    libc.syscall(keyctl, _KEYCTL_REVOKE, key)


@pytest.mark.parametrize("unix_sockets", [False, True], ids=["", "unix sockets allowed"])
@pytest.mark.parametrize("domains", [(), ("example.com",), ("*",)], ids=["no network", "through the proxy", "network"])
async def test_the_kernel_keyrings_are_out_of_reach(secret_key, domains, unix_sockets, tmp_path: Path):
    project = tmp_path
    ctx = ToolContext(
        cwd=str(project),
        project_dir=str(project),
        state={
            "sandbox": _sandbox.Sandbox(
                writable=(str(project),), network=domains == ("*",), allowed_domains=domains, unix_sockets=unix_sockets
            )
        },
    )
    add_key, keyctl = _KEYCTL  # type: ignore[misc]
    read = (
        "import ctypes; libc = ctypes.CDLL(None, use_errno=True); buf = ctypes.create_string_buffer(64); "
        f"print(libc.syscall({keyctl}, {_KEYCTL_READ}, {secret_key}, buf, 64), buf.value); "
        f"print(libc.syscall({add_key}, b'user', b'planted', b'x', 1, ctypes.c_int({_SESSION_KEYRING}))); "
        "import socket\ntry: socket.socket(socket.AF_UNIX); print('unix-socket')\n"
        "except OSError: print('no-unix-socket')"
    )
    result = await TOOL.run({"command": f'python3 -c "{read}"'}, ctx)
    assert "hunter2" not in result.content
    unix = "unix-socket" if unix_sockets else "no-unix-socket"  # the rest of the filter as configured
    assert result.data["stdout"].split() == ["-1", "b''", "-1", unix], result.content
