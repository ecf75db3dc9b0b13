"""Permissions around the sandbox: leaving it is always asked (typed in bypassPermissions mode,
denied in dontAsk mode, never remembered), and with `autoAllowBashIfSandboxed` a sandboxed command
runs without asking unless a deny or ask rule, the safety floor or an unreadable command says
otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import sous
from sous.core import ToolCall, ToolContext
from sous.permissions import Answer, PermissionMiddleware, Rules
from sous.tools import _sandbox

SRC = str(Path(sous.__file__).resolve().parents[1])


class Person:
    """Answers every question with `answer`, remembering what it was asked."""

    def __init__(self, answer: Answer):
        self.answer = answer
        self.asked = []

    async def __call__(self, call, decision):
        self.asked.append(decision)
        return self.answer


def _middleware(mode: str, person: Person | None, *, auto: bool = False, **rules) -> PermissionMiddleware:
    perms = PermissionMiddleware(Rules.from_lists(**rules), mode, asker=person)
    perms.sandboxed, perms.auto_allow_sandboxed = True, auto
    return perms


async def _decide(perms: PermissionMiddleware, command: str, **extra) -> str:
    ctx = ToolContext(cwd="/p", project_dir="/p")
    decision = await perms.check(ToolCall(id="1", name="Bash", arguments={"command": command, **extra}), ctx)
    return type(decision).__name__


OUT = {"dangerouslyDisableSandbox": True}


@pytest.mark.parametrize("yes", [True, False])
async def test_bypass_mode_asks_with_a_typed_yes_before_leaving_the_sandbox(yes):
    person = Person(Answer(allow=yes))
    perms = _middleware("bypassPermissions", person)
    assert await _decide(perms, "touch /elsewhere/x", **OUT) == ("Allow" if yes else "Deny")
    assert [(d.source, d.confirm) for d in person.asked] == [("sandbox", "typed")]
    assert await _decide(perms, "touch /elsewhere/x") == "Allow"  # inside the sandbox: bypass as before
    assert len(person.asked) == 1


async def test_dont_ask_mode_denies_leaving_the_sandbox_even_when_a_rule_allows_the_command():
    person = Person(Answer(allow=True))
    perms = _middleware("dontAsk", person, allow=["Bash(touch *)"])
    assert await _decide(perms, "touch x", **OUT) == "Deny" and person.asked == []
    assert await _decide(perms, "touch x") == "Allow"
    assert await _decide(perms, "touch /elsewhere/x") == "Deny"  # writing outside the project is the floor's


async def test_leaving_the_sandbox_is_asked_every_time_whatever_the_answer_said():
    person = Person(Answer(allow=True, duration="always"))
    perms = _middleware("default", person, allow=["Bash(touch *)"])
    for _ in range(2):
        assert await _decide(perms, "touch x", **OUT) == "Allow"
    assert [(d.source, d.confirm) for d in person.asked] == [("sandbox", "typed"), ("sandbox", "typed")]
    assert [str(r) for r in perms.rules.allow] == ["Bash(touch *)"] and not perms.grants.active()


@pytest.mark.parametrize("mode", ["default", "acceptEdits", "dontAsk"])
async def test_sandboxed_commands_run_without_asking(mode):
    person = Person(Answer(allow=False))
    perms = _middleware(mode, person, auto=True)
    for command in ("touch out.txt", "npm test", "python -m pytest -q", "echo x > build.log", "git commit -qm x"):
        assert await _decide(perms, command) == "Allow", command
    assert person.asked == []


@pytest.mark.parametrize(
    ("command", "rules", "mode"),
    [
        ("git push origin main", {"ask": ["Bash(git push *)"]}, "default"),  # ask rule
        ("curl https://example.com", {"deny": ["Bash(curl *)"]}, "default"),  # deny rule
        ("rm -rf ~", {}, "default"),  # the safety floor
        ('eval "$X"', {}, "default"),  # cannot be read
        ('bash -c "$Y"', {}, "default"),
        ("cp .env copy.txt", {"deny": ["Read(./.env)"]}, "default"),  # a Read deny rule names the file
        ("echo x > secrets/a", {"deny": ["Edit(secrets/**)"]}, "default"),
        ("touch x", {}, "plan"),  # plan mode stays read-only
    ],
)
async def test_what_still_stops_a_sandboxed_command(command, rules, mode):
    person = Person(Answer(allow=False))
    perms = _middleware(mode, person, auto=True, **rules)
    assert await _decide(perms, command) == "Deny"


async def test_without_auto_allow_or_outside_the_sandbox_commands_ask_as_before():
    person = Person(Answer(allow=False))
    assert await _decide(_middleware("default", person), "touch out.txt") == "Deny"
    assert await _decide(_middleware("default", person, auto=True), "touch out.txt", **OUT) == "Deny"
    assert [d.source for d in person.asked] == ["mode:default", "mode:default"]


# --- end to end, with sous -p, real bubblewrap and real bash --------------------------------------


def _sous_p(project: Path, turns: list, *args: str, settings: dict) -> dict:
    (project / ".claude").mkdir(parents=True, exist_ok=True)
    (project / ".claude" / "settings.json").write_text(json.dumps(settings))
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    run = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "go", "--model", f"scripted:{script}", "--output-format", "json", *args],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=90,
        check=False,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    return json.loads(run.stdout)


@pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")
def test_sous_p_runs_sandboxed_commands_and_refuses_to_leave_in_bypass_mode(tmp_path):
    project = tmp_path / "project"
    outside = Path(tempfile.mkdtemp(prefix="sous-sandbox-test-", dir="/var/tmp"))
    try:
        turns = [
            {"tool_calls": [{"name": "Bash", "input": {"command": "touch made-inside"}}]},
            {"tool_calls": [{"name": "Bash", "input": {"command": f"touch {outside}/x"}}]},
            {"tool_calls": [{"name": "Bash", "input": {"command": f"touch {outside}/y", **OUT}}]},
            {"text": "ok"},
        ]
        result = _sous_p(project, turns, settings={"sandbox": {"enabled": True}})  # default mode, no rules
        assert (project / "made-inside").exists() and not (outside / "x").exists()
        # the write outside is stopped by the permission floor before the sandbox is reached
        assert [d["tool_input"].get("dangerouslyDisableSandbox") for d in result["permission_denials"]] == [None, True]
        bypass = _sous_p(
            project, turns[2:], "--permission-mode", "bypassPermissions", settings={"sandbox": {"enabled": True}}
        )
        assert not (outside / "y").exists() and len(bypass["permission_denials"]) == 1
        off = _sous_p(project, turns[:1], settings={"sandbox": {"enabled": True, "autoAllowBashIfSandboxed": False}})
        assert len(off["permission_denials"]) == 1
        wrong = _sous_p(project, turns[:1], settings={"sandbox": {"enabled": True, "autoAllowBashIfSandboxed": "no"}})
        assert len(wrong["permission_denials"]) == 1  # a value of the wrong type never widens
    finally:
        import shutil

        shutil.rmtree(outside)


@pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")
def test_a_project_setting_home_elsewhere_does_not_uncover_the_users_keys(tmp_path):
    """The sandbox hides the credential files of the person's home folder: the one sous was
    started with, not a `HOME` that a project's settings `env` sets for its commands."""
    root = Path(tempfile.mkdtemp(prefix="sous-sandbox-home-", dir="/var/tmp"))  # the sandbox's /tmp is its own
    try:
        home, project = root / "home", root / "project"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY")
        (project / "elsewhere").mkdir(parents=True)
        turns = [
            {"tool_calls": [{"name": "Bash", "input": {"command": f"cat {home}/.ssh/id_rsa > seen.txt; echo $HOME"}}]},
            {"text": "ok"},
        ]
        settings = {"sandbox": {"enabled": True}, "env": {"HOME": str(project / "elsewhere")}}
        (project / ".claude").mkdir()
        (project / ".claude" / "settings.json").write_text(json.dumps(settings))
        (root / "turns.json").write_text(json.dumps(turns))
        run = subprocess.run(
            [sys.executable, "-m", "sous", "-p", "go", "--model", f"scripted:{root / 'turns.json'}"],
            cwd=project,
            text=True,
            capture_output=True,
            timeout=90,
            check=False,
            env={**os.environ, "PYTHONPATH": SRC, "HOME": str(home)},
        )
        assert run.returncode == 0, run.stderr
        assert (project / "seen.txt").exists(), "the command ran"
        assert "PRIVATE" not in (project / "seen.txt").read_text()
    finally:
        import shutil

        shutil.rmtree(root)


@pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")
def test_bare_keeps_the_sandbox_that_settings_given_on_the_command_line_ask_for(tmp_path):
    """`--bare` skips what the project's files add; a sandbox asked for with `--settings` (or by
    managed settings) still holds, rather than commands running outside it unannounced."""
    project = tmp_path / "project"
    project.mkdir()
    outside = Path(tempfile.mkdtemp(prefix="sous-sandbox-bare-", dir="/var/tmp"))
    try:
        script = tmp_path / "turns.json"
        script.write_text(
            json.dumps([{"tool_calls": [{"name": "Bash", "input": {"command": f"touch {outside}/x"}}]}, {"text": "ok"}])
        )
        run = subprocess.run(
            [sys.executable, "-m", "sous", "-p", "go", "--bare", "--model", f"scripted:{script}"]
            + ["--permission-mode", "bypassPermissions", "--settings", json.dumps({"sandbox": {"enabled": True}})],
            cwd=project,
            text=True,
            capture_output=True,
            timeout=90,
            check=False,
            env={**os.environ, "PYTHONPATH": SRC},
        )
        assert run.returncode == 0, run.stderr
        assert not (outside / "x").exists()
    finally:
        import shutil

        shutil.rmtree(outside)


@pytest.mark.parametrize("mode", ["default", "bypassPermissions", "dontAsk"])
async def test_with_no_way_out_a_call_asking_to_leave_is_decided_as_the_sandboxed_command_it_is(mode):
    """`sandbox.allowUnsandboxedCommands: false`: the Bash tool ignores the flag, so nobody is asked
    to let the command out, and nothing is refused for asking."""
    person = Person(Answer(allow=True))
    perms = _middleware(mode, person, auto=True, deny=["Bash(rm:*)"])
    perms.sandbox_escape = False
    assert await _decide(perms, "pytest -q", **OUT) == "Allow" and person.asked == []
    assert await _decide(perms, "rm -rf build", **OUT) == "Deny"  # the rules still stand


@pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")
def test_sous_p_with_allow_unsandboxed_commands_false_keeps_every_command_in(tmp_path):
    project = tmp_path / "project"
    outside = Path(tempfile.mkdtemp(prefix="sous-sandbox-test-", dir="/var/tmp"))
    touch = f"{sys.executable} -c \"import pathlib; pathlib.Path('{outside}/y').touch()\""
    try:
        turns = [{"tool_calls": [{"name": "Bash", "input": {"command": touch, **OUT}}]}, {"text": "done"}]
        settings = {"sandbox": {"enabled": True, "allowUnsandboxedCommands": False}}
        result = _sous_p(project, turns, "--permission-mode", "bypassPermissions", settings=settings)
        assert result["result"] == "done" and not (outside / "y").exists()
        assert result["permission_denials"] == []  # it ran, in the sandbox: not refused for asking to leave
    finally:
        shutil.rmtree(outside)
