from __future__ import annotations

import pytest

from sous.permissions.decide import Rules, decide, split_command
from sous.permissions.rules import command_matches, parse, path_matches

ALLOW = ["Bash(npm run test *)", "Bash(git commit:*)", "Edit(src/**)", "WebFetch(domain:example.com)"]
DENY = ["Bash(rm *)", "Read(./.env)"]


def verdict(tool, args, mode="default", allow=ALLOW, deny=DENY, ask=()):
    rules = Rules.from_lists(allow=allow, deny=deny, ask=ask)
    return decide(rules, mode, tool, args, cwd="/p", project_dir="/p").behavior


@pytest.mark.parametrize(
    "spec,command,ok",
    [
        ("npm run test *", "npm run test -- -x", True),
        ("npm run test *", "npm run test", True),
        ("npm run test *", "npm run testing", False),
        ("ls *", "lsof", False),
        ("ls*", "lsof", True),
        ("git commit:*", "git commit -m x", True),
        ("git * main", "git push origin main", True),
        ("* --version", "node --version", True),
        ("npm run build", "npm run build --prod", False),
    ],
)
def test_bash_specifiers(spec, command, ok):
    assert command_matches(spec, command) == ok


@pytest.mark.parametrize(
    "command,parts",
    [
        ("a && b || c; d | e", ["a", "b", "c", "d", "e"]),
        ("timeout 5 npm test", ["npm test"]),
        ("FOO=1 env BAR=2 nice -n 5 make", ["make"]),
        ("echo $(rm -rf ~)", ["rm -rf ~", "echo $(rm -rf ~)"]),
        ("echo `id`", ["id", "echo `id`"]),
        ("echo 'unterminated", None),
        ("$CMD --force", None),
        ("ls > out.txt", ["ls"]),
    ],
)
def test_split_command(command, parts):
    assert split_command(command) == parts


@pytest.mark.parametrize(
    "tool,args,mode,expected",
    [
        ("Bash", {"command": "npm run test && ls"}, "default", "allow"),
        ("Bash", {"command": "ls && rm -rf /"}, "bypassPermissions", "deny"),
        ("Bash", {"command": "python x.py"}, "default", "ask"),
        ("Bash", {"command": "python x.py"}, "dontAsk", "deny"),
        ("Bash", {"command": "python x.py"}, "bypassPermissions", "allow"),
        ("Bash", {"command": "cat $(ls)"}, "default", "ask"),  # cat reads files known only at run time
        ("Bash", {"command": "echo $(ls)"}, "default", "allow"),
        ("Bash", {"command": "cat $(curl -s evil.example)"}, "default", "ask"),
        ("Bash", {"command": "echo $(rm -rf build)"}, "bypassPermissions", "deny"),
        ("Edit", {"file_path": "/p/src/a.py"}, "default", "allow"),
        ("Edit", {"file_path": "/p/lib/a.py"}, "default", "ask"),
        ("Edit", {"file_path": "/p/lib/a.py"}, "acceptEdits", "allow"),
        ("Edit", {"file_path": "/etc/passwd"}, "acceptEdits", "ask"),
        ("Write", {"file_path": "/p/lib/a.py"}, "plan", "deny"),
        ("Read", {"file_path": "/p/.env"}, "bypassPermissions", "deny"),
        ("Read", {"file_path": "/p/a/b.py"}, "default", "allow"),
        ("Read", {"file_path": "/etc/hosts"}, "default", "ask"),
        ("Grep", {"pattern": "x", "path": "/p/src"}, "plan", "allow"),
        ("TodoWrite", {"todos": []}, "plan", "allow"),
        ("WebFetch", {"url": "https://example.com/x"}, "default", "allow"),
        ("WebFetch", {"url": "https://evil.example.org/x"}, "default", "ask"),
    ],
)
def test_decide(tool, args, mode, expected):
    assert verdict(tool, args, mode) == expected


def test_ask_rule_beats_allow_and_deny_beats_both():
    assert verdict("Bash", {"command": "git commit -m x"}, ask=["Bash(git commit *)"]) == "ask"
    assert verdict("Bash", {"command": "git commit -m x"}, deny=["Bash(git *)"], ask=["Bash(git commit *)"]) == "deny"


def test_bare_deny_removes_the_tool():
    assert Rules.from_lists(deny=["Bash", "Edit(x)", "mcp__*"]).denied_tools() == {"Bash"}


def test_bad_rules_are_reported_not_fatal():
    rules = Rules.from_lists(allow=["Bash(ok)", "not a rule("])
    assert len(rules.allow) == 1 and rules.problems


@pytest.mark.parametrize(
    "spec,path,ok",
    [
        ("src/**", "/p/src/a/b.py", True),
        (".env", "/p/deep/er/.env", True),
        ("/docs/*.md", "/p/docs/a.md", True),
        ("/docs/*.md", "/p/docs/sub/a.md", False),
        ("//etc/**", "/etc/passwd", True),
        ("*.ts", "/p/x/y.ts", True),
    ],
)
def test_path_rules(spec, path, ok):
    assert path_matches(spec, path, "/p") == ok


def test_parse_aliases_task_to_agent():
    assert parse("Task(Explore)").tool == "Agent"


def test_leaving_plan_mode_is_always_the_persons_call():
    everything = ["ExitPlanMode", "Bash", "Edit"]
    assert verdict("ExitPlanMode", {"plan": "x"}, mode="plan", allow=everything) == "ask"
    assert verdict("ExitPlanMode", {"plan": "x"}, mode="bypassPermissions") == "deny"  # not in plan mode
    assert verdict("ExitPlanMode", {"plan": "x"}, mode="default") == "deny"
    assert verdict("Edit", {"file_path": "/p/src/a.py"}, mode="plan", allow=[]) == "deny"


async def test_an_approved_plan_switches_to_the_chosen_mode():
    from sous.core import ToolCall, ToolContext
    from sous.permissions import Answer, PermissionMiddleware

    changes = []

    async def approve(call, decision):
        assert decision.confirm == "plan"
        return Answer(allow=True, mode="acceptEdits")

    perms = PermissionMiddleware(
        Rules(),
        "plan",
        asker=approve,
        emit=lambda e: changes.append((e.old, e.new)) if type(e).__name__ == "ModeChanged" else None,
    )
    ctx = ToolContext(cwd="/p", project_dir="/p")
    decision = await perms.check(ToolCall(id="1", name="ExitPlanMode", arguments={"plan": "do it"}), ctx)
    assert type(decision).__name__ == "Allow" and perms.mode == "acceptEdits" and changes == [("plan", "acceptEdits")]


@pytest.mark.parametrize(
    "tool,args",
    [
        ("Write", {"file_path": "/p/src/new.py", "content": "x"}),
        ("Edit", {"file_path": "/p/src/a.py", "old_string": "a", "new_string": "b"}),
        ("MultiEdit", {"file_path": "/p/src/a.py", "edits": [{"old_string": "a", "new_string": "b"}]}),
        ("NotebookEdit", {"notebook_path": "/p/a.ipynb", "new_source": "x"}),
    ],
)
def test_plan_mode_refuses_file_edits_whatever_the_allow_rules_and_grants_say(tool, args):
    """As Claude Code ("Cannot write to F while in plan mode"): no source edit until the plan is
    approved, even with an allow rule naming the tool or an earlier "always" answer."""
    for allow in ([tool], [f"{tool}(src/**)"], ["Edit", "Write", "MultiEdit", "NotebookEdit"]):
        decision = decide(Rules.from_lists(allow=allow), "plan", tool, args, cwd="/p", project_dir="/p")
        assert decision.behavior == "deny" and decision.source == "mode:plan", (allow, decision)
        assert "plan mode" in decision.reason
    assert verdict(tool, args, mode="default", allow=[tool]) == "allow"  # the rule holds outside plan mode
