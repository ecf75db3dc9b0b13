"""The end of a run in the terminal says what actually changed and ran: the plain REPL through
pexpect and the full terminal in a pty, against the scripted model and real tools."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

from .terminal import SRC, Terminal

FAILING = "python3 -c 'raise SystemExit(1)'"
TURNS = [
    {"tool_calls": [{"name": "Read", "input": {"file_path": "b.py"}}]},
    {
        "tool_calls": [
            {"name": "Write", "input": {"file_path": "a.py", "content": "x = 1\ny = 2\n"}},
            {"name": "Edit", "input": {"file_path": "b.py", "old_string": "two\n", "new_string": "2\nzwei\n"}},
        ]
    },
    {"tool_calls": [{"name": "Bash", "input": {"command": FAILING}}]},
    {"text": "I fixed it and the tests pass."},
    {"text": "I fixed the other bug too."},
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "b.py").write_text("one\ntwo\nthree\n")
    (tmp_path / "turns.json").write_text(json.dumps(TURNS))
    return root


def test_the_plain_repl_lists_the_files_and_the_failing_command_then_says_when_nothing_changed(project, tmp_path):
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sous", "--model", f"scripted:{tmp_path / 'turns.json'}", "--dangerously-skip-permissions"],
        cwd=str(project),
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "NO_COLOR": "1", "SOUS_UI": "plain"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    try:
        child.expect("> ")
        child.sendline("fix b.py and run the tests")
        child.expect("I fixed it and the tests pass.")
        child.expect(r"  changed: a\.py \+2 -0, b\.py \+2 -1\r\n")
        child.expect(r"  ran: python3 -c 'raise SystemExit\(1\)' \(exit 1\)\r\n")
        child.expect("> ")
        child.sendline("and the other bug?")
        child.expect("I fixed the other bug too.")
        child.expect(r"  no files were changed\r\n")
        child.expect("> ")
    finally:
        child.sendeof()
        child.close()
    assert (project / "b.py").read_text() == "one\n2\nzwei\nthree\n"


def test_the_terminal_shows_the_record_as_dim_lines_after_the_answer(project, tmp_path):
    term = Terminal(
        ["--model", f"scripted:{tmp_path / 'turns.json'}", "--dangerously-skip-permissions"],
        cwd=project,
        env={"HOME": str(tmp_path), "TERM": "xterm-256color"},
    )
    try:
        term.wait_for(r"^>$")
        term.line("fix b.py and run the tests")
        term.wait_for(r"^ +changed: a\.py \+2 -0, b\.py \+2 -1$")
        screen = term.text()
        assert screen.index("I fixed it and the tests pass.") < screen.index("changed: a.py")
        term.wait_for(r"^ +ran: python3 -c 'raise SystemExit\(1\)' \(exit 1\)$")
        term.line("and the other bug?")
        term.wait_for(r"^ +no files were changed$")
    finally:
        term.close()


def test_ctrl_c_as_a_command_starts_ends_the_run_at_once_and_lists_it_as_interrupted(tmp_path, project):
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "sleep 30"}}]}, {"text": "unused"}]
    (tmp_path / "slow.json").write_text(json.dumps(turns))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sous", "--model", f"scripted:{tmp_path / 'slow.json'}", "--dangerously-skip-permissions"],
        cwd=str(project),
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "NO_COLOR": "1", "SOUS_UI": "plain"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    child.logfile_read = seen = io.StringIO()
    try:
        child.expect("> ")
        child.sendline("wait a while")
        child.expect(r"Bash\(sleep 30\)")
        child.sendintr()
        child.expect(r"  no files were changed\r\n")
        child.expect(r"  ran: sleep 30 \(interrupted\)\r\n")
        child.expect("> ")
    finally:
        child.sendeof()
        child.close()
    assert "checkpoints are off" not in seen.getvalue()  # Ctrl-C stops the run, not sous's own git
