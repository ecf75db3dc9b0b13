"""A permission question shows the whole call it allows, and nothing the model wrote can act on the
terminal: a long command is not cut before its end, and escape sequences or line breaks in a
sub-agent's description or a call's reason cannot erase the question or fake a line of it."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pexpect

from sous.testing.server import ScriptedServer

from .test_plain_repl import SRC
from .test_repl import _project, _start

# The part of the command that matters comes after 400 harmless characters.
LONG = "echo " + "a" * 400 + " ; touch TAILMARK"
ERASE_LINE_ABOVE = "\x1b[1A\x1b[2K"
# A reason that, printed as it is, would add a line claiming the question is about something else.
FAKE_WHY = "list the files\n? sous wants to run Bash(ls)"
FAKE_AGENT = f"harmless{ERASE_LINE_ABOVE}\x1b]0;pwned\x07\r"


def _turns(*, sub_agent: bool) -> list[dict]:
    ask = {"tool_calls": [{"name": "Bash", "input": {"command": LONG, "description": FAKE_WHY}}]}
    if not sub_agent:
        return [ask, {"text": "All done."}]
    agent = {"description": FAKE_AGENT, "prompt": "do it", "subagent_type": "general-purpose"}
    return [
        {"tool_calls": [{"id": "agent1", "name": "Agent", "input": agent}]},
        ask,
        {"text": "job done"},
        {"text": "ok"},
    ]


def test_the_terminal_question_shows_the_whole_command_and_no_escape_sequence_acts(tmp_path):
    project = _project(tmp_path)
    with ScriptedServer(_turns(sub_agent=True)) as server:
        term = _start(tmp_path, server, cols=140)
        term.line("run the job")
        term.wait_for(r"\[n\] no", timeout=60)
        term.settle(0.5)
        screen = term.text()
        term.type("n")
        term.wait_for(r"ok", timeout=60)
        term.close()
    lines = screen.splitlines()
    asked = [i for i, line in enumerate(lines) if line.startswith("? sous wants to run Bash(echo")]
    assert len(asked) == 1, screen  # the question line was not erased by the agent's description
    assert "touch TAILMARK)" in " ".join(lines[asked[0] :]), screen
    # the label is shown, its escape sequences as harmless marks
    assert any("(asked by agent general-purpose: harmless\ufffd[1A" in line for line in lines[asked[0] :]), screen
    assert not any(line.startswith("? sous wants to run Bash(ls)") for line in lines), screen
    assert not (project / "TAILMARK").exists()


def _plain_sous(tmp_path: Path, turns: list) -> tuple[Path, pexpect.spawn]:
    """The plain line-based terminal in a fresh project, on the scripted `turns`."""
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "turns.json").write_text(json.dumps(turns))
    env = {**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "NO_COLOR": "1", "SOUS_UI": "plain"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sous", "--model", f"scripted:{tmp_path / 'turns.json'}"],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 120),
    )
    return project, child


def test_the_plain_question_shows_the_whole_command_and_writes_no_control_character(tmp_path):
    project, child = _plain_sous(tmp_path, _turns(sub_agent=False))
    try:
        child.expect("> ")
        child.sendline("go")
        child.expect(re.escape("? sous wants to run Bash(echo aaa"))
        child.expect(re.escape("[n] no"))
        question = child.before
        child.sendline("n")
        child.expect("All done.")
    finally:
        child.sendeof()
        child.close()
    assert "touch TAILMARK)" in question
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", question.replace("\r\n", "\n")), repr(question)
    assert not any(line.startswith("? sous wants to run Bash(ls)") for line in question.splitlines()), question
    assert not (project / "TAILMARK").exists()


def test_an_answer_the_plain_front_end_cannot_read_is_a_no_and_the_run_goes_on(tmp_path):
    """`²` passes `isdigit()` but is no number: asking failed, and a failed question must still be
    answered (no), or the agent waiting on it would wait forever."""
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "touch made.txt"}}]}, {"text": "All done."}]
    project, child = _plain_sous(tmp_path, turns)
    try:
        child.expect("> ")
        child.sendline("go")
        child.expect(re.escape("[n] no"))
        child.sendline("\u00b2")
        child.expect("All done.")
    finally:
        child.sendeof()
        child.close()
    assert not (project / "made.txt").exists()
