"""Grants from the person's answers: durations, use counts, revocation, "always", and the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sous.core import ToolCall, ToolContext
from sous.permissions import Answer, PermissionMiddleware, Rules
from sous.permissions.grants import Grants, narrowest_rules, save_always


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_durations_uses_and_revocation():
    clock = Clock()
    grants = Grants(clock)
    five = grants.add("Bash(npm publish)", duration="5m")
    args = {"command": "npm publish"}
    assert grants.find("Bash", args, "/p", ["npm publish"]) == [five]
    clock.now += 301
    assert grants.find("Bash", args, "/p", ["npm publish"]) is None
    twice = grants.add("Bash(npm publish)", duration="session", uses=2)
    for _ in range(2):
        found = grants.find("Bash", args, "/p", ["npm publish"])
        grants.consume(tuple(g.id for g in found))
    assert grants.find("Bash", args, "/p", ["npm publish"]) is None and twice.uses_left == 0
    session = grants.add("Edit(src/**)")
    assert grants.revoke(session.id) and not grants.revoke(session.id)
    assert grants.find("Edit", {"file_path": "/p/src/a.py"}, "/p", None) is None


def test_a_compound_command_needs_every_part_granted_and_agent_scopes_hold():
    grants = Grants()
    grants.add("Bash(make)")
    assert grants.find("Bash", {}, "/p", ["make", "make deploy"]) is None
    grants.add("Bash(make deploy)", agent="deployer")
    assert grants.find("Bash", {}, "/p", ["make", "make deploy"]) is None
    assert len(grants.find("Bash", {}, "/p", ["make", "make deploy"], agent="deployer")) == 2


def test_narrowest_rules():
    assert narrowest_rules("Bash", {"command": "npm test && npm publish"}, "/p", ["npm test", "npm publish"]) == [
        "Bash(npm test)",
        "Bash(npm publish)",
    ]
    assert narrowest_rules("Write", {"file_path": "/p/src/a.py"}, "/p") == ["Edit(src/a.py)"]
    assert narrowest_rules("WebFetch", {"url": "https://docs.python.org/3/"}, "/p") == [
        "WebFetch(domain:docs.python.org)"
    ]


def test_save_always_keeps_the_rest_of_the_file(tmp_path):
    target = tmp_path / ".claude" / "settings.local.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"model": "opus", "permissions": {"allow": ["Read"]}}))
    save_always(["Bash(make)", "Read"], target)
    assert json.loads(target.read_text()) == {"model": "opus", "permissions": {"allow": ["Read", "Bash(make)"]}}


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))


def middleware(tmp_path: Path, answers: list) -> tuple[PermissionMiddleware, list]:
    asked: list = []

    async def asker(call, decision):
        asked.append(decision)
        return answers.pop(0)

    return PermissionMiddleware(
        Rules(), "default", asker=asker, local_settings=tmp_path / ".claude" / "settings.local.json"
    ), asked


def call(command: str, n: int = 0) -> ToolCall:
    return ToolCall(id=f"c{n}", name="Bash", arguments={"command": command})


async def test_session_answers_stop_the_asking_and_once_does_not(tmp_path, ctx):
    perms, asked = middleware(tmp_path, [Answer(allow=True), Answer(allow=True, duration="session")])
    for n in range(4):
        assert type(await perms.check(call("python x.py", n), ctx)).__name__ == "Allow"
    assert len(asked) == 2  # once, then session: the last two calls were not asked


async def test_always_writes_the_rule_and_no_with_feedback_reaches_the_model(tmp_path, ctx):
    perms, asked = middleware(
        tmp_path,
        [Answer(allow=True, duration="always"), Answer(allow=False, feedback="use the staging script instead")],
    )
    await perms.check(call("make deploy"), ctx)
    saved = json.loads((tmp_path / ".claude" / "settings.local.json").read_text())
    assert saved["permissions"]["allow"] == ["Bash(make deploy)"]
    denied = await perms.check(call("make release", 1), ctx)
    assert "use the staging script instead" in denied.reason


async def test_the_safety_floor_is_never_remembered(tmp_path, ctx):
    perms, asked = middleware(tmp_path, [Answer(allow=True, duration="session")] * 2)
    for n in range(2):
        await perms.check(call("rm -rf ..", n), ctx)
    assert len(asked) == 2 and all(d.confirm == "typed" for d in asked)
    assert perms.grants.active() == []


async def test_a_star_in_an_approved_command_is_its_glob_not_a_wildcard(tmp_path, ctx):
    (tmp_path / "victim").mkdir()
    perms, asked = middleware(
        tmp_path, [Answer(allow=True, duration="session"), Answer(allow=False), Answer(allow=False)]
    )
    assert type(await perms.check(call("rm *.tmp"), ctx)).__name__ == "Allow"
    assert type(await perms.check(call("rm *.tmp", 1), ctx)).__name__ == "Allow"  # the same command: granted
    assert type(await perms.check(call("rm -rf victim x.tmp", 2), ctx)).__name__ == "Deny"
    assert type(await perms.check(call("rm -rf victim .tmp", 3), ctx)).__name__ == "Deny"
    assert len(asked) == 3


async def test_always_on_a_command_with_a_star_saves_no_rule_and_says_so(tmp_path, ctx):
    perms, asked = middleware(tmp_path, [Answer(allow=True, duration="always"), Answer(allow=False)])
    notices: list = []
    perms.emit = notices.append
    await perms.check(call("chmod +x *.sh"), ctx)
    settings = tmp_path / ".claude" / "settings.local.json"
    assert not settings.exists() or "chmod" not in settings.read_text()
    assert any("Bash(chmod +x *.sh)" in n.text and "this session only" in n.text for n in notices)
    assert type(await perms.check(call("chmod +x *.sh", 1), ctx)).__name__ == "Allow"  # granted for the session
    assert type(await perms.check(call("chmod +x ~/.profile x.sh", 2), ctx)).__name__ == "Deny"
    assert len(asked) == 2


def test_a_grant_matches_its_command_exactly():
    grants = Grants()
    grants.add("Bash(rm *.tmp)")
    grants.add("Bash(echo a:*)")
    assert grants.find("Bash", {}, "/p", ["rm *.tmp"]) is not None
    assert grants.find("Bash", {}, "/p", ["rm -rf src x.tmp"]) is None
    assert grants.find("Bash", {}, "/p", ["echo a:*"]) is not None
    assert grants.find("Bash", {}, "/p", ["echo a b c"]) is None
