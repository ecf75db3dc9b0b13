"""The optional OS sandbox for Bash on Linux, with bubblewrap.

With `"sandbox": {"enabled": true}` in settings, each command runs with the whole file system
read-only except the project (and any `sandbox.writablePaths`) and a scratch folder that `TMPDIR`
points to, and with no network: `sandbox.network.allowedDomains` holding "*" shares the host's,
and a list of domains lets HTTP(S) through to those only, by way of a filtering proxy (see
`_netproxy`).

The composition root puts a `Sandbox` in `ctx.state["sandbox"]`; Bash wraps its argv with it.
A call with `dangerouslyDisableSandbox: true` runs outside, after the person agreed.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

SANDBOX_SIGNS = ("Read-only file system", "Could not resolve host", "Temporary failure in name resolution",
                 "Network is unreachable", "Name or service not known")
NOTE = ("[sous: this command ran in the sandbox: files outside the project are read-only and there is no "
        "network. If it needs more, run it again with dangerouslyDisableSandbox: true; the user will be asked.]")
REFUSED_NOTE = ("[sous: the sandbox refused network access to {hosts}: not in sandbox.network.allowedDomains. If the "
                "command needs it, run it again with dangerouslyDisableSandbox: true; the user will be asked.]")


@dataclass(frozen=True, slots=True)
class Sandbox:
    writable: tuple[str, ...]
    network: bool = False
    extra_args: tuple[str, ...] = field(default=())
    allowed_domains: tuple[str, ...] = ()
    """With `network` off: the domains reachable through the proxy."""

    def wrap(self, argv: list[str], cwd: str, proxy_socket: str | None = None) -> list[str]:
        # Everything stays visible (read-only); temporary files go to a scratch folder of our own.
        scratch = scratch_dir()
        args = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--die-with-parent",
                "--setenv", "TMPDIR", scratch]
        for path in (*self.writable, scratch):
            if os.path.isdir(path):
                args += ["--bind", path, path]
        if not self.network:
            args.append("--unshare-net")
            if proxy_socket:  # relay a loopback port to the proxy (the socket is in the scratch folder)
                bridge = os.path.join(os.path.dirname(__file__), "_netbridge.py")
                argv = [sys.executable, "-I", "-S", bridge, proxy_socket, "--", *argv]
        return [*args, *self.extra_args, "--chdir", cwd, "--", *argv]


@functools.cache
def scratch_dir() -> str:
    """A folder of this process's own, writable inside the sandbox (Bash keeps its cwd file there)."""
    folder = tempfile.mkdtemp(prefix="sous-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


@functools.cache
def usable() -> bool:
    """Whether bubblewrap is installed and can make a sandbox here (user namespaces allowed)."""
    if shutil.which("bwrap") is None:
        return False
    try:
        done = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--", "true"],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def looks_blocked(output: str) -> bool:
    """Whether a failure reads like the sandbox's doing."""
    return any(sign in output for sign in SANDBOX_SIGNS)
