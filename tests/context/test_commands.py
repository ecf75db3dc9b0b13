"""Custom commands and skills: discovery, expansion, and invocation through `sous -p`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.context import commands
from sous.permissions import trust
from sous.store import transcript

SRC = str(Path(sous.__file__).resolve().parents[1])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(
        root / ".claude" / "commands" / "git" / "fix-issue.md",
        "---\ndescription: Fix an issue\nargument-hint: [number]\n---\nFix issue #$ARGUMENTS following our style.",
    )
    write(root / ".sous" / "commands" / "pair.md", "Compare $0 with $1.")
    write(root / ".claude" / "commands" / "legacy.md", "First is $1, second is $2.")
    write(root / ".claude" / "commands" / "named.md", "---\narguments: [issue, branch]\n---\nIssue $issue on $branch.")
    write(root / ".claude" / "commands" / "review.md", "Review the code.")
    write(
        root / ".claude" / "commands" / "status.md",
        "---\nallowed-tools: Bash(git status:*), Bash(git add:*)\n---\nStatus:\n!`git status --short`\nExplain.",
    )
    write(root / ".claude" / "commands" / "forbidden.md", "Danger: !`touch pwned.txt`")
    write(root / ".claude" / "commands" / "withfile.md", "Summarise @notes.txt please.")
    write(root / "notes.txt", "alpha beta")
    write(
        root / ".claude" / "skills" / "deploy" / "SKILL.md",
        "---\nname: deploy\ndescription: Deploy the app to staging\nallowed-tools: [Bash]\n---\n"
        "Run ${CLAUDE_SKILL_DIR}/deploy.sh with $ARGUMENTS.",
    )
    write(
        root / ".claude" / "skills" / "secret" / "SKILL.md",
        "---\ndescription: Only for people\ndisable-model-invocation: yes\n---\nSecret steps.",
    )
    return root


def test_discovery_names_precedence_and_frontmatter(project, tmp_path):
    home = tmp_path / "home"
    write(home / ".claude" / "commands" / "review.md", "My own review checklist.")
    write(project / ".claude" / "commands" / "deploy.md", "the command loses to the skill")
    found = commands.discover(str(project), {"HOME": str(home), "SOUS_HOME": str(tmp_path / "sous")})
    assert {"fix-issue", "pair", "legacy", "named", "review", "deploy", "secret"} <= set(found)
    assert found["review"].body == "My own review checklist."  # personal beats project
    assert found["deploy"].skill and found["deploy"].allowed_tools == ["Bash"]
    assert found["fix-issue"].description == "Fix an issue" and found["fix-issue"].meta["argument-hint"] == ["number"]
    assert not found["secret"].model_invocable and found["deploy"].model_invocable


def expand(project: Path, text: str, **kw) -> str:
    found = commands.discover(str(project), {"HOME": str(project)})
    command, args = commands.split_invocation(text, found)
    return commands.expand(command, args, cwd=str(project), **kw)


def test_arguments_numbering_conventions_and_names(project):
    assert expand(project, "/fix-issue 123") == "Fix issue #123 following our style."
    assert expand(project, "/pair 'a b' c") == "Compare a b with c."  # 0-based, shell-style quoting
    assert expand(project, "/legacy x y") == "First is x, second is y."  # 1-based body, read as written
    assert expand(project, "/named 42 main") == "Issue 42 on main."
    assert expand(project, "/review src/app.py") == "Review the code.\n\nARGUMENTS: src/app.py"


def test_shell_placeholders_run_only_when_allowed(project):
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    text = expand(project, "/status", allow_shell=lambda cmd: cmd.startswith("git status"))
    assert text.startswith("Status:\n") and "?? notes.txt" in text
    with pytest.raises(commands.ExpansionError, match="not allowed"):
        expand(project, "/forbidden")
    assert not (project / "pwned.txt").exists()


def test_fenced_shell_blocks_run_too(project):
    write(project / ".claude" / "commands" / "env.md", "Facts:\n```!\necho one && echo two\n```\nGo.")
    assert expand(project, "/env", allow_shell=lambda cmd: True) == "Facts:\none\ntwo\nGo."


def test_file_inclusion(project):
    assert "```\nalpha beta\n```" in expand(project, "/withfile")


def sous_p(project: Path, prompt: str, turns: list, *flags: str) -> tuple[subprocess.CompletedProcess, dict]:
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            prompt,
            "--model",
            f"scripted:{script}",
            "--output-format",
            "stream-json",
            "--verbose",
            *flags,
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent)},
    )
    out = [json.loads(line) for line in run.stdout.splitlines()]
    return run, out


def test_slash_command_in_print_mode_and_its_allowed_tools_hold_for_that_turn_only(project):
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    environ = {**os.environ, "HOME": str(project.parent)}
    trust.approve(trust.check(project, environ), environ)  # `sous trust --yes`: the commands' allowed-tools
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": "git add notes.txt"}}]}, {"text": "staged"}]
    run, out = sous_p(project, "/status", turns)
    assert run.returncode == 0, run.stderr
    assert out[-1]["permission_denials"] == []  # Bash(git add:*) came from the command
    trust.reset(project, environ)  # not approved: the command's allowed-tools are left out
    run, out = sous_p(project, "/status", turns)
    assert [d["tool_name"] for d in out[-1]["permission_denials"]] == ["Bash"] and "allowed-tools" in run.stderr
    trust.approve(trust.check(project, environ), environ)
    first = transcript.load(transcript.find(out[0]["session_id"])).messages[0]
    assert first.text.startswith("Status:\n") and "Explain." in first.text
    again, out = sous_p(project, "stage the notes", turns)
    assert [d["tool_name"] for d in out[-1]["permission_denials"]] == ["Bash"]


def test_a_forbidden_placeholder_stops_the_invocation(project):
    run, out = sous_p(project, "/forbidden", [{"text": "never"}])
    assert run.returncode == 1 and "not allowed" in out[-1]["result"]
    assert not (project / "pwned.txt").exists()


def test_the_model_loads_a_skill_through_the_skill_tool(project):
    turns = [{"tool_calls": [{"name": "Skill", "input": {"skill": "deploy", "args": "v2"}}]}, {"text": "deploying"}]
    run, out = sous_p(project, "ship it", turns, "--allowedTools", "Skill")  # Skill asks, as in Claude Code
    assert run.returncode == 0, run.stderr
    assert "Skill" in out[0]["tools"]
    result = next(o for o in out if o["type"] == "user")["message"]["content"][0]["content"]
    assert (
        result.startswith("Skill deploy is loaded") and f"{project}/.claude/skills/deploy/deploy.sh with v2" in result
    )
    refused = [{"tool_calls": [{"name": "Skill", "input": {"skill": "secret"}}]}, {"text": "ok"}]
    _, out = sous_p(project, "x", refused, "--allowedTools", "Skill")
    assert "Unknown skill" in next(o for o in out if o["type"] == "user")["message"]["content"][0]["content"]


def test_frontmatter_is_yaml_with_claude_code_semantics():
    meta, body = commands.frontmatter(
        '---\ndescription: |\n  Reviews code.\n  Use after edits.\nmodel: "sonnet" # pinned\n'
        "tools: Read, Grep\nallowed-tools:\n  - Bash(git *)\n  - Read\nmaxTurns: 5\n---\nThe body."
    )
    assert meta["description"] == "Reviews code.\nUse after edits.\n"
    assert meta["model"] == "sonnet"
    assert meta["tools"] == "Read, Grep"
    assert meta["allowed-tools"] == ["Bash(git *)", "Read"]
    assert meta["maxTurns"] == 5
    assert body == "The body."


def test_frontmatter_that_is_not_valid_yaml_is_read_line_by_line():
    meta, body = commands.frontmatter("---\nname: fixer\ndescription: Use when: the build breaks # soon\n---\nb")
    assert meta == {"name": "fixer", "description": "Use when: the build breaks"}
    assert body == "b"
    assert commands.frontmatter("---\n- a list\n---\nbody") == ({}, "body")
    assert commands.frontmatter("no head") == ({}, "no head")


def test_agent_definitions_read_block_descriptions_comments_and_tool_lists(tmp_path):
    from sous import agents

    folder = tmp_path / ".claude" / "agents"
    write(
        folder / "reviewer.md",
        "---\nname: reviewer\ndescription: |\n  Reviews diffs.\n"
        'model: "haiku" # cheap\ntools: Read, Grep\n---\nYou review.',
    )
    write(folder / "lister.md", "---\nname: lister\ndescription: Lists\ntools:\n  - Glob\n  - Read\n---\nYou list.")
    found = agents.discover(str(tmp_path), {"SOUS_HOME": str(tmp_path / "home"), "HOME": str(tmp_path / "home")})
    assert found["reviewer"].description == "Reviews diffs."
    assert found["reviewer"].model == "haiku"
    assert found["reviewer"].tools == ("Read", "Grep")
    assert found["lister"].tools == ("Glob", "Read")
