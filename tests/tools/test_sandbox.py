"""The Bash sandbox with bubblewrap: inside the project work succeeds; deleting outside it and the
network fail, and the model is told how to ask for more."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import sous
from sous.core import ToolContext
from sous.tools import _sandbox
from sous.tools.bash import TOOL

pytestmark = pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")
SRC = str(Path(sous.__file__).resolve().parents[1])


@pytest.fixture
def outside():
    """A folder outside the project and outside /tmp (which the sandbox replaces with its own)."""
    folder = Path(tempfile.mkdtemp(prefix="sous-sandbox-test-", dir="/var/tmp"))
    (folder / "precious.txt").write_text("keep me")
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def world(tmp_path: Path, outside: Path):
    project = tmp_path / "project"
    project.mkdir()
    ctx = ToolContext(
        cwd=str(project), project_dir=str(project), state={"sandbox": _sandbox.Sandbox(writable=(str(project),))}
    )
    return project, outside, ctx


async def test_work_inside_the_project_succeeds(world):
    project, _, ctx = world
    result = await TOOL.run(
        {
            "command": "mkdir -p out && echo built > out/a.txt && cat out/a.txt && "
            "t=$(mktemp) && echo scratch > $t && cat $t"
        },
        ctx,
    )
    assert not result.is_error and result.content == "built\nscratch"
    assert (project / "out" / "a.txt").read_text() == "built\n"


async def test_a_recursive_delete_outside_fails_and_says_why(world):
    _, outside, ctx = world
    result = await TOOL.run({"command": f"rm -rf {outside}"}, ctx)
    assert result.is_error and (outside / "precious.txt").read_text() == "keep me"
    assert "Read-only file system" in result.content and "dangerouslyDisableSandbox" in result.content


async def test_the_network_is_off(world):
    _, _, ctx = world
    code = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"
    result = await TOOL.run({"command": f'{sys.executable} -c "{code}"'}, ctx)
    assert result.is_error and "Network is unreachable" in result.content


async def test_leaving_the_sandbox_is_possible_when_allowed(world):
    _, outside, ctx = world
    result = await TOOL.run({"command": f"touch {outside}/new.txt", "dangerouslyDisableSandbox": True}, ctx)
    assert not result.is_error and (outside / "new.txt").exists()


def test_sous_p_with_the_sandbox_asks_to_leave_it(tmp_path, outside):
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "settings.json").write_text(json.dumps({"sandbox": {"enabled": True}}))

    # a program whose writes the permission check cannot see (`touch` outside the project would meet
    # the safety floor before the sandbox)
    def touch(path):
        return f"{sys.executable} -c \"import pathlib; pathlib.Path('{path}').touch()\""

    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": touch(outside / "x")}}]},
        {
            "tool_calls": [
                {"name": "Bash", "input": {"command": touch(outside / "y"), "dangerouslyDisableSandbox": True}}
            ]
        },
        {"text": "ok"},
    ]
    (tmp_path / "turns.json").write_text(json.dumps(turns))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "go",
            "--model",
            f"scripted:{tmp_path / 'turns.json'}",
            "--allowedTools",
            f"Bash({sys.executable} *)",
            "--output-format",
            "json",
        ],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    result = json.loads(run.stdout)
    assert not (outside / "x").exists() and not (outside / "y").exists()
    assert [d["tool_input"].get("dangerouslyDisableSandbox") for d in result["permission_denials"]] == [True]


@pytest.fixture
def web_server():
    """A plain HTTP server on the host's loopback, to be reached through the sandbox's proxy."""
    import http.server
    import threading

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f"hello from {self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


async def test_allowed_domains_pass_and_others_are_refused_with_a_note(tmp_path, web_server):
    project = tmp_path / "project"
    project.mkdir()
    ctx = ToolContext(
        cwd=str(project),
        project_dir=str(project),
        state={"sandbox": _sandbox.Sandbox(writable=(str(project),), allowed_domains=("localhost",))},
    )
    fetch = (
        f'{sys.executable} -c "import urllib.request as u, sys; '
        'print(u.urlopen(sys.argv[1], timeout=10).read().decode())"'
    )
    try:
        allowed = await TOOL.run({"command": f"{fetch} http://localhost:{web_server}/ok"}, ctx)
        assert not allowed.is_error and allowed.content == "hello from /ok"
        refused = await TOOL.run({"command": f"{fetch} http://127.0.0.1:{web_server}/no"}, ctx)
        assert refused.is_error and "403" in refused.content
        assert "the sandbox refused network access to 127.0.0.1" in refused.content
        tunnel = await TOOL.run({"command": f"{fetch} https://example.com/"}, ctx)
        assert tunnel.is_error and "refused network access to example.com" in tunnel.content
        direct = await TOOL.run(
            {"command": f"{sys.executable} -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)\""},
            ctx,
        )
        assert direct.is_error and "Network is unreachable" in direct.content  # no way around the proxy
    finally:
        ctx.state["sandbox_proxy"].close()


def test_domain_matching():
    from sous.tools._netproxy import domain_allowed

    assert domain_allowed("api.github.com", ("*.github.com",)) and not domain_allowed("github.com", ("*.github.com",))
    assert domain_allowed("PyPI.org.", ("pypi.org",)) and not domain_allowed("evilpypi.org", ("pypi.org",))
    assert not domain_allowed("pypi.org.evil.com", ("pypi.org",))


async def test_with_allow_unsandboxed_commands_false_the_flag_is_ignored_and_the_note_offers_no_way_out(world):
    project, outside, _ = world
    ctx = ToolContext(
        cwd=str(project),
        project_dir=str(project),
        state={"sandbox": _sandbox.Sandbox(writable=(str(project),), escape=False)},
    )
    result = await TOOL.run({"command": f"touch {outside}/new.txt", "dangerouslyDisableSandbox": True}, ctx)
    assert result.is_error and not (outside / "new.txt").exists()
    assert "cannot leave the sandbox" in result.content and "run it again with" not in result.content
    background = await TOOL.run(
        {"command": f"touch {outside}/bg.txt", "dangerouslyDisableSandbox": True, "run_in_background": True}, ctx
    )
    assert not background.is_error
    import asyncio

    await asyncio.sleep(1)
    assert not (outside / "bg.txt").exists()
