"""Sixteen setups in the style people publish for Claude Code (hook scripts from the docs' examples
and public dotfiles, commands and skills), rewritten here, run through the real `sous -p`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.permissions import trust
from sous.store import transcript

SRC = str(Path(sous.__file__).resolve().parents[1])


def put(path: Path, text: str, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


class Project:
    def __init__(self, root: Path):
        self.root = root
        self.settings: dict = {"hooks": {}}

    def hook(self, event: str, matcher: str, script: str, name: str) -> None:
        path = put(self.root / ".claude" / "hooks" / name, script, executable=True)
        command = f"{sys.executable} {path}" if name.endswith(".py") else str(path)
        self.settings["hooks"].setdefault(event, []).append(
            {"matcher": matcher, "hooks": [{"type": "command", "command": command}]}
        )

    def run(self, prompt: str, turns: list, *flags: str) -> tuple[int, list[dict], str]:
        put(self.root / ".claude" / "settings.json", json.dumps(self.settings))
        trust.approve(trust.check(self.root, {**os.environ, "HOME": str(self.root.parent)}))  # `sous trust --yes`
        script = put(self.root.parent / "turns.json", json.dumps(turns))
        done = subprocess.run(
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
            cwd=self.root,
            text=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": SRC, "HOME": str(self.root.parent)},
        )
        return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr

    def messages(self, out: list[dict]):
        return transcript.load(transcript.find(out[-1]["session_id"])).messages


def results(out: list[dict]) -> list[str]:
    return [o["message"]["content"][0]["content"] for o in out if o["type"] == "user"]


def bash(command: str) -> dict:
    return {"tool_calls": [{"name": "Bash", "input": {"command": command}}]}


DONE = {"text": "done"}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return Project(root)


# 1. The docs' Bash command validator: prefer rg over grep, exit 2 with the advice on stderr.
def test_bash_command_validator(project):
    project.hook(
        "PreToolUse",
        "Bash",
        r"""
import json, re, sys
command = json.load(sys.stdin)["tool_input"].get("command", "")
rules = [(r"\bgrep\b(?!.*\|)", "Use 'rg' (ripgrep) instead of 'grep' for better performance"),
         (r"\bfind\s+\S+\s+-name\b", "Use 'rg --files -g pattern' instead of 'find -name'")]
issues = [msg for pattern, msg in rules if re.search(pattern, command)]
if issues:
    print("\n".join("- " + i for i in issues), file=sys.stderr)
    sys.exit(2)
""",
        "validate_bash.py",
    )
    code, out, _ = project.run(
        "search", [bash("grep -r TODO ."), bash("rg TODO ."), DONE], "--dangerously-skip-permissions"
    )
    first, second = results(out)
    assert "Use 'rg' (ripgrep) instead of 'grep'" in first and "Exit code" not in first
    assert "Use 'rg'" not in second


# 2. Protected files: block edits of .env, lockfiles and .git internals.
def test_protect_sensitive_files(project):
    project.hook(
        "PreToolUse",
        "Edit|MultiEdit|Write",
        r"""
import json, sys
path = json.load(sys.stdin)["tool_input"].get("file_path", "")
if any(p in path for p in (".env", "package-lock.json", ".git/")):
    print(f"Blocked: {path} is a protected file", file=sys.stderr); sys.exit(2)
""",
        "protect.py",
    )
    turns = [
        {"tool_calls": [{"name": "Write", "input": {"file_path": ".env", "content": "KEY=1"}}]},
        {"tool_calls": [{"name": "Write", "input": {"file_path": "app.py", "content": "x = 1\n"}}]},
        DONE,
    ]
    _, out, _ = project.run("write", turns, "--permission-mode", "acceptEdits")
    assert not (project.root / ".env").exists() and (project.root / "app.py").exists()
    assert "is a protected file" in results(out)[0]


# 3. The docs' command logger: jq pulls the command and description into a log file.
def test_log_every_bash_command_with_jq(project):
    log = project.root.parent / "bash-commands.log"
    project.hook(
        "PreToolUse",
        "Bash",
        f"""#!/bin/bash
jq -r '"\\(.tool_input.command) - \\(.tool_input.description // "No description")"' >> {log}
""",
        "log.sh",
    )
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "ls", "description": "List files"}}]},
        bash("pwd"),
        DONE,
    ]
    project.run("look", turns, "--dangerously-skip-permissions")
    assert log.read_text().splitlines() == ["ls - List files", "pwd - No description"]


# 4. A formatter after writes: make sure every written file ends with a newline.
def test_end_of_file_fixer_after_write(project):
    project.hook(
        "PostToolUse",
        "Write|Edit",
        r"""
import json, sys
path = json.load(sys.stdin)["tool_input"]["file_path"]
text = open(path).read()
if not text.endswith("\n"):
    open(path, "w").write(text + "\n")
""",
        "eof.py",
    )
    turns = [{"tool_calls": [{"name": "Write", "input": {"file_path": "notes.md", "content": "# Notes"}}]}, DONE]
    project.run("write", turns, "--permission-mode", "acceptEdits")
    assert (project.root / "notes.md").read_text() == "# Notes\n"


# 5. Auto-approve writes under docs/ (JSON allow), everything else still asks (and -p denies).
def test_auto_approve_docs_writes(project):
    project.hook(
        "PreToolUse",
        "Write",
        r"""
import json, sys
path = json.load(sys.stdin)["tool_input"]["file_path"]
if "/docs/" in path:
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow",
                                             "permissionDecisionReason": "docs are fair game"}}))
""",
        "docs.py",
    )
    turns = [
        {"tool_calls": [{"name": "Write", "input": {"file_path": "docs/guide.md", "content": "hi"}}]},
        {"tool_calls": [{"name": "Write", "input": {"file_path": "src/app.py", "content": "x"}}]},
        DONE,
    ]
    _, out, _ = project.run("write", turns)
    assert (project.root / "docs" / "guide.md").exists() and not (project.root / "src" / "app.py").exists()
    assert [d["tool_input"]["file_path"] for d in out[-1]["permission_denials"]] == ["src/app.py"]


# 6. Tests must pass before stopping; the usual stop_hook_active guard prevents a loop.
def test_stop_until_tests_pass_with_the_loop_guard(project):
    project.hook(
        "Stop",
        "",
        r"""
import json, os, sys
data = json.load(sys.stdin)
if data.get("stop_hook_active"):
    sys.exit(0)
if not os.path.exists("tests_passed"):
    print("Tests have not been run. Run them before finishing.", file=sys.stderr); sys.exit(2)
""",
        "stop.py",
    )
    code, out, _ = project.run(
        "fix it",
        [{"text": "Fixed."}, bash("touch tests_passed"), {"text": "Tests pass."}],
        "--dangerously-skip-permissions",
    )
    assert out[-1]["result"] == "Tests pass." and out[-1]["num_turns"] == 3
    assert "Run them before finishing." in project.messages(out)[2].text


# 7. Context on every prompt: plain stdout of UserPromptSubmit is added for the model.
def test_prompt_context_from_plain_stdout(project):
    project.hook(
        "UserPromptSubmit",
        "",
        '#!/bin/sh\necho "Current branch: $(git -C "$CLAUDE_PROJECT_DIR" symbolic-ref --short HEAD)"\n',
        "branch.sh",
    )
    _, out, _ = project.run("what branch?", [{"text": "main or master"}])
    first = project.messages(out)[0].text
    assert "Current branch: " in first and first.startswith("what branch?")


# 8. Refuse prompts that contain a secret (JSON decision block).
def test_block_prompts_with_secrets(project):
    project.hook(
        "UserPromptSubmit",
        "",
        r"""
import json, re, sys
prompt = json.load(sys.stdin)["prompt"]
if re.search(r"(?i)(password|secret|api[_-]?key)\s*[:=]", prompt):
    print(json.dumps({"decision": "block", "reason": "Security policy: the prompt contains a secret."}))
""",
        "secrets.py",
    )
    code, out, _ = project.run("use api_key= sk-123 to call it", [{"text": "never"}])
    assert code == 1 and "Security policy" in out[-1]["result"]


# 9. SessionStart context: recent commits for orientation.
def test_session_start_context(project):
    subprocess.run(
        [
            "git",
            "-C",
            str(project.root),
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=a",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "Initial skeleton",
        ],
        check=True,
    )
    project.hook("SessionStart", "startup", "#!/bin/sh\necho 'Recent commits:'; git log --oneline -5\n", "start.sh")
    _, out, _ = project.run("hi", [{"text": "hello"}])
    assert "Initial skeleton" in project.messages(out)[0].text


# 10. Rewrite the input: npm becomes pnpm.
def test_rewrite_npm_to_pnpm(project):
    project.hook(
        "PreToolUse",
        "Bash",
        r"""
import json, re, sys
command = json.load(sys.stdin)["tool_input"]["command"]
if re.match(r"npm\b", command):
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
                      "updatedInput": {"command": "echo would-run: p" + command}}}))
""",
        "pnpm.py",
    )
    _, out, _ = project.run("install", [bash("npm install"), DONE], "--dangerously-skip-permissions")
    assert results(out)[0] == "would-run: pnpm install"


# 11. Type-check feedback after edits (decision block → the model reads it).
def test_type_check_feedback(project):
    project.hook(
        "PostToolUse",
        "Write",
        r"""
import json, sys
data = json.load(sys.stdin)
if "Any" in data["tool_input"]["content"]:
    print(json.dumps({"decision": "block", "reason": "mypy: avoid Any in " + data["tool_input"]["file_path"]}))
""",
        "typecheck.py",
    )
    turns = [{"tool_calls": [{"name": "Write", "input": {"file_path": "m.py", "content": "x: Any = 1\n"}}]}, DONE]
    _, out, _ = project.run("write", turns, "--permission-mode", "acceptEdits")
    assert "mypy: avoid Any in" in results(out)[0] and "File created successfully" in results(out)[0]


# 12. A budget guard that stops everything with continue: false.
def test_continue_false_stops_the_run(project):
    project.hook(
        "PreToolUse",
        "Bash",
        'import json\nprint(json.dumps({"continue": False, "stopReason": "Daily command budget used up"}))\n',
        "budget.py",
    )
    code, out, err = project.run("go", [bash("echo 1"), bash("echo 2"), DONE], "--dangerously-skip-permissions")
    assert out[-1]["is_error"] and out[-1]["num_turns"] == 1
    assert not any("echo 2" in json.dumps(o) for o in out)
    # the model and the transcript are told what stopped the run, never that the person did
    said = json.dumps(out)
    assert "interrupted by user" not in said and "Run stopped: " in said and "Daily command budget used up" in said


# 13. /commit: staged diff through a permission-checked placeholder, git commands pre-approved.
def test_commit_command(project):
    put(project.root / "a.txt", "content\n")
    for key, value in (("user.email", "a@b"), ("user.name", "a")):
        subprocess.run(["git", "-C", str(project.root), "config", key, value], check=True)
    subprocess.run(["git", "-C", str(project.root), "add", "a.txt"], check=True)
    put(
        project.root / ".claude" / "commands" / "commit.md",
        "---\nallowed-tools: Bash(git add:*), Bash(git status:*), Bash(git commit:*), Bash(git diff:*)\n"
        "argument-hint: [message]\ndescription: Create a git commit\n---\n"
        "## Context\n- Staged changes: !`git diff --staged --stat`\n\n## Task\nCommit with message: $ARGUMENTS",
    )
    turns = [bash("git commit -q -m 'Add a'"), {"text": "Committed."}]
    code, out, _ = project.run("/commit Add a", turns)
    assert code == 0 and out[-1]["permission_denials"] == []
    first = project.messages(out)[0].text
    assert "a.txt | 1 +" in first and first.endswith("Commit with message: Add a")
    log = subprocess.run(["git", "-C", str(project.root), "log", "--oneline"], capture_output=True, text=True).stdout
    assert "Add a" in log


# 14. /review with a positional argument and an included file.
def test_review_command_with_file_inclusion(project):
    put(project.root / "CONTRIBUTING.md", "Small PRs, tests required.")
    put(
        project.root / ".claude" / "commands" / "review.md",
        "Review PR #$0 against our rules in @CONTRIBUTING.md and report problems.",
    )
    _, out, _ = project.run("/review 42", [{"text": "LGTM"}])
    first = project.messages(out)[0].text
    assert first.startswith("Review PR #42 against") and "Small PRs, tests required." in first


# 15. A skill with a supporting script, loaded by the model and run with its allowed tool.
def test_skill_with_supporting_script(project):
    skill = project.root / ".claude" / "skills" / "changelog"
    put(
        skill / "SKILL.md",
        "---\nname: changelog\ndescription: Update CHANGELOG.md from git history\n"
        "allowed-tools: Bash\n---\nRun `${CLAUDE_SKILL_DIR}/scripts/gen.sh` and commit nothing.",
    )
    put(skill / "scripts" / "gen.sh", "#!/bin/sh\necho '## Unreleased' > CHANGELOG.md\n", executable=True)
    turns = [
        {"tool_calls": [{"name": "Skill", "input": {"skill": "changelog"}}]},
        bash(f"{skill}/scripts/gen.sh"),
        DONE,
    ]
    _, out, _ = project.run("update the changelog", turns, "--allowedTools", "Skill", "Bash")
    assert f"{skill}/scripts/gen.sh" in results(out)[0]
    assert (project.root / "CHANGELOG.md").read_text() == "## Unreleased\n"


# 16. Memory: AGENTS.md for any agent, CLAUDE.md importing it, a local file on top.
def test_agents_md_imported_from_claude_md(project):
    put(project.root / "AGENTS.md", "Run `make test` before committing.")
    put(project.root / "CLAUDE.md", "@AGENTS.md\n\nClaude-specific: keep answers short.")
    put(project.root / "CLAUDE.local.md", "My sandbox URL is http://localhost:8080.")
    _, out, _ = project.run("hi", [{"text": "ok"}])
    first = project.messages(out)[0].text
    assert first.count("Run `make test` before committing.") == 1
    assert first.index("keep answers short") < first.index("localhost:8080")
