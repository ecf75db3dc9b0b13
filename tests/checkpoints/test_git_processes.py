from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import sous
from sous.checkpoints import Checkpoints, retention
from sous.checkpoints._gitfiles import EMPTY_TREE, INDEX_BYTES_READ, commit_tree, index_tree, read_ref, write_object
from sous.testing import THREE_STEP_TASK

SRC = str(Path(sous.__file__).resolve().parents[1])
REF = "refs/sous/checkpoints"
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


@pytest.fixture
def counted(tmp_path: Path):
    """(environ, calls): a `git` first on PATH that notes each command it runs for the checkpoint
    store, then runs the real git; `calls()` gives the subcommands noted since its last call."""
    shim, log = tmp_path / "shim", tmp_path / "git-calls.log"
    shim.mkdir()
    (shim / "git").write_text(
        "#!/bin/sh\n"
        f"case \"$GIT_DIR\" in *checkpoints*) printf '%s\\n' \"$*\" >> '{log}';; esac\n"
        f"exec '{shutil.which('git')}' \"$@\"\n"
    )
    (shim / "git").chmod(0o755)
    environ = {"SOUS_HOME": str(tmp_path / "home"), "HOME": str(tmp_path), "PATH": f"{shim}:{os.environ['PATH']}"}

    def calls() -> list[str]:
        lines = log.read_text().splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return [line.split()[2] if line.startswith("-c ") else line.split()[0] for line in lines]

    return environ, calls


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    return 1\n")
    (root / "README.md").write_text("# demo\n")
    return root


def git(store: Checkpoints, *args: str) -> str:
    env = {"GIT_DIR": str(store.git_dir), "PATH": os.environ["PATH"]}
    return subprocess.run(["git", *args], capture_output=True, text=True, env=env, check=True).stdout


# --- the in-process readers, on files git would never write -------------------------------------


@pytest.mark.parametrize(
    "loose",
    [b"ref: refs/sous/elsewhere\n", b"", b"not a commit\n", b"A" * 40 + b"\n", b"0" * 39 + b"\n", b"0" * 41 + b"\n"],
)
def test_a_loose_ref_that_is_not_a_plain_commit_id_is_left_to_git(tmp_path, loose):
    (tmp_path / "refs" / "sous").mkdir(parents=True)
    (tmp_path / REF).write_bytes(loose)
    assert read_ref(tmp_path, REF) is None


def test_a_folder_where_the_ref_file_should_be_is_left_to_git(tmp_path):
    (tmp_path / REF).mkdir(parents=True)
    assert read_ref(tmp_path, REF) is None


def test_packed_refs_match_the_whole_name_skip_peeled_lines_and_lose_to_a_loose_file(tmp_path):
    a, b, c = "a" * 40, "b" * 40, "c" * 40
    assert read_ref(tmp_path, REF) == ""  # no loose file, no packed-refs: no ref yet
    (tmp_path / "packed-refs").write_text(
        f"# pack-refs with: peeled fully-peeled sorted \n{a} {REF}-old\n{b} refs/tags/v1\n^{a}\n"
    )
    assert read_ref(tmp_path, REF) == ""
    (tmp_path / "packed-refs").write_text(f"{a} {REF}-old\n{b} {REF}\n^{a}\n")
    assert read_ref(tmp_path, REF) == b
    (tmp_path / "packed-refs").write_text(f"garbage {REF}\n")
    assert read_ref(tmp_path, REF) is None
    (tmp_path / "refs" / "sous").mkdir(parents=True)
    (tmp_path / REF).write_text(f"{c}\n")
    assert read_ref(tmp_path, REF) == c


def test_a_commit_that_is_packed_corrupt_or_not_a_commit_has_its_tree_read_by_git(tmp_path):
    commit = write_object(tmp_path, "commit", f"tree {EMPTY_TREE}\nauthor x\n\nmessage\n".encode())
    assert commit_tree(tmp_path, commit) == EMPTY_TREE
    blob = write_object(tmp_path, "blob", f"tree {EMPTY_TREE}\n".encode())
    assert commit_tree(tmp_path, blob) is None
    assert commit_tree(tmp_path, "f" * 40) is None  # not loose (packed, or missing)
    assert commit_tree(tmp_path, "../../etc/passwd") is None
    path = tmp_path / "objects" / commit[:2] / commit[2:]
    path.write_bytes(zlib.compress(b"commit 9\0tree zzz\n"))
    assert commit_tree(tmp_path, commit) is None
    path.write_bytes(b"not zlib at all")
    assert commit_tree(tmp_path, commit) is None


def test_an_object_written_again_gets_a_fresh_time_so_gc_keeps_it(tmp_path):
    tree = write_object(tmp_path, "tree", b"")
    path = tmp_path / "objects" / tree[:2] / tree[2:]
    os.utime(path, (0, 0))  # unreferenced for long: what `git gc --prune` takes
    assert write_object(tmp_path, "tree", b"") == tree == EMPTY_TREE
    assert path.stat().st_mtime > 1e9 and zlib.decompress(path.read_bytes()) == b"tree 0\0"


# --- snapshots: the git processes they start, and what they record -------------------------------


async def test_a_fresh_store_with_only_ignored_files_starts_init_and_ls_files_and_records_the_empty_tree(
    tmp_path, counted
):
    environ, calls = counted
    project = tmp_path / "ignored"
    (project / ".git" / "info").mkdir(parents=True)
    (project / ".git" / "info" / "exclude").write_text("*.log\n")
    (project / "run.log").write_text("ignored\n")
    store = Checkpoints(str(project), environ=environ)
    turn = await store.turn_started("m1", "go")
    assert calls() == ["init", "ls-files"]
    assert git(store, "rev-parse", f"{turn.before}^{{tree}}").strip() == EMPTY_TREE
    assert git(store, "cat-file", "-t", EMPTY_TREE).strip() == "tree"
    git(store, "fsck", "--strict", "--no-dangling")
    ended = await store.turn_ended()
    assert ended is not None and ended.after == turn.before and calls() == ["ls-files"]

    (project / "hello.py").write_text("print('hello')\n")
    now = await store.snapshot()
    assert calls() == ["ls-files", "update-index"]
    assert git(store, "ls-tree", "-r", "--name-only", now).split() == ["hello.py"]
    assert git(store, "rev-parse", f"{now}^{{tree}}") == git(store, "write-tree")  # what git makes of the index
    assert await store.line_changes(turn.before, now) == [("hello.py", 1, 0)]
    done = await store.restore_code(turn, force=True)
    assert done.deleted == ["hello.py"] and (project / "run.log").read_text() == "ignored\n"


async def test_a_new_store_takes_nothing_from_the_user_s_git_template_folder(tmp_path, counted):
    environ, calls = counted
    template = tmp_path / "template"
    (template / "info").mkdir(parents=True)
    (template / "info" / "exclude").write_text("*.py\n")
    (template / "hooks").mkdir()
    (tmp_path / ".gitconfig").write_text(f"[init]\n\ttemplateDir = {template}\n")
    project = tmp_path / "templated"
    project.mkdir()
    (project / "hello.py").write_text("print('hello')\n")
    store = Checkpoints(str(project), environ=environ)
    first = await store.snapshot()
    assert calls() == ["init", "ls-files", "update-index"]
    assert git(store, "ls-tree", "-r", "--name-only", first).split() == ["hello.py"]
    assert not (store.git_dir / "hooks").exists() and not (store.git_dir / "info" / "exclude").exists()


async def test_a_fresh_store_with_a_file_over_the_size_cap_records_neither_it_nor_its_blob(tmp_path, counted):
    environ, _ = counted
    project = tmp_path / "big"
    project.mkdir()
    (project / "big.dat").write_bytes(b"a" * 5000)
    store = Checkpoints(str(project), environ=environ, max_file_bytes=1000)
    first = await store.snapshot()
    assert git(store, "rev-parse", f"{first}^{{tree}}").strip() == EMPTY_TREE
    blob = subprocess.run(
        ["git", "hash-object", str(project / "big.dat")], capture_output=True, text=True, check=True
    ).stdout.strip()
    missing = subprocess.run(["git", "cat-file", "-e", blob], env={"GIT_DIR": str(store.git_dir)}, check=False)
    assert missing.returncode != 0


async def test_a_project_past_the_index_size_read_in_process_has_its_trees_written_by_git(tmp_path, counted):
    environ, calls = counted
    project = tmp_path / "many"
    for i in range(800):
        folder = project / f"pkg{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"module_with_a_longer_name_{i:04d}.py").write_text(f"N = {i}\n")
    store = Checkpoints(str(project), environ=environ)
    first = await store.snapshot()
    assert (store.git_dir / "index").stat().st_size > INDEX_BYTES_READ
    assert calls() == ["init", "ls-files", "update-index", "write-tree"]
    (project / "pkg3" / "module_with_a_longer_name_0003.py").write_text("N = -3\n")
    second = await store.snapshot()
    assert calls() == ["ls-files", "update-index", "write-tree"]
    assert await store.line_changes(first, second) == [("pkg3/module_with_a_longer_name_0003.py", 1, 1)]


async def test_a_store_packed_by_gc_is_read_from_packed_refs_and_an_unchanged_tree_makes_no_commit(project, counted):
    environ, calls = counted
    first = await Checkpoints(str(project), environ=environ).snapshot()
    retention.collect(Checkpoints(str(project), environ=environ).git_dir, wait=True)
    store = Checkpoints(str(project), environ=environ)  # as the next sous process would
    assert not (store.git_dir / REF).exists() and f"{first} {REF}" in (store.git_dir / "packed-refs").read_text()
    calls()
    assert await store.snapshot() == first
    assert calls() == ["ls-files", "rev-parse"]  # the packed commit's tree, from git; the ref, not
    assert git(store, "for-each-ref", "--format=%(objectname)", REF).strip() == first


async def test_a_symbolic_ref_is_resolved_by_git(project, counted):
    environ, calls = counted
    first = await Checkpoints(str(project), environ=environ).snapshot()
    store = Checkpoints(str(project), environ=environ)
    (store.git_dir / "refs" / "sous" / "target").write_text(f"{first}\n")
    (store.git_dir / REF).write_text("ref: refs/sous/target\n")
    calls()
    assert await store.snapshot() == first
    assert calls() == ["ls-files", "rev-parse"]


async def test_a_store_another_sous_process_updated_meanwhile_is_read_afresh_and_its_ref_kept(project, counted):
    environ, calls = counted
    one, two = Checkpoints(str(project), environ=environ), Checkpoints(str(project), environ=environ)
    indexed_by_two = await two.snapshot()  # the store is new, and two fills its index first
    assert await one.snapshot() == indexed_by_two  # one's listing is empty, yet its tree is not
    (project / "README.md").write_text("changed in the other terminal\n")
    changed_by_two = await two.snapshot()
    calls()
    assert await one.snapshot() == changed_by_two  # the index changed under one: nothing cached is used
    assert calls() == ["ls-files"]
    assert (one.git_dir / REF).read_text().strip() == changed_by_two
    kept = git(one, "for-each-ref", "--format=%(objectname)", "refs/sous/kept/").split()
    assert sorted(kept) == sorted({indexed_by_two, changed_by_two})


def test_a_print_mode_task_starts_five_checkpoint_git_processes_and_reports_the_changes(tmp_path, counted):
    environ, calls = counted
    project = tmp_path / "task"
    project.mkdir()
    script = tmp_path / "turns.json"
    script.write_text(json.dumps(THREE_STEP_TASK))
    run = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "write hello.py, run it", "--model", f"scripted:{script}"]
        + ["--dangerously-skip-permissions", "--output-format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, **environ, "PYTHONPATH": SRC},
    )
    assert run.returncode == 0, run.stderr
    assert calls() == ["init", "ls-files", "ls-files", "update-index", "diff-tree"]
    changes = json.loads(run.stdout)["sous_changes"]
    assert [(f["path"], f["added"], f["removed"]) for f in changes["files"]] == [("hello.py", 1, 0)]


# --- the index's tree, written in-process: always git's answer, or git asked ----------------------


def _index(tmp_path: Path, entries: list[tuple[str, str]], *extra: list[str]) -> tuple[Path, dict[str, str]]:
    """A repository whose index holds `entries` ((mode, path); each blob holds its path), then `extra` run."""
    git_dir, work = tmp_path / "repo.git", tmp_path / "work"
    work.mkdir()
    env = {"GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(work), "PATH": os.environ["PATH"]}
    subprocess.run(["git", "init", "-q"], check=True, env=env)
    for mode, path in entries:
        blob = subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], input=path, capture_output=True, text=True, env=env, check=True
        ).stdout.strip()
        if mode == "160000":
            blob = "1" * 40  # a nested repository's commit, which the store does not hold
        subprocess.run(["git", "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}"], env=env, check=True)
    for command in extra:
        subprocess.run(["git", *command], env=env, check=True, capture_output=True)
    subprocess.run(["git", "hash-object", "-w", "--stdin"], input=b"", env=env, check=True, capture_output=True)
    return git_dir, env


def _write_tree(env: dict[str, str]) -> str:
    return subprocess.run(["git", "write-tree"], capture_output=True, text=True, env=env, check=True).stdout.strip()


ODD_NAMES = [
    ("100644", "a-b"),
    ("100644", "a.c"),
    ("100644", "a/x"),
    ("100644", "a/b/c/d.txt"),
    ("100644", "a0"),
    ("100755", "bin/run"),
    ("120000", "bin/link"),
    ("160000", "vendor/lib"),
    ("100644", "with space/é ü.txt"),
    ("100644", "z/" + "/".join(["d" * 200] * 22) + "/long.txt"),  # a path past the index's 4,095-byte length field
    ("100644", "Z"),
    ("100644", "_"),
]


def test_the_index_tree_is_the_tree_git_writes_for_odd_names_modes_and_long_paths(tmp_path):
    git_dir, env = _index(tmp_path, ODD_NAMES)
    assert index_tree(git_dir) == _write_tree(env)
    listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", _write_tree(env)], capture_output=True, env=env)
    assert len(listed.stdout.split(b"\n")) == len(ODD_NAMES) + 1


def test_a_missing_index_is_the_empty_tree(tmp_path):
    assert index_tree(tmp_path) == EMPTY_TREE and (tmp_path / "objects" / "4b").is_dir()


@pytest.mark.parametrize(
    "extra",
    [
        [["update-index", "--index-version", "4"]],  # paths compressed: git reads it
        [["update-index", "--skip-worktree", "a/x"]],  # an extended flag
        [["config", "index.skipHash", "true"], ["update-index", "--add", "--cacheinfo", f"100644,{EMPTY_BLOB},n"]],
    ],
)
def test_an_index_this_does_not_read_without_doubt_is_left_to_git(tmp_path, extra):
    git_dir, env = _index(tmp_path, [("100644", "a/x"), ("100644", "b")], *extra)
    assert index_tree(git_dir) in (None, _write_tree(env))
    if extra[0][0] == "update-index":
        assert index_tree(git_dir) is None


@pytest.mark.parametrize("damage", ["flip", "truncate", "header", "count", "unended path", "empty path"])
def test_a_damaged_or_half_written_index_is_left_to_git(tmp_path, damage):
    git_dir, _ = _index(tmp_path, [("100644", "a/x"), ("100644", "b")])
    data = bytearray((git_dir / "index").read_bytes())
    if damage == "flip":
        data[70] ^= 1
    elif damage == "truncate":
        data = data[:50]
    elif damage == "header":
        data[:4] = b"XXXX"
    else:  # well checksummed, yet not what git writes
        if damage == "count":  # more entries than the file holds
            data[8:12] = (1000).to_bytes(4, "big")
        elif damage == "unended path":  # a long path with no end before the checksum
            data[12 + 60 : 12 + 62] = (0xFFF).to_bytes(2, "big")
            data[12 + 62 : -20] = b"x" * (len(data) - 12 - 62 - 20)
        else:
            data[12 + 60 : 12 + 62] = (0).to_bytes(2, "big")
        data[-20:] = hashlib.sha1(data[:-20]).digest()
    (git_dir / "index").write_bytes(bytes(data))
    assert index_tree(git_dir) is None


def _raw_index(paths: list[bytes]) -> bytes:
    """A version 2 index of empty files at `paths`, in the order given, with a valid checksum."""
    data = bytearray(b"DIRC" + (2).to_bytes(4, "big") + len(paths).to_bytes(4, "big"))
    for path in paths:
        entry = bytes(24) + (0o100644).to_bytes(4, "big") + bytes(12) + bytes.fromhex(EMPTY_BLOB)
        entry += min(len(path), 0xFFF).to_bytes(2, "big") + path
        data += entry + bytes(8 - len(entry) % 8)
    return bytes(data + hashlib.sha1(data).digest())


@pytest.mark.parametrize(
    "paths",
    [
        [b"b", b"a"],  # out of order
        [b"a", b"a"],  # twice
        [b"a", b"a-b", b"a/b"],  # a file and a folder of one name
        [b"x/a", b"x/a/b"],  # the same, a folder down
        [b"/a"],
        [b"a/"],
        [b"a//b"],
    ],
)
def test_an_index_git_would_refuse_to_write_a_tree_for_is_left_to_git(tmp_path, paths):
    (tmp_path / "index").write_bytes(_raw_index(paths))
    assert index_tree(tmp_path) is None


def test_a_hand_made_index_in_git_order_gives_git_s_tree(tmp_path):
    git_dir, env = _index(tmp_path, [])
    (git_dir / "index").write_bytes(_raw_index([b"a", b"a-b", b"b/c", b"b/d/e", b"b0"]))
    assert index_tree(git_dir) == _write_tree(env)


RECORD_MANY = """
import sys
from sous.checkpoints import Checkpoints
store = Checkpoints(sys.argv[1], environ={"SOUS_HOME": sys.argv[2]})
for n in range(40):
    store._record(message_id=f"{sys.argv[3]}{n}", prompt="p", before="0" * 40, kind="turn")
"""


def test_two_sous_processes_recording_at_once_never_give_two_entries_one_id(project, tmp_path):
    home = str(tmp_path / "home")
    command = [sys.executable, "-c", RECORD_MANY, str(project), home]
    env = {**os.environ, "PYTHONPATH": SRC}
    both = [subprocess.Popen([*command, name], env=env) for name in ("a", "b")]
    assert [p.wait(timeout=60) for p in both] == [0, 0]
    entries = Checkpoints(str(project), environ={"SOUS_HOME": home}).list()
    assert len(entries) == 80 and sorted(e.id for e in entries) == list(range(1, 81))


SNAPSHOT_MANY = """
import asyncio, pathlib, sys
from sous.checkpoints import Checkpoints
project, home, name = sys.argv[1:4]
store = Checkpoints(project, environ={"SOUS_HOME": home})
async def main():
    for n in range(25):
        pathlib.Path(project, f"{name}.txt").write_text(f"{name} {n}")
        await store.snapshot()
asyncio.run(main())
"""


def test_two_sous_processes_snapshotting_one_project_at_once_both_keep_checkpoints(project, tmp_path):
    """Two terminals in one project: git's index lock, held by one process's update-index, made
    the other's snapshot fail and turned its checkpoints off; a snapshot now waits for the lock."""
    home = str(tmp_path / "home")
    command = [sys.executable, "-c", SNAPSHOT_MANY, str(project), home]
    env = {**os.environ, "PYTHONPATH": SRC}
    for _ in range(3):
        both = [subprocess.Popen([*command, name], env=env, stderr=subprocess.PIPE, text=True) for name in "ab"]
        errors = [p.communicate(timeout=120)[1] for p in both]
        assert [p.returncode for p in both] == [0, 0], errors


async def test_the_user_s_global_excludes_and_the_project_s_info_exclude_both_hold_as_in_git(project, tmp_path):
    """Files the user ignores everywhere (core.excludesFile) stay out of checkpoints in a git
    project too; the project's .git/info/exclude ranks under its .gitignore, as in git."""
    home = tmp_path / "userhome"
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "ignore").write_text("*.secret\n")
    (project / ".git" / "info").mkdir(parents=True)
    (project / ".git" / "info" / "exclude").write_text("*.log\nbuild/\n")
    (project / ".gitignore").write_text("!keep.log\n")
    for name in ("token.secret", "debug.log", "keep.log", "build/out.o"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(name)
    environ = {"SOUS_HOME": str(tmp_path / "sous"), "HOME": str(home), "PATH": os.environ["PATH"]}
    store = Checkpoints(str(project), environ=environ)
    recorded = set(git(store, "ls-tree", "-r", "--name-only", await store.snapshot()).split())
    assert recorded == {".gitignore", "README.md", "src/app.py", "keep.log"}
    # A later change to the project's info/exclude is seen by the next session's store.
    (project / ".git" / "info" / "exclude").write_text("build/\n")
    store = Checkpoints(str(project), environ=environ)
    recorded = set(git(store, "ls-tree", "-r", "--name-only", await store.snapshot()).split())
    assert recorded == {".gitignore", "README.md", "src/app.py", "keep.log", "debug.log"}
