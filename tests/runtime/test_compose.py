"""Hooks and permissions compose in any order: a PreToolUse hook's "allow" answers what only the
mode would ask, its "ask" makes an allowed call ask, whichever middleware comes first."""

from __future__ import annotations

import sys

import pytest

from sous.core import Allow, Ask, Chain, Deny, ToolCall, ToolContext
from sous.hooks import HookMiddleware, load
from sous.permissions import PermissionMiddleware, Rules


def _hooks(tmp_path, decision: str) -> HookMiddleware:
    script = tmp_path / "hook.py"
    script.write_text(
        "import json, sys\njson.load(sys.stdin)\nprint(json.dumps({'hookSpecificOutput': "
        f"{{'hookEventName': 'PreToolUse', 'permissionDecision': {decision!r}}}}}))\n"
    )
    config = load({"PreToolUse": [{"hooks": [{"type": "command", "command": f"{sys.executable} {script}"}]}]})
    return HookMiddleware(config, session_id="s", transcript_path="", project_dir=str(tmp_path), environ={})


async def _decide(chain: Chain, call: ToolCall, ctx: ToolContext):
    verdict = await chain.before_tool(call, ctx)
    if isinstance(verdict, Ask):
        verdict = await chain.settle(call, verdict, ctx) or Deny(reason="nobody")
    return verdict


@pytest.mark.parametrize("hooks_first", [True, False])
async def test_a_hooks_allow_answers_the_modes_question_in_either_order(tmp_path, hooks_first):
    asked = []

    async def asker(call, decision):
        asked.append(call.name)
        return False

    perms = PermissionMiddleware(Rules(), "default", asker=asker)
    hooks = _hooks(tmp_path, "allow")
    chain = Chain(hooks, perms) if hooks_first else Chain(perms, hooks)
    ctx = ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))
    write = ToolCall(id="1", name="Write", arguments={"file_path": "a.txt", "content": "x"})
    assert isinstance(await _decide(chain, write, ctx), Allow)
    assert asked == []
    # A rule's question is not the mode's: the hook cannot answer it, the person is asked.
    perms.rules = Rules.from_lists(ask=["Write"])
    assert isinstance(await _decide(chain, write, ctx), Deny)
    assert asked == ["Write"]


@pytest.mark.parametrize("hooks_first", [True, False])
async def test_a_hooks_ask_makes_an_allowed_call_ask_in_either_order(tmp_path, hooks_first):
    asked = []

    async def asker(call, decision):
        asked.append(decision.source)
        return True

    perms = PermissionMiddleware(Rules.from_lists(allow=["Write"]), "default", asker=asker)
    hooks = _hooks(tmp_path, "ask")
    chain = Chain(hooks, perms) if hooks_first else Chain(perms, hooks)
    ctx = ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))
    write = ToolCall(id="1", name="Write", arguments={"file_path": "a.txt", "content": "x"})
    assert isinstance(await _decide(chain, write, ctx), Allow)
    assert asked == ["hook"]


async def test_a_question_nobody_settles_is_refused(tmp_path):
    chain = Chain(_hooks(tmp_path, "ask"))
    ctx = ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))
    verdict = await chain.before_tool(ToolCall(id="1", name="Read", arguments={}), ctx)
    assert isinstance(verdict, Ask) and verdict.source == "hook"
    assert await chain.settle(ToolCall(id="1", name="Read", arguments={}), verdict, ctx) is None
