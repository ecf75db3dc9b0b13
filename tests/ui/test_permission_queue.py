"""One queue for many agents, in the real terminal: five sub-agents work at once, four ask for the
same command and one for another; the person sees two questions, the first labelled with its four
askers, and one answer reaches all four."""

from __future__ import annotations

import re
import time

import pytest

from sous.testing.server import ScriptedServer

from .terminal import Terminal
from .test_repl import _project, _start, _texts

SHARED = "echo line >> shared.txt"
OTHER = "touch other.txt"
QUESTION = r"^\? sous wants to run Bash\((?P<command>[^)]*)\)"
ASKER = re.compile(
    r"^(?:\? sous wants to run .*asked by agent|\s+· agent|\s+\+ also asked by agent) general-purpose: (job \d)"
)


def _turns() -> list[dict]:
    agents = [
        {
            "id": f"agent{n}",
            "name": "Agent",
            "input": {"description": f"job {n}", "prompt": f"do job {n}", "subagent_type": "general-purpose"},
        }
        for n in range(1, 6)
    ]
    # The children's first requests come in any order: four get the same command, one another.
    first = [SHARED, SHARED, OTHER, SHARED, SHARED]
    return [
        {"tool_calls": agents},
        *({"tool_calls": [{"name": "Bash", "input": {"command": c, "description": "write the file"}}]} for c in first),
        *({"text": "job done"} for _ in range(5)),
        {"text": "All five agents finished."},
    ]


def _askers(term: Terminal, start: int) -> set[str]:
    """The agents named as askers in the question printed from screen line `start` on."""
    return {m.group(1) for line in term.text().splitlines()[start:] if (m := ASKER.match(line))}


def _until(term: Terminal, condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out; the screen was:\n{term.text()}"
        term.settle(0.1)


def _next_question(term: Terminal, seen: int) -> tuple[str, int]:
    """Wait for question number `seen + 1`; its command and the screen line it starts on."""
    term.wait_for(rf"(?s)({QUESTION}.*){{{seen + 1}}}", timeout=60)
    lines = term.text().splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(QUESTION, line)]
    start = starts[seen]
    command = re.match(QUESTION, lines[start])
    assert command is not None
    return command.group("command"), start


@pytest.mark.parametrize("shared_answer", ["y", "n", "*s"])
def test_four_sub_agents_asking_the_same_command_get_one_question_and_its_answer(tmp_path, shared_answer):
    project = _project(tmp_path)
    with ScriptedServer(_turns()) as server:
        term = _start(tmp_path, server, cols=140)
        term.line("run five jobs")
        asked: dict[str, set[str]] = {}
        for seen in range(2):
            command, start = _next_question(term, seen)
            if command == SHARED:
                # the others join while the question is open, each named on its own line
                _until(term, lambda start=start: len(_askers(term, start)) == 4)
                asked[command] = _askers(term, start)
                term.type(shared_answer)
                term.wait_for(r"→ (yes, this once|no|yes, for this session, for every agent) \(4 agents\)")
            else:
                assert command == OTHER, command
                term.settle(0.5)
                asked[command] = _askers(term, start)
                term.type("y")
            if seen == 0:  # the agents answered go on working while the other question waits
                done = 4 if command == SHARED else 1
                _until(term, lambda done=done: len(re.findall(r"⎿ job done", term.text())) == done)
        term.wait_for(r"All five agents finished\.", timeout=60)
        screen = term.text()
        if shared_answer == "*s":  # one grant, for every agent
            term.line("/permissions")
            term.wait_for(r"^#1 allow Bash\(echo line\) \(this session\)$")  # the narrowest rule
            assert "#2 allow" not in term.text() and "for agent" not in term.text()
        term.close()
    assert len(re.findall(QUESTION, screen, re.M)) == 2  # five agents asked; the person saw two questions
    assert len(asked[SHARED]) == 4 and len(asked[OTHER]) == 1 and not asked[SHARED] & asked[OTHER]
    assert (project / "other.txt").exists()
    results = [t for request in server.requests for t in _texts(request)[-1:]]
    said_no = [t for t in results if "the user said no" in t]
    if shared_answer != "n":
        assert (project / "shared.txt").read_text() == "line\n" * 4 and not said_no
    else:
        assert not (project / "shared.txt").exists() and len(said_no) == 4
    finished = [t for request in server.requests for t in _texts(request) if "job done" in t]
    assert len(finished) == 5  # every agent's report reached the parent


def test_e_asks_each_agent_on_its_own_and_each_answer_reaches_only_its_agent(tmp_path):
    project = _project(tmp_path)
    agents = [
        {
            "id": f"agent{n}",
            "name": "Agent",
            "input": {"description": f"job {n}", "prompt": f"do job {n}", "subagent_type": "general-purpose"},
        }
        for n in range(1, 4)
    ]
    turns = [
        {"tool_calls": agents},
        *({"tool_calls": [{"name": "Bash", "input": {"command": SHARED}}]} for _ in range(3)),
        *({"text": "job done"} for _ in range(3)),
        {"text": "All three agents finished."},
    ]
    with ScriptedServer(turns) as server:
        term = _start(tmp_path, server, cols=140)
        term.line("run three jobs")
        command, start = _next_question(term, 0)
        _until(term, lambda: len(_askers(term, start)) == 3)
        term.type("e")
        term.wait_for(r"→ each of the 3 agents will be asked on its own")
        alone: list[str] = []
        for seen, key in zip(range(1, 4), "yny", strict=True):
            command, start = _next_question(term, seen)
            assert command == SHARED
            term.settle(0.3)
            (asker,) = _askers(term, start)  # one agent per question now
            alone.append(asker)
            term.type(key)
        term.wait_for(r"All three agents finished\.", timeout=60)
        term.close()
    assert sorted(alone) == ["job 1", "job 2", "job 3"]
    assert (project / "shared.txt").read_text() == "line\n" * 2
    said_no = [t for request in server.requests for t in _texts(request)[-1:] if "the user said no" in t]
    assert len(said_no) == 1
