"""File tool paths: symlinks, Glob/Grep patterns and files that run later.

Adversarial cases first, each with a must-pass sibling that keeps ordinary work free of prompts.
The paths are real files and symlinks in a temporary project and a fake home folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.core import ToolContext
from sous.permissions.decide import Rules, decide
from sous.permissions.rules import call_paths, path_matches
from sous.permissions.safety import protected
from sous.tools._files import resolve

SRC = str(Path(sous.__file__).resolve().parents[1])


@pytest.fixture
def world(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    """A project with a source file, an `.env`, links pointing in and out, and a home with keys."""
    home, project, outside = tmp_path / "home", tmp_path / "project", tmp_path / "outside"
    for folder in (home / ".ssh", project / "src", project / ".git" / "hooks", outside):
        folder.mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY")
    (project / "src" / "app.py").write_text("print('hi')\n")
    (project / ".env").write_text("TOKEN=secret\n")
    (outside / "notes.txt").write_text("outside\n")
    (project / "key").symlink_to(home / ".ssh" / "id_rsa")
    (project / "ssh").symlink_to(home / ".ssh")
    (project / "notes").symlink_to(outside / "notes.txt")
    (project / "env-link").symlink_to(project / ".env")
    (project / "app-link").symlink_to(project / "src" / "app.py")
    (project / "src-link").symlink_to(project / "src")
    (project / "hook-link").symlink_to(project / ".git" / "hooks" / "pre-commit")
    monkeypatch.setenv("HOME", str(home))
    return {"home": home, "project": project, "outside": outside}


def run(world, tool: str, args: dict, mode: str = "default", allow=(), deny=(), ask=()):
    rules = Rules.from_lists(allow=allow, deny=deny, ask=ask)
    project = str(world["project"])
    return decide(rules, mode, tool, args, cwd=project, project_dir=project, home=str(world["home"]))


# --- symlinks and rules --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["key", "ssh/id_rsa", "notes", "src-link/../key"])
def test_an_allow_rule_does_not_follow_a_link_out_of_the_project(world, path):
    decision = run(world, "Read", {"file_path": path}, mode="dontAsk", allow=["Read(/**)"])
    assert decision.behavior == "deny", decision


@pytest.mark.parametrize("path", ["src/app.py", "app-link", "src-link/app.py", ".env"])
def test_an_allow_rule_covers_links_that_stay_inside(world, path):
    decision = run(world, "Read", {"file_path": path}, mode="dontAsk", allow=["Read(/**)"])
    assert decision.behavior == "allow", decision


@pytest.mark.parametrize("path", ["key", "ssh/id_rsa", "notes"])
def test_reading_through_a_link_out_of_the_project_asks(world, path):
    decision = run(world, "Read", {"file_path": path})
    assert decision.behavior == "ask" and "outside the project" in decision.reason


@pytest.mark.parametrize("path", ["src/app.py", "app-link", "src-link/app.py"])
def test_reading_through_a_link_inside_the_project_is_free(world, path):
    assert run(world, "Read", {"file_path": path}).behavior == "allow"


@pytest.mark.parametrize(
    "tool,args",
    [
        ("Read", {"file_path": "env-link"}),
        ("Read", {"file_path": ".env"}),
        ("Grep", {"pattern": "TOKEN", "path": ".env"}),
        ("Grep", {"pattern": "TOKEN", "path": "env-link"}),
    ],
)
def test_a_deny_rule_holds_through_links_and_for_grep(world, tool, args):
    assert run(world, tool, args, mode="bypassPermissions", deny=["Read(./.env)"]).behavior == "deny"


@pytest.mark.parametrize(
    "tool,args",
    [
        ("Read", {"file_path": "key"}),
        ("Read", {"file_path": "ssh/id_rsa"}),
        ("Glob", {"pattern": "ssh/*"}),
        ("Grep", {"pattern": "KEY", "path": "ssh"}),
    ],
)
def test_a_home_deny_rule_matches_the_target_of_a_project_link(world, tool, args):
    assert run(world, tool, args, mode="bypassPermissions", deny=["Read(~/.ssh/**)"]).behavior == "deny"


@pytest.mark.parametrize(
    "tool,args",
    [
        ("Read", {"file_path": "src/app.py"}),
        ("Read", {"file_path": "app-link"}),
        ("Grep", {"pattern": "x", "path": "src"}),
        ("Glob", {"pattern": "**/*.py"}),
    ],
)
def test_deny_rules_leave_other_files_alone(world, tool, args):
    decision = run(world, tool, args, mode="dontAsk", deny=["Read(./.env)", "Read(~/.ssh/**)"])
    assert decision.behavior == "allow", decision


def test_an_allow_rule_for_a_folder_outside_needs_the_target_inside_it_too(world, tmp_path):
    public = tmp_path / "public"
    public.mkdir()
    (public / "readme.txt").write_text("ok")
    (public / "leak").symlink_to(world["home"] / ".ssh" / "id_rsa")
    rule = f"Read(/{public}/**)"
    assert run(world, "Read", {"file_path": str(public / "leak")}, mode="dontAsk", allow=[rule]).behavior == "deny"
    assert (
        run(world, "Read", {"file_path": str(public / "readme.txt")}, mode="dontAsk", allow=[rule]).behavior == "allow"
    )


def test_a_project_reached_through_a_linked_folder_still_matches_its_rules(tmp_path):
    real = tmp_path / "real"
    (real / "src").mkdir(parents=True)
    (real / "src" / "a.py").write_text("x")
    (tmp_path / "via").symlink_to(real)
    via = str(tmp_path / "via")
    assert path_matches("src/**", f"{via}/src/a.py", via)
    assert path_matches("/src/*.py", f"{via}/src/a.py", via)
    assert not path_matches("/docs/**", f"{via}/src/a.py", via)


# --- Glob and Grep patterns ----------------------------------------------------------------------

GLOBS_OUT = [
    {"pattern": "{home}/.ssh/*"},
    {"pattern": "~/.ssh/*"},
    {"pattern": "~/**"},
    {"pattern": "../../**"},
    {"pattern": "../outside/*"},
    {"pattern": "src/../../outside/*"},
    {"pattern": "**/../../*"},
    {"pattern": "/etc/*"},
    {"pattern": "/*"},
    {"pattern": "*", "path": "{outside}"},
    {"pattern": "*", "path": ".."},
    {"pattern": "**/id_rsa", "path": "~"},
    {"pattern": "*", "path": "ssh"},
    {"pattern": "{home}/**/id_*", "path": "src"},
    {"pattern": "~root/*"},
    {"pattern": "~nobody/**"},
]


def filled(args: dict, world) -> dict:
    return {
        k: v.replace("{home}", str(world["home"])).replace("{outside}", str(world["outside"])) for k, v in args.items()
    }


@pytest.mark.parametrize("args", GLOBS_OUT)
def test_glob_patterns_and_paths_that_leave_the_project_ask(world, args):
    decision = run(world, "Glob", filled(args, world))
    assert decision.behavior == "ask" and "outside" in decision.reason, decision


@pytest.mark.parametrize("args", GLOBS_OUT)
def test_glob_patterns_that_leave_the_project_are_not_covered_by_a_project_allow_rule(world, args):
    assert run(world, "Glob", filled(args, world), mode="dontAsk", allow=["Read(/**)"]).behavior == "deny"


@pytest.mark.parametrize(
    "args",
    [
        {"pattern": "**/*.py"},
        {"pattern": "src/**/*.py"},
        {"pattern": "*.md"},
        {"pattern": "**/*.{py,md}"},
        {"pattern": "*.py", "path": "src"},
        {"pattern": "*.py", "path": "src-link"},
        {"pattern": "src/*.py"},
    ],
)
def test_glob_inside_the_project_is_free(world, args):
    assert run(world, "Glob", args).behavior == "allow"
    assert run(world, "Glob", args, mode="dontAsk", allow=["Read(/**)"]).behavior == "allow"


def test_an_absolute_glob_inside_the_project_is_free(world):
    assert run(world, "Glob", {"pattern": f"{world['project']}/src/**/*.py"}).behavior == "allow"


@pytest.mark.parametrize(
    "args",
    [
        {"pattern": "x", "path": "/etc"},
        {"pattern": "x", "path": "~/.ssh"},
        {"pattern": "x", "path": ".."},
        {"pattern": "x", "path": "key"},
        {"pattern": "x", "path": "ssh"},
        {"pattern": "x", "glob": "/etc/*"},
        {"pattern": "x", "glob": "../../**"},
        {"pattern": "x", "glob": "~/.ssh/*"},
        {"pattern": "x", "glob": "**/../../*"},
        {"pattern": "x", "glob": "*.py,/etc/*"},
    ],
)
def test_grep_paths_and_globs_that_leave_the_project_ask(world, args):
    assert run(world, "Grep", args).behavior == "ask"
    assert run(world, "Grep", args, mode="dontAsk", allow=["Read(/**)"]).behavior == "deny"


@pytest.mark.parametrize(
    "args",
    [
        {"pattern": "x"},
        {"pattern": "x", "path": "src"},
        {"pattern": "x", "glob": "*.py"},
        {"pattern": "x", "glob": "src/**/*.py"},
        {"pattern": "x", "glob": "!*.lock"},
        {"pattern": "x", "path": "app-link"},
    ],
)
def test_grep_inside_the_project_is_free(world, args):
    assert run(world, "Grep", args).behavior == "allow"


def test_the_glob_tool_searches_the_folder_the_check_looked_at(world):
    """The decision and the tool agree: `~/.ssh/*` is searched in the home folder (after a yes)."""
    project, home = world["project"], world["home"]
    env = {**os.environ, "PYTHONPATH": SRC, "HOME": str(home)}
    code = (
        "import asyncio, sys; from sous.core import ToolContext; from sous.tools.glob import TOOL; "
        "r = asyncio.run(TOOL.run({'pattern': sys.argv[1]}, ToolContext(cwd=sys.argv[2], project_dir=sys.argv[2],"
        " environ=__import__('os').environ))); print(r.content)"
    )
    for pattern, expected in (("~/.ssh/*", home / ".ssh" / "id_rsa"), ("../outside/*", world["outside"] / "notes.txt")):
        out = subprocess.run(
            [sys.executable, "-c", code, pattern, str(project)], env=env, capture_output=True, text=True, timeout=60
        ).stdout
        assert str(expected) in out
        assert call_paths("Glob", {"pattern": pattern}, str(project)) == [str(expected.parent)]
    assert run(world, "Glob", {"pattern": "~/.ssh/*"}).behavior == "ask"


# --- writes through links ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["default", "acceptEdits", "dontAsk", "bypassPermissions"])
def test_an_edit_through_a_link_to_an_outside_file_needs_a_typed_yes(world, mode):
    decision = run(
        world, "Edit", {"file_path": "notes", "old_string": "a", "new_string": "b"}, mode=mode, allow=["Edit(/**)"]
    )
    assert (decision.behavior, decision.confirm) == ("ask", "typed"), decision
    assert "outside the project" in decision.reason


@pytest.mark.parametrize("mode", ["acceptEdits", "bypassPermissions"])
def test_a_write_through_a_link_into_git_hooks_needs_a_typed_yes(world, mode):
    decision = run(world, "Write", {"file_path": "hook-link", "content": "#!/bin/sh\nrm -rf ~\n"}, mode=mode)
    assert (decision.behavior, decision.confirm) == ("ask", "typed") and ".git" in decision.reason


@pytest.mark.parametrize("tool", ["Write", "Edit", "NotebookEdit"])
def test_dot_dot_after_a_link_to_a_deeper_folder_is_read_as_the_tool_writes_it(world, tool):
    """The file tools drop `link/..` from a path before opening it, so `deep/../../outside/notes.txt`
    is the outside file, although the link's folder, two levels down, makes it land back inside."""
    (world["project"] / "a" / "b").mkdir(parents=True)
    (world["project"] / "deep").symlink_to(world["project"] / "a" / "b")
    key = "notebook_path" if tool == "NotebookEdit" else "file_path"
    args = {key: "deep/../../outside/notes.txt", "content": "x", "old_string": "o", "new_string": "x"}
    decision = run(world, tool, args, mode="bypassPermissions")
    assert (decision.behavior, decision.confirm) == ("ask", "typed"), decision
    assert "outside the project" in decision.reason
    written = resolve(args[key], ToolContext(cwd=str(world["project"]), project_dir=str(world["project"])))
    assert written == world["outside"] / "notes.txt"  # what the tool would write
    # the link's own folder is inside: writing there through it stays free
    assert run(world, tool, {**args, key: "deep/new.txt"}, mode="acceptEdits").behavior == "allow"


@pytest.mark.parametrize("path", ["app-link", "src-link/app.py", "src/app.py", "src/new.py"])
def test_an_edit_through_a_link_inside_the_project_is_accepted(world, path):
    decision = run(world, "Edit", {"file_path": path, "old_string": "a", "new_string": "b"}, mode="acceptEdits")
    assert decision.behavior == "allow", decision


def test_a_notebook_outside_the_project_is_not_accepted_as_an_edit(world):
    decision = run(
        world,
        "NotebookEdit",
        {"notebook_path": str(world["outside"] / "n.ipynb"), "new_source": ""},
        mode="acceptEdits",
    )
    assert decision.behavior == "ask"
    inside = run(world, "NotebookEdit", {"notebook_path": "src/n.ipynb", "new_source": ""}, mode="acceptEdits")
    assert inside.behavior == "allow"


# --- files that run later ------------------------------------------------------------------------

RUN_LATER = [
    ".mcp.json",
    ".claude/settings.json",
    ".claude/settings.local.json",
    ".claude/hooks/check.sh",
    ".claude/commands/deploy.md",
    ".claude/agents/helper.md",
    ".claude/skills/x/SKILL.md",
    ".claude",
    ".sous/settings.json",
    ".sous/agents/a.md",
    ".git/hooks/pre-commit",
    ".git/config",
    ".git/info/attributes",
    ".envrc",
    ".vscode/tasks.json",
    ".husky/pre-commit",
    "sub/.mcp.json",
    "sub/.claude/settings.json",
    ".claude/worktrees/w/.mcp.json",
    ".claude/worktrees/w/.claude/settings.json",
]
HOME_RUN_LATER = [
    ".bashrc",
    ".zshrc",
    ".profile",
    ".bash_logout",
    ".config/fish/config.fish",
    ".claude.json",
    ".claude/settings.json",
    ".sous/settings.json",
    ".ssh/authorized_keys",
    ".ssh/config",
    ".gitconfig",
    ".config/git/config",
    ".config/git/ignore",
]
ORDINARY = [
    "src/app.py",
    "README.md",
    "mcp.json",
    "docs/claude.md",
    ".gitignore",
    ".github/workflows/ci.yml",
    "bashrc.txt",
    ".vscode/settings.json",
    ".claude/worktrees/w/src/app.py",
    "src/.envrc.example",
    "sub/.bashrc",
]


@pytest.mark.parametrize("name", RUN_LATER)
def test_project_files_that_run_later_are_protected(world, name):
    assert protected(str(world["project"] / name), str(world["home"]), state_dir="/nonexistent") is not None


@pytest.mark.parametrize("name", HOME_RUN_LATER)
def test_home_files_that_run_later_are_protected(world, name):
    assert protected(str(world["home"] / name), str(world["home"]), state_dir="/nonexistent") is not None


def test_the_state_folder_holding_project_trust_is_protected(world, tmp_path):
    state = tmp_path / "state"
    assert protected(str(state / "trusted-projects.json"), str(world["home"]), state_dir=str(state))
    assert protected(str(tmp_path / "statefile"), str(world["home"]), state_dir=str(state)) is None


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_project_files_are_not_protected(world, name):
    assert protected(str(world["project"] / name), str(world["home"]), state_dir="/nonexistent") is None


@pytest.mark.parametrize("mode", ["default", "acceptEdits", "dontAsk", "bypassPermissions"])
@pytest.mark.parametrize(
    "tool,name",
    [
        ("Write", ".mcp.json"),
        ("Write", ".claude/settings.json"),
        ("Edit", ".claude/commands/x.md"),
        ("Write", ".git/hooks/pre-commit"),
        ("MultiEdit", ".sous/settings.local.json"),
        ("Write", ".envrc"),
        ("NotebookEdit", ".claude/x.ipynb"),
    ],
)
def test_writing_a_file_that_runs_later_needs_a_typed_yes_in_every_mode(world, tool, name, mode):
    key = "notebook_path" if tool == "NotebookEdit" else "file_path"
    decision = run(
        world,
        tool,
        {key: name, "content": json.dumps({"mcpServers": {}})},
        mode=mode,
        allow=["Edit", "Write", "Edit(/**)"],
    )
    assert (decision.behavior, decision.confirm) == ("ask", "typed"), decision


def test_a_link_named_like_a_file_that_runs_later_is_protected_too(world):
    (world["project"] / ".mcp.json").symlink_to(world["project"] / "src" / "app.py")
    decision = run(world, "Write", {"file_path": ".mcp.json", "content": "{}"}, mode="acceptEdits")
    assert decision.confirm == "typed"


@pytest.mark.parametrize("mode", ["acceptEdits", "bypassPermissions"])
@pytest.mark.parametrize("name", ["src/app.py", "docs/new.md", ".vscode/settings.json", "mcp.json"])
def test_ordinary_writes_are_accepted(world, name, mode):
    decision = run(world, "Write", {"file_path": name, "content": "x"}, mode=mode)
    assert decision.behavior == "allow", decision


def test_a_denied_read_stays_denied_when_reading_is_free(world):
    """The home deny rule also stops Glob over the linked folder in bypass mode (no listing of keys)."""
    decision = run(world, "Glob", {"pattern": "*", "path": "ssh"}, mode="bypassPermissions", deny=["Read(~/.ssh/**)"])
    assert decision.behavior == "deny"


# --- what Glob and Grep return -------------------------------------------------------------------


def sous_p(project: Path, turns: list, *flags: str, home: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    script = project.parent / "turns.json"
    script.write_text(json.dumps(turns))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sous",
            "-p",
            "go",
            "--model",
            f"scripted:{script}",
            "--output-format",
            "stream-json",
            "--verbose",
            *flags,
        ],
        cwd=project,
        text=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(home)},
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    results = [
        str(block.get("content"))
        for e in events
        if e["type"] == "user"
        for block in e["message"]["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    return done, results


def calls(*pairs: tuple[str, dict]) -> list[dict]:
    return [{"tool_calls": [{"name": name, "input": args}]} for name, args in pairs] + [{"text": "done"}]


@pytest.mark.parametrize(
    "args",
    [
        {"pattern": "TOKEN", "output_mode": "content"},
        {"pattern": "TOKEN", "output_mode": "content", "-C": 1},
        {"pattern": "TOKEN", "output_mode": "count"},
        {"pattern": "TOKEN"},
        {"pattern": "TOKEN", "glob": "*"},
    ],
)
def test_grep_over_a_folder_leaves_out_files_a_read_rule_denies(world, args):
    (world["project"] / "src" / "config.py").write_text("TOKEN = read_env()\n")
    done, results = sous_p(
        world["project"], calls(("Grep", args)), "--disallowedTools", "Read(./.env)", home=world["home"]
    )
    assert done.returncode == 0, done.stderr
    assert "secret" not in results[0] and ".env" not in results[0].replace("read_env", "")
    assert "config.py" in results[0]  # the sibling: other files are still searched and shown
    if args.get("output_mode") == "content":
        assert "src/config.py:1:TOKEN = read_env()" in results[0] or "src/config.py:TOKEN" in results[0]


def test_glob_leaves_out_files_a_read_rule_denies(world):
    done, results = sous_p(
        world["project"],
        calls(("Glob", {"pattern": "**/*"}), ("Glob", {"pattern": ".env"})),
        "--disallowedTools",
        "Read(./.env)",
        home=world["home"],
    )
    assert done.returncode == 0, done.stderr
    assert "/.env" not in results[0] and "app.py" in results[0]
    assert results[1] == "No files found"


def test_grep_without_deny_rules_shows_every_file(world):
    done, results = sous_p(
        world["project"], calls(("Grep", {"pattern": "TOKEN", "output_mode": "content"})), home=world["home"]
    )
    assert ".env:1:TOKEN=secret" in results[0]


# --- what an "always" answer remembers -----------------------------------------------------------


def test_always_for_a_glob_outside_remembers_that_folder_not_every_glob(world):
    from sous.permissions.grants import narrowest_rules

    project = str(world["project"])
    [rule] = narrowest_rules("Glob", {"pattern": "~/.ssh/*"}, project)
    assert rule == f"Read(/{world['home']}/.ssh)"
    remembered = [rule]
    assert run(world, "Glob", {"pattern": "~/.ssh/*"}, mode="dontAsk", allow=remembered).behavior == "allow"
    assert run(world, "Read", {"file_path": "~/.ssh/id_rsa"}, mode="dontAsk", allow=remembered).behavior == "deny"
    assert run(world, "Glob", {"pattern": "/etc/*"}, mode="dontAsk", allow=remembered).behavior == "deny"


def test_always_for_a_bare_file_name_stays_at_that_file(world):
    from sous.permissions.grants import narrowest_rules

    [rule] = narrowest_rules("Edit", {"file_path": "notes.md"}, str(world["project"]))
    assert rule == "Edit(./notes.md)"
    assert not path_matches("./notes.md", str(world["project"] / "docs" / "notes.md"), str(world["project"]))


# --- the same, end to end ------------------------------------------------------------------------


def test_print_mode_in_accept_edits_writes_project_files_but_not_what_runs_later(world):
    project = world["project"]
    done, results = sous_p(
        project,
        calls(
            ("Write", {"file_path": ".mcp.json", "content": json.dumps({"mcpServers": {"x": {"command": "sh"}}})}),
            ("Write", {"file_path": ".claude/commands/x.md", "content": "!rm -rf ~"}),
            ("Write", {"file_path": "src/new.py", "content": "x = 1\n"}),
        ),
        "--permission-mode",
        "acceptEdits",
        home=world["home"],
    )
    assert done.returncode == 0, done.stderr
    assert not (project / ".mcp.json").exists() and not (project / ".claude").exists()
    assert "starts MCP servers" in results[0] and ".claude folder" in results[1]
    assert (project / "src" / "new.py").read_text() == "x = 1\n"


def test_print_mode_edits_through_a_link_only_inside_the_project(world):
    project = world["project"]
    done, results = sous_p(
        project,
        calls(
            ("Read", {"file_path": "notes"}),
            ("Edit", {"file_path": "notes", "old_string": "outside", "new_string": "X"}),
            ("Read", {"file_path": "app-link"}),
            ("Edit", {"file_path": "app-link", "old_string": "hi", "new_string": "yo"}),
        ),
        "--permission-mode",
        "acceptEdits",
        home=world["home"],
    )
    assert done.returncode == 0, done.stderr
    assert (world["outside"] / "notes.txt").read_text() == "outside\n"
    assert "outside the project" in results[1]
    assert "has been updated" in results[3]  # the sibling: a link that stays inside is edited freely


@pytest.mark.parametrize(
    "tool,args",
    [
        ("Read", {"file_path": "src/app.py\0.txt"}),
        ("Glob", {"pattern": "x\0/*"}),
        ("Grep", {"pattern": "x", "path": "\0"}),
        ("Edit", {"file_path": ".mcp.json\0"}),
        ("Write", {"file_path": "src/\0x"}),
        ("NotebookEdit", {"notebook_path": "\0"}),
    ],
)
def test_a_path_with_a_nul_byte_is_refused_not_a_crash(world, tool, args):
    for mode in ("default", "bypassPermissions"):
        assert run(world, tool, args, mode=mode, allow=["Read(/**)", "Edit(/**)"]).behavior == "deny"
    assert path_matches(".env", "a\0b", str(world["project"]), deny=True)
    assert not path_matches("/**", "a\0b", str(world["project"]))


# --- generated spellings: every way to name a file leads to the same decision ---------------------


def spellings(target: Path, world) -> list[str]:
    """Ways to name `target` from the project: absolute, from home, climbing, through /proc, with
    doubled slashes and `.` parts, and through the project's links when they lead there."""
    project, home = world["project"], world["home"]
    absolute = str(target)
    out = [
        absolute,
        "/proc/self/root" + absolute,
        absolute.replace("/", "//"),
        absolute.replace("/", "/./"),
        os.path.relpath(absolute, project),
        "./" + os.path.relpath(absolute, project),
        "src/../" + os.path.relpath(absolute, project),
        str(project / "src" / ".." / os.path.relpath(absolute, project)),
    ]
    if absolute.startswith(str(home) + "/"):
        out += ["~/" + os.path.relpath(absolute, home), "~/./" + os.path.relpath(absolute, home)]
    if absolute.startswith(str(home / ".ssh")):
        rest = os.path.relpath(absolute, home / ".ssh")
        out += [f"ssh/{rest}", f"./ssh/{rest}", f"src-link/../ssh/{rest}", f"{project}/ssh/{rest}"]
    return out


def forms(spelling: str, is_dir: bool) -> list[tuple[str, dict]]:
    """The file tool calls that read what `spelling` names."""
    if is_dir:
        return [
            ("Glob", {"pattern": "*", "path": spelling}),
            ("Glob", {"pattern": spelling.rstrip("/") + "/*"}),
            ("Grep", {"pattern": "x", "path": spelling}),
            ("Glob", {"pattern": spelling.rstrip("/") + "/**/*"}),
        ]
    return [("Read", {"file_path": spelling}), ("Grep", {"pattern": "x", "path": spelling})]


def test_no_spelling_of_a_key_is_allowed_by_a_project_rule_and_every_one_meets_the_deny_rule(world):
    checked = 0
    for target, is_dir in ((world["home"] / ".ssh" / "id_rsa", False), (world["home"] / ".ssh", True)):
        for spelling in spellings(target, world):
            for tool, args in forms(spelling, is_dir):
                assert run(world, tool, args, mode="dontAsk", allow=["Read(/**)"]).behavior == "deny", (tool, args)
                assert run(world, tool, args).behavior == "ask", (tool, args)
                assert (
                    run(world, tool, args, mode="bypassPermissions", deny=["Read(~/.ssh/**)", "Read(~/.ssh)"]).behavior
                    == "deny"
                ), (tool, args)
                checked += 1
    assert checked > 60


def test_every_spelling_of_a_project_file_stays_free(world):
    checked = 0
    for target, is_dir in ((world["project"] / "src" / "app.py", False), (world["project"] / "src", True)):
        for spelling in spellings(target, world):
            for tool, args in forms(spelling, is_dir):
                if "/proc/self/root" in spelling:
                    continue  # the project reached through /proc resolves inside; the literal path does not
                assert run(world, tool, args, mode="dontAsk", allow=["Read(/**)"]).behavior == "allow", (tool, args)
                assert run(world, tool, args).behavior == "allow", (tool, args)
                checked += 1
    assert checked > 30
