"""What sous says about the offline model's final answer when it claims to have changed files.

A model of half a billion parameters often says "I fixed it" after a wrong or partial edit. The
run record (`sous.runtime.run_record`) lists what really changed; this module adds, for the
offline model only, a word on the claim itself:

- nothing was changed since the request: the claim is false;
- a file the request names was not changed (the claim is false there when the answer names it too);
- the request names a test or a script to run, and it failed after the last change: the claim is
  not confirmed;
- an existing file was changed and nothing was run after it: the change is untested.

With the self-check on, a claim made before the test or script the request names was run after the
last change is not the end of the turn: the offline model's reply becomes that command instead, a
tool call like any other (the permission check decides whether it runs), and the model answers
again once it has seen the result. sous never runs a command of its own outside that call.
"""

from __future__ import annotations

import re
from typing import Any

from sous.core import AssistantMessage, Message, ToolCall, ToolResultMessage, UserMessage
from sous.records import record

from .local_protocol import claims_change, only_reads

CHECK_CALL_PREFIX = "local_check_"
"""Ids of the check calls the self-check adds, so that it adds at most `MAX_CHECKS` per request."""
MAX_CHECKS = 2
FALSE_NOTE = "the offline model's claim above is not true"
FAILED_NOTE = "the offline model's claim above is not confirmed"
UNTESTED_NOTE = "nothing was run to test this change"
MISSED_NOTE = "the request names"
"""How the note on files the request names that nothing changed begins."""

_FILE = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*(?:[\w-]*\w)?\.[A-Za-z]\w{0,9})\b")
_TEST_FILE = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*(?:test_\w+|\w+_test)\.py)\b")
_RUN_SCRIPT = re.compile(r"\b(?:run|execute)\s+`?(python3?\s+[\w./-]+\.py)`?", re.IGNORECASE)
_EDIT_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
_FILE_COMMANDS = {"mkdir", "rm", "rmdir", "touch", "mv", "cp"}


@record(kw_only=False)
class Verdict:
    """What to do with a final answer: run `check` first, or add `note` (a warning when
    `warning`), or nothing."""

    check: str = ""
    note: str = ""
    warning: bool = False


def check_command(request_text: str) -> str:
    """The command that tests the request's change, when the request names one: its test files
    run by pytest, else a script it asks to run. Empty when it names none."""
    tests = list(dict.fromkeys(_TEST_FILE.findall(request_text)))
    if tests:
        return "python -m pytest -q " + " ".join(tests)
    script = _RUN_SCRIPT.search(request_text)
    return " ".join(script.group(1).split()) if script else ""


def review(messages: tuple[Message, ...], answer: str, *, self_check: bool) -> Verdict:
    """The verdict on `answer`, a final answer to the last request in `messages`."""
    if not claims_change(answer):
        return Verdict()
    start = max((i for i, m in enumerate(messages) if isinstance(m, UserMessage)), default=-1)
    request = messages[start].text if start >= 0 and isinstance(messages[start], UserMessage) else ""
    steps = _steps(messages[start + 1 :])
    command = check_command(request)
    # Running the named test or script is taken to change nothing: it is how a change is checked.
    changes = [
        i for i, (call, result) in enumerate(steps) if _changes_files(call, result) and not _is_check(call, command)
    ]
    if not changes:
        return Verdict(note=f"no file was changed in this turn: {FALSE_NOTE}", warning=True)
    unchanged = _named_unchanged(request, steps)
    if unchanged:
        names = ", ".join(unchanged)
        said = [n for n in unchanged if n in _FILE.findall(answer)]
        note = f"{MISSED_NOTE} {names}, which {'was' if len(unchanged) == 1 else 'were'} not changed"
        return Verdict(note=note + (f": {FALSE_NOTE}" if said else ""), warning=True)
    # Running code (the named check, a script, the tests) is how an edit is tested, not an edit.
    edits = [i for i in changes if not _runs_code(_command(steps[i][0]))]
    after = steps[(edits or changes)[-1] + 1 :]
    if command:
        ran = [(call, result) for call, result in after if _command(call) == command]
        if ran:
            result = ran[-1][1]
            if result.is_error:
                return Verdict(note=f"`{command}` failed after the last change: {FAILED_NOTE}", warning=True)
            return Verdict()
        made = sum(call.id.startswith(CHECK_CALL_PREFIX) for call, _ in steps)
        if self_check and made < MAX_CHECKS:
            return Verdict(check=command)
    tested = any(_command(call) and not result.is_error and not only_reads(_command(call)) for call, result in after)
    if not tested and any(_edits_existing(call, result) for call, result in steps):
        return Verdict(note=UNTESTED_NOTE + (f" (the request names `{command}`)" if command else ""))
    return Verdict()


def _steps(messages: tuple[Message, ...]) -> list[tuple[ToolCall, ToolResultMessage]]:
    calls = {c.id: c for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls}
    return [
        (calls[m.tool_call_id], m) for m in messages if isinstance(m, ToolResultMessage) and m.tool_call_id in calls
    ]


def _command(call: ToolCall) -> str:
    command = call.arguments.get("command") if call.name == "Bash" else None
    return " ".join(command.split()) if isinstance(command, str) else ""


def _runs_code(command: str) -> bool:
    return re.match(r"(?:python3?|pytest|node|bash|sh|make)\b", command) is not None and not re.search(
        r"[>|;&]", command
    )


def _is_check(call: ToolCall, command: str) -> bool:
    return bool(command) and _command(call) == command


def _changes_files(call: ToolCall, result: ToolResultMessage) -> bool:
    if result.is_error:
        return False
    data: Any = result.data
    content = data.get("content") if isinstance(data, dict) and data.get("type") == "update" else None
    if isinstance(content, str) and content.replace("\r\n", "\n") == data.get("originalFile"):
        return False  # written back as it was
    return call.name in _EDIT_TOOLS or bool(_command(call) and not only_reads(_command(call)))


def _edits_existing(call: ToolCall, result: ToolResultMessage) -> bool:
    """A change to a file's content that was there before. A new file is its own evidence in the
    record, and so is a command that only makes, moves or removes files (its exit code says it all)."""
    if not _changes_files(call, result):
        return False
    if _command(call):
        parts = [p.split() for p in re.split(r"&&|;|\n", _command(call)) if p.strip()]
        return not all(words[0] in _FILE_COMMANDS and not re.search(r"[>|]", " ".join(words)) for words in parts)
    data: Any = result.data
    return not (call.name == "Write" and isinstance(data, dict) and data.get("type") == "create")


def _named_unchanged(request: str, steps: list[tuple[ToolCall, ToolResultMessage]]) -> list[str]:
    """Files the request names that nothing changed (test files aside: a request may name one to
    run it). A command that changes files and names none, or uses a wildcard, may have changed any
    of them: then nothing is reported."""
    named = [n for n in dict.fromkeys(_FILE.findall(request)) if not _TEST_FILE.fullmatch(n)]
    touched: list[str] = []
    for call, result in steps:
        if not _changes_files(call, result):
            continue
        if call.name in _EDIT_TOOLS:
            touched.append(str(call.arguments.get("file_path") or call.arguments.get("notebook_path") or ""))
            continue
        mentioned = _FILE.findall(_command(call))
        if "*" in _command(call) or not mentioned:
            return []
        touched += mentioned
    return [n for n in named if not any(t == n or t.endswith("/" + n) for t in touched)]
