"""The builder's shortcut for project trust: a project without any of the files the trust check
reads has nothing pending, and `permissions.trust` is not imported for it; any one of those files
brings the full check back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.permissions import trust
from sous.runtime.trusted import checked, project_trust_of

SRC = str(Path(sous.__file__).resolve().parents[1])
PROJECT_FILES = [
    ".mcp.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".sous/settings.json",
    ".sous/settings.local.json",
]
HOOK = {"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "echo ran"}]}]}}
SERVER = {"mcpServers": {"helper": {"command": "helper-server"}}}


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "project"
    root.mkdir()
    return root, {"HOME": str(tmp_path / "home"), "SOUS_HOME": str(tmp_path / "sous")}


def test_a_project_with_none_of_the_files_has_nothing_to_check(project):
    root, environ = project
    (root / ".claude").mkdir()  # a folder alone names nothing
    assert project_trust_of(str(root), environ, None) is None
    assert trust.check(str(root), environ).pending == []


@pytest.mark.parametrize("name", PROJECT_FILES)
def test_any_one_of_the_files_brings_the_full_check_back(project, name):
    root, environ = project
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(SERVER if name == ".mcp.json" else HOOK))
    found = project_trust_of(str(root), environ, None)
    assert found is not None
    assert found.pending == trust.check(str(root), environ).pending != []


@pytest.mark.parametrize("content", ["{not json", "", "[]"])
def test_an_unreadable_file_is_still_checked_and_holds_nothing(project, content):
    root, environ = project
    (root / ".mcp.json").write_text(content)
    found = project_trust_of(str(root), environ, None)
    assert found is not None and found.pending == []


def test_a_dangling_settings_link_names_nothing_either_way(project):
    root, environ = project
    (root / ".claude").mkdir()
    (root / ".claude" / "settings.json").symlink_to(root / "missing.json")
    assert project_trust_of(str(root), environ, None) is None
    assert trust.check(str(root), environ).pending == []


def test_checked_does_the_full_check_only_for_a_missing_state(project):
    root, environ = project
    (root / ".mcp.json").write_text(json.dumps(SERVER))
    state = checked(None, str(root), environ, None)
    assert [e.name for e in state.pending] == ["helper"]
    assert checked(state, str(root), environ, None) is state


def test_opening_a_session_in_such_a_project_does_not_import_the_trust_module(project):
    root, environ = project
    code = (
        "import sys; from sous.runtime import Options, open_session; "
        "from sous.models.scripted import ScriptedModel; "
        f"open_session(Options(cwd={str(root)!r}, model=ScriptedModel([]), persist=False, environ={environ!r})); "
        "print('sous.permissions.trust' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": SRC, **environ}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
