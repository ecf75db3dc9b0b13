"""The `statusLine` command: Claude Code's JSON in, its first line out, throttled, never in the way."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from sous.testing.server import ScriptedServer
from sous.ui.status_line import StatusLine

from .terminal import Terminal


def line(command: str, tmp_path: Path, **config) -> StatusLine:
    return StatusLine(
        {"type": "command", "command": command, **config},
        lambda: {"model": {"display_name": "m"}, "session_id": "abc"},
        cwd=str(tmp_path),
        environ=dict(os.environ),
        timeout_s=1,
    )


async def test_the_command_reads_the_json_and_its_first_line_is_kept(tmp_path):
    status = line("python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"session_id\"]); print(2)'", tmp_path)
    assert await status.run_once() == ("abc", "")
    assert await line("printf '\\033[31mred\\033[0m\\a\\033[2J x\\n'", tmp_path, padding=2).run_once() == (
        "  \x1b[31mred\x1b[0m x",
        "",
    )


@pytest.mark.parametrize(
    ("command", "why"), [("sleep 5", "timed out after 1s"), ("exit 3", "exit code 3"), ("true", "printed nothing")]
)
async def test_a_slow_failing_or_silent_command_gives_no_line_and_is_stopped(tmp_path, command, why):
    started = time.monotonic()
    assert await line(command, tmp_path).run_once() == (None, why)
    assert time.monotonic() - started < 3


async def test_a_runaway_printer_is_cut_off(tmp_path):
    text, why = await line("yes status", tmp_path).run_once()
    assert text == "status" and why == ""


async def test_runs_are_throttled_and_a_failure_keeps_the_last_good_line(tmp_path):
    counter = tmp_path / "n"
    status = line(f"echo x >> {counter}; [ $(wc -l < {counter}) -lt 3 ] && echo run$(wc -l < {counter})", tmp_path)
    status.start()
    for _ in range(20):  # a burst of events
        status.request()
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.8)
    status.request()
    await asyncio.sleep(0.8)
    status.stop()
    runs = len(counter.read_text().splitlines())
    assert 2 <= runs <= 4
    assert status.text == "run2"


def _project(tmp_path: Path, settings: dict | None = None) -> Path:
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    if settings is not None:
        (project / ".claude" / "settings.json").write_text(json.dumps(settings))
    return project


def _terminal(tmp_path: Path, server: ScriptedServer, user_settings: dict) -> Terminal:
    (tmp_path / ".claude").mkdir(exist_ok=True)
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps(user_settings))
    return Terminal(
        ["--model", "anthropic:claude-sonnet-4-5"],
        cwd=tmp_path / "project",
        env={
            "HOME": str(tmp_path),
            "SOUS_HOME": str(tmp_path / "sous-home"),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "test",
            "TERM": "xterm-256color",
        },
    )


def test_the_terminal_shows_the_commands_line_with_the_session_facts(tmp_path):
    _project(tmp_path)
    script = tmp_path / "sl.py"
    script.write_text(
        "import json, sys\nd = json.load(sys.stdin)\n"
        "print('SL', d['model']['display_name'], d['workspace']['current_dir'].rsplit('/', 1)[1],"
        " d['output_style']['name'], bool(d['session_id']), d['version'])\n"
    )
    with ScriptedServer([{"text": "hello"}]) as server:
        term = _terminal(tmp_path, server, {"statusLine": {"type": "command", "command": f"python3 {script}"}})
        try:
            term.wait_for(r"^>")
            term.wait_for(r"SL anthropic:claude-sonnet-4-5 project default True \d")
        finally:
            term.close()


def test_a_sleeping_status_command_never_stalls_the_terminal(tmp_path):
    _project(tmp_path)
    with ScriptedServer([{"text": "the answer is 42"}]) as server:
        term = _terminal(tmp_path, server, {"statusLine": {"type": "command", "command": "sleep 5"}})
        try:
            started = time.monotonic()
            term.wait_for(r"^>")
            term.line("hi")
            term.wait_for("the answer is 42", timeout=4)
            assert time.monotonic() - started < 4.5
            term.wait_for("anthropic:claude-sonnet-4-5")  # sous's own status stays while it has no line
        finally:
            term.close()


@pytest.mark.parametrize("answer", ["n", "y"])
def test_a_projects_status_command_runs_only_once_it_is_trusted(tmp_path, answer):
    marker = tmp_path / "ran"
    _project(tmp_path, {"statusLine": {"type": "command", "command": f"touch {marker}; echo PRO''JECT"}})
    with ScriptedServer([{"text": "hello"}]) as server:
        term = _terminal(tmp_path, server, {})
        try:
            term.wait_for(r"statusLine command: touch")
            term.line(answer)
            term.wait_for(r"^>")
            if answer == "y":
                term.wait_for("PROJECT")
                assert marker.exists()
            else:
                term.settle(1.0)
                assert "PROJECT" not in term.text() and not marker.exists()
        finally:
            term.close()


def test_output_style_chooser_switches_the_style_of_the_next_request(tmp_path):
    _project(tmp_path)
    with ScriptedServer([{"text": "first"}, {"text": "second"}]) as server:
        term = _terminal(tmp_path, server, {})
        try:
            term.wait_for(r"^>")
            term.line("one")
            term.wait_for("first")
            term.line("/output-style")
            term.wait_for("output style")
            term.type("learn")
            term.wait_for(r"› Learning")
            term.press("enter")
            term.wait_for(r"output style: Learning \(for this session")
            term.line("two")
            term.wait_for("second")
        finally:
            term.close()
    first, second = (json.dumps(r["body"].get("system")) for r in server.requests)
    assert "Output style: learning" not in first and "Output style: learning" in second


async def test_the_payload_counts_the_lines_the_file_tools_changed(tmp_path):
    from sous.models.scripted import ScriptedModel
    from sous.runtime import Options, open_session
    from sous.ui.status_line import payload

    (tmp_path / "old.txt").write_text("one\ntwo\nthree\n")
    old = str(tmp_path / "old.txt")
    turns = [
        {"tool_calls": [{"name": "Write", "input": {"file_path": str(tmp_path / "new.py"), "content": "a\nb\nc\n"}}]},
        {"tool_calls": [{"name": "Read", "input": {"file_path": old}}]},
        {"tool_calls": [{"name": "Edit", "input": {"file_path": old, "old_string": "two", "new_string": "2\n2.5"}}]},
        {"tool_calls": [{"name": "Edit", "input": {"file_path": old, "old_string": "absent", "new_string": "x"}}]},
        {"text": "done"},
    ]
    session = open_session(
        Options(cwd=str(tmp_path), model=ScriptedModel(turns), permission_mode="bypassPermissions", persist=False)
    )
    try:
        await session.send("go")
        cost = payload(session)["cost"]
    finally:
        session.close()
    # 3 lines created, then "two" became two lines; the failed edit counts nothing
    assert (cost["total_lines_added"], cost["total_lines_removed"]) == (5, 1)
