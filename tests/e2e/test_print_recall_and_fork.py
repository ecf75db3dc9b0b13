"""Recall of past sessions end to end: one `sous -p` learns a fact, a later `sous -p` in the
same project finds it with SessionSearch (loaded through ToolSearch, run without asking), and a
session of another project stays out of reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sous
from sous.testing.server import ScriptedServer

SRC = str(Path(sous.__file__).resolve().parents[1])


def _sous(*args: str, cwd: Path, server: ScriptedServer, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", "--model", "anthropic:claude-sonnet-4-5", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=60,
        env={
            **os.environ,
            "PYTHONPATH": SRC,
            "SOUS_HOME": str(home),
            "ANTHROPIC_BASE_URL": server.url,
            "ANTHROPIC_API_KEY": "test",
        },
    )


def _tool_results(request: dict) -> list[str]:
    out = []
    for message in request["body"]["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_result":
                inner = block.get("content")
                out.append(inner if isinstance(inner, str) else " ".join(b.get("text", "") for b in inner or []))
    return out


def test_a_later_session_finds_a_fact_from_an_earlier_one_and_not_another_projects(tmp_path):
    home = tmp_path / "sous-home"
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    with ScriptedServer([{"text": "Noted: the staging database listens on port 8471."}]) as server:
        first = _sous("-p", "remember: the staging database port is 8471", cwd=project, server=server, home=home)
    assert first.returncode == 0, first.stderr
    with ScriptedServer([{"text": "Noted: the staging cache of the other project is on port 9999."}]) as server:
        other = _sous("-p", "the staging port here is 9999", cwd=elsewhere, server=server, home=home)
    assert other.returncode == 0, other.stderr
    earlier = next((home / "sessions").glob("*project/*.jsonl"))
    turns = [
        {"tool_calls": [{"name": "ToolSearch", "input": {"query": "select:SessionSearch"}}]},
        {"tool_calls": [{"name": "SessionSearch", "input": {"query": "staging port"}}]},
        {"text": "The staging database port is 8471 (from an earlier session)."},
    ]
    with ScriptedServer(turns) as server:
        later = _sous(
            "-p",
            "which port did we pick for staging?",
            "--output-format",
            "json",
            cwd=project,
            server=server,
            home=home,
        )
        requests = server.requests
    assert later.returncode == 0, later.stderr
    result = json.loads(later.stdout)
    assert result["result"].startswith("The staging database port is 8471")
    assert result["permission_denials"] == []  # read-only: no question, so nothing refused in -p
    assert "SessionSearch" in json.dumps(requests[0]["body"]["tools"])  # named in ToolSearch's list only
    assert '"name": "SessionSearch"' not in json.dumps(requests[0]["body"]["tools"])
    found = _tool_results(requests[2])[-1]
    assert "8471" in found and earlier.stem in found  # the fact, with the session it came from
    assert "9999" not in found  # another project's session is never searched
    assert "which port did we pick" not in found  # the current session is left out


def test_fork_session_with_resume_in_print_mode_and_r_without_an_id_outside_a_terminal(tmp_path):
    home, project = tmp_path / "sous-home", tmp_path / "project"
    project.mkdir()
    with ScriptedServer([{"text": "The code word is heron."}, {"text": "Still heron, in a fork."}]) as server:
        first = _sous("-p", "pick a code word", "--output-format", "json", cwd=project, server=server, home=home)
        old_id = json.loads(first.stdout)["session_id"]
        old_file = next((home / "sessions").glob(f"*/{old_id}.jsonl"))
        before = old_file.read_bytes()
        forked = _sous(
            "-p",
            "-r",
            old_id,
            "--fork-session",
            "which word?",
            "--output-format",
            "json",
            cwd=project,
            server=server,
            home=home,
        )
        last = json.dumps(server.requests[-1]["body"]["messages"])
    assert forked.returncode == 0, forked.stderr
    result = json.loads(forked.stdout)
    assert result["session_id"] != old_id and result["result"] == "Still heron, in a fork."
    assert "The code word is heron." in last  # the fork starts from the old history
    assert old_file.read_bytes() == before  # which is left as it was
    with ScriptedServer([]) as server:
        bare = _sous("-p", "-r", cwd=project, server=server, home=home)
        piped = _sous("-r", cwd=project, server=server, home=home)
    assert bare.returncode == 2 and "-r needs a session id" in bare.stderr
    assert piped.returncode == 2 and "-r needs a session id here" in piped.stderr
