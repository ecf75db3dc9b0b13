"""Retention: old session files and checkpoint data go at start-up; what must stay, stays."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sous
from sous.checkpoints import Checkpoints, retention
from sous.models.scripted import ScriptedModel
from sous.runtime import Options, open_session
from sous.store.transcript import TranscriptWriter

SRC = str(Path(sous.__file__).resolve().parents[1])
DAY = 86_400


def _file(path: Path, age_days: float, text: str = '{"v": 1, "type": "session"}\n') -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    then = time.time() - age_days * DAY
    os.utime(path, (then, then))
    return path


def test_old_sessions_and_their_folders_go_and_recent_current_and_open_ones_stay(tmp_path):
    root = tmp_path / "home"
    project = root / "sessions" / "-work-app"
    old = _file(project / "old.jsonl", 40)
    _file(project / "old" / "subagents" / "agent-1.jsonl", 40)
    recent = _file(project / "recent.jsonl", 3)
    current = _file(project / "current.jsonl", 40)  # resumed just now: its file is still old
    held = _file(project / "held.jsonl", 40)
    writer = TranscriptWriter(held)  # another sous has it open
    os.utime(held, (time.time() - 40 * DAY,) * 2)
    elsewhere = _file(root / "sessions" / "-work-other" / "gone.jsonl", 31)
    outside = _file(tmp_path / "outside" / "keep.jsonl", 90)
    os.symlink(outside.parent, root / "sessions" / "-linked")  # a linked folder is never entered
    os.symlink(outside, project / "link.jsonl")  # nor a linked file followed
    try:
        swept = retention.sweep(root, time.time() - 30 * DAY, keep={"current"}, gc=False)
    finally:
        writer.close()
    assert sorted(swept.sessions) == ["gone", "old"] and swept.in_use == ["held"]
    assert not old.exists() and not (project / "old").exists() and not elsewhere.exists()
    assert recent.exists() and current.exists() and held.exists()
    assert outside.exists() and (project / "link.jsonl").is_symlink()


@pytest.mark.parametrize("value", [0, -3, 1.5, "30", True])
def test_a_bad_period_removes_nothing_and_says_so_once(value):
    days, problem = retention.period_days(value)
    assert days is None and problem.startswith("cleanupPeriodDays: expected a whole number of days of at least 1")
    assert "no old sessions were removed" in problem
    assert ("0 is refused" in problem) == (value == 0 and value is not False)
    assert retention.period_days(None) == (30, "") and retention.period_days(7) == (7, "")


def _open(tmp_path: Path, settings: dict | None = None):
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    if settings is not None:
        (project / ".claude").mkdir(exist_ok=True)
        (project / ".claude" / "settings.json").write_text(json.dumps(settings))
    env = {**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")}
    return open_session(Options(cwd=str(project), model=ScriptedModel([]), environ=env))


def test_a_session_start_sweeps_in_the_background_at_most_once_an_hour(tmp_path):
    old = _file(tmp_path / "home" / "sessions" / "-p" / "old.jsonl", 45)
    session = _open(tmp_path)
    path = session.transcript_path
    session.close()
    deadline = time.monotonic() + 10
    while old.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not old.exists() and path.exists()  # the session starting is never removed
    again = _file(tmp_path / "home" / "sessions" / "-p" / "again.jsonl", 45)
    _open(tmp_path).close()
    time.sleep(0.3)
    assert again.exists()  # swept less than an hour ago


def test_cleanup_period_zero_keeps_everything_with_a_warning(tmp_path):
    old = _file(tmp_path / "home" / "sessions" / "-p" / "old.jsonl", 400)
    session = _open(tmp_path, {"cleanupPeriodDays": 0})
    session.close()
    time.sleep(0.3)
    assert old.exists()
    assert any("cleanupPeriodDays" in n.text and "0 is refused" in n.text for n in session.notices)


def test_sous_p_finishes_its_sweep_before_it_exits(tmp_path):
    from sous.testing import THREE_STEP_TASK

    home = tmp_path / "home"
    old = _file(home / "sessions" / "-x" / "old.jsonl", 31)
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "turns.json").write_text(json.dumps(THREE_STEP_TASK))
    run = subprocess.run(
        [sys.executable, "-m", "sous", "-p", "go", "--model", f"scripted:{tmp_path / 'turns.json'}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "SOUS_HOME": str(home), "HOME": str(tmp_path)},
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert not old.exists() and (home / ".last-cleanup").exists()


def _git(git_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", *args], env={**env, "GIT_DIR": str(git_dir)}, capture_output=True, text=True)


def _age_entries(log: Path, ids: set[int], days: float) -> None:
    lines = []
    for line in log.read_text().splitlines():
        record = json.loads(line)
        if record.get("type") == "entry" and record["id"] in ids:
            record["time"] = time.time() - days * DAY
        lines.append(json.dumps(record))
    log.write_text("\n".join(lines) + "\n")


def test_expired_checkpoints_leave_the_log_and_git_gc_frees_their_commits(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    store = Checkpoints(str(project), session_id="s1", root=tmp_path / "home" / "checkpoints")

    async def turn(text: str) -> None:
        await store.turn_started("m-" + text, text)
        (project / "file.txt").write_text(text * 1000)
        await store.turn_ended()

    for text in ("alpha", "beta", "gamma"):
        asyncio.run(turn(text))
    first, second, third = store.list()
    _age_entries(store.log, {first.id}, 40)
    assert _git(store.git_dir, "cat-file", "-e", first.after).returncode == 0
    swept = retention.sweep(tmp_path / "home", time.time() - 30 * DAY, gc_wait=True)
    assert swept.checkpoints == 1 and swept.collected == [store.git_dir]
    assert [e.id for e in store.list()] == [second.id, third.id]
    assert first.after == second.before  # still named by the second entry, so still there
    assert _git(store.git_dir, "cat-file", "-e", first.after).returncode == 0
    assert _git(store.git_dir, "cat-file", "-e", first.before).returncode == 0  # the index holds nothing of it...
    retention.collect(store.git_dir, wait=True, grace="now")
    assert _git(store.git_dir, "cat-file", "-e", first.before).returncode != 0  # ...and now it is freed
    asyncio.run(store.restore_code(second, force=True))  # what is kept still restores
    assert (project / "file.txt").read_text() == "alpha" * 1000


def test_a_projects_log_keeps_at_most_the_newest_entries(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    store = Checkpoints(str(project), session_id="s1", root=tmp_path / "cp")
    for i in range(5):
        asyncio.run(store.turn_started(f"m{i}", f"turn {i}"))
        asyncio.run(store.turn_ended())
    assert retention.prune_log(store.log, 0.0, max_entries=2) == 3
    assert [e.prompt for e in store.list()] == ["turn 3", "turn 4"]
    assert retention.prune_log(store.log, 0.0, max_entries=2) == 0
