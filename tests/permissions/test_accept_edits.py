"""acceptEdits runs file-editing commands inside the project without asking, and nothing more:
every file they touch is checked, and sed only with plain scripts."""

from __future__ import annotations

import pytest

from sous.permissions.decide import Rules, decide


@pytest.fixture
def project(tmp_path) -> str:
    (tmp_path / "p" / "victim").mkdir(parents=True)
    (tmp_path / "p" / "file.txt").write_text("a\n")
    (tmp_path / "notes.txt").write_text("mine\n")
    return str(tmp_path / "p")


def verdict(project: str, command: str) -> str:
    return decide(
        Rules(),
        "acceptEdits",
        "Bash",
        {"command": command},
        cwd=project,
        project_dir=project,
        home=str(__import__("pathlib").Path(project).parent),
    ).behavior


@pytest.mark.parametrize(
    "command",
    [
        "mkdir -p build/out",
        "touch new.txt",
        "sed -i s/a/b/ file.txt",
        "sed -i -e 's/a/b/g' file.txt",
        "cp file.txt copy.txt",
        "mv file.txt moved.txt",
        "rm -rf victim",
        "rmdir victim",
        "echo x > out.txt",
        "mkdir a && touch a/b",
    ],
)
def test_edits_inside_the_project_run(project, command):
    assert verdict(project, command) == "allow"


@pytest.mark.parametrize(
    "command",
    [
        "sed 's/a/b/w out.txt' file.txt",
        "sed -n 'e id' file.txt",
        "sed -f s.sed file.txt",
        "cp file.txt ../copy.txt",
        "mv ../notes.txt .",
        "touch ~/x",
        "rm ../notes.txt",
        "mkdir $D",
        "cp file.txt $DEST",
        "ln -s ../notes.txt n",
        "chmod 777 file.txt",
        "tee out.txt < file.txt",
        "cat ../notes.txt > copy.txt",
        "rm -rf .",
    ],
)
def test_anything_else_still_asks(project, command):
    assert verdict(project, command) == "ask"


def test_a_grant_does_not_look_past_variables(project):
    from sous.permissions.grants import Grants

    grants = Grants()
    grants.add("Bash(git status)", duration="session")
    rules = Rules()

    def run(command):
        return decide(
            rules, "default", "Bash", {"command": command}, cwd=project, project_dir=project, grants=grants
        ).behavior

    assert run("touch x && git status") == "ask"
    assert run("GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsmonitor GIT_CONFIG_VALUE_0=x git status") == "ask"
    assert run("LANG=C git status") == "allow"


def test_a_home_the_settings_env_names_is_the_one_bash_paths_are_read_with(tmp_path, monkeypatch):
    """A project's settings `env` may give commands another HOME: `~/proj/x` then lands there, not
    in the project that the person's own home would put it in, and must be judged where it lands."""
    import asyncio

    from sous.core import ToolCall, ToolContext
    from sous.permissions import PermissionMiddleware
    from sous.permissions.decide import Rules, decide

    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    project = home / "proj"
    project.mkdir(parents=True)
    (elsewhere / "proj").mkdir(parents=True)
    call = {"command": "touch ~/proj/x $HOME/proj/y"}
    where = {"cwd": str(project), "project_dir": str(project), "home": str(home)}
    assert decide(Rules(), "acceptEdits", "Bash", call, **where).behavior == "allow"  # the same home: inside
    moved = decide(Rules(), "acceptEdits", "Bash", call, **where, shell_home=str(elsewhere))
    assert moved.behavior == "ask", moved
    # the middleware reads the HOME the command will run with from the tool context's environment
    monkeypatch.setenv("HOME", str(home))  # the person's own home, as sous started
    middleware = PermissionMiddleware(Rules(), "acceptEdits")
    check = lambda environ: asyncio.run(  # noqa: E731
        middleware.check(ToolCall(id="c", name="Bash", arguments=call), ToolContext(**where_ctx, environ=environ))
    )
    where_ctx = {"cwd": str(project), "project_dir": str(project)}
    assert type(check({"HOME": str(home)})).__name__ == "Allow"
    assert type(check({"HOME": str(elsewhere)})).__name__ == "Deny"  # nobody to ask here
