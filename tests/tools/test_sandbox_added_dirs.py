"""The Bash sandbox and the added working folders (`--add-dir`): writable exactly there.

The folders live under /var/tmp, since the sandbox gives each command its own /tmp.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from sous.core import ToolContext
from sous.tools import _sandbox
from sous.tools._files import ADDED_DIRS
from sous.tools.bash import TOOL

pytestmark = pytest.mark.skipif(not _sandbox.usable(), reason="bubblewrap cannot run here")


@pytest.fixture
def world():
    root = Path(tempfile.mkdtemp(prefix="sous-added-test-", dir="/var/tmp")).resolve()
    project, shared, sibling = root / "project", root / "shared", root / "shared2"
    for folder in (project, shared / ".git" / "hooks", sibling):
        folder.mkdir(parents=True)
    (sibling / "precious.txt").write_text("keep me")
    (shared / "out").symlink_to(sibling)
    ctx = ToolContext(
        cwd=str(project),
        project_dir=str(project),
        state={"sandbox": _sandbox.Sandbox(writable=(str(project),)), ADDED_DIRS: [str(shared)]},
    )
    yield project, shared, sibling, ctx
    shutil.rmtree(root)


async def test_a_write_outside_the_added_folder_fails(world):
    _, shared, sibling, ctx = world
    for command in (
        f"echo x > {sibling}/precious.txt",
        f"echo x > {shared}/out/precious.txt",  # through a link out of the added folder
        f"echo x > {shared}/../shared2/precious.txt",
        f"rm -f {sibling}/precious.txt",
    ):
        result = await TOOL.run({"command": command}, ctx)
        assert result.is_error, command
    assert (sibling / "precious.txt").read_text() == "keep me"


async def test_git_hooks_in_the_added_folder_stay_read_only(world):
    _, shared, _, ctx = world
    result = await TOOL.run({"command": f"echo evil > {shared}/.git/hooks/pre-commit"}, ctx)
    assert result.is_error and not (shared / ".git" / "hooks" / "pre-commit").exists()


async def test_a_write_inside_the_added_folder_succeeds(world):
    _, shared, _, ctx = world
    result = await TOOL.run({"command": f"mkdir -p {shared}/gen && echo built > {shared}/gen/a.txt"}, ctx)
    assert not result.is_error, result.content
    assert (shared / "gen" / "a.txt").read_text() == "built\n"


async def test_without_the_added_folder_the_same_write_fails(world):
    _, shared, _, ctx = world
    ctx.state[ADDED_DIRS] = []
    result = await TOOL.run({"command": f"echo built > {shared}/a.txt"}, ctx)
    assert result.is_error and not (shared / "a.txt").exists()


async def test_a_folder_added_later_is_writable_from_the_next_command(world):
    _, shared, sibling, ctx = world
    ctx.state[ADDED_DIRS].append(str(sibling))
    result = await TOOL.run({"command": f"echo new > {sibling}/b.txt"}, ctx)
    assert not result.is_error and (sibling / "b.txt").read_text() == "new\n"


async def test_cd_into_an_added_folder_is_kept_and_out_of_it_is_reset(world):
    project, shared, sibling, ctx = world
    await TOOL.run({"command": f"cd {shared}"}, ctx)
    assert ctx.cwd == str(shared)
    result = await TOOL.run({"command": f"cd {sibling}"}, ctx)
    assert ctx.cwd == str(project) and "Shell cwd was reset" in str(result.content)


async def test_an_added_folder_replaced_by_a_symlink_does_not_make_its_target_writable(world):
    _, shared, sibling, ctx = world
    shared.rename(shared.parent / "shared.old")
    shared.symlink_to(sibling)
    result = await TOOL.run({"command": f"echo x > {shared}/precious.txt"}, ctx)
    assert result.is_error and (sibling / "precious.txt").read_text() == "keep me"


async def test_a_writable_path_a_command_makes_a_symlink_does_not_make_its_target_writable(world):
    """A `sandbox.writablePaths` folder that does not exist yet (a build folder) can be made by a
    sandboxed command itself, as a link: the next command must not get the link's target as a
    writable folder."""
    project, _, sibling, ctx = world
    ctx.state["sandbox"] = _sandbox.Sandbox(writable=(str(project), str(project / "build")))
    made = await TOOL.run({"command": f"ln -s {sibling} build"}, ctx)
    assert not made.is_error, made.content
    result = await TOOL.run({"command": "echo x > build/precious.txt"}, ctx)
    assert result.is_error and (sibling / "precious.txt").read_text() == "keep me"
    # made as a folder, it is writable
    (project / "build").unlink()
    (project / "build").mkdir()
    ok = await TOOL.run({"command": "echo built > build/out.txt"}, ctx)
    assert not ok.is_error and (project / "build" / "out.txt").read_text() == "built\n"
