"""A batch of 20 scripted tasks on one real git repository, and the checks of its results.

`make_batch(root)` builds the repository and the task file; `check_batch(out, batch)` checks every
result line, patch and transcript against what each task's script and verify command imply. The
local and the Ray tests run the same batch through the real `sous batch` command."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])
BUGGY = "def add(a, b):\n    return a - b\n"
VERIFY = "python3 -c 'import calc; assert calc.add(2, 3) == 5, calc.add(2, 3)'"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def edit(old: str, new: str) -> dict:
    return {"name": "Edit", "input": {"file_path": "calc.py", "old_string": old, "new_string": new}}


def bash(command: str) -> dict:
    return {"name": "Bash", "input": {"command": command, "description": "run"}}


USAGE = {"input_tokens": 100, "output_tokens": 10}
READ = {"text": "Reading.", "tool_calls": [{"name": "Read", "input": {"file_path": "calc.py"}}], "usage": USAGE}
SCRIPTS = {
    "fix": [
        READ,
        {"text": "Fixing.", "tool_calls": [edit("a - b", "a + b")], "usage": USAGE},
        {"text": "Fixed add.", "usage": USAGE},
    ],
    "wrong": [
        READ,
        {"text": "Fixing.", "tool_calls": [edit("a - b", "a * b")], "usage": USAGE},
        {"text": "Fixed add (I think).", "usage": USAGE},
    ],
    "files": [
        {
            "tool_calls": [
                {"name": "Write", "input": {"file_path": "notes/new.txt", "content": "hello\n"}},
                bash("rm README.md"),
            ],
            "usage": USAGE,
        },
        {"text": "Added a note, removed the README.", "usage": USAGE},
    ],
    "commit": [
        READ,
        {"tool_calls": [edit("a - b", "a + b")], "usage": USAGE},
        {"tool_calls": [bash("git -c user.name=a -c user.email=a@a commit -qam fix")], "usage": USAGE},
        {"text": "Committed the fix.", "usage": USAGE},
    ],
    "write": [
        {"tool_calls": [{"name": "Write", "input": {"file_path": "x.txt", "content": "x\n"}}], "usage": USAGE},
        {"text": "Tried to write x.txt.", "usage": USAGE},
    ],
    "slow": [
        {"tool_calls": [{"name": "Write", "input": {"file_path": "started.txt", "content": "1\n"}}], "usage": USAGE},
        {"tool_calls": [bash("sleep 120 & echo $! > {pidfile}; wait")], "usage": USAGE},
        {"text": "never reached", "usage": USAGE},
    ],
}


@dataclass
class Expect:
    status: str
    verify_exit: int | None = None
    patch_has: tuple[str, ...] = ()
    """Lines the patch must hold; () with `patch=True` means an empty patch."""
    patch: bool = True
    """Whether a patch file exists (the agent ran)."""
    turns: int | None = 3
    """None: not checked (a stopped run)."""
    agent_status: str | None = "success"
    error_has: str = ""
    verify_output_has: str = ""


@dataclass
class Batch:
    root: Path
    repo: Path
    tasks: Path
    expect: dict[str, Expect] = field(default_factory=dict)
    pidfile: Path | None = None


def tree_digest(folder: Path) -> str:
    """Every file's path, mode, size, time and content under `folder` (.git included), except the
    times of git objects: git refreshes those when a clone sharing them writes the same object."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        mtime = 0 if path.relative_to(folder).parts[:2] == (".git", "objects") else st.st_mtime_ns
        h.update(f"{path.relative_to(folder)} {st.st_mode} {st.st_size} {mtime}\n".encode())
        if path.is_file() and not path.is_symlink():
            h.update(path.read_bytes())
    return h.hexdigest()


def make_repo(root: Path) -> Path:
    repo = root / "proj"
    repo.mkdir(parents=True)
    (repo / "calc.py").write_text(BUGGY)
    (repo / "README.md").write_text("calc\n")
    (repo / ".gitignore").write_text("__pycache__/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    git(repo, "tag", "base")
    (repo / "extra.py").write_text("EXTRA = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "extra")
    return repo


def write_scripts(root: Path, pidfile: Path) -> dict[str, str]:
    models = {}
    for name, turns in SCRIPTS.items():
        path = root / "scripts" / f"{name}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(turns).replace("{pidfile}", str(pidfile)))
        models[name] = f"scripted:{path}"
    return models


def make_batch(root: Path) -> Batch:
    repo = make_repo(root)
    pidfile = root / "sleep.pid"
    model = write_scripts(root, pidfile)
    fixed = "+    return a + b"
    rows: list[tuple[dict, Expect]] = []

    def task(task_id: str, script: str, expect: Expect, **fields) -> None:
        rows.append(
            (
                {
                    "id": task_id,
                    "repo": "proj",
                    "prompt": f"task {task_id}: make add() add",
                    "model": model[script],
                    "permission_mode": "bypassPermissions",
                    "verify": VERIFY,
                    "timeout_s": 90,
                    **fields,
                },
                expect,
            )
        )

    # First, so that its wait overlaps the other tasks.
    task(
        "timeout",
        "slow",
        Expect(
            "timeout", None, ("+1",), turns=None, agent_status="error_during_execution", error_has="timeout after 8 s"
        ),
        timeout_s=8,
    )
    for i in range(1, 4):
        task(f"pass-{i:02d}", "fix", Expect("success", 0, (fixed,)))
    task("pass-url", "fix", Expect("success", 0, (fixed,)), repo=f"file://{repo}")
    # A service started by setup (here one that leaves the process group) lives through the agent
    # and verify, and dies with the task.
    service = root / "service.pid"
    task(
        "pass-setup",
        "fix",
        Expect("success", 0, (fixed,)),
        setup=[
            "echo generated > setup.txt",
            f"setsid sleep 300 > /dev/null 2>&1 & echo $! > {service}",
            "test -f calc.py",
        ],
        verify=VERIFY + f" && test -f setup.txt && kill -0 $(cat {service})",
    )
    task("pass-ref", "fix", Expect("success", 0, (fixed,)), ref="base", verify=VERIFY + " && test ! -e extra.py")
    task(
        "pass-files",
        "files",
        Expect("success", 0, ("+hello", "deleted file mode 100644", "-calc"), turns=2),
        verify="test -f notes/new.txt && test ! -e README.md",
    )
    task("pass-commit", "commit", Expect("success", 0, (fixed,), turns=4))
    task("pass-noverify", "fix", Expect("success", None, (fixed,)), verify=None)
    task("pass-maxturns", "fix", Expect("success", 0, (fixed,), turns=2, agent_status="error_max_turns"), max_turns=2)
    for i in range(1, 6):
        task(
            f"fail-{i:02d}", "wrong", Expect("failed", 1, ("+    return a * b",), verify_output_has="AssertionError: 6")
        )
    task(
        "fail-denied",
        "write",
        Expect("failed", 1, (), turns=2),
        permission_mode="dontAsk",
        allowed_tools=["Read"],
        verify="test -f x.txt",
    )
    task(
        "fail-allowed-other",
        "write",
        Expect("success", 0, ("+x",), turns=2),
        permission_mode="dontAsk",
        allowed_tools=["Write"],
        verify="test -f x.txt",
    )
    task(
        "setup-fails",
        "fix",
        Expect(
            "error",
            None,
            patch=False,
            turns=0,
            agent_status=None,
            error_has="setup failed (exit 4): echo broken >&2; exit 4\npreparing\nbroken",
        ),
        setup=["echo preparing", "echo broken >&2; exit 4"],
    )
    task(
        "no-repo",
        "fix",
        Expect("error", None, patch=False, turns=0, agent_status=None, error_has="no such folder"),
        repo="missing",
    )
    assert len(rows) == 20
    tasks = root / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({k: v for k, v in t.items() if v is not None}) + "\n" for t, _ in rows))
    return Batch(root=root, repo=repo, tasks=tasks, expect={t["id"]: e for t, e in rows}, pidfile=pidfile)


def sous_batch(*args: str, cwd: Path, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", "batch", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": python_path(), **(env or {})},
    )


def python_path() -> str:
    """This sous first, then whatever else the tests were given."""
    return os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")]))


def read_results(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def check_batch(batch: Batch, out: Path) -> None:
    assert not pid_alive(int((batch.root / "service.pid").read_text())), "a setup's service outlived its task"
    lines = read_results(out)
    by_id = {line["id"]: line for line in lines}
    assert sorted(by_id) == sorted(batch.expect) and len(lines) == len(batch.expect)
    for task_id, want in batch.expect.items():
        line = by_id[task_id]
        context = f"{task_id}: {line}"
        assert line["status"] == want.status, context
        assert line["verify_exit"] == want.verify_exit, context
        assert want.error_has in (line["error"] or ""), context
        assert want.verify_output_has in (line["verify_output"] or ""), context
        assert want.turns is None or line["turns"] == want.turns, context
        assert line["agent_status"] == want.agent_status, context
        assert 0 <= line["duration_s"] < 60 and line["cost_usd"] == 0.0, context
        if want.turns and want.agent_status == "success":
            assert line["usage"]["input_tokens"] == 100 * want.turns, context
        if not want.patch:
            assert line["patch"] is None and line["transcript"] is None, context
            assert not (out / "patches" / f"{task_id}.patch").exists()
            continue
        assert line["patch"] == f"patches/{task_id}.patch", context
        patch = (out / line["patch"]).read_text()
        for needle in want.patch_has:
            assert needle in patch, (task_id, patch)
        if not want.patch_has:
            assert patch == "", (task_id, patch)
        else:
            check_applies(batch.repo, patch, "base" if task_id == "pass-ref" else "HEAD")
        assert "setup.txt" not in patch  # setup's own changes are not the agent's
        transcript = (out / line["transcript"]).read_text()
        assert f"task {task_id}: make add() add" in transcript, task_id
        # Each task has a session of its own: no other task's prompt is in its transcript.
        assert not [other for other in batch.expect if other != task_id and f"task {other}:" in transcript]


def check_applies(repo: Path, patch: str, ref: str) -> None:
    """The patch applies cleanly to a fresh checkout of the task's commit."""
    clone = repo.parent / "apply-check"
    subprocess.run(["rm", "-rf", str(clone)], check=True)
    git(repo.parent, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", ref)
    run = subprocess.run(["git", "apply", "--check", "-"], cwd=clone, input=patch, text=True, capture_output=True)
    assert run.returncode == 0, (run.stderr, patch)


def pid_alive(pid: int, grace_s: float = 3.0) -> bool:
    """Whether `pid` still runs `grace_s` from now (a SIGKILL lands asynchronously; a zombie
    waiting for its reaper counts as gone)."""
    deadline = time.monotonic() + grace_s
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state == "Z":
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.05)


@pytest.fixture
def batch(tmp_path: Path) -> Batch:
    return make_batch(tmp_path)
