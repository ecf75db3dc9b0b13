"""What the terminals and the editor bridge say about who waits on a permission question."""

from __future__ import annotations

from sous.permissions.decide import Decision
from sous.runtime.queue import Asking
from sous.ui import asking


def _asker(agent: str, why: str = "", call_id: str = "c") -> Asking:
    return Asking(agent=agent, agent_id="", why=why, call_id=call_id)


def test_one_asker_is_named_with_what_for_and_several_are_listed():
    sub = Decision(behavior="ask", source="mode:default", agent="Explore: find it")
    main = Decision(behavior="ask", source="mode:default")
    assert asking.who([], main) == "" and asking.who([_asker("")], main) == ""
    assert asking.who([_asker("Explore: find it")], sub) == "  (asked by agent Explore: find it)"
    assert asking.asker_lines([_asker("x", "list files")]) == ["  what for: list files"]
    assert asking.asker_lines([_asker("x")]) == []
    several = [_asker("a: one", "lint"), _asker("", call_id="d")]
    assert asking.who(several, sub) == "  (asked by 2 agents)"
    assert asking.asker_lines(several) == ["    · agent a: one — lint", "    · the main agent"]
    assert asking.extra_choices([_asker("a")], main) == ""
    assert asking.extra_choices([_asker("a")], sub) == "  [*] grants for every agent"
    assert "[e] ask each agent on its own" in asking.extra_choices(several, sub)
    assert asking.joined_line(_asker("b: two")).startswith("  + also asked by agent b: two; this answer is theirs")


def test_text_from_the_model_cannot_act_on_the_terminal_and_a_question_shows_the_whole_call():
    from sous.core import ToolCall
    from sous.labels import asked_label, call_label

    sly = _asker("Explore: x\x1b[2J\u202e", "why\r\x1b]0;t\x07\nnext")
    shown = [asking.name(sly), *asking.asker_lines([sly]), asking.joined_line(sly), asking.who([sly], sly)]
    assert not any(ch in line for line in shown for ch in "\x1b\r\n\x07\u202e")
    assert asking.asker_lines([sly]) == ["  what for: why\ufffd\ufffd]0;t\ufffd⏎next"]
    command = ToolCall(id="c", name="Bash", arguments={"command": "ls\nrm -rf " + "x" * 500})
    assert asked_label(command) == "Bash(ls⏎rm -rf " + "x" * 500 + ")"  # never cut, its line break shown
    assert call_label(command, 20).endswith("…)") and "\x1b" not in call_label(
        ToolCall(id="c", name="Bash\x1b", arguments={})
    )
    mcp = ToolCall(id="c", name="mcp__gh__delete_repo", arguments={"repo": "me/prod"})
    assert asked_label(mcp) == 'mcp__gh__delete_repo({"repo": "me/prod"})'  # no main argument: every argument
