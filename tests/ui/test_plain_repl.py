"""The interactive session, driven like a person would: pexpect on the real `sous` process."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect
import pytest

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])


@pytest.fixture
def repl(tmp_path: Path):
    project = tmp_path / "project"
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / "CLAUDE.md").write_text("Be brief.")
    (project / ".claude" / "commands" / "review.md").write_text("---\ndescription: Review the diff\n---\nReview.")
    log = tmp_path / "notifications.log"
    (project / ".claude" / "settings.json").write_text(
        json.dumps(
            {
                "hooks": {
                    "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}],
                    "Notification": [
                        {
                            "matcher": "permission_prompt",
                            "hooks": [{"type": "command", "command": f"cat >> {log}; echo >> {log}"}],
                        }
                    ],
                }
            }
        )
    )
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "python3 -c 'print(41 + 1)'"}}]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "python3 -c 'print(41 + 1)'"}}]},
        {"tool_calls": [{"name": "Bash", "input": {"command": "rm -rf ~/nothing-here"}}]},
        {"text": "All done."},
    ]
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
    child.expect(r"\[new\] hook Notification \(permission_prompt\): cat >> ")
    child.expect(r"Trust this project's config and run them\? \[y/N\] ")
    child.sendline("y")
    child.expect("> ")
    yield child
    child.sendeof()
    child.close()


def test_built_in_commands_show_the_setup(repl):
    repl.sendline("/help")
    repl.expect("/review +Review the diff")
    repl.sendline("/hooks")
    repl.expect(r"PreToolUse +Bash +true")
    repl.expect(r"Notification +permission_prompt")
    repl.sendline("/memory")
    repl.expect(r"1\. .*CLAUDE\.md \(project\)")


def test_a_session_grant_stops_the_asking_and_the_floor_wants_a_typed_yes(repl):
    repl.sendline("go")
    repl.expect(r"why you are asked: Bash needs approval")
    repl.expect(r"\[s\] session")
    repl.sendline("s")
    repl.expect("42")
    repl.expect("42")  # the second identical call ran without a prompt
    repl.expect("Type yes to allow it once: ")
    repl.sendline("no")
    repl.expect("the user said no")
    repl.expect("All done.")
    repl.sendline("/permissions")
    repl.expect(r"#1 allow Bash\(python3 -c print\(41 \+ 1\)\) \(this session\)")
    repl.sendline("/permissions revoke 1")
    repl.expect("revoked #1")
    log = Path(repl.cwd).parent / "notifications.log"
    sent = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [n["notification_type"] for n in sent] == ["permission_prompt", "permission_prompt"]


def test_the_prompt_does_not_wait_for_mcp_servers(tmp_path):
    pytest.importorskip("mcp_server_time")
    import time

    project = tmp_path / "project"
    project.mkdir()
    servers = {
        "slow": {"command": "sleep", "args": ["60"]},
        "time": {"command": sys.executable, "args": ["-m", "mcp_server_time"]},
    }
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    (tmp_path / "turns.json").write_text(json.dumps([{"text": "hi"}]))
    env = {**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "MCP_TIMEOUT": "30000", "SOUS_UI": "plain"}
    started = time.monotonic()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sous", "--model", f"scripted:{tmp_path / 'turns.json'}"],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 120),
    )
    try:
        child.expect(r"\[y/N\] ")
        child.sendline("y")
        child.expect("> ")
        assert time.monotonic() - started < 10  # a server that hangs for 30 s does not hold the prompt
        deadline = time.monotonic() + 15
        while True:
            child.sendline("/mcp")
            child.expect("slow: starting")
            index = child.expect([r"time: connected, 2 tools", r"time: starting"])
            if index == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert index == 0
    finally:
        child.sendeof()
        child.close()


def test_fork_in_the_plain_repl_names_the_new_session_and_the_way_back(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "turns.json").write_text(json.dumps([{"text": "Noted."}, {"text": "Forked and still noted."}]))
    env = {**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "NO_COLOR": "1", "SOUS_UI": "plain"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sous", "--model", f"scripted:{tmp_path / 'turns.json'}"],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=20,
    )
    child.expect("> ")
    child.sendline("note this")
    child.expect("Noted.")
    child.expect("> ")
    child.sendline("/fork")
    child.expect(r"forked: now in session (\S+) \(a copy of 2 messages\)")
    new_id = child.match.group(1)
    child.expect(r"go back to it with `sous -r (\S+)`")
    old_id = child.match.group(1)
    child.expect("> ")
    child.sendline("and now?")
    child.expect("Forked and still noted.")
    child.expect("> ")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    assert new_id != old_id
    folder = next(Path(os.environ["SOUS_HOME"], "sessions").glob("*"))
    assert {p.stem for p in folder.glob("*.jsonl")} == {old_id, new_id}


def test_sub_agents_asking_the_same_get_one_question_naming_them(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    agents = [
        {"name": "Agent", "input": {"description": f"job {n}", "prompt": "go", "subagent_type": "general-purpose"}}
        for n in (1, 2, 3)
    ]
    bash = [{"tool_calls": [{"name": "Bash", "input": {"command": c}}]} for c in ("touch a.txt",) * 2 + ("touch b",)]
    turns = [{"tool_calls": agents}, *bash, *[{"text": "done"}] * 3, {"text": "All three done."}]
    (tmp_path / "turns.json").write_text(json.dumps(turns))
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sous", "--model", f"scripted:{tmp_path / 'turns.json'}"],
        cwd=str(project),
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "NO_COLOR": "1", "SOUS_UI": "plain"},
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 120),
    )
    child.expect("> ")
    child.sendline("three jobs")
    child.expect(r"\? sous wants to run Bash\(touch a\.txt\) \(asked by 2 agents\)\r\n")
    child.expect(r"· agent general-purpose: job \d\r\n +· agent general-purpose: job \d\r\n")
    child.expect(r"\[n\] no")
    child.sendline("y")
    child.expect(r"\? sous wants to run Bash\(touch b\) \(asked by agent general-purpose: job \d\)")
    child.expect(r"\[n\] no")
    child.sendline("n")
    child.expect("All three done.")
    child.sendeof()
    child.close()
    assert (project / "a.txt").exists() and not (project / "b").exists()
