"""The permission queue: identical questions of agents asking at once are asked once and answered
for all of them; different ones never merge; deny rules and per-agent grants hold."""

from __future__ import annotations

import asyncio

from sous.core import Allow, Deny, ToolCall, ToolContext
from sous.permissions import Answer, PermissionMiddleware, Rules
from sous.permissions.decide import Decision
from sous.permissions.grants import Grants
from sous.runtime.queue import PermissionQueue, request_key


class Person:
    """Answers questions when the test says so; records every question that reached it."""

    def __init__(self) -> None:
        self.asked: list[tuple[ToolCall, Decision]] = []
        self.replies: asyncio.Queue[Answer] = asyncio.Queue()

    async def ask(self, call: ToolCall, decision: Decision) -> Answer:
        self.asked.append((call, decision))
        return await self.replies.get()


def bash(call_id: str, command: str, description: str = "") -> ToolCall:
    args = {"command": command, **({"description": description} if description else {})}
    return ToolCall(id=call_id, name="Bash", arguments=args)


def ask_decision(**fields) -> Decision:
    return Decision(behavior="ask", **{"source": "mode:default", "cwd": "/p", **fields})


def agents(queue: PermissionQueue, names: list[str], rules: Rules | None = None) -> list[PermissionMiddleware]:
    grants, denials = Grants(), []  # shared, as the session shares them with its sub-agents
    rules = rules or Rules()
    return [
        PermissionMiddleware(rules, asker=queue.ask, agent=name, agent_id=f"id-{name}", grants=grants, denials=denials)
        for name in names
    ]


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_different_inputs_are_never_merged():
    same = request_key(bash("1", "rm build/out.txt"), ask_decision())
    assert same is not None
    assert same == request_key(bash("2", "rm build/out.txt", "tidy up"), ask_decision())  # the reason differs only
    different = [
        request_key(bash("3", "rm build/out.txt "), ask_decision()),
        request_key(bash("4", "rm build/out.txt; rm -rf /"), ask_decision()),
        request_key(
            ToolCall(id="5", name="Bash", arguments={"command": "rm build/out.txt", "timeout": 1}), ask_decision()
        ),
        request_key(bash("6", "rm build/out.txt"), ask_decision(cwd="/p/worktree")),  # another folder, another file
        request_key(bash("7", "rm build/out.txt"), ask_decision(source="rule:Bash(rm *)")),
        request_key(ToolCall(id="8", name="Shell", arguments={"command": "rm build/out.txt"}), ask_decision()),
    ]
    assert same not in different and len(set(different)) == len(different)
    agent_a = ToolCall(id="9", name="Agent", arguments={"description": "a", "prompt": "p", "subagent_type": "x"})
    agent_b = ToolCall(id="10", name="Agent", arguments={"description": "b", "prompt": "p", "subagent_type": "x"})
    assert request_key(agent_a, ask_decision()) != request_key(agent_b, ask_decision())  # only Bash's is a label
    # the safety floor's typed yes, plans and leaving the sandbox are asked on their own, every time
    assert request_key(bash("11", "rm -rf ~"), ask_decision(source="safety", confirm="typed")) is None
    assert request_key(bash("12", "ls"), ask_decision(source="sandbox", confirm="typed")) is None
    assert request_key(ToolCall(id="13", name="ExitPlanMode", arguments={}), ask_decision(confirm="plan")) is None


async def test_malformed_arguments_still_make_a_key_and_are_not_merged_with_others():
    weird = ToolCall(id="w", name="Bash", arguments={"command": {"nested": [1, b"x"]}, "x": float("nan")})
    assert request_key(weird, ask_decision()) != request_key(bash("n", "{'nested': [1, b'x']}"), ask_decision())
    person = Person()
    queue = PermissionQueue(person.ask)
    first = asyncio.ensure_future(queue.ask(weird, ask_decision()))
    second = asyncio.ensure_future(queue.ask(bash("n", "ls"), ask_decision()))
    await until(lambda: len(person.asked) == 2)
    person.replies.put_nowait(Answer(allow=False))
    person.replies.put_nowait(Answer(allow=True))
    assert {(await first).allow, (await second).allow} == {True, False}


async def test_four_agents_asking_the_same_are_asked_once_and_a_yes_reaches_all():
    person = Person()
    queue = PermissionQueue(person.ask)
    mws = agents(queue, ["a", "b", "c", "d", "e"])
    ctx = ToolContext(cwd="/p", project_dir="/p")
    calls = [bash(f"c{i}", "make lint", f"lint for {n}") for i, n in enumerate("abcd")] + [bash("c4", "make docs")]
    checks = [asyncio.ensure_future(mw.check(call, ctx)) for mw, call in zip(mws, calls, strict=True)]
    await until(lambda: len(queue.askers("c0", "id-a")) == 4 and len(person.asked) == 2)
    assert [a.agent for a in queue.askers("c3", "id-d")] == ["a", "b", "c", "d"]
    assert [a.why for a in queue.askers("c0", "id-a")] == ["lint for a", "lint for b", "lint for c", "lint for d"]
    assert [a.agent_id for a in queue.askers("c4", "id-e")] == ["id-e"]
    assert sorted(call.arguments["command"] for call, _ in person.asked) == ["make docs", "make lint"]
    for call, _ in person.asked:
        person.replies.put_nowait(Answer(allow=call.arguments["command"] == "make lint"))
    verdicts = await asyncio.gather(*checks)
    assert [type(v) for v in verdicts] == [Allow, Allow, Allow, Allow, Deny]
    assert queue.askers("c0", "id-a") == []  # answered: nobody waits any more


async def test_a_no_reaches_all_four_askers():
    person = Person()
    queue = PermissionQueue(person.ask)
    mws = agents(queue, ["a", "b", "c", "d"])
    ctx = ToolContext(cwd="/p", project_dir="/p")
    checks = [asyncio.ensure_future(mw.check(bash(f"c{i}", "git push"), ctx)) for i, mw in enumerate(mws)]
    await until(lambda: len(queue.askers("c0", "id-a")) == 4)
    person.replies.put_nowait(Answer(allow=False, feedback="open a pull request instead"))
    verdicts = await asyncio.gather(*checks)
    assert len(person.asked) == 1
    assert all(isinstance(v, Deny) and "open a pull request instead" in v.reason for v in verdicts)
    assert len(mws[0].denials) == 4


async def test_a_deny_rule_still_wins_over_a_merged_answer():
    person = Person()
    queue = PermissionQueue(person.ask)
    rules = Rules.from_lists(deny=["Bash(git push --force:*)"])
    mws = agents(queue, ["a", "b", "c"], rules)
    ctx = ToolContext(cwd="/p", project_dir="/p")
    calls = [bash("c0", "git push"), bash("c1", "git push"), bash("c2", "git push --force")]
    checks = [asyncio.ensure_future(mw.check(call, ctx)) for mw, call in zip(mws, calls, strict=True)]
    await until(lambda: len(queue.askers("c0", "id-a")) == 2)
    assert queue.askers("c2", "id-c") == []  # denied by the rule before anything was asked
    # an answer that rewrites the input is decided again for each asker: it never passes a deny rule
    person.replies.put_nowait(Answer(allow=True, updated_input={"command": "git push --force"}))
    verdicts = await asyncio.gather(*checks)
    assert len(person.asked) == 1
    assert all(isinstance(v, Deny) for v in verdicts)
    assert "denied" in verdicts[0].reason and "denied" in verdicts[2].reason


async def test_a_grant_kept_per_agent_does_not_cover_another_agent_and_one_for_all_does():
    person = Person()
    queue = PermissionQueue(person.ask)
    a, b, c = agents(queue, ["a", "b", "c"])
    ctx = ToolContext(cwd="/p", project_dir="/p")
    both = [asyncio.ensure_future(mw.check(bash(f"c{i}", "npm test"), ctx)) for i, mw in enumerate((a, b))]
    await until(lambda: len(queue.askers("c0", "id-a")) == 2)
    person.replies.put_nowait(Answer(allow=True, duration="session"))
    assert all(isinstance(v, Allow) for v in await asyncio.gather(*both))
    assert isinstance(await a.check(bash("a2", "npm test"), ctx), Allow)  # its own grant
    other = asyncio.ensure_future(c.check(bash("c2", "npm test"), ctx))
    await until(lambda: len(person.asked) == 2)  # not covered by a's or b's grant: asked again
    person.replies.put_nowait(Answer(allow=True, duration="5m", for_all=True))
    assert isinstance(await other, Allow)
    late = PermissionMiddleware(Rules(), asker=queue.ask, agent="late", grants=a.grants)
    assert isinstance(await late.check(bash("l1", "npm test"), ctx), Allow)
    assert len(person.asked) == 2
    assert sorted(str(g.agent) for g in a.grants.active()) == ["None", "a", "b"]


async def test_one_answer_for_all_makes_one_grant():
    person = Person()
    queue = PermissionQueue(person.ask)
    mws = agents(queue, ["a", "b", "c", "d"])
    ctx = ToolContext(cwd="/p", project_dir="/p")
    checks = [asyncio.ensure_future(mw.check(bash(f"c{i}", "make"), ctx)) for i, mw in enumerate(mws)]
    await until(lambda: len(queue.askers("c0", "id-a")) == 4)
    person.replies.put_nowait(Answer(allow=True, duration="session", for_all=True))
    await asyncio.gather(*checks)
    assert [(str(g.rule), g.agent) for g in mws[0].grants.active()] == [("Bash(make)", None)]


async def test_an_asker_that_gives_up_leaves_the_question_to_the_others_and_the_last_withdraws_it():
    started = asyncio.Event()
    withdrawn = asyncio.Event()

    async def person(call, decision):
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            withdrawn.set()
            raise

    queue = PermissionQueue(person)
    first = asyncio.ensure_future(queue.ask(bash("c0", "make"), ask_decision()))
    second = asyncio.ensure_future(queue.ask(bash("c1", "make"), ask_decision()))
    await started.wait()
    await until(lambda: len(queue.askers("c1")) == 2)
    first.cancel()
    await until(lambda: len(queue.askers("c1")) == 1)
    assert not withdrawn.is_set()
    second.cancel()
    await asyncio.wait_for(withdrawn.wait(), 5)
    assert queue.askers("c1") == []


async def test_a_question_asked_after_the_answer_is_asked_anew():
    person = Person()
    queue = PermissionQueue(person.ask)
    first = asyncio.ensure_future(queue.ask(bash("c0", "make"), ask_decision()))
    await until(lambda: len(person.asked) == 1)
    person.replies.put_nowait(Answer(allow=True))
    assert (await first).allow
    later = asyncio.ensure_future(queue.ask(bash("c1", "make"), ask_decision()))
    await until(lambda: len(person.asked) == 2)
    person.replies.put_nowait(Answer(allow=False))
    assert not (await later).allow


async def test_two_agents_whose_calls_carry_the_same_id_are_both_kept():
    person = Person()
    queue = PermissionQueue(person.ask)
    first = asyncio.ensure_future(queue.ask(bash("same", "make"), ask_decision(agent="a", agent_id="1")))
    second = asyncio.ensure_future(queue.ask(bash("same", "make"), ask_decision(agent="b", agent_id="2")))
    await until(lambda: len(queue.askers("same", "2")) == 2)
    first.cancel()
    await until(lambda: [a.agent for a in queue.askers("same", "2")] == ["b"])
    person.replies.put_nowait(Answer(allow=True))
    assert (await second).allow and len(person.asked) == 1


async def test_each_asks_every_waiting_agent_on_its_own():
    from sous.runtime.queue import EACH

    person = Person()
    queue = PermissionQueue(person.ask)
    mws = agents(queue, ["a", "b", "c"])
    ctx = ToolContext(cwd="/p", project_dir="/p")
    checks = [asyncio.ensure_future(mw.check(bash(f"c{i}", "make deploy"), ctx)) for i, mw in enumerate(mws)]
    await until(lambda: len(queue.askers("c0", "id-a")) == 3)
    person.replies.put_nowait(EACH)  # type: ignore[arg-type]
    await until(lambda: len(person.asked) == 4)
    assert [d.agent for _, d in person.asked[1:]] == ["a", "b", "c"]
    assert all(len(queue.askers(call.id, d.agent_id)) == 1 for call, d in person.asked[1:])  # each asked alone
    for _, decision in person.asked[1:]:
        person.replies.put_nowait(Answer(allow=decision.agent != "b"))
    assert [type(v) for v in await asyncio.gather(*checks)] == [Allow, Deny, Allow]


def test_keys_stay_small_and_odd_text_does_not_break_them():
    huge = ToolCall(id="w", name="Write", arguments={"file_path": "a.txt", "content": "x" * 2_000_000})
    other = ToolCall(id="v", name="Write", arguments={"file_path": "a.txt", "content": "x" * 1_999_999 + "y"})
    assert len(request_key(huge, ask_decision()) or "") == 64
    assert request_key(huge, ask_decision()) != request_key(other, ask_decision())
    lone = bash("s", "echo \ud800")  # a lone surrogate, as a broken model reply may carry
    assert request_key(lone, ask_decision()) != request_key(bash("t", "echo ?"), ask_decision())


async def test_a_queue_whose_answerer_is_told_who_asks_never_merges_two_agents_questions():
    """A program or prompt tool is told the asking agent's id and may answer each agent differently:
    its answer to one agent must not reach another. The same agent's identical calls still merge."""
    person = Person()
    queue = PermissionQueue(person.ask, per_agent=True)
    a1 = asyncio.ensure_future(queue.ask(bash("c1", "make"), ask_decision(agent="a", agent_id="1")))
    a2 = asyncio.ensure_future(queue.ask(bash("c2", "make"), ask_decision(agent="a", agent_id="1")))
    b = asyncio.ensure_future(queue.ask(bash("c3", "make"), ask_decision(agent="b", agent_id="2")))
    await until(lambda: len(person.asked) == 2 and len(queue.askers("c1", "1")) == 2)
    assert [d.agent_id for _, d in person.asked] == ["1", "2"]
    person.replies.put_nowait(Answer(allow=True))
    person.replies.put_nowait(Answer(allow=False))
    assert (await a1).allow and (await a2).allow and not (await b).allow


async def test_two_agents_whose_different_calls_carry_the_same_id_are_each_shown_with_their_own_question():
    """A provider that numbers its calls (`call_0`) gives two agents' first calls the same id: the
    question of one must never be shown as asked by the other, with the other's reason."""
    person = Person()
    queue = PermissionQueue(person.ask)
    make = asyncio.ensure_future(queue.ask(bash("call_0", "make", "build it"), ask_decision(agent="a", agent_id="1")))
    await until(lambda: len(person.asked) == 1)
    wipe = asyncio.ensure_future(
        queue.ask(bash("call_0", "rm -rf out", "clean"), ask_decision(agent="b", agent_id="2"))
    )
    await until(lambda: len(person.asked) == 2)
    assert [(a.agent, a.why) for a in queue.askers("call_0", "1")] == [("a", "build it")]
    assert [(a.agent, a.why) for a in queue.askers("call_0", "2")] == [("b", "clean")]
    person.replies.put_nowait(Answer(allow=True))
    assert (await make).allow and queue.askers("call_0", "1") == []
    assert [a.agent for a in queue.askers("call_0", "2")] == ["b"]  # b's question is still open
    person.replies.put_nowait(Answer(allow=False))
    assert not (await wipe).allow
