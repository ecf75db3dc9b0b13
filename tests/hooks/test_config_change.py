"""ConfigChange: a settings file the session read changes between prompts, with real hook scripts."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from sous.core import Notice
from sous.models.scripted import ScriptedModel
from sous.runtime import Options, open_session

PY = sys.executable
# Logs its stdin to argv[1], writes argv[2] to stderr and exits with argv[3].
HOOK = (
    "import sys\n"
    "open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')\n"
    "sys.stderr.write(sys.argv[2])\n"
    "sys.exit(int(sys.argv[3]))\n"
)


def handler(tmp_path: Path, reason: str = "", code: int = 0) -> dict:
    args = [str(tmp_path / "hook.py"), str(tmp_path / "log"), reason, str(code)]
    return {"type": "command", "command": " ".join([PY, *("'" + a + "'" for a in args)])}


def logged(tmp_path: Path) -> list[dict]:
    path = tmp_path / "log"
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []


def touch(path: Path, text: str) -> None:
    """Write `text` with a modification time no earlier write could share."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def project(tmp_path):
    (tmp_path / "hook.py").write_text(HOOK)
    folder = tmp_path / "project"
    (folder / ".claude").mkdir(parents=True)
    (folder / ".claude" / "settings.json").write_text("{}")
    return folder


@pytest.fixture
def make_session(tmp_path, project):
    environ = {
        **os.environ,
        "HOME": str(tmp_path),
        "SOUS_HOME": str(tmp_path / "home"),
        "SOUS_MANAGED_SETTINGS": str(tmp_path / "managed.json"),
    }
    opened = []

    def make(hooks: dict):
        model = ScriptedModel([{"text": "one"}, {"text": "two"}, {"text": "three"}])
        # hooks come from --settings, which is not watched, so a test edits only the layer it means to
        session = open_session(
            Options(cwd=str(project), model=model, environ=environ, settings=json.dumps({"hooks": hooks}))
        )
        seen: list[str] = []
        session.subscribe(lambda e: seen.append(f"{e.level}: {e.text}") if isinstance(e, Notice) else None)
        opened.append(session)
        return session, seen

    yield make
    for session in opened:
        session.close()


async def test_a_project_settings_edit_fires_config_change_with_its_source_and_path(tmp_path, project, make_session):
    session, notices = make_session({"ConfigChange": [{"matcher": "project_settings", "hooks": [handler(tmp_path)]}]})
    await session.send("first")
    assert logged(tmp_path) == []  # nothing changed yet
    settings = project / ".claude" / "settings.json"
    touch(settings, json.dumps({"permissions": {"allow": ["Bash(rm *)"]}}))
    await session.send("second")
    [payload] = logged(tmp_path)
    assert payload["hook_event_name"] == "ConfigChange"
    assert payload["source"] == "project_settings" and payload["file_path"] == str(settings)
    assert payload["session_id"] == session.id
    assert f"info: {settings} changed; the change takes effect the next time sous starts" in notices
    await session.send("third")
    assert len(logged(tmp_path)) == 1  # one change, one event


async def test_a_blocking_hook_is_named_in_the_notice_and_the_matcher_is_the_source(tmp_path, project, make_session):
    hooks = {"ConfigChange": [{"matcher": "local_settings", "hooks": [handler(tmp_path, "settings are frozen", 2)]}]}
    session, notices = make_session(hooks)
    await session.send("first")
    touch(project / ".claude" / "settings.json", '{"model": "x"}')  # project_settings: no matching hook
    local = project / ".claude" / "settings.local.json"
    touch(local, "{}")  # a file that appears is a change
    await session.send("second")
    assert [p["source"] for p in logged(tmp_path)] == ["local_settings"]
    assert any(n.startswith("warning: ") and "settings are frozen" in n and str(local) in n for n in notices)


async def test_a_managed_policy_change_cannot_be_blocked(tmp_path, make_session):
    managed = tmp_path / "managed.json"
    managed.write_text("{}")
    session, notices = make_session({"ConfigChange": [{"hooks": [handler(tmp_path, "no", 2)]}]})
    await session.send("first")
    touch(managed, '{"permissions": {"deny": ["Bash"]}}')
    await session.send("second")
    assert [p["source"] for p in logged(tmp_path)] == ["policy_settings"]
    assert f"info: {managed} changed; the change takes effect the next time sous starts" in notices


async def test_a_file_broken_or_removed_mid_session_is_a_change_and_nothing_else(tmp_path, project, make_session):
    session, notices = make_session({"ConfigChange": [{"hooks": [handler(tmp_path)]}]})
    await session.send("first")
    settings = project / ".claude" / "settings.json"
    touch(settings, "{ not json")
    end = await session.send("second")
    assert end.reason != "error"  # the session goes on with the settings it started with
    settings.unlink()
    await session.send("third")
    assert [p["file_path"] for p in logged(tmp_path)] == [str(settings), str(settings)]
    assert sum("takes effect the next time" in n for n in notices) == 2


async def test_without_hooks_a_change_still_gets_its_one_line(tmp_path, project, make_session):
    session, notices = make_session({})
    await session.send("first")
    touch(project / ".sous" / "settings.local.json", "{}")
    await session.send("second")
    assert [n for n in notices if "changed" in n] == [
        f"info: {project / '.sous' / 'settings.local.json'} changed; the change takes effect the next time sous starts"
    ]


async def test_an_always_answer_written_by_sous_itself_is_no_config_change(tmp_path, project):
    from sous.core import PermissionRequest
    from sous.permissions import Answer

    model = ScriptedModel(
        [
            {"tool_calls": [{"name": "Bash", "input": {"command": "touch made.txt"}}]},
            {"text": "made"},
            {"text": "again"},
        ]
    )
    hooks = {"ConfigChange": [{"hooks": [handler(tmp_path)]}]}
    environ = {**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")}
    session = open_session(
        Options(
            cwd=str(project),
            model=model,
            environ=environ,
            settings=json.dumps({"hooks": hooks}),
            answers_permissions=True,
        )
    )
    notices: list[str] = []

    def person(event: object) -> None:
        if isinstance(event, PermissionRequest):
            session.answer(event.request_id, Answer(allow=True, duration="always"))
        elif isinstance(event, Notice):
            notices.append(event.text)

    session.subscribe(person)
    try:
        await session.send("make it")
        saved = json.loads((project / ".claude" / "settings.local.json").read_text())
        assert saved["permissions"]["allow"] and (project / "made.txt").exists()
        await session.send("again")
    finally:
        session.close()
    assert logged(tmp_path) == [] and not [n for n in notices if "changed" in n]
