"""Property tests: dangerous commands rewritten the ways bash allows (quoting, brace expansion,
wrappers, assignments, `cd`, compounds, `bash -c`) never become allowed under the attack's
allow rules, and the floor's catastrophic ones still need a typed confirmation in bypass mode."""

from __future__ import annotations

import os
import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sous.permissions.decide import Rules, decide

ATTACK_ALLOW = ["Bash(echo *)", "Bash(ls *)", "Bash(cat *)", "Bash(git status)"]

DANGEROUS = [
    ["rm", "-rf", "victim"],
    ["find", "victim", "-delete"],
    ["find", "victim", "-exec", "rm", "{}", ";"],
    ["sort", "-o", "out.txt", "file.txt"],
    ["sort", "--compress-program=sh", "file.txt"],
    ["uniq", "file.txt", "out.txt"],
    ["git", "diff", "--output=out.txt"],
    ["rg", "--pre", "sh", "x"],
    ["cat", "~/.ssh/id_rsa"],
    ["head", "~/.ssh/id_rsa"],
    ["git", "diff", "--no-index", "~/.ssh/id_rsa", "/dev/null"],
    ["tee", "out.txt"],
    ["cp", "file.txt", "out.txt"],
    ["date", "-s", "2020-01-01"],
    ["ls", "~/.ssh"],
]
"""Under dontAsk with ATTACK_ALLOW, each of these must be denied, however it is written."""

CATASTROPHIC = [
    ["rm", "-rf", "~/x"],
    ["rm", "-r", "../../outside"],
    ["find", "~", "-delete"],
    ["chmod", "-R", "777", "~"],
    ["tee", "-a", "~/.bashrc"],
    ["cp", "file.txt", "~/.bashrc"],
]
"""In bypassPermissions mode, each of these must ask for a typed confirmation."""

WRAPPERS = [
    [],
    ["timeout", "5"],
    ["nice", "-n", "1"],
    ["nohup"],
    ["stdbuf", "-o0"],
    ["command"],
    ["env"],
    ["env", "-u", "X"],
    ["exec", "-a", "x"],
    ["time", "-p"],
    ["setsid"],
    ["sudo"],
    ["env", "-i"],
    ["nice"],
    ["timeout", "-k", "1", "5"],
]
ASSIGNMENTS = [[], ["LANG=C"], ["GIT_X=1"], ["LC_ALL=C", "TZ=UTC"]]
PREFIXES = ["", "echo hi; ", "ls && ", "cd src && ", "cd src; cd .. && ", "true || ", "git status; ", "cat file.txt | "]


def _quote_chunk(chunk: str, style: int) -> str:
    if style == 0 or not chunk:
        return shlex.quote(chunk) if any(c in chunk for c in " ;|&<>(){}$`'\"\\*?[]#~!") else chunk
    if style == 1:
        return "'" + chunk.replace("'", "'\\''") + "'"
    if style == 2:
        return '"' + "".join("\\" + c if c in '"$`\\' else c for c in chunk) + '"'
    if style == 3:
        return "$'" + "".join(f"\\x{ord(c):02x}" for c in chunk) + "'"
    return "".join("\\" + c for c in chunk)


@st.composite
def spelled(draw, word: str, braces: bool = True) -> str:
    """One word spelled in pieces, each quoted its own way; a leading `~` stays bare (it expands)."""
    head = ""
    if word.startswith("~"):
        head, word = "~", word[1:]
    if not word:
        return head
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(word) - 1)), max_size=3)))
    pieces = [word[a:b] for a, b in zip([0, *cuts], [*cuts, len(word)], strict=False) if word[a:b]]
    text = head + "".join(_quote_chunk(p, draw(st.integers(0, 4))) for p in pieces)
    if braces and draw(st.booleans()) and not head and "{" not in word and "," not in word:
        text = "{" + text + "," + text + "}"  # brace expansion into the same word twice
    return text


@st.composite
def variant(draw, words: list[str]) -> str:
    spelled_words = [draw(spelled(w)) if w not in (";",) else "\\;" for w in words]
    wrapper = draw(st.sampled_from(WRAPPERS))
    assigns = draw(st.sampled_from(ASSIGNMENTS))
    command = " ".join([*assigns, *wrapper, *spelled_words])
    if words[0] in ("tee",) and draw(st.booleans()):
        command += " < file.txt"
    command = draw(st.sampled_from(PREFIXES)) + command
    if draw(st.integers(0, 4)) == 0:
        command = "bash -c " + shlex.quote(command)
    return command


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[str, str]:
    home = tmp_path_factory.mktemp("home")
    project = home / "project"
    for folder in ("src", "victim", ".git"):
        (project / folder).mkdir(parents=True, exist_ok=True)
    (project / "file.txt").write_text("x\n")
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text("key\n")
    (home / ".bashrc").write_text("# rc\n")
    return str(project), str(home)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_dangerous_command_is_never_allowed_however_it_is_written(world, data):
    project, home = world
    command = data.draw(st.sampled_from(DANGEROUS).flatmap(variant))
    decision = decide(
        Rules.from_lists(allow=ATTACK_ALLOW),
        "dontAsk",
        "Bash",
        {"command": command},
        cwd=project,
        project_dir=project,
        home=home,
    )
    assert decision.behavior == "deny", (command, decision)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_catastrophic_command_always_needs_typing_in_bypass_mode(world, data):
    project, home = world
    command = data.draw(st.sampled_from(CATASTROPHIC).flatmap(variant))
    decision = decide(
        Rules.from_lists(allow=["Bash"]),
        "bypassPermissions",
        "Bash",
        {"command": command},
        cwd=project,
        project_dir=project,
        home=home,
    )
    assert decision.behavior == "ask" and decision.confirm == "typed", (command, decision)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_spelling_a_harmless_command_differently_keeps_it_allowed(world, data):
    project, home = world
    words = data.draw(
        st.sampled_from(
            [
                ["ls", "-la", "src"],
                ["cat", "file.txt"],
                ["git", "status"],
                ["sort", "-r", "file.txt"],
                ["find", "src", "-name", "x"],
            ]
        )
    )
    command = " ".join(data.draw(spelled(w, braces=False)) if i else w for i, w in enumerate(words))
    decision = decide(
        Rules.from_lists(allow=ATTACK_ALLOW),
        "dontAsk",
        "Bash",
        {"command": command},
        cwd=project,
        project_dir=project,
        home=home,
    )
    assert decision.behavior == "allow", (command, decision)
    assert os.path.isdir(project)
