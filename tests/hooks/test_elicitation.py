"""Elicitation and ElicitationResult: a real MCP server asks for input mid-call and real hook
scripts answer, decline, cancel or fail."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from sous.core import Notice
from sous.models.scripted import ScriptedModel
from sous.runtime import Options, open_session

pytest.importorskip("mcp")
PY = sys.executable
LIBRARY = """
from pydantic import BaseModel
from mcp.server.mcpserver import Context, MCPServer

app = MCPServer("library")

class Book(BaseModel):
    title: str

@app.tool()
async def borrow(ctx: Context) -> str:
    \"\"\"Borrow a book.\"\"\"
    result = await ctx.elicit("Which book?", Book)
    if result.action == "accept":
        return f"borrowed {result.data.title}"
    return f"no book ({result.action})"

app.run()
"""
# Logs its stdin to argv[1] (one line per run), prints argv[2] and exits with argv[3].
HOOK = (
    "import sys\n"
    "open(sys.argv[1], 'a').write(sys.stdin.read().replace('\\n', ' ') + '\\n')\n"
    "print(sys.argv[2]); sys.stderr.write('not this one')\n"
    "sys.exit(int(sys.argv[3]))\n"
)


def handler(tmp_path: Path, log: str, output: object = "", code: int = 0) -> dict:
    text = output if isinstance(output, str) else json.dumps(output)
    args = [str(tmp_path / "hook.py"), str(tmp_path / log), text, str(code)]
    return {"type": "command", "command": " ".join([PY, *("'" + a + "'" for a in args)])}


def answer(event: str, action: str, content: object = None) -> dict:
    specific: dict = {"hookEventName": event, "action": action}
    if content is not None:
        specific["content"] = content
    return {"hookSpecificOutput": specific}


def logged(tmp_path: Path, log: str) -> list[dict]:
    path = tmp_path / log
    return [json.loads(line) for line in path.read_text().splitlines() if line] if path.exists() else []


@pytest.fixture
def borrow(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "library.py").write_text(LIBRARY)
    (tmp_path / "hook.py").write_text(HOOK)
    (project / ".mcp.json").write_text(
        json.dumps({"mcpServers": {"lib": {"command": PY, "args": [str(tmp_path / "library.py")]}}})
    )
    environ = {**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")}

    async def run(hooks: dict) -> tuple[str, bool, list[str]]:
        settings = {"enabledMcpjsonServers": ["lib"], "permissions": {"allow": ["mcp__lib__borrow"]}, "hooks": hooks}
        session = open_session(
            Options(cwd=str(project), model=ScriptedModel([]), environ=environ, settings=json.dumps(settings))
        )
        notices: list[str] = []
        session.subscribe(lambda e: notices.append(e.text) if isinstance(e, Notice) else None)
        try:
            await session.start()
            result = await session.call_tool("mcp__lib__borrow", {})
        finally:
            await session.end()
            session.close()
        return result.text, result.is_error, notices

    return run


async def test_a_hook_that_accepts_with_content_answers_the_server_and_result_hooks_see_it(tmp_path, borrow):
    hooks = {
        "Elicitation": [
            {
                "matcher": "lib",
                "hooks": [handler(tmp_path, "asked", answer("Elicitation", "accept", {"title": "Dune"}))],
            }
        ],
        "ElicitationResult": [{"hooks": [handler(tmp_path, "answered")]}],
    }
    text, is_error, _ = await borrow(hooks)
    assert (text, is_error) == ("borrowed Dune", False)
    [asked] = logged(tmp_path, "asked")
    assert asked["hook_event_name"] == "Elicitation" and asked["mcp_server_name"] == "lib"
    assert asked["message"] == "Which book?" and asked["mode"] == "form"
    assert asked["requested_schema"]["properties"]["title"]["type"] == "string"
    [answered] = logged(tmp_path, "answered")
    assert answered["hook_event_name"] == "ElicitationResult" and answered["mcp_server_name"] == "lib"
    assert (answered["action"], answered["content"], answered["mode"]) == ("accept", {"title": "Dune"}, "form")


@pytest.mark.parametrize(
    ("output", "code", "said"),
    [
        ("", 2, "an Elicitation hook declined: not this one"),
        (answer("Elicitation", "decline"), 0, "an Elicitation hook declined: Elicitation denied by hook"),
        (answer("PreToolUse", "accept", {"title": "Dune"}), 0, "no Elicitation hook answered"),  # not its event
        (answer("Elicitation", "accept"), 0, "accepted without a content object"),
        (answer("Elicitation", "accept", ["Dune"]), 0, "accepted without a content object"),
        ("{not json", 0, "no Elicitation hook answered"),
        ("", 1, "no Elicitation hook answered"),
    ],
)
async def test_a_hook_that_declines_fails_or_answers_wrongly_declines_with_one_line(
    tmp_path, borrow, output, code, said
):
    text, is_error, notices = await borrow({"Elicitation": [{"hooks": [handler(tmp_path, "asked", output, code)]}]})
    assert (text, is_error) == ("no book (decline)", False)
    assert [n for n in notices if "asked for input" in n] == [
        f"MCP server 'lib' asked for input (Which book?); {said}"
        + (", so sous declined (sous does not ask in the terminal)" if "declined:" not in said else "")
    ]


async def test_a_result_hook_may_cancel_or_block_what_the_elicitation_hook_accepted(tmp_path, borrow):
    accept = handler(tmp_path, "asked", answer("Elicitation", "accept", {"title": "Dune"}))
    cancel = handler(tmp_path, "answered", answer("ElicitationResult", "cancel"))
    text, _, _ = await borrow({"Elicitation": [{"hooks": [accept]}], "ElicitationResult": [{"hooks": [cancel]}]})
    assert text == "no book (cancel)"
    blocked = handler(tmp_path, "answered", "", 2)
    text, _, notices = await borrow({"Elicitation": [{"hooks": [accept]}], "ElicitationResult": [{"hooks": [blocked]}]})
    assert text == "no book (decline)"
    assert any("an ElicitationResult hook declined the answer: not this one" in n for n in notices)


async def test_an_elicitation_hook_for_another_server_leaves_the_request_declined(tmp_path, borrow):
    other = handler(tmp_path, "asked", answer("Elicitation", "accept", {"title": "Dune"}))
    text, _, notices = await borrow({"Elicitation": [{"matcher": "shop", "hooks": [other]}]})
    assert text == "no book (decline)" and logged(tmp_path, "asked") == []
    assert any("no Elicitation hook answered" in n for n in notices)


async def test_without_elicitation_hooks_servers_are_not_offered_elicitation(tmp_path, borrow):
    text, is_error, _ = await borrow({"Stop": [{"hooks": [handler(tmp_path, "stop")]}]})
    assert "borrowed" not in text and is_error
