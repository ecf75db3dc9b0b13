"""OAuth for HTTP and SSE MCP servers, end to end: a real OAuth-protected server built with the SDK
(`oauth_server.py`), real `sous mcp login` and `sous -p` processes, and a scripted browser.

The hostile cases come first: what a broken or misbehaving authorization server, a tampered
answer or a missing login does must be one clear line, nothing stored, and never a hang."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import sous

pytest.importorskip("mcp.client.auth")
from scripted_browser import follow  # noqa: E402  (beside this file)

SRC = str(Path(sous.__file__).resolve().parents[1])
HERE = Path(__file__).resolve().parent
BROWSER = f"{sys.executable} {HERE / 'scripted_browser.py'} %s"


@contextmanager
def guarded_server(*args: str) -> Iterator[str]:
    """`oauth_server.py` on a free port; yields its base address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(HERE / "oauth_server.py"), str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


class World:
    """A home with `~/.claude.json` naming the servers, a project, and SOUS_HOME."""

    def __init__(self, root: Path):
        self.root, self.project, self.sous_home = root, root / "project", root / "sous-home"
        self.project.mkdir()

    def serve(self, **servers: dict) -> None:
        (self.root / ".claude.json").write_text(json.dumps({"mcpServers": servers}))

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": SRC, "HOME": str(self.root), "SOUS_HOME": str(self.sous_home)}
        for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
            env.pop(name, None)
        return env | extra

    def sous(self, *args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "sous", *args],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env(**extra),
        )

    def login(self, name: str) -> subprocess.CompletedProcess:
        """`sous mcp login NAME` with the scripted browser started by `webbrowser` (BROWSER)."""
        return self.sous("mcp", "login", name, BROWSER=BROWSER)

    def call(self, tool: str, text: str = "hello") -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
        """A `sous -p` run whose model calls `tool` once: (process, tool result, stream-json lines)."""
        turns = [{"tool_calls": [{"name": tool, "input": {"text": text}}]}, {"text": "done"}]
        (self.root / "turns.json").write_text(json.dumps(turns))
        done = self.sous(
            *("-p", "go", "--model", f"scripted:{self.root / 'turns.json'}", "--allowedTools", tool),
            *("--output-format", "stream-json", "--verbose"),
        )
        out = [json.loads(line) for line in done.stdout.splitlines()]
        result = next(o for o in out if o["type"] == "user")["message"]["content"][0]
        return done, result, out

    def token_files(self) -> list[Path]:
        return sorted((self.sous_home / "mcp-auth").glob("*.json"))

    def stored(self) -> dict:
        (path,) = self.token_files()
        return json.loads(path.read_text())


def stats(base: str) -> dict:
    return httpx.get(f"{base}/admin/stats").json()


def admin(base: str, action: str) -> None:
    httpx.post(f"{base}/admin/{action}").raise_for_status()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_without_a_login_the_session_starts_and_says_how_in_one_line(world):
    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        started = time.monotonic()
        done, result, out = world.call("mcp__guarded__shout")
        assert time.monotonic() - started < 30  # no hang waiting for a browser nobody opens
        assert done.returncode == 0 and out[-1]["subtype"] == "success"
        line = one_line(done.stderr)
        assert "'guarded' needs a login: run `sous mcp login guarded`" in line
        assert out[0]["mcp_servers"] == [{"name": "guarded", "status": "needs-auth"}]
        assert result["is_error"] and "No such tool" in result["content"]
        assert stats(base)["registrations"] == 0  # a session never registers a client on its own
    assert world.token_files() == []


def test_malformed_metadata_is_one_line_and_nothing_is_stored(world):
    with guarded_server("--mode", "bad-metadata") as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        done = world.sous("mcp", "login", "guarded", "--no-browser")
        assert done.returncode == 1
        line = one_line(done.stderr)
        assert line.startswith("sous: login to guarded failed: the OAuth metadata at ") and "malformed" in line
        assert "/.well-known/oauth-protected-resource" in line
    assert world.token_files() == []


def test_a_registration_that_redirects_off_this_machine_is_refused(world):
    with guarded_server("--mode", "foreign-redirect") as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        done = world.login("guarded")
        assert done.returncode == 1
        line = one_line(done.stderr)
        assert "'https://collector.example/callback', off this machine" in line
        assert "open this address" not in done.stdout  # refused before any browser was sent anywhere
    assert world.token_files() == []


def test_an_answer_with_another_state_is_refused_and_the_earlier_login_kept(world):
    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        assert world.login("guarded").returncode == 0
        before = world.stored()
        login = subprocess.Popen(
            [sys.executable, "-m", "sous", "mcp", "login", "guarded", "--no-browser"],
            cwd=world.project,
            env=world.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert login.stdout is not None
            url = next(line.strip() for line in login.stdout if line.startswith("http"))
            port = int(url.split("127.0.0.1%3A", 1)[1].split("%2F", 1)[0])
            # strangers knocking on the listener do not end the login
            assert httpx.get(f"http://127.0.0.1:{port}/favicon.ico").status_code == 404
            assert httpx.post(f"http://127.0.0.1:{port}/callback", content=b"x").status_code == 404
            assert httpx.get(f"http://127.0.0.1:{port}/callback?hello=1").status_code == 400
            with socket.create_connection(("127.0.0.1", port)) as junk:
                junk.sendall(b"\x00\xff garbage\r\n\r\n")
                junk.recv(1024)
            assert follow(url, tamper="state").status_code == 200
            out, err = login.communicate(timeout=60)
        finally:
            login.kill()
        assert login.returncode == 1
        assert "does not belong to this login (its state differs); refused" in one_line(err)
        assert world.stored() == before
        done, result, _ = world.call("mcp__guarded__shout")
        assert result == {**result, "content": "HELLO", "is_error": False}


def test_a_person_who_says_no_gets_one_line_and_nothing_is_stored(world):
    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        done = world.sous("mcp", "login", "guarded", BROWSER=BROWSER, SCRIPTED_BROWSER_TAMPER="deny")
        assert done.returncode == 1
        lines = [line for line in done.stderr.splitlines() if line.startswith("sous:")]
        assert lines == ["sous: login to guarded failed: the authorization server refused: access_denied"]
        assert "The login to guarded was refused: access_denied" in done.stderr  # the browser's page
        assert "Traceback" not in done.stderr
    assert world.token_files() == []


def test_no_answer_from_the_browser_ends_the_login_in_time(world):
    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        started = time.monotonic()
        done = world.sous("mcp", "login", "guarded", "--no-browser", MCP_OAUTH_TIMEOUT="2")
        assert time.monotonic() - started < 30
        assert done.returncode == 1 and "no answer from the browser within 2s" in one_line(done.stderr)
    assert world.token_files() == []


def test_login_in_a_browser_then_tool_calls_with_the_private_token_file(world):
    port = _free_port()
    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp", "oauth": {"callbackPort": port}})
        done = world.login("guarded")
        assert done.returncode == 0, done.stderr
        address, url, result_line = done.stdout.splitlines()
        assert address == "To log in to guarded, open this address in a browser:"
        assert url.startswith(f"{base}/authorize?") and "code_challenge_method=S256" in url
        assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback" in url  # oauth.callbackPort
        assert "sous has the answer for guarded" in done.stderr  # what the scripted browser was shown
        assert result_line.startswith("Logged in to guarded (1 tool); the login is kept in ")
        (path,) = world.token_files()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        tokens = world.stored()["tokens"]
        assert stats(base) == {"registrations": 1, "code_exchanges": 1, "refreshes": 0, "tool_calls": 0}

        called, result, out = world.call("mcp__guarded__shout")
        assert result["content"] == "HELLO" and not result["is_error"]
        assert called.stderr == "" and out[0]["mcp_servers"] == [{"name": "guarded", "status": "connected"}]
        secrets = [tokens["access_token"], tokens["refresh_token"]]
        seen = [done.stdout, done.stderr, called.stdout, called.stderr]
        seen += [p.read_text(errors="replace") for p in world.sous_home.rglob("*") if p.is_file() and p != path]
        assert not [s for s in secrets if any(s in text for text in seen)]


def test_an_expired_token_is_refreshed_before_use_over_sse(world):
    with guarded_server("--transport", "sse", "--lifetime", "2") as base:
        world.serve(events={"type": "sse", "url": f"{base}/sse"})
        assert world.login("events").returncode == 0
        first = world.stored()
        time.sleep(2.5)  # the access token is past its expiry
        done, result, _ = world.call("mcp__events__shout")
        assert result["content"] == "HELLO" and not result["is_error"] and done.stderr == ""
        assert stats(base)["refreshes"] >= 1
        again = world.stored()
        assert again["tokens"]["access_token"] != first["tokens"]["access_token"]
        assert again["expires_at"] > first["expires_at"]
        (path,) = world.token_files()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the refreshed file is as private


def test_a_401_is_answered_by_one_refresh(world):
    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        assert world.login("guarded").returncode == 0
        admin(base, "expire-access")  # the server forgets the access token before its stated expiry
        done, result, _ = world.call("mcp__guarded__shout")
        assert result["content"] == "HELLO" and not result["is_error"] and done.stderr == ""
        assert stats(base)["refreshes"] == 1 and stats(base)["code_exchanges"] == 1


def test_a_revoked_refresh_token_is_one_clear_line(world):
    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        assert world.login("guarded").returncode == 0
        admin(base, "revoke-refresh")
        admin(base, "expire-access")
        done, result, out = world.call("mcp__guarded__shout")
        assert done.returncode == 0 and out[-1]["subtype"] == "success"
        assert one_line(done.stderr) == (
            "sous: warning: MCP server 'guarded' needs a new login (the stored one expired or was revoked): "
            "run `sous mcp login guarded`"
        )
        assert out[0]["mcp_servers"] == [{"name": "guarded", "status": "needs-auth"}]


def test_logout_forgets_the_tokens(world):
    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        assert world.login("guarded").returncode == 0
        done = world.sous("mcp", "logout", "guarded")
        assert done.stdout.strip() == "Logged out of guarded: its tokens are deleted"
        assert world.token_files() == []
        assert world.sous("mcp", "logout", "guarded").stdout.strip() == "no stored login for guarded"
        called, _, _ = world.call("mcp__guarded__shout")
        assert "needs a login: run `sous mcp login guarded`" in one_line(called.stderr)


def test_login_refuses_what_it_cannot_log_in_to(world):
    world.serve(
        local={"command": sys.executable, "args": ["-c", "pass"]},
        keyed={"type": "http", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer x"}},
        gone={"type": "sse", "url": f"http://127.0.0.1:{_free_port()}/sse"},
    )
    unreachable = world.sous("mcp", "login", "gone")
    assert unreachable.returncode == 1 and "failed: cannot reach http://127.0.0.1:" in one_line(unreachable.stderr)
    assert "no MCP server named 'nowhere'" in one_line(world.sous("mcp", "login", "nowhere").stderr)
    assert "local is a stdio server" in one_line(world.sous("mcp", "login", "local").stderr)
    assert "keyed sets its own Authorization header" in one_line(world.sous("mcp", "login", "keyed").stderr)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_mcp_login_in_the_terminal_shows_the_address_and_brings_the_tools(world):
    import asyncio

    from sous.core import Notice
    from sous.runtime import Options, open_session
    from sous.ui import slash

    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        (world.root / "turns.json").write_text("[]")
        session = open_session(
            Options(
                cwd=str(world.project),
                model=f"scripted:{world.root / 'turns.json'}",
                allowed_tools=["mcp__guarded"],
                environ=world.env(),
            )
        )
        browsing: list[asyncio.Future] = []

        def browse(event: object) -> None:  # the person reads the address and opens it
            if isinstance(event, Notice) and "open this address" in event.text:
                url = event.text.splitlines()[1]
                browsing.append(asyncio.get_running_loop().run_in_executor(None, follow, url))

        session.subscribe(browse)
        try:
            await session.start()
            assert session.mcp.describe() == ["guarded: needs-auth (needs a login: run `sous mcp login guarded`)"]
            assert (await slash.run(session, "/mcp")).text.endswith(
                "\n/mcp login NAME logs in to a server in a browser"
            )
            assert session.tools.get("mcp__guarded__shout") is None
            outcome = await slash.run(session, "/mcp login guarded")
            assert not outcome.error and outcome.text.startswith("Logged in to guarded (1 tool)"), outcome.text
            assert (await browsing[0]).status_code == 200
            assert session.mcp.describe() == ["guarded: connected, 1 tools"]
            assert session.tools.get("mcp__guarded__shout") is not None
            result = await session.call_tool("mcp__guarded__shout", {"text": "hi"})
            assert result.content[0].text == "HI" and not result.is_error
            out = await slash.run(session, "/mcp logout guarded")
            assert out.text == "Logged out of guarded: its tokens are deleted" and world.token_files() == []
            missing = await slash.run(session, "/mcp login nowhere")
            assert missing.error and missing.text == "no MCP server named 'nowhere'"
        finally:
            await session.end()
            session.close()


async def test_tokens_another_sous_refreshed_are_taken_up_not_refreshed_again(world):
    from sous.runtime import Options, open_session

    with guarded_server() as base:
        world.serve(guarded={"type": "http", "url": f"{base}/mcp"})
        assert world.login("guarded").returncode == 0
        (world.root / "turns.json").write_text("[]")
        options = Options(
            cwd=str(world.project),
            model=f"scripted:{world.root / 'turns.json'}",
            allowed_tools=["mcp__guarded"],
            environ=world.env(),
        )
        session = open_session(options)
        try:
            await session.start()  # holds the first tokens
            admin(base, "expire-access")
            done, result, _ = world.call("mcp__guarded__shout")  # another sous refreshes, rotating the refresh token
            assert result["content"] == "HELLO" and stats(base)["refreshes"] == 1
            answer = await session.call_tool("mcp__guarded__shout", {"text": "still here"})
            assert not answer.is_error and answer.content[0].text == "STILL HERE"
            assert stats(base)["refreshes"] == 1  # the stored tokens were used, not a spent refresh token
        finally:
            await session.end()
            session.close()
