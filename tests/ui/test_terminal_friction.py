"""Friction a newcomer met in the terminal, each driven as a person would: keys into the real
`sous` in a pty, the screen read back, the scripted endpoint recording what the model was sent."""

from __future__ import annotations

import json
import re
import time

from sous.testing.server import ScriptedServer

from .terminal import Terminal
from .test_repl import _project, _start


def _last_prompt(request: dict) -> str:
    """The text of the newest user message the model was sent (prompt and system reminders)."""
    content = request["body"]["messages"][-1]["content"]
    return content if isinstance(content, str) else json.dumps(content)


def _status(term: Terminal) -> str:
    return term.text().splitlines()[-1]


def test_the_plan_reminder_is_sent_only_while_in_plan_mode(tmp_path):
    _project(tmp_path)
    turns = [{"text": "one"}, {"text": "two"}, {"text": "three"}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        for _ in range(4):  # default → accept edits → plan → auto → default, without a prompt in plan mode
            term.press("shift-tab")
            time.sleep(0.1)
        term.settle()
        assert "mode on" not in _status(term)
        term.line("first")
        term.wait_for(r"^one$")
        term.press("shift-tab")
        term.press("shift-tab")
        term.wait_for(r"plan mode on \(shift\+tab\)")
        term.line("second")
        term.wait_for(r"^two$")
        term.press("shift-tab")  # plan → auto → default
        time.sleep(0.1)
        term.press("shift-tab")
        term.settle()
        assert "mode on" not in _status(term)
        term.line("third")
        term.wait_for(r"^three$")
        term.close()
        first, second, third = server.requests
    assert "Plan mode is active" not in _last_prompt(first)
    assert "Plan mode is active" in _last_prompt(second)
    assert "Plan mode is active" not in _last_prompt(third)


def test_the_status_bar_and_context_show_the_same_use(tmp_path):
    _project(tmp_path)
    turns = [{"text": "A long answer. " * 400}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, cols=160)
        term.line("tell me a lot")
        term.wait_for(r"context \d+%")
        term.settle()
        bar = re.search(r"context (\d+)%", _status(term))
        term.line("/context")
        shown = term.wait_for(r"of ([\d,]+) tokens \((\d+)%\)")
        term.close()
    assert shown.group(1) == "200,000"  # claude-sonnet-4-5's window, from the catalog
    assert bar is not None and bar.group(1) == shown.group(2) != "0"


def test_the_clock_and_spinner_stop_while_a_question_waits(tmp_path):
    _project(tmp_path)
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "touch asked.txt"}}]}, {"text": "Ran it."}]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, cols=160)
        term.line("run echo")
        term.wait_for(r"\? sous wants to run Bash\(touch asked\.txt\)")
        term.wait_for(r"waiting for you")
        term.settle()
        before = _status(term)
        time.sleep(2.5)
        term.settle()
        assert _status(term) == before, "the status line moved while sous waited for the person"
        term.type("y")
        term.wait_for(r"^Ran it\.$")
        term.line("/cost")
        ran = term.wait_for(r"time: +([\d.]+) s in runs")
        term.close()
    assert float(ran.group(1)) < 2.0, "the wait at the question was counted as run time"


def test_an_unknown_key_at_a_question_is_swallowed_with_a_hint(tmp_path):
    _project(tmp_path)
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "touch asked.txt"}}]},
        {"text": "Ran it."},
        {"text": "Got it."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, cols=160)
        term.line("run echo")
        term.wait_for(r"\? sous wants to run Bash\(touch asked\.txt\)")
        term.type("x")
        term.wait_for(r"not a choice: press one of y 5 h s a 3 n t, or Esc for no")
        term.type("qz")
        term.settle()
        assert len(re.findall(r"not a choice", term.text())) == 1  # shown once per question
        term.type("y")
        term.wait_for(r"^Ran it\.$")
        term.line("hello")
        term.wait_for(r"^Got it\.$")
        term.close()
        last = server.requests[-1]
    assert json.loads(_last_prompt(last))[0]["text"] == "hello"


def test_a_write_request_shows_the_new_content_or_the_diff(tmp_path):
    project = _project(tmp_path)
    long_file = "".join(f"line {i}\n" for i in range(100))
    turns = [
        {"tool_calls": [{"name": "Write", "input": {"file_path": "new.py", "content": "a = 1\nb = 2\n"}}]},
        {
            "tool_calls": [
                {"name": "Write", "input": {"file_path": "app.py", "content": "def greet():\n    return 'hi'\n"}}
            ]
        },
        {"tool_calls": [{"name": "Write", "input": {"file_path": "long.txt", "content": long_file}}]},
        {"text": "Done."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server)
        term.line("write things")
        term.wait_for(r"\? sous wants to run Write\(new\.py\)\n.*why you are asked.*\n +new file, 2 lines:")
        term.wait_for(r"1 \+ a = 1$")
        term.wait_for(r"2 \+ b = 2\n +\[y\] once")  # the keys come last, right above the input
        term.type("y")
        term.wait_for(r"replaces the file: 1 added, 1 removed")
        term.wait_for(r"2 - +return 'hello'$")
        term.wait_for(r"2 \+ +return 'hi'$")
        term.wait_for(r"\? sous wants to run Write\(app\.py\)")
        term.type("n")
        term.wait_for(r"new file, 100 lines:")
        term.wait_for(r"… \+60 diff lines")
        assert "line 40" not in term.text()  # capped
        term.wait_for(r"\? sous wants to run Write\(long\.txt\)")
        term.type("n")
        term.wait_for(r"^Done\.$")
        term.close()
    assert (project / "new.py").read_text() == "a = 1\nb = 2\n"
    assert "hello" in (project / "app.py").read_text()


def test_help_lists_the_keys(tmp_path):
    _project(tmp_path)
    with ScriptedServer([]) as server:
        term = _start(tmp_path, server)
        term.line("/help")
        term.wait_for(r"^keys \(the full terminal\):")
        for key in ("Esc", "Shift\\+Tab", "@path", "!command", "Alt\\+Enter, Ctrl-J", "Up/Down", "Ctrl-C", "Ctrl-D"):
            term.wait_for(rf"^  {key} +\S")
        term.close()
