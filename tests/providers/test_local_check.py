"""sous's word on the offline model's claims, on conversations recorded from small models (no model
is loaded: `review` reads only the messages)."""

from __future__ import annotations

from sous.core import AssistantMessage, Text, ToolCall, ToolResultMessage, user
from sous.models import local_check as lc

FIX_TEST = "The test in test_stats.py fails. Fix stats.py so that it passes."
RENAME = "Rename the function old_name to new_name in a.py and b.py."


def _turn(request, *steps):
    """The request, then each (call, is_error, output, data) as the model's call and its result."""
    messages = [user(request)] if request is not None else []
    for call, error, output, *data in steps:
        messages.append(AssistantMessage(content=(call,), model="m", stop_reason="tool_use"))
        messages.append(
            ToolResultMessage(
                tool_call_id=call.id,
                tool_name=call.name,
                content=(Text(text=output),),
                is_error=error,
                data=data[0] if data else None,
            )
        )
    return tuple(messages)


def _bash(command, id="b1"):
    return ToolCall(id=id, name="Bash", arguments={"command": command})


def _write(path, id="w1"):
    return ToolCall(id=id, name="Write", arguments={"file_path": path, "content": "x\n"})


UPDATED = {"type": "update", "filePath": "stats.py"}


def test_malformed_turns_get_a_verdict_never_an_exception():
    odd = ToolCall(id="o1", name="Bash", arguments={"command": ["not", "text"]})
    orphan = ToolResultMessage(tool_call_id="nobody", tool_name="Bash", content=(Text(text="?"),))
    for messages in (
        (),
        _turn(None, (_write("a.py"), False, "ok")),
        _turn(RENAME, (odd, False, "")),
        _turn(RENAME) + (orphan,),
    ):
        verdict = lc.review(messages, "I renamed old_name in a.py and b.py.", self_check=True)
        assert verdict.note or verdict.check


def test_an_answer_that_claims_nothing_gets_no_word():
    for answer in ("The checksum is 7f3a9c.", "There are 3 lines.", ""):
        assert lc.review(_turn("How many lines?"), answer, self_check=True) == lc.Verdict()


def test_only_reading_or_failed_edits_change_nothing_and_the_claim_is_called_false():
    steps = (
        (_bash("cat stats.py | grep mean"), False, "def mean(): ..."),
        (_write("stats.py"), True, "denied"),
        (_bash("python -m pytest -q test_stats.py", id="t1"), True, "Exit code 1"),
    )
    verdict = lc.review(_turn(FIX_TEST, *steps), "I fixed the bug in mean().", self_check=True)
    assert verdict.warning and verdict.note.startswith("no file was changed") and lc.FALSE_NOTE in verdict.note


def test_an_edit_before_the_last_request_does_not_count():
    earlier = _turn(RENAME, (_write("a.py"), False, "ok")) + (user("now rename it back"),)
    verdict = lc.review(earlier, "I renamed new_name back to old_name.", self_check=True)
    assert verdict.warning and "no file was changed" in verdict.note


def test_a_file_the_answer_names_but_nothing_changed_is_called_out():
    turn = _turn(RENAME, (_write("a.py"), False, "ok", {"type": "update"}))
    verdict = lc.review(turn, "I renamed old_name to new_name in a.py and b.py.", self_check=True)
    assert verdict.warning and verdict.note == f"the request names b.py, which was not changed: {lc.FALSE_NOTE}"


def test_a_file_the_request_names_that_nothing_made_is_named_even_when_the_answer_is_true():
    request = "Create a .gitignore file that ignores __pycache__ folders."
    turn = _turn(request, (_write("README.md"), False, "ok", {"type": "create", "content": "x"}))
    verdict = lc.review(turn, "I created README.md.", self_check=True)
    assert verdict.warning and verdict.note == "the request names .gitignore, which was not changed"
    both = _turn(RENAME + " Also fix c.py.", (_write("b.py"), False, "ok", {"type": "update"}))
    note = lc.review(both, "I renamed it.", self_check=True).note
    assert note == "the request names a.py, c.py, which were not changed"


def test_a_command_naming_the_files_or_a_wildcard_may_have_changed_them():
    for command in ("sed -i s/old_name/new_name/ a.py b.py", "sed -i s/old_name/new_name/ *.py"):
        turn = _turn(RENAME, (_bash(command), False, "(no output)"))
        verdict = lc.review(turn, "I renamed old_name to new_name in a.py and b.py.", self_check=False)
        assert not verdict.warning and verdict.note == lc.UNTESTED_NOTE


def test_a_test_file_in_the_answer_is_not_taken_for_a_claimed_edit():
    turn = _turn(FIX_TEST, (_write("stats.py"), False, "ok", UPDATED))
    verdict = lc.review(turn, "I fixed stats.py so test_stats.py passes.", self_check=False)
    assert not verdict.warning and "was not changed" not in verdict.note


def test_the_check_the_request_names():
    assert lc.check_command(FIX_TEST) == "python -m pytest -q test_stats.py"
    assert (
        lc.check_command("Make tests/test_a.py and b_test.py pass") == "python -m pytest -q tests/test_a.py b_test.py"
    )
    assert lc.check_command("Run python check.py and tell me the checksum.") == "python check.py"
    assert lc.check_command("Fix calc.py; run `python3   app.py` after") == "python3 app.py"
    assert lc.check_command("Fix calc.py") == ""
    assert lc.check_command("Run rm -rf / && python x.py") == ""  # only a plain `python FILE.py` is taken


def test_self_check_asks_for_the_named_test_once_the_model_claims_then_judges_its_result():
    edited = _turn(FIX_TEST, (_write("stats.py"), False, "ok", UPDATED))
    first = lc.review(edited, "I fixed stats.py.", self_check=True)
    assert first.check == "python -m pytest -q test_stats.py" and not first.note
    check = _bash(first.check, id=lc.CHECK_CALL_PREFIX + "1")
    failed = _turn(FIX_TEST, (_write("stats.py"), False, "ok", UPDATED), (check, True, "Exit code 1\n1 failed"))
    verdict = lc.review(failed, "I fixed stats.py; the test passes.", self_check=True)
    assert verdict.warning and verdict.note.startswith("`python -m pytest -q test_stats.py` failed")
    passed = _turn(FIX_TEST, (_write("stats.py"), False, "ok", UPDATED), (check, False, "1 passed"))
    assert lc.review(passed, "I fixed stats.py.", self_check=True) == lc.Verdict()


def test_self_check_stops_asking_after_two_checks_and_says_the_change_is_untested():
    steps = [(_write("stats.py", id=f"w{i}"), False, "ok", UPDATED) for i in range(3)]
    checks = [
        (_bash(lc.check_command(FIX_TEST), id=f"{lc.CHECK_CALL_PREFIX}{i}"), True, "Exit code 1") for i in range(2)
    ]
    turn = _turn(FIX_TEST, steps[0], checks[0], steps[1], checks[1], steps[2])
    verdict = lc.review(turn, "I fixed stats.py.", self_check=True)
    assert not verdict.check and verdict.note.startswith(lc.UNTESTED_NOTE)


def test_without_self_check_an_edited_file_is_untested_and_a_new_file_speaks_for_itself():
    edited = _turn("Fix calc.py", (_write("calc.py"), False, "ok", {"type": "update"}))
    assert lc.review(edited, "I fixed calc.py.", self_check=False).note == lc.UNTESTED_NOTE
    created = _turn("Create greet.py", (_write("greet.py"), False, "ok", {"type": "create", "content": "x"}))
    assert lc.review(created, "I created greet.py.", self_check=False) == lc.Verdict()
    ran = _turn(
        "Fix calc.py", (_write("calc.py"), False, "ok", {"type": "update"}), (_bash("python calc.py"), False, "5")
    )
    assert lc.review(ran, "I fixed calc.py.", self_check=False) == lc.Verdict()


def test_making_moving_or_removing_files_needs_no_test_but_an_edit_by_command_does():
    for command in ("mkdir build", "rm temp.log", "mkdir -p a && touch a/b.txt", "mv a.txt b.txt; cp b.txt c.txt"):
        turn = _turn("Tidy the folder", (_bash(command), False, "(no output)"))
        assert lc.review(turn, "I removed and created the files.", self_check=False) == lc.Verdict(), command
    for command in ("sed -i s/a/b/ notes.md", "rm a.txt && echo x > b.txt", "touch a | tee b"):
        turn = _turn("Tidy the folder", (_bash(command), False, "(no output)"))
        assert lc.review(turn, "I changed the files.", self_check=False).note == lc.UNTESTED_NOTE, command


def test_a_file_written_back_as_it_was_is_no_change():
    same = {"type": "update", "content": "first\nsecond\n", "originalFile": "first\nsecond\n"}
    turn = _turn("Add a line third to list.txt", (_write("list.txt"), False, "ok", same))
    verdict = lc.review(turn, "I added a line with the word third at the end of list.txt.", self_check=True)
    assert verdict.warning and verdict.note.startswith("no file was changed")
