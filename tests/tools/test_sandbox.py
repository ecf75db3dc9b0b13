"""The Bash sandbox with bubblewrap: inside the project work succeeds; deleting outside it and the
network fail, and the model is told how to ask for more."""

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
from sous.core import ToolContext
from sous.tools import _sandbox
from sous.tools.bash import TOOL

pytestmark = pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")
SRC = str(Path(sous.__file__).resolve().parents[1])


@pytest.fixture
def outside():
    """A folder outside the project."""
    folder = Path(tempfile.mkdtemp(prefix="sous-sandbox-test-"))
    (folder / "precious.txt").write_text("keep me")
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def world(tmp_path: Path, outside: Path):
    project = tmp_path / "project"
    project.mkdir()
    ctx = ToolContext(cwd=str(project), project_dir=str(project),
                      state={"sandbox": _sandbox.Sandbox(writable=(str(project),))})
    return project, outside, ctx


async def test_work_inside_the_project_succeeds(world):
    project, _, ctx = world
    result = await TOOL.run({"command": "mkdir -p out && echo built > out/a.txt && cat out/a.txt && "
                                        "t=$(mktemp) && echo scratch > $t && cat $t"}, ctx)
    assert not result.is_error and result.content == "built\nscratch"
    assert (project / "out" / "a.txt").read_text() == "built\n"


async def test_a_recursive_delete_outside_fails_and_says_why(world):
    _, outside, ctx = world
    result = await TOOL.run({"command": f"rm -rf {outside}"}, ctx)
    assert result.is_error and (outside / "precious.txt").read_text() == "keep me"
    assert "Read-only file system" in result.content and "dangerouslyDisableSandbox" in result.content


async def test_the_network_is_off(world):
    _, _, ctx = world
    code = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"
    result = await TOOL.run({"command": f"{sys.executable} -c \"{code}\""}, ctx)
    assert result.is_error and "Network is unreachable" in result.content


async def test_leaving_the_sandbox_is_possible_when_allowed(world):
    _, outside, ctx = world
    result = await TOOL.run({"command": f"touch {outside}/new.txt", "dangerouslyDisableSandbox": True}, ctx)
    assert not result.is_error and (outside / "new.txt").exists()


def test_sous_p_with_the_sandbox_asks_to_leave_it(tmp_path, outside):
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "settings.json").write_text(json.dumps({"sandbox": {"enabled": True}}))
    turns = [{"tool_calls": [{"name": "Bash", "input": {"command": f"touch {outside}/x"}}]},
             {"tool_calls": [{"name": "Bash", "input": {"command": f"touch {outside}/y",
                                                         "dangerouslyDisableSandbox": True}}]}, {"text": "ok"}]
    (tmp_path / "turns.json").write_text(json.dumps(turns))
    run = subprocess.run([sys.executable, "-m", "sous", "-p", "go", "--model", f"scripted:{tmp_path / 'turns.json'}",
                          "--allowedTools", "Bash(touch *)", "--output-format", "json"], cwd=project, text=True,
                         capture_output=True, timeout=60, env={**os.environ, "PYTHONPATH": SRC})
    result = json.loads(run.stdout)
    assert not (outside / "x").exists() and not (outside / "y").exists()
    assert [d["tool_input"].get("dangerouslyDisableSandbox") for d in result["permission_denials"]] == [True]
