"""Hooks that hang never hold the session for long."""

from __future__ import annotations

import asyncio
import http.server
import os
import threading
import time
from pathlib import Path

from sous.hooks import config, runner


def handler(command: str, **extra) -> config.Handler:
    loaded = config.load({"PreToolUse": [{"hooks": [{"type": "command", "command": command, **extra}]}]})
    assert not loaded.problems
    return loaded.handlers("PreToolUse", "Bash")[0]


def test_a_handler_without_a_timeout_gets_sixty_seconds_not_ten_minutes():
    assert handler("true").timeout_s == 60
    assert handler("true", timeout=5).timeout_s == 5


async def test_a_hook_whose_child_keeps_stdout_open_is_stopped_at_its_timeout(tmp_path):
    pidfile = tmp_path / "child.pid"
    # The hook exits at once, but a child it left holds stdout open: reading to EOF would never end.
    command = f"sleep 30 & echo $! > {pidfile}; echo started"
    started = time.monotonic()
    outcome = await runner.run(handler(command, timeout=1), {}, cwd=str(tmp_path), env=dict(os.environ))
    assert time.monotonic() - started < 5
    assert outcome.failure == "timed out after 1s"
    child = int(pidfile.read_text())
    await asyncio.sleep(0.2)
    state = Path(f"/proc/{child}/stat")
    assert not state.exists() or state.read_text().split(") ")[1][0] == "Z"  # its whole group was killed


async def test_a_hook_that_prints_without_end_is_stopped_not_buffered(tmp_path):
    started = time.monotonic()
    outcome = await runner.run(handler("yes hello", timeout=30), {}, cwd=str(tmp_path), env=dict(os.environ))
    assert outcome.failure == "printed more than 10 MB; stopped" and time.monotonic() - started < 20


async def test_a_hook_that_never_reads_a_large_payload_neither_deadlocks_nor_fails(tmp_path):
    payload = {"tool_input": {"content": "x" * 2_000_000}}
    outcome = await runner.run(
        handler('echo \'{"decision": "block", "reason": "no"}\'', timeout=10),
        payload,
        cwd=str(tmp_path),
        env=dict(os.environ),
    )
    assert outcome.failure == "" and outcome.output == {"decision": "block", "reason": "no"}


class Trickle(http.server.BaseHTTPRequestHandler):
    """Answers one byte every 0.2 s for ever: each read is quick, the whole never ends."""

    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        try:
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    def log_message(self, *args):
        pass


async def test_an_http_hook_that_trickles_is_stopped_at_its_timeout_in_total(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = config.load(
            {
                "PreToolUse": [
                    {"hooks": [{"type": "http", "url": f"http://127.0.0.1:{server.server_port}/", "timeout": 1}]}
                ]
            }
        ).handlers("PreToolUse", "Bash")[0]
        started = time.monotonic()
        outcome = await runner.run(hook, {}, cwd=str(tmp_path), env={})
        assert outcome.failure == "timed out after 1s" and time.monotonic() - started < 3
    finally:
        server.shutdown()
        server.server_close()
