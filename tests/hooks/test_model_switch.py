"""PreModelSwitch and PostModelSwitch around `/model` and `Session.switch_model`, with real hook scripts."""

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

PY = sys.executable
# Logs its stdin to argv[1], prints argv[2], sleeps argv[4] seconds and exits with argv[3].
HOOK = (
    "import sys, time\n"
    "open(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')\n"
    "print(sys.argv[2]); sys.stdout.flush()\n"
    "time.sleep(float(sys.argv[4]))\n"
    "sys.exit(int(sys.argv[3]))\n"
)


@pytest.fixture
def make_session(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "hook.py").write_text(HOOK)
    (tmp_path / "next.json").write_text(json.dumps([{"text": "from the next model"}]))
    environ = {**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")}
    opened = []

    def make(hooks: dict):
        model = ScriptedModel([{"text": "first"}, {"text": "second"}])
        session = open_session(
            Options(cwd=str(project), model=model, environ=environ, settings=json.dumps({"hooks": hooks}))
        )
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


def handler(tmp_path: Path, log: str, output: str = "", code: int = 0, sleep: float = 0, **extra) -> dict:
    args = [str(tmp_path / "hook.py"), str(tmp_path / log), output, str(code), str(sleep)]
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)
    return {"type": "command", "command": f"{PY} {quoted}", **extra}


def logged(tmp_path: Path, log: str) -> list[dict]:
    path = tmp_path / log
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        ({"code": 2, "output": ""}, "a PreModelSwitch hook blocked the switch"),
        ({"output": json.dumps({"decision": "block", "reason": "stay on the cheap model"})}, "stay on the cheap model"),
        ({"code": 1}, "PreModelSwitch hook failed (exit code 1)"),
        ({"sleep": 5, "timeout": 1}, "timed out after 1s"),
    ],
)
async def test_a_pre_model_switch_hook_that_blocks_fails_or_hangs_keeps_the_model(
    make_session, tmp_path, hook, expected
):
    timeout = hook.pop("timeout", None)
    pre = handler(tmp_path, "pre.log", **hook, **({"timeout": timeout} if timeout else {}))
    session = make_session(
        {"PreModelSwitch": [{"hooks": [pre]}], "PostModelSwitch": [{"hooks": [handler(tmp_path, "post.log")]}]}
    )
    before = session.model.name
    outcome = await slash.run(session, f"/model scripted:{tmp_path / 'next.json'}")
    assert outcome.error and expected in outcome.text
    assert session.model.name == before and logged(tmp_path, "post.log") == []
    assert (await session.send("hi")).last_message.text == "first"


async def test_an_unknown_model_fires_nothing(make_session, tmp_path):
    session = make_session({"PreModelSwitch": [{"hooks": [handler(tmp_path, "pre.log")]}]})
    with pytest.raises(ConfigError):
        await session.switch_model("nosuchprovider:x")
    assert logged(tmp_path, "pre.log") == []


async def test_both_fire_with_claude_codes_fields_and_post_context_reaches_the_model(make_session, tmp_path):
    target = f"scripted:{tmp_path / 'next.json'}"
    session = make_session(
        {
            "PreModelSwitch": [{"hooks": [handler(tmp_path, "pre.log", "{garbage")]}],
            "PostModelSwitch": [{"hooks": [handler(tmp_path, "post.log", "the new model is slower; batch edits")]}],
        }
    )
    before = session.model.name
    outcome = await slash.run(session, f"/model {target}")
    assert not outcome.error and session.model.name == target
    [pre], [post] = logged(tmp_path, "pre.log"), logged(tmp_path, "post.log")
    for payload, event in ((pre, "PreModelSwitch"), (post, "PostModelSwitch")):
        assert payload["hook_event_name"] == event and payload["session_id"] == session.id
        assert (payload["from_model"], payload["to_model"]) == (before, target)
        assert payload["requested_model"] == target and payload["source"] == "command"
    end = await session.send("go on")
    assert end.last_message.text == "from the next model"
    sent = session.messages[-2].text
    assert "<system-reminder>\nthe new model is slower; batch edits\n</system-reminder>" in sent


async def test_the_matcher_is_the_new_model_and_a_program_switch_says_sdk(make_session, tmp_path):
    target = f"scripted:{tmp_path / 'next.json'}"
    session = make_session(
        {
            "PostModelSwitch": [
                {"matcher": "haiku", "hooks": [handler(tmp_path, "haiku.log")]},
                {"matcher": "scripted:.*", "hooks": [handler(tmp_path, "scripted.log")]},
            ]
        }
    )
    await session.switch_model(target, "sdk")
    assert logged(tmp_path, "haiku.log") == []
    assert [p["source"] for p in logged(tmp_path, "scripted.log")] == ["sdk"]
