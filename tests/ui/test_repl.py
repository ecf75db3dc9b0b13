"""The interactive terminal, driven as a person would: keys into the real `sous` in a pty, the
screen read back. The model is the scripted local HTTP endpoint speaking the Anthropic protocol."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from sous.testing.server import ScriptedServer

from .terminal import Terminal

DOUBLE_ESC = 1.0
"""Longer than the terminal's window for a double Esc: the next Esc counts as a first one."""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "app.py").write_text("def greet():\n    return 'hello'\n")
    (project / "notes.md").write_text("remember the milk\n")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    return project


def _start(tmp_path: Path, server: ScriptedServer, *args: str, cols: int = 100, env: dict | None = None) -> Terminal:
    project = tmp_path / "project"
    term = Terminal(
        ["--model", "anthropic:claude-sonnet-4-5", *args],
        cwd=project,
        cols=cols,
        env={
            "HOME": str(tmp_path),
            "SOUS_HOME": str(tmp_path / "sous-home"),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "test",
            "TERM": "xterm-256color",
            **(env or {}),
        },
    )
    term.wait_for(r"^>$")
    return term


def _texts(request: dict) -> list[str]:
    """Every text the model was sent, in order (user prompts, tool results)."""
    out = []
    for message in request["body"]["messages"]:
        content = message["content"]
        if isinstance(content, str):
            out.append(content)
            continue
        for block in content:
            if block.get("type") == "text":
                out.append(block["text"])
            elif block.get("type") == "tool_result":
                inner = block.get("content")
                out.append(inner if isinstance(inner, str) else " ".join(b.get("text", "") for b in inner or []))
    return out


def test_a_turn_streams_markdown_asks_with_one_key_and_shows_the_diff(tmp_path):
    _project(tmp_path)
    turns = [
        {
            "text": "I will fix **greet**.\n\n```python\nprint('x')\n```\n",
            "tool_calls": [{"name": "Read", "input": {"file_path": "app.py"}}],
        },
        {
            "tool_calls": [
                {
                    "name": "Edit",
                    "input": {"file_path": "app.py", "old_string": "'hello'", "new_string": "'hello, world'"},
                }
            ]
        },
        {
            "tool_calls": [
                {
                    "name": "TodoWrite",
                    "input": {
                        "todos": [
                            {"content": "Fix greet", "status": "completed", "activeForm": "Fixing greet"},
                            {"content": "Run tests", "status": "in_progress", "activeForm": "Running tests"},
                        ]
                    },
                }
            ]
        },
        {"text": "Done: greet now says hello, world."},
    ]
    with ScriptedServer(turns, chunk_delay=0.01) as server:
        term = _start(tmp_path, server)
        term.line("fix greet")
        term.wait_for(r"I will fix greet\.")  # Markdown rendered: no asterisks left
        term.wait_for(r"print\('x'\)")
        term.wait_for(r"⏺ Read\(app\.py\)")
        term.wait_for(r"Read 2 lines")
        term.wait_for(r"\? sous wants to run Edit\(app\.py\)")
        term.wait_for(r"\[y\] once .*\[s\] session")
        term.type("y")  # one key, no Enter
        term.wait_for(r"→ yes, this once")
        term.wait_for(r"Updated app\.py: 1 added, 1 removed")
        term.wait_for(r"2 - +return 'hello'$")
        term.wait_for(r"2 \+ +return 'hello, world'$")
        term.wait_for(r"☒ Fix greet")
        term.wait_for(r"◐ Run tests")
        term.wait_for(r"Done: greet now says hello, world\.")
        term.wait_for(r"claude-sonnet-4-5 · .* in / .* out · \$")  # the status line
        term.close()
    assert "hello, world" in (tmp_path / "project" / "app.py").read_text()


def test_esc_interrupts_a_running_tool_and_kills_it(tmp_path):
    _project(tmp_path)
    marker = f"sleep {100 + os.getpid() % 50}"
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": marker}}]}, {"text": "Stopped."}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, "--permission-mode", "bypassPermissions")
        term.line("wait a while")
        term.wait_for(rf"⏺ Bash\({marker}\)")
        deadline = time.monotonic() + 10
        while subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode and time.monotonic() < deadline:
            time.sleep(0.1)
        assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 0
        started = time.monotonic()
        term.press("esc")
        term.wait_for(r"Interrupted · what should sous do instead\?")
        assert time.monotonic() - started < 3
        time.sleep(0.3)
        assert subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode == 1, "the sleep survived"
        term.close()
    sessions = list((tmp_path / "sous-home" / "sessions").glob("*/*.jsonl"))
    records = [json.loads(line) for line in sessions[0].read_text().splitlines()]
    assert any(r.get("type") == "result" and r.get("reason") == "aborted" for r in records)


def test_typing_while_busy_queues_for_the_next_turn_boundary(tmp_path):
    _project(tmp_path)
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "sleep 2; echo slept"}}]},
        {"text": "Noted your extra request."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, "--permission-mode", "bypassPermissions")
        term.line("first task")
        term.wait_for(r"⏺ Bash\(sleep 2; echo slept\)")
        term.line("also mention the weather")
        term.wait_for(r"queued for the next turn: also mention the weather")
        term.wait_for(r"Noted your extra request\.")
        term.close()
        second = _texts(server.requests[1])
    assert "slept" in second[-2] and second[-1] == "also mention the weather"


def test_an_interrupted_run_gives_the_queued_text_back_to_the_input(tmp_path):
    _project(tmp_path)
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "sleep 60"}}]}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, "--permission-mode", "bypassPermissions")
        term.line("go")
        term.wait_for(r"⏺ Bash\(sleep 60\)")
        term.line("second thoughts")
        term.wait_for("queued for the next turn")
        term.press("esc")
        term.wait_for(r"Interrupted")
        term.wait_for(r"^> second thoughts$")
        term.close()


def test_slash_commands_clear_compact_resume_and_suggest(tmp_path):
    _project(tmp_path)
    turns = [
        {"text": "The answer is 42."},
        {"text": "Summary: the user asked a question; the answer was 42."},
        {"text": "Still 42, from the summary."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        term.line("what is the answer?")
        term.wait_for(r"The answer is 42\.")
        term.line("/compact focus on numbers")
        term.wait_for(r"compacted: ~\d+ tokens of conversation → ~\d+ of summary")
        term.line("and now?")
        term.wait_for(r"Still 42, from the summary\.")
        term.line("/cost")
        term.wait_for(r"runs: +2 \(2 model turns\)")
        term.line("/context")
        term.wait_for(r"tool schemas +~ +[\d,]+ tokens")
        term.line("/clear")
        term.wait_for(r"context cleared")
        term.line("/resume")
        term.wait_for(r" 1\. .*\(compacted\) and now\?")
        term.press("esc")  # closes the search box
        term.wait_for(r"^>$")
        term.line("/resume 1")
        term.wait_for(r"resumed .* \(\d+ messages\)")
        term.wait_for(r"assistant: Still 42, from the summary\.")
        term.line("/stauts")
        term.wait_for(r"unknown command /stauts — did you mean /status\?")
        term.close()
        compact_request = server.requests[1]["body"]
        last_request = server.requests[2]["body"]
    assert "focus on: focus on numbers" in json.dumps(compact_request["messages"][-1])
    assert compact_request.get("tools") in (None, [])
    first = json.dumps(last_request["messages"][0])
    assert "the answer was 42" in first and "The answer is 42." not in json.dumps(last_request["messages"])
    assert "- USER: what is the answer?" in first  # the person's own words survive compaction verbatim


def test_at_completes_paths_and_attaches_the_file_and_bang_runs_a_shell_command(tmp_path):
    project = _project(tmp_path)
    (project / "src").mkdir()
    (project / "src" / "deep_module.py").write_text("VALUE = 7\n")
    (project / "ignored.log").write_text("noise\n")
    (project / ".gitignore").write_text("*.log\n")
    turns = [{"text": "Seen it."}, {"text": "I saw the shell output."}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        term.type("what is in @dmod")
        term.wait_for(r"^ +src/deep_module\.py$")  # the menu, while typing
        term.press("tab")
        term.wait_for(r"^> what is in @src/deep_module\.py")
        term.type("@ignored")
        time.sleep(0.5)
        term.press("tab")
        term.settle()
        assert "ignored.log" not in term.text()  # .gitignore is honoured
        term.press("ctrl-u")
        term.line("what is in @src/deep_module.py")
        term.wait_for(r"Seen it\.")
        term.line("!echo from-the-shell")
        term.wait_for(r"^from-the-shell$")
        term.line("did you see it?")
        term.wait_for(r"I saw the shell output\.")
        term.close()
        first, second = (json.dumps(r["body"]["messages"]) for r in server.requests)
    assert "VALUE = 7" in first and "deep_module.py" in first
    assert "<bash-input>echo from-the-shell</bash-input>" in second and "from-the-shell\\n" in second


def test_multi_line_input_history_and_model_switch(tmp_path):
    _project(tmp_path)
    turns = [{"text": "Two lines received."}, {"text": "Again."}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        term.type("line one\\")
        term.press("enter")
        term.type("line two")
        term.press("alt-enter")
        term.type("line three")
        term.press("enter")
        term.wait_for(r"Two lines received\.")
        term.press("up")
        term.wait_for(r"line three$")
        term.press("esc")  # Esc at an idle prompt clears the input
        time.sleep(0.3)
        term.type("/model hai")
        term.wait_for(r"^ +anthropic:claude-haiku-4-5")
        term.press("tab")
        term.wait_for(r"^> /model haiku")
        term.press("enter")
        term.wait_for(r"^model: anthropic:claude-haiku-4-5")
        term.line("again")
        term.wait_for(r"Again\.")
        term.close()
        assert _texts(server.requests[0])[-1].startswith("line one\nline two\nline three")
        assert server.requests[1]["body"]["model"] == "claude-haiku-4-5"


def test_ctrl_c_twice_at_an_idle_prompt_exits(tmp_path):
    _project(tmp_path)
    with ScriptedServer([]) as server:
        term = _start(tmp_path, server)
        term.press("ctrl-c")
        term.wait_for(r"press Ctrl-C again to exit")
        term.press("ctrl-c")
        term.child.expect(__import__("pexpect").EOF, timeout=10)
        term.child.close()
        assert term.child.exitstatus == 0


def _foreground_colours(raw: bytes) -> list[bytes]:
    """The SGR sequences (`ESC[...m`) that set a foreground colour; cursor moves such as `ESC[3C`
    and other controls are not colours."""
    found = []
    for match in re.finditer(rb"\x1b\[([0-9;]*)m", raw):
        params = [int(p) for p in match.group(1).split(b";") if p]
        if any(30 <= p <= 38 or 90 <= p <= 97 for p in params):
            found.append(match.group(0))
    return found


def test_the_colour_check_tells_colours_from_cursor_moves():
    assert _foreground_colours(b"\x1b[3C\x1b[31C\x1b[0m\x1b[1m\x1b[39;49m\x1b[32m") == [b"\x1b[32m"]
    assert _foreground_colours(b"a\x1b[31mred\x1b[0m \x1b[1;38;5;208mx") == [b"\x1b[31m", b"\x1b[1;38;5;208m"]
    assert _foreground_colours(b"\x1b[3Cplain\x1b[2K") == []


@pytest.mark.parametrize(
    "env",
    [{"NO_COLOR": "1"}, {"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}],
    ids=["no-color", "ascii-locale"],
)
def test_narrow_plain_terminals_degrade_gracefully(tmp_path, env):
    _project(tmp_path)
    turns = [
        {
            "text": "A fairly long sentence that must wrap on a narrow terminal without breaking anything.",
            "tool_calls": [{"name": "Bash", "input": {"command": "echo ok"}}],
        },
        {"text": "Fine."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, "--permission-mode", "bypassPermissions", cols=60, env=env)
        term.line("go")
        term.wait_for(r"Fine\.")
        text = term.text()
        assert "A fairly long sentence" in text and "ok" in text
        assert max(len(line) for line in text.splitlines()) <= 60
        if "NO_COLOR" in env:
            assert not _foreground_colours(term.raw.split(b"go", 1)[1])
        else:
            assert "* Bash(echo ok)" in text
        term.close()


def test_a_sub_agents_request_says_who_asks(tmp_path):
    _project(tmp_path)
    turns = [
        {
            "tool_calls": [
                {
                    "name": "Agent",
                    "input": {"description": "count files", "prompt": "count them", "subagent_type": "general-purpose"},
                }
            ]
        },
        {"tool_calls": [{"name": "Bash", "input": {"command": "touch counted.txt"}}]},
        {"text": "There are 2 files."},
        {"text": "The helper counted 2 files."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        term.line("how many files?")
        term.wait_for(r"⏺ Agent\(general-purpose: count files\)")
        term.wait_for(
            r"\? sous wants to run Bash\(touch counted\.txt\)\s+\(asked by agent general-purpose: count files\)"
        )
        term.type("y")
        term.wait_for(r"The helper counted 2 files\.")
        term.close()


def test_a_resized_terminal_keeps_working(tmp_path):
    _project(tmp_path)
    turns = [{"text": "first " * 30}, {"text": "second " * 30}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        term.line("one")
        term.wait_for(r"first first")
        term.resize(40, 50)
        term.line("two")
        term.wait_for(r"^second second")
        assert all(len(line) <= 50 for line in term.text().splitlines()[-6:])
        term.close()


def _tool_names(request: dict) -> list[str]:
    return [t["name"] for t in request["body"].get("tools") or []]


def test_plan_mode_reads_only_until_the_plan_is_approved(tmp_path):
    _project(tmp_path)
    plan = "1. Change greet to say hello, world\n2. Run the tests"
    turns = [
        {"tool_calls": [{"name": "Write", "input": {"file_path": "new.py", "content": "x = 1\n"}}]},
        {"tool_calls": [{"name": "ExitPlanMode", "input": {"plan": plan}}]},
        {"tool_calls": [{"name": "Write", "input": {"file_path": "new.py", "content": "x = 1\n"}}]},
        {"text": "Plan carried out."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, "--permission-mode", "plan")
        term.wait_for(r"plan mode on \(shift\+tab\)")
        term.line("make greet friendlier")
        term.wait_for(r"in plan mode \(no edits until the plan is approved\)")
        term.wait_for(r"\? sous has a plan\. Carry it out\?")
        term.wait_for(r"1\.? Change greet to say hello, world")
        term.wait_for(r"\[a\] yes, and accept edits")
        term.type("a")
        term.wait_for(r"→ yes: carry it out, accepting edits")
        term.wait_for(r"Plan carried out\.")
        term.wait_for(r"accept edits on \(shift\+tab\)")
        term.close()
        first, _, third, _ = server.requests
    assert "ExitPlanMode" in _tool_names(first) and "ExitPlanMode" not in _tool_names(third)
    assert "Plan mode is active" in json.dumps(first["body"]["messages"][0])
    assert (tmp_path / "project" / "new.py").read_text() == "x = 1\n"  # written after approval, without asking


def test_shift_tab_cycles_the_modes(tmp_path):
    _project(tmp_path)
    turns = [{"text": "planning"}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        term.press("shift-tab")
        term.wait_for(r"accept edits on \(shift\+tab\)")
        term.press("shift-tab")
        term.wait_for(r"plan mode on \(shift\+tab\)")
        term.line("think first")
        term.wait_for(r"^planning$")
        term.press("shift-tab")
        term.wait_for(r"auto mode on")
        term.press("shift-tab")
        term.settle()
        assert "mode on" not in term.text().splitlines()[-1] and "edits on" not in term.text().splitlines()[-1]
        term.close()
        assert "ExitPlanMode" in _tool_names(server.requests[0])


def test_running_sub_agents_show_their_live_tool_line(tmp_path):
    _project(tmp_path)
    turns = [
        {
            "tool_calls": [
                {
                    "name": "Agent",
                    "input": {"description": "count slowly", "prompt": "count", "subagent_type": "general-purpose"},
                }
            ]
        },
        {"tool_calls": [{"name": "Bash", "input": {"command": "sleep 3"}}], "usage": {"input_tokens": 1500}},
        {"text": "counted"},
        {"text": "The helper finished."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, "--permission-mode", "bypassPermissions")
        term.line("delegate")
        term.wait_for(r"^⏺ general-purpose: count slowly · Bash\(sleep 3\) · 1,5\d\d tokens · \d+s$")
        term.wait_for(r"The helper finished\.")
        term.settle()
        assert "count slowly ·" not in term.text().splitlines()[-1]
        term.close()


def test_resume_opens_a_search_box_that_filters_sessions_by_content(tmp_path):
    _project(tmp_path)
    turns = [{"text": "Kilns fire stoneware at 1200 degrees."}, {"text": "Tea is ready."}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        term.line("tell me about kilns")
        term.wait_for(r"1200 degrees\.")
        term.settle()  # the run has ended: a slash command typed now runs
        term.line("/clear")
        term.wait_for(r"context cleared")
        term.line("make tea")
        term.wait_for(r"Tea is ready\.")
        term.settle()
        term.line("/clear")
        term.settle()
        term.line("/resume")
        term.wait_for(r"resume a session \(2 of 2\)")
        term.wait_for(r"› +1\. .*make tea")
        term.type("stoneware")  # in neither first prompt: found in the answer's text
        term.wait_for(r"resume a session \(1 of 2\)")
        term.wait_for(r"› +2\. .*tell me about kilns")
        term.wait_for(r"Kilns fire stoneware at 1200")  # where it matched, under the row
        assert "make tea  [" not in term.text()
        term.press("enter")
        term.wait_for(r"resumed .* \(2 messages\)")
        term.wait_for(r"assistant: Kilns fire stoneware at 1200 degrees\.")
        term.close()


def test_esc_twice_at_an_empty_prompt_opens_the_rewind_chooser_and_once_still_interrupts(tmp_path):
    project = _project(tmp_path)
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "echo 'buy bread' > notes.md"}}]},
        {"text": "Rewrote the notes."},
        {"tool_calls": [{"name": "Bash", "input": {"command": "sleep 30"}}]},
        {"text": "Stopped."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, "--permission-mode", "bypassPermissions")
        term.line("rewrite the notes")
        term.wait_for(r"Rewrote the notes\.")
        term.settle()
        assert (project / "notes.md").read_text() == "buy bread\n"
        term.line("wait a little")
        term.wait_for(r"⏺ Bash\(sleep 30\)")
        term.press("esc")
        time.sleep(0.15)
        term.press("esc")
        term.wait_for(r"Interrupted")  # Esc during a run interrupts; it never opens the chooser
        term.settle()
        assert "rewind to before" not in term.text()
        time.sleep(DOUBLE_ESC)
        term.press("esc")
        time.sleep(0.15)
        term.press("esc")
        term.wait_for(r"rewind to before a turn \(2 of 2\)")
        term.wait_for(r"› #2 .*wait a little")
        term.press("down")
        term.wait_for(r"› #1 .*files changed +rewrite the notes")
        term.press("enter")
        term.wait_for(r"rewind to before checkpoint #1")
        term.wait_for(r"› restore the code and the conversation")
        term.press("enter")
        term.wait_for(r"files restored: 1 file\(s\) written")
        term.close()
    assert (project / "notes.md").read_text() == "remember the milk\n"


def test_sous_r_without_an_id_opens_the_session_chooser(tmp_path):
    _project(tmp_path)
    with ScriptedServer([{"text": "The moth is called Luna."}, {"text": "Still Luna."}]) as server:
        term = _start(tmp_path, server)
        term.line("name the moth")
        term.wait_for(r"The moth is called Luna\.")
        term.settle()
        term.close()
        term = Terminal(
            ["--model", "anthropic:claude-sonnet-4-5", "-r"],
            cwd=tmp_path / "project",
            env={
                "HOME": str(tmp_path),
                "SOUS_HOME": str(tmp_path / "sous-home"),
                "ANTHROPIC_BASE_URL": server.url,
                "ANTHROPIC_API_KEY": "test",
                "TERM": "xterm-256color",
            },
        )
        term.wait_for(r"resume a session \(1 of 1\)")
        term.type("luna")
        term.wait_for(r"› +1\. .*name the moth")
        term.press("enter")
        term.wait_for(r"resumed .* \(2 messages\)")
        term.line("and now?")
        term.wait_for(r"Still Luna\.")
        term.close()
        last = json.dumps(server.requests[-1]["body"]["messages"])
    assert "name the moth" in last and "The moth is called Luna." in last


def test_fork_goes_on_in_a_new_session_and_says_how_to_get_back(tmp_path):
    _project(tmp_path)
    with ScriptedServer([{"text": "Planted the oak."}, {"text": "The fork remembers the oak."}]) as server:
        term = _start(tmp_path, server)
        term.line("plant an oak")
        term.wait_for(r"Planted the oak\.")
        term.settle()
        old = next((tmp_path / "sous-home" / "sessions").glob("*/*.jsonl"))
        before = old.read_bytes()
        term.line("/fork")
        match = term.wait_for(r"forked: now in session (\S+) \(a copy of 2 messages\)")
        term.wait_for(rf"go back to it with `sous -r {old.stem}`")
        term.line("what did you plant?")
        term.wait_for(r"The fork remembers the oak\.")
        term.close()
        last = json.dumps(server.requests[-1]["body"]["messages"])
    assert match.group(1) != old.stem and "Planted the oak." in last
    assert old.read_bytes() == before
    assert (old.parent / f"{match.group(1)}.jsonl").exists()
