"""Added working folders (`--add-dir`): they widen exactly that folder, nothing around it.

Attacks first: symlinks out of the added folder, `..` spellings, a name that only starts like it,
its parent, Bash reading and deleting in and out of it, the safety floor inside it. Then what
must stay free of prompts. Real folders and symlinks in a temporary tree with a fake home.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sous.permissions.decide import Rules, decide
from sous.permissions.workdirs import covered, resolve_dir


@pytest.fixture
def tree(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    """work/project (the project), work/shared (added), work/shared2 and work/secret (not added),
    links out of the added folder, and a home with a key."""
    home, work = tmp_path / "home", tmp_path / "work"
    project, shared, secret, shared2 = work / "project", work / "shared", work / "secret", work / "shared2"
    for folder in (home / ".ssh", project, shared / "inner", shared / ".git" / "hooks", secret, shared2):
        folder.mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("KEY")
    (shared / "notes.txt").write_text("shared\n")
    (shared / "inner" / "deep.txt").write_text("deep\n")
    (secret / "s.txt").write_text("secret\n")
    (shared2 / "x.txt").write_text("look-alike\n")
    (work / "top.txt").write_text("parent\n")
    (shared / "out").symlink_to(secret)
    (shared / "key").symlink_to(home / ".ssh" / "id_rsa")
    (work / "shared-link").symlink_to(shared)
    monkeypatch.setenv("HOME", str(home))
    return {"home": home, "work": work, "project": project, "shared": shared, "secret": secret}


def check(tree, tool: str, args: dict, mode: str = "default", added=("shared",), allow=(), deny=()):
    project = str(tree["project"])
    dirs = tuple(resolve_dir(str(tree["work"] / d), project) for d in added)
    return decide(
        Rules.from_lists(allow=allow, deny=deny),
        mode,
        tool,
        args,
        cwd=project,
        project_dir=project,
        home=str(tree["home"]),
        added_dirs=dirs,
    )


# --- attacks: the file tools -----------------------------------------------------------------------

LEAVING = [
    "../shared/out/s.txt",  # a symlink inside the added folder pointing out
    "../shared/key",  # a symlink to a key in the home folder
    "../shared/../secret/s.txt",
    "../shared/inner/../../secret/s.txt",
    "../shared/./../secret/s.txt",
    "../shared2/x.txt",  # a name that only starts like the added folder
    "../top.txt",  # its parent
    "../shared/..",
]


@pytest.mark.parametrize("path", LEAVING)
def test_reading_out_of_the_added_folder_asks(tree, path):
    decision = check(tree, "Read", {"file_path": path})
    assert decision.behavior == "ask", decision


@pytest.mark.parametrize("path", LEAVING)
def test_an_absolute_spelling_out_of_the_added_folder_asks_too(tree, path):
    full = str(tree["project"]) + "/" + path
    assert check(tree, "Read", {"file_path": full}).behavior == "ask"


@pytest.mark.parametrize("path", ["../shared/out/s.txt", "../shared/../secret/s.txt", "../shared2/x.txt"])
def test_accept_edits_does_not_edit_out_of_the_added_folder(tree, path):
    decision = check(tree, "Write", {"file_path": path, "content": "x"}, mode="acceptEdits")
    assert decision.behavior == "ask", decision


def test_an_edit_through_a_link_out_of_the_added_folder_needs_a_typed_yes(tree):
    decision = check(tree, "Edit", {"file_path": "../shared/out/s.txt", "old_string": "s", "new_string": "t"})
    assert decision.behavior == "ask" and decision.source == "safety", decision


@pytest.mark.parametrize("mode", ["acceptEdits", "bypassPermissions"])
def test_protected_files_in_an_added_folder_still_need_a_typed_yes(tree, mode):
    decision = check(tree, "Write", {"file_path": "../shared/.git/hooks/pre-commit", "content": "x"}, mode=mode)
    assert decision.behavior == "ask" and decision.source == "safety", decision


def test_a_deny_rule_holds_inside_an_added_folder(tree):
    decision = check(tree, "Read", {"file_path": "../shared/notes.txt"}, deny=["Read(//**/notes.txt)"])
    assert decision.behavior == "deny"


def test_without_added_folders_the_same_files_ask(tree):
    assert check(tree, "Read", {"file_path": "../shared/notes.txt"}, added=()).behavior == "ask"
    edit = check(tree, "Write", {"file_path": "../shared/new.txt", "content": "x"}, mode="acceptEdits", added=())
    assert edit.behavior == "ask"


# --- attacks: Bash ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "cat ../secret/s.txt",
        "cat ../shared/out/s.txt",
        "cat ../shared/../secret/s.txt",
        "cat ../shared2/x.txt",
        "cd ../shared && cat ../secret/s.txt",
        "cat ../shared/key",
        "cat ../shared/*/../../secret/s.txt",
        "cat ../shared/o*/s.txt",
    ],
)
def test_bash_reading_out_of_the_added_folder_asks(tree, command):
    assert check(tree, "Bash", {"command": command}).behavior == "ask"


@pytest.mark.parametrize(
    "command",
    [
        "rm ../secret/s.txt",
        "rm ../shared/out/s.txt",
        "rm ../shared/../secret/s.txt",
        "cp ../shared/notes.txt ../secret/copy.txt",
        "echo hi > ../shared2/x.txt",
    ],
)
def test_bash_changing_files_out_of_the_added_folder_is_not_accepted(tree, command):
    decision = check(tree, "Bash", {"command": command}, mode="acceptEdits")
    assert decision.behavior == "ask", decision


@pytest.mark.parametrize("command", ["rm -rf ../shared", "rm -r ../shared-link/", "cd ../shared && rm -rf ."])
def test_a_recursive_delete_of_the_whole_added_folder_needs_a_typed_yes(tree, command):
    decision = check(tree, "Bash", {"command": command}, mode="bypassPermissions")
    assert decision.behavior == "ask" and decision.source == "safety", decision
    assert "whole added working folder" in decision.reason


def test_a_recursive_delete_out_of_the_added_folder_needs_a_typed_yes(tree):
    decision = check(tree, "Bash", {"command": "rm -rf ../shared/out/"}, mode="bypassPermissions")
    assert decision.behavior == "ask" and decision.source == "safety", decision


def test_git_in_an_added_folder_is_not_read_only(tree):
    # another repository's config may run programs (core.fsmonitor, pagers)
    assert check(tree, "Bash", {"command": "cd ../shared && git status"}).behavior == "ask"


def test_an_added_folder_replaced_by_a_symlink_later_does_not_follow_it(tree):
    project = str(tree["project"])
    added = (resolve_dir("../shared", project),)
    tree["shared"].rename(tree["work"] / "shared.old")
    tree["shared"].symlink_to(tree["secret"])

    def decided(tool, args, mode="default"):
        return decide(Rules(), mode, tool, args, cwd=project, project_dir=project, added_dirs=added).behavior

    assert decided("Read", {"file_path": "../shared/s.txt"}) == "ask"
    assert decided("Bash", {"command": "cat ../shared/s.txt"}) == "ask"
    assert decided("Write", {"file_path": "../shared/new.txt", "content": "x"}, "acceptEdits") == "ask"
    assert decided("Bash", {"command": "rm ../shared/s.txt"}, "acceptEdits") == "ask"


# --- the parent of the project as an added folder --------------------------------------------------


def test_an_added_parent_widens_exactly_the_parent(tree):
    added = ("",)  # work itself: the project's parent
    assert check(tree, "Read", {"file_path": "../secret/s.txt"}, added=added).behavior == "allow"
    assert check(tree, "Read", {"file_path": "../../home/.ssh/id_rsa"}, added=added).behavior == "ask"
    assert check(tree, "Read", {"file_path": "../shared/key"}, added=added).behavior == "ask"
    delete = check(tree, "Bash", {"command": "rm -rf .."}, mode="bypassPermissions", added=added)
    assert delete.behavior == "ask" and delete.source == "safety"


# --- what must stay free ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["../shared/notes.txt", "../shared/inner/deep.txt", "../shared-link/notes.txt", "../shared/inner/.."]
)
def test_reading_inside_the_added_folder_is_free(tree, path):
    assert check(tree, "Read", {"file_path": path}).behavior == "allow"


@pytest.mark.parametrize(
    "tool, args",
    [
        ("Glob", {"pattern": "../shared/**/../../secret/*"}),
        ("Glob", {"pattern": "*", "path": "../shared/out"}),
        ("Grep", {"pattern": "x", "path": "../shared/../secret"}),
        ("Grep", {"pattern": "x", "path": "../shared", "glob": "../../**"}),
    ],
)
def test_glob_and_grep_out_of_the_added_folder_ask(tree, tool, args):
    assert check(tree, tool, args).behavior == "ask"


def test_glob_and_grep_in_the_added_folder_are_free(tree):
    shared = str(tree["shared"])
    assert check(tree, "Glob", {"pattern": "**/*.txt", "path": shared}).behavior == "allow"
    assert check(tree, "Grep", {"pattern": "deep", "path": shared}).behavior == "allow"


def test_accept_edits_edits_inside_the_added_folder(tree):
    decision = check(tree, "Write", {"file_path": "../shared/new.txt", "content": "x"}, mode="acceptEdits")
    assert decision.behavior == "allow", decision
    assert check(tree, "Write", {"file_path": "../shared/new.txt", "content": "x"}).behavior == "ask"


@pytest.mark.parametrize("command", ["cat ../shared/notes.txt", "ls ../shared/inner", "head ../shared-link/notes.txt"])
def test_bash_reading_inside_the_added_folder_is_free(tree, command):
    assert check(tree, "Bash", {"command": command}).behavior == "allow"


@pytest.mark.parametrize("command", ["rm ../shared/notes.txt", "mkdir ../shared/new", "rm -rf ../shared/inner"])
def test_accept_edits_runs_bash_edits_inside_the_added_folder(tree, command):
    assert check(tree, "Bash", {"command": command}, mode="acceptEdits").behavior == "allow"
    assert check(tree, "Bash", {"command": command}).behavior == "ask"


# --- resolving a folder to add ---------------------------------------------------------------------


def test_a_folder_is_resolved_relative_to_the_base_with_symlinks_followed(tree):
    project = str(tree["project"])
    assert resolve_dir("../shared-link", project) == str(tree["shared"].resolve())
    assert resolve_dir("../shared/inner/..", project) == str(tree["shared"].resolve())
    assert resolve_dir("~", project, {"HOME": str(tree["home"])}) == str(tree["home"].resolve())


@pytest.mark.parametrize("given, says", [("../missing", "no such directory"), ("../top.txt", "not a directory")])
def test_what_is_not_a_folder_cannot_be_added(tree, given, says):
    with pytest.raises(ValueError, match=says):
        resolve_dir(given, str(tree["project"]))


@pytest.mark.parametrize("given", ["", "   ", "a\0b"])
def test_an_empty_or_nul_name_is_refused(tree, given):
    with pytest.raises(ValueError, match="names no directory"):
        resolve_dir(given, str(tree["project"]))


def test_a_link_to_a_missing_folder_cannot_be_added(tree):
    (tree["work"] / "dangling").symlink_to(tree["work"] / "gone")
    with pytest.raises(ValueError, match="no such directory"):
        resolve_dir("../dangling", str(tree["project"]))


def test_covered_names_the_working_folder_holding_a_path(tree):
    shared = str(tree["shared"].resolve())
    assert covered(shared + "/inner", [str(tree["project"]), shared]) == shared
    assert covered(str(tree["work"] / "shared2"), [shared]) is None


# --- a project's own settings ----------------------------------------------------------------------


def test_a_projects_listed_folders_are_pending_until_approved_and_the_users_own_are_not(tree):
    import json

    from sous.permissions import trust

    project, home = tree["project"], tree["home"]
    (project / ".claude").mkdir()
    listed = {"permissions": {"additionalDirectories": ["../shared", "~", "../missing", 7]}}
    (project / ".claude" / "settings.json").write_text(json.dumps(listed))
    environ = {"HOME": str(home), "SOUS_HOME": str(tree["work"] / "sous")}
    state = trust.check(project, environ)
    entries = {e.name: e for e in state.pending if e.kind == "dir"}
    assert set(entries) == {"../shared", "~", "../missing"}
    assert entries["~"].detail == str(home.resolve()) and "file access to" in entries["~"].label()
    kept, left_out = trust.trusted_dirs(["../shared", "~", "/elsewhere"], state, environ)
    assert kept == ["/elsewhere"] and {e.name for e in left_out} == {"../shared", "~", "../missing"}
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text(json.dumps({"permissions": {"additionalDirectories": ["~"]}}))
    assert trust.trusted_dirs(["../shared", "~"], state, environ)[0] == ["~"]
    trust.approve(state, environ)
    assert trust.trusted_dirs(["../shared", "~"], trust.check(project, environ), environ)[0] == ["../shared", "~"]
