"""The optional OS sandbox for Bash on Linux, with bubblewrap.

With `"sandbox": {"enabled": true}` in settings, each command runs:

- with the whole file system read-only except the project (and any `sandbox.writablePaths`);
- with the files there that run code later, outside the sandbox, read-only too (`PROTECTED`:
  git hooks and config, `.claude/`, `.sous/`, `.mcp.json`, `.envrc`, editor folders..., and the
  project files that configuration names as programs: a hook script, an MCP server). One that
  does not exist yet is held by an empty read-only folder while the command runs, so it cannot be
  created either; those stand-ins are removed shortly after the last sandboxed command ends;
- with a private `/tmp` (a folder of this session's scratch space) and an empty `/run`, so the
  sockets of agents and daemons (ssh-agent, dbus, X11, docker) are out of reach, and without the
  environment variables that point at them or hold credentials (`environment`);
- with the credential folders and files of the home folder hidden (`CREDENTIALS`);
- in its own PID, IPC, UTS and cgroup namespaces with a fresh /proc, in a new session, with
  only stdin/stdout/stderr inherited and no capabilities (root's included), killed with sous;
- with no network: `sandbox.network.allowedDomains` holding "*" shares the host's, and a list of
  domains lets HTTP(S) through to those only, by way of a filtering proxy (see `_netproxy`).

The composition root puts a `Sandbox` in `ctx.state["sandbox"]`; Bash wraps its argv with it.
A call with `dangerouslyDisableSandbox: true` runs outside, after the person agreed.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Literal

from sous import paths
from sous.records import field, record

from . import _named, _standins
from ._process import scratch_dir

SANDBOX_SIGNS = (
    "Read-only file system",
    "Could not resolve host",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Name or service not known",
    "Device or resource busy",
)
NOTE = (
    "[sous: this command ran in the sandbox: files outside the project (and its git hooks, git config and "
    "agent settings) are read-only and there is no network. If it needs more, run it again with "
    "dangerouslyDisableSandbox: true; the user will be asked.]"
)
REFUSED_NOTE = (
    "[sous: the sandbox refused network access to {hosts}: not in sandbox.network.allowedDomains. If the "
    "command needs it, run it again with dangerouslyDisableSandbox: true; the user will be asked.]"
)
NO_ESCAPE = (
    " Commands cannot leave the sandbox here (sandbox.allowUnsandboxedCommands is false): "
    "dangerouslyDisableSandbox is ignored; ask the user to run it themselves if it must run outside.]"
)


def note(text: str, sandbox: Sandbox) -> str:
    """`text` (NOTE, REFUSED_NOTE) as it suits `sandbox`: without the way out when there is none."""
    if sandbox.escape:
        return text
    return text[: text.index(" If ")] + NO_ESCAPE


PROTECTED: dict[str, str | Literal[False] | None] = {
    ".git/hooks": None,
    ".git/config": "",
    ".git/config.worktree": "",
    ".git/commondir": ".",
    ".git/modules": None,
    ".claude": None,
    ".sous": None,
    ".mcp.json": None,
    ".envrc": None,
    ".vscode": None,
    ".idea": None,
    ".husky": None,
    ".devcontainer": None,
    ".pre-commit-config.yaml": None,
    ".npmrc": None,
    ".cargo": None,
    ".mvn": None,
    ".yarn/releases": False,
    ".yarn/plugins": False,
    ".yarnrc": False,
    ".yarnrc.yml": False,
    # a project that is (or holds) the home folder: the shell's start files and git's user config
    ".bashrc": False,
    ".bash_profile": False,
    ".bash_login": False,
    ".profile": False,
    ".zshrc": False,
    ".zshenv": False,
    ".zprofile": False,
    ".zlogin": False,
    ".gitconfig": False,
    ".config/git": False,
    ".config/fish": False,
}
"""Inside each writable folder: what git, sous, Claude Code, direnv, editors, pre-commit or package
managers run or read commands from later, outside the sandbox, and what stands in for it while it
does not exist: an empty folder (None: git does not list empty folders, npm and the rest skip a
folder where they look for a file), or a file with a content git reads as "nothing changed" (an
empty config; a `commondir` naming the git folder itself, since git refuses to start with an
unreadable one). False: protected when it exists, no stand-in (yarn is not known to accept one).
`.git` itself is held in place (it cannot be renamed or replaced), and when it is a file (a linked
worktree's pointer) it is read-only."""

HOME_PROTECTED: dict[str, str | None] = {
    **dict.fromkeys((*sorted(paths.SHELL_STARTUP), ".gitconfig", ".vimrc", ".tmux.conf"), ""),
    **dict.fromkeys(
        (
            ".config/git",
            ".config/fish",
            ".config/systemd",
            ".config/autostart",
            ".config/environment.d",
            ".config/nvim",
            ".config/pip",
            ".local/bin",
            "bin",
        ),
        None,
    ),
}
"""In a project that is the home folder (sous started in ~), besides `PROTECTED`: the start files
of shells, sessions and editors, user services and autostart entries, and the folders a login puts
on PATH. A missing one is held too (a `.bash_profile` would take over from `.profile`): by an
empty file (mode 0444, which a shell runs as nothing) or an empty folder."""

CREDENTIALS = (
    ".ssh",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".kube",
    ".docker",
    ".gnupg",
    ".config/gh",
    ".config/hub",
    ".config/op",
    ".password-store",
    ".local/share/keyrings",
    ".netrc",
    ".git-credentials",
    ".git-credential-cache",
    ".cache/git/credential",
    ".pypirc",
    ".npmrc",
    ".yarnrc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".gem/credentials",
    ".terraform.d/credentials.tfrc.json",
    ".vault-token",
    ".claude.json",
    ".claude/.credentials.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".sous/settings.json",
    ".sous/settings.local.json",
    ".mozilla",
    ".config/google-chrome",
    ".config/chromium",
)
"""In the home folder: hidden inside the sandbox (an empty read-only folder or an empty file in
their place). The user settings files are here for the API keys their `env` often holds."""

_AGENT_VARIABLES = {
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "DBUS_SESSION_BUS_ADDRESS",
    "DBUS_SYSTEM_BUS_ADDRESS",
    "DOCKER_HOST",
    "CONTAINER_HOST",
    "XDG_RUNTIME_DIR",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "PULSE_SERVER",
    "KRB5CCNAME",
    "SSH_ASKPASS",
    "GIT_ASKPASS",
    "SUDO_ASKPASS",
}
_SECRET_NAME = re.compile(
    r"(API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)(_|$)|^AWS_"
    r"|(^|_)(KEY|PAT|PASS|DSN)(_|$)|_PWD$",  # whole words only: MONKEY, PATH and PWD stay
    re.IGNORECASE,
)
_SECRET_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*@", re.IGNORECASE)
"""A URL with a user (and so usually a password or token) in it: `postgres://app:pw@db/app`."""


_ROOT_ARGS = ("--cap-drop", "ALL") if os.geteuid() == 0 else ()
"""Started by root, bubblewrap keeps every capability, and with them the command could remount its
read-only mounts writable: root's command gets none (other users' commands have none anyway)."""


@record(kw_only=False)
class Sandbox:
    writable: tuple[str, ...]
    """The project and `sandbox.writablePaths`, resolved when the sandbox is made: a path that a
    command later makes (or turns into) a symlink is left read-only, not its target made writable."""
    network: bool = False
    extra_args: tuple[str, ...] = field(default=())
    allowed_domains: tuple[str, ...] = ()
    """With `network` off: the domains reachable through the proxy."""
    home: str = ""
    """Whose credential folders to hide (the user's home when empty)."""
    unix_sockets: bool = False
    """Let the command make Unix sockets (`sandbox.network.allowAllUnixSockets`); see `_seccomp`."""
    escape: bool = True
    """Whether `dangerouslyDisableSandbox` may take a command out, once the person agreed
    (`sandbox.allowUnsandboxedCommands`, true unless set to false): when not, the flag is ignored and
    every command runs in the sandbox."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "writable", tuple(os.path.realpath(p) for p in self.writable))

    def wrap(
        self,
        argv: list[str],
        cwd: str,
        proxy_socket: str | None = None,
        seccomp_fd: int | None = None,
        project: str | None = None,
        added: tuple[str, ...] = (),
    ) -> list[str]:
        """`argv` run inside bubblewrap, writable in `writable`, `project` (a sub-agent's
        worktree is its project) and the `added` working folders (`--add-dir`, `/add-dir`).
        Stand-ins for missing protected paths are made now: call `release()` once the command has
        ended (the last release removes them). Pass `seccomp_fd` (from
        `filter_fd(self.unix_sockets)`, inherited by bubblewrap) when there is no `proxy_socket`;
        with one, the network bridge loads the filter itself."""
        scratch = scratch_dir()
        private_tmp = os.path.join(scratch, "tmp")
        os.makedirs(private_tmp, exist_ok=True)
        args = [
            "bwrap",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--setenv",
            "TMPDIR",
            "/tmp",
            *_ROOT_ARGS,
        ]
        # Sockets live in /run, /var/run and /tmp: the command gets an empty /run and its own /tmp.
        args += ["--tmpfs", "/run"]
        if os.path.isdir("/var/run") and not os.path.islink("/var/run"):
            args += ["--tmpfs", "/var/run"]
        if self.network and (resolver := os.path.realpath("/etc/resolv.conf")).startswith("/run/"):
            args += ["--ro-bind-try", resolver, resolver]  # systemd-resolved keeps the real one there
        args += ["--bind", private_tmp, "/tmp"]
        roots = list(
            dict.fromkeys(
                os.path.realpath(p)
                for p in (*_unmoved(self.writable), *([project] if project else []), *_unmoved(added))
                if os.path.isdir(p)
            )
        )
        for path in (scratch, *roots):
            args += ["--bind", path, path]
        args += _hold(roots, os.path.realpath(self.home or os.path.expanduser("~")))
        # Last, so that a project holding the home folder (sous started in ~) does not uncover them.
        args += _hide_credentials(self.home or os.path.expanduser("~"), os.path.join(sealed_dir(), "empty"))
        bridged = None if self.network else proxy_socket
        if not self.network:
            args.append("--unshare-net")
        if bridged:  # relay a loopback port to the proxy, whose socket the command sees read-only
            folder = os.path.dirname(bridged)
            args += ["--ro-bind", folder, folder]
            bridge = os.path.join(os.path.dirname(__file__), "_netbridge.py")
            argv = [
                sys.executable,
                "-I",
                "-S",
                bridge,
                bridged,
                "--seccomp-unix-sockets" if self.unix_sockets else "--seccomp",
                "--",
                *argv,
            ]
        elif seccomp_fd is None:
            raise ValueError("the sandbox needs its seccomp filter (seccomp_fd)")
        else:
            args += ["--seccomp", str(seccomp_fd)]
        return [*args, *self.extra_args, "--chdir", cwd, "--", *argv]

    def needs_filter_fd(self, proxy_socket: str | None) -> bool:
        """Whether `wrap` wants a `seccomp_fd` for this command."""
        return self.network or not proxy_socket

    @staticmethod
    def environment(env: dict[str, str]) -> dict[str, str]:
        """`env` without the variables that point at agents and daemons outside the sandbox (whose
        sockets it hides anyway) or that hold credentials: named like one, or a URL with a user in it."""
        return {
            k: v
            for k, v in env.items()
            if k not in _AGENT_VARIABLES and not _SECRET_NAME.search(k) and not _SECRET_URL.match(v)
        }


def filter_fd(unix_sockets: bool = False) -> int:
    """A pipe's reading end holding the seccomp filter (`Sandbox.unix_sockets` says which),
    inheritable: give it to bubblewrap's process (`pass_fds`) and close it here once that has started."""
    from . import _seccomp

    read, write = os.pipe()
    try:
        os.write(write, _seccomp.program(unix_sockets))  # a few hundred bytes: far below a pipe's capacity
    finally:
        os.close(write)
    return read


def _hide_credentials(home: str, empty: str) -> list[str]:
    args: list[str] = []
    for rel in CREDENTIALS:
        path = os.path.join(home, rel)
        if os.path.islink(path):
            path = os.path.realpath(path)
        if os.path.isdir(path):
            args += ["--tmpfs", path, "--remount-ro", path]
        elif os.path.exists(path):
            args += ["--ro-bind", empty, path]
    return args


def _protect(root: str, home: str = "") -> list[str]:
    """Mount arguments keeping `root`'s files that run later read-only, stand-ins held for the
    missing ones (`HOME_PROTECTED` too when `root` is the `home` folder)."""
    args: list[str] = []
    git = os.path.join(root, ".git")
    if os.path.isdir(git) and not os.path.islink(git) and not _standins.is_stand_in(git, None):
        args += ["--bind", git, git]  # a mount point cannot be renamed or removed: .git stays where it is
    elif os.path.lexists(git) and not os.path.isdir(git):
        args += ["--ro-bind", os.path.realpath(git), os.path.realpath(git)]
    held: list[str] = []
    protected = {**PROTECTED, **HOME_PROTECTED} if root == home else PROTECTED
    for rel, content in protected.items():
        path = os.path.realpath(os.path.join(root, rel))
        if not _inside(path, root) or any(_inside(path, h) for h in held):
            continue
        if content is not False and (stand_in := _stand_in_for(path, root, content)):
            path, content = stand_in
            if not _standins.hold(path, content):
                continue
        elif not os.path.lexists(path):
            continue
        held.append(path)
        args += ["--ro-bind", path, path]
    for path, content in _worktree_pointers(git):
        if path not in held and (os.path.lexists(path) or content is not None and _standins.hold(path, content)):
            held.append(path)
            args += ["--ro-bind", path, path]
    for path, exists in _named.named_files(root):
        if any(_inside(path, h) for h in held) or path == os.path.realpath(git):
            continue
        if not exists:  # hold it, so the command cannot plant what the configuration would run
            if not (stand_in := _stand_in_for(path, root, None)) or not _standins.hold(stand_in[0], None):
                continue
            path = stand_in[0]
        held.append(path)
        args += ["--ro-bind", path, path]
    return args


def _worktree_pointers(git: str) -> list[tuple[str, str | None]]:
    """For each other checkout of the repository (`.git/worktrees/NAME`), the files that tell it
    where its git folder is and what configuration of its own it reads, with a stand-in's content
    (None: none; a checkout without its `commondir` is broken anyway):
    pointed elsewhere, they would run that folder's hooks there, outside the sandbox. The rest of
    the folder (its index, HEAD) stays writable: a sub-agent's worktree commits through it."""
    folder = os.path.join(git, "worktrees")
    try:
        names = sorted(os.listdir(folder))[: _named.MAX_NAMED] if not os.path.islink(folder) else []
    except OSError:
        return []
    admin = [os.path.join(folder, n) for n in names]
    return [
        (os.path.join(a, rel), content)
        for a in admin
        if os.path.isdir(a) and not os.path.islink(a)
        for rel, content in (("commondir", None), ("config.worktree", ""))
    ]


def _stand_in_for(path: str, root: str, content: str | None) -> tuple[str, str | None] | None:
    """Where a stand-in holds `path` and its content: the first folder on the way down from `root`
    that is missing or already a stand-in (a missing `.git` is held whole), or `path` itself;
    None when `path` exists (or something on the way is not a folder)."""
    parts = os.path.relpath(path, root).split(os.sep)
    for n in range(1, len(parts) + 1):
        here = os.path.join(root, *parts[:n])
        kind = content if n == len(parts) else None
        if not os.path.lexists(here) or _standins.is_stand_in(here, kind):
            return (here, kind) if os.path.isdir(os.path.dirname(here)) else None
        if n < len(parts) and not os.path.isdir(here):
            return None
    return None


def _unmoved(resolved: tuple[str, ...]) -> list[str]:
    """The writable folders (resolved when given: added folders, `writable`) that still lead to
    themselves: one made or replaced by a symlink since would otherwise make its target writable."""
    return [p for p in resolved if os.path.realpath(p) == p]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _hold(roots: list[str], home: str) -> list[str]:
    """Count one more sandboxed command and protect `roots` for it (holding stand-ins)."""
    with _standins.running():
        return [arg for root in roots for arg in _protect(root, home)]


def release() -> None:
    """A sandboxed command has ended (see `_standins.release`)."""
    _standins.release()


@functools.cache
def sealed_dir() -> str:
    """A folder of this process's own that sandboxed commands see read-only, if at all: the
    domain proxy's socket (so no command can put another socket in its place for the network
    bridge to connect to) and the empty file that hides credential files."""
    folder = tempfile.mkdtemp(prefix="sous-sealed-")
    atexit.register(shutil.rmtree, folder, True)
    open(os.path.join(folder, "empty"), "w").close()
    return folder


@functools.cache
def usable() -> bool:
    """Whether bubblewrap is installed and can make a sandbox here (user namespaces allowed)."""
    if shutil.which("bwrap") is None:
        return False
    fd = filter_fd()
    try:
        done = subprocess.run(
            [
                "bwrap",
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
                "--unshare-cgroup-try",
                "--unshare-net",
                "--new-session",
                "--die-with-parent",
                "--tmpfs",
                "/run",
                "--seccomp",
                str(fd),
                *_ROOT_ARGS,
                "--",
                "true",
            ],
            capture_output=True,
            timeout=10,
            pass_fds=(fd,),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        os.close(fd)
    return done.returncode == 0


def looks_blocked(output: str) -> bool:
    """Whether a failure reads like the sandbox's doing."""
    return any(sign in output for sign in SANDBOX_SIGNS)
