"""The offline model's text protocol, on replies recorded from small models."""

from __future__ import annotations

from sous.core import AssistantMessage, Text, ToolCall, ToolResultMessage, user
from sous.models import local_protocol as lp


def test_a_bash_block_is_a_bash_call_and_the_words_before_it_are_kept():
    prose, calls = lp.parse("I will list the files.\n```bash\nls -la\n```\n")
    assert prose == "I will list the files."
    assert [(c.name, c.arguments) for c in calls] == [("Bash", {"command": "ls -la"})]


def test_only_the_first_block_counts():
    _, calls = lp.parse("```bash\necho one\n```\nthen\n```bash\necho two\n```")
    assert [c.arguments["command"] for c in calls] == ["echo one"]


def test_shell_synonyms_and_an_untagged_block_run_as_bash():
    for tag in ("sh", "shell", "console", ""):
        assert lp.parse(f"```{tag}\npwd\n```")[1][0].arguments == {"command": "pwd"}


def test_a_write_block_is_a_write_call_with_a_final_newline():
    prose, calls = lp.parse("```write src/hello.py\nprint('hi')\n```")
    assert prose == ""
    assert [(c.name, c.arguments) for c in calls] == [
        ("Write", {"file_path": "src/hello.py", "content": "print('hi')\n"})
    ]


def test_an_unterminated_block_cut_by_the_token_limit_is_still_a_call():
    _, calls = lp.parse("Let me check.\n```bash\ncat README.md")
    assert calls[0].arguments == {"command": "cat README.md"}


def test_code_in_another_language_is_part_of_the_answer():
    reply = "Here is the function:\n```python\ndef f():\n    return 1\n```"
    assert lp.parse(reply) == (reply, [])


def test_plain_text_is_the_final_answer():
    assert lp.parse("  The file contains 3 lines.  ") == ("The file contains 3 lines.", [])


def test_empty_blocks_and_write_without_a_path_are_not_calls():
    assert lp.parse("```bash\n\n```")[1] == []
    assert lp.parse("```write\ncontent\n```")[1] == []


def test_complete_block_tells_when_to_stop_generating():
    assert not lp.complete_block("```bash\nls")
    assert lp.complete_block("ok\n```bash\nls\n```")


def test_json_protocol_parses_each_form_and_keeps_malformed_text_as_an_answer():
    assert lp.parse('{"command": "ls"}', lp.JSON)[1][0].arguments == {"command": "ls"}
    _, calls = lp.parse('{"write": "a.txt", "content": "x\\n"}', lp.JSON)
    assert calls[0].name == "Write" and calls[0].arguments == {"file_path": "a.txt", "content": "x\n"}
    assert lp.parse('{"answer": "done"}', lp.JSON) == ("done", [])
    assert lp.parse('{"command": "ls"', lp.JSON) == ('{"command": "ls"', [])
    assert lp.parse("[1, 2]", lp.JSON) == ("[1, 2]", [])


def test_history_is_rendered_back_in_the_protocol_with_capped_results():
    call = ToolCall(id="c1", name="Bash", arguments={"command": "seq 1 5000"})
    messages = (
        user("count"),
        AssistantMessage(content=(Text(text="Counting."), call)),
        ToolResultMessage(tool_call_id="c1", tool_name="Bash", content=(Text(text="\n".join(map(str, range(5000)))),)),
        user("thanks"),
    )
    chat = lp.to_chat("SYSTEM", messages)
    examples = len(lp.EXAMPLES[lp.FENCED])
    assert chat[0] == {"role": "system", "content": "SYSTEM"}
    assert [m["role"] for m in chat[1 : 1 + examples]] == [role for role, _ in lp.EXAMPLES[lp.FENCED]]
    chat = chat[1 + examples :]
    assert [m["role"] for m in chat] == ["user", "assistant", "user"]
    assert chat[1]["content"] == "Counting.\n```bash\nseq 1 5000\n```"
    assert chat[2]["content"].startswith("Result:\n```\n0\n1\n") and "[...]" in chat[2]["content"]
    assert len(chat[2]["content"]) < lp.RESULT_CHARS + 100 and chat[2]["content"].endswith("thanks")


def test_the_examples_follow_the_protocol_they_teach():
    for protocol in lp.PROTOCOLS:
        replies = [content for role, content in lp.EXAMPLES[protocol] if role == "assistant"]
        parsed = [lp.parse(reply, protocol) for reply in replies]
        assert [c[0].name for _, c in parsed if c] == ["Write", "Bash", "Bash", "Write", "Bash"]
        assert sum(1 for _, c in parsed if not c) == 4  # the answers


def test_instructions_carry_the_environment():
    text = lp.instructions(lp.FENCED, "\n- Working directory: /tmp/x\n")
    assert "```write hello.py" in text and text.endswith("- Working directory: /tmp/x")


def _grow(reply: str, protocol: str) -> list[str]:
    return [lp.visible_prose(reply[:i], protocol) for i in range(len(reply) + 1)]


def test_only_the_answer_of_a_json_reply_is_visible_while_it_streams():
    steps = _grow('{"answer": "I changed \\"x\\" to 2.\\nDone"}', lp.JSON)
    assert steps[-1] == 'I changed "x" to 2.\nDone'
    assert all(b.startswith(a) for a, b in zip(steps, steps[1:], strict=False))  # deltas can be streamed
    assert all("{" not in s and "answer" not in s for s in steps)


def test_commands_and_writes_stream_nothing_in_either_protocol():
    assert set(_grow('{"command": "rm -rf build"}', lp.JSON)) == {""}
    assert set(_grow('{"write": "a.py", "content": "print(1)\\n"}', lp.JSON)) == {""}
    steps = _grow("Let me look.\n```bash\ncat a.py\n```", lp.FENCED)
    assert steps[-1] == "Let me look." and all("```" not in s and "cat a.py" not in s for s in steps)


def test_claims_of_work_are_recognised_and_plain_answers_are_not():
    for claim in (
        "I fixed the bug in mean().",
        "I have renamed median everywhere.",
        "The port has been changed to 8080.",
        "I've updated stats.py",
        "I removed the folder tmp.",
        "I set debug to true in config.json.",
        "I've made the change.",
    ):
        assert lp.claims_change(claim), claim
    for answer in (
        "The name in setup.cfg is demo.",
        "There are 3 files.",
        "mean() divides by the wrong count.",
        "VERSION was set to 1.4.2 in the last release.",
    ):
        assert not lp.claims_change(answer), answer


def _turn(*steps):
    messages = [user("fix the bug")]
    for call, (error, output) in steps:
        messages.append(AssistantMessage(content=(call,), model="m", stop_reason="tool_use"))
        messages.append(
            ToolResultMessage(tool_call_id=call.id, tool_name=call.name, content=(Text(text=output),), is_error=error)
        )
    return tuple(messages)


def test_the_repeat_guard_spares_a_command_that_was_interrupted():
    from sous.core import ModelRequest
    from sous.core.loop import INTERRUPTED_TOOL
    from sous.models.local import _repeats

    call = ToolCall(id="1", name="Bash", arguments={"command": "pytest"})
    again = ToolCall(id="2", name="Bash", arguments={"command": "pytest"})
    finished = ModelRequest(system="", messages=_turn((call, (False, "3 passed"))), tools=())
    interrupted = ModelRequest(system="", messages=_turn((call, (True, INTERRUPTED_TOOL))), tools=())
    assert _repeats(again, finished)
    assert not _repeats(again, interrupted)
