"""Added working folders through the Session API: `--add-dir` at the start, `/add-dir` later.

Real sessions on a temporary tree, the scripted model, a real DirectoryAdded hook script.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from sous.core import ConfigError
from sous.models.scripted import ScriptedModel
from sous.runtime import Options, open_session
from sous.ui import slash
from sous.ui.status_line import payload

LOG_HOOK = "import os, sys\nopen(os.environ['HOOK_LOG'], 'a').write(sys.stdin.read() + '\\n')\n"


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    project, shared, other, secret = (tmp_path / n for n in ("project", "shared", "other", "secret"))
    for folder in (project / "src", shared, other, secret):
        folder.mkdir(parents=True)
    (shared / "notes.txt").write_text("SHARED-NOTES\n")
    (shared / "CLAUDE.md").write_text("ADDED-DIR-MEMORY\n")
    (other / "more.txt").write_text("OTHER-MORE\n")
    (secret / "s.txt").write_text("SECRET\n")
    (tmp_path / "log_hook.py").write_text(LOG_HOOK)
    return {"root": tmp_path, "project": project, "shared": shared, "other": other, "secret": secret}


def reads(*paths: str) -> list[dict]:
    calls = [{"name": "Read", "input": {"file_path": p}} for p in paths]
    return [{"tool_calls": calls}, {"text": "done"}]


def opts(tree, turns: list[dict], **extra) -> Options:
    root = tree["root"]
    environ = {
        **os.environ,
        "HOME": str(root),
        "SOUS_HOME": str(root / "sous-home"),
        "HOOK_LOG": str(root / "hook.log"),
        **extra.pop("env", {}),
    }
    return Options(cwd=str(tree["project"]), model=ScriptedModel(turns), environ=environ, **extra)


def results(session) -> list[tuple[bool, str]]:
    return [(m.is_error, m.text) for m in session.messages if m.role == "tool"]


async def test_a_relative_add_dir_is_read_without_asking_and_nothing_beside_it(tree):
    session = open_session(opts(tree, reads("../shared/notes.txt", "../secret/s.txt"), add_dirs=["../shared"]))
    await session.send("read them")
    session.close()
    assert session.added_dirs == (str(tree["shared"].resolve()),)
    (ok, text), (refused, why) = results(session)
    assert not ok and "SHARED-NOTES" in text
    assert refused and "SECRET" not in why and "denied" in why


async def test_the_system_prompt_names_the_added_folder(tree):
    model = ScriptedModel([{"text": "hi"}])
    options = opts(tree, [], add_dirs=[str(tree["shared"])])
    options.model = model
    session = open_session(options)
    await session.send("hi")
    session.close()
    assert f"Additional working directory: {tree['shared'].resolve()}" in model.requests[0].system


async def test_a_missing_add_dir_stops_the_start_with_one_line(tree):
    with pytest.raises(ConfigError, match=r"^--add-dir \.\./nope: no such directory$"):
        open_session(opts(tree, [], add_dirs=["../nope"]))


async def test_memory_files_of_added_folders_load_only_when_asked(tree):
    plain = open_session(opts(tree, [], add_dirs=["../shared"]))
    plain.close()
    assert not any("ADDED-DIR-MEMORY" in f.text for f in plain.memory.files)
    env = {"CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD": "1"}
    asked = open_session(opts(tree, [], add_dirs=["../shared"], env=env))
    asked.close()
    assert any("ADDED-DIR-MEMORY" in f.text for f in asked.memory.files)


async def test_add_dir_later_widens_from_the_next_call_and_fires_directory_added(tree):
    hook = {"type": "command", "command": f"{sys.executable} {tree['root'] / 'log_hook.py'}"}
    settings = json.dumps({"hooks": {"DirectoryAdded": [{"matcher": "slash_command", "hooks": [hook]}]}})
    session = open_session(opts(tree, [*reads("../other/more.txt"), *reads("../other/more.txt")], settings=settings))
    await session.send("read it")
    outcome = await slash.run(session, "/add-dir ../other")
    assert outcome is not None and not outcome.error and str(tree["other"].resolve()) in outcome.text
    await session.send("again")
    session.close()
    (before, _), (after, text) = results(session)
    assert before and not after and "OTHER-MORE" in text
    logged = [json.loads(line) for line in (tree["root"] / "hook.log").read_text().splitlines()]
    assert [(p["hook_event_name"], p["directory"], p["source"]) for p in logged] == [
        ("DirectoryAdded", str(tree["other"].resolve()), "slash_command")
    ]
    assert payload(session)["workspace"]["added_dirs"] == [str(tree["other"].resolve())]
    status = await slash.run(session, "/status")
    assert status is not None and f"added:    {tree['other'].resolve()}" in status.text


@pytest.mark.parametrize(
    "given, says",
    [("../nope", "no such directory"), ("src", "already accessible"), ("../shared", "already accessible"), ("", "")],
)
async def test_add_dir_refuses_with_one_line(tree, given, says):
    session = open_session(opts(tree, [], add_dirs=["../shared"]))
    outcome = await slash.run(session, f"/add-dir {given}")
    session.close()
    assert outcome is not None
    if not given:  # no argument: the list
        assert not outcome.error and str(tree["shared"].resolve()) in outcome.text
        return
    assert outcome.error and says in outcome.text and "\n" not in outcome.text
    assert session.added_dirs == (str(tree["shared"].resolve()),)


@pytest.mark.parametrize("added", [["../shared"], []])
async def test_a_sub_agent_reads_the_added_folders_of_its_parent(tree, added):
    turns = [
        {"tool_calls": [{"name": "Agent", "input": {"description": "look", "prompt": "read", "subagent_type": "x"}}]},
        *reads("../shared/notes.txt"),
        {"text": "parent done"},
    ]
    agents = json.dumps({"x": {"description": "reads", "prompt": "You read files."}})
    session = open_session(opts(tree, turns, add_dirs=added, agents_json=agents))
    await session.send("delegate")
    session.close()
    assert [d["tool_input"]["file_path"] for d in session.denials] == ([] if added else ["../shared/notes.txt"])
