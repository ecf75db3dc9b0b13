"""Retention: session files and checkpoint data older than `cleanupPeriodDays` are removed.

As Claude Code does, at start-up: every session file (`<data>/sessions/<project>/<id>.jsonl`,
with its `<id>/` folder of sub-agent transcripts) last written more than `cleanupPeriodDays`
(default 30) days ago is deleted, in every project. Never the session starting, and never one a
running sous has open (its writer holds a shared `flock` on the file; a file that cannot be
locked here is in use). `0` is refused as Claude Code refuses it since 2.1.89 (it once silently
turned off every transcript): with a value that is not a whole number of days of at least 1,
nothing is removed and a warning says so.

Checkpoints (`sous.checkpoints`) go by the same period: entries of turns older than it, and all
but the newest `MAX_ENTRIES` of a project, leave the project's log; their commits lose their
refs, and a `git gc` run in the background (detached, so it never holds up sous or its exit)
frees what nothing else refers to. The checkpoint repository is thereby bounded by the period
and the entry count.

Cost at start-up: one `stat` of the stamp file (`<data>/.last-cleanup`); at most once an hour a
thread lists the session folders and the checkpoint logs. The thread is not a daemon, so a
short `sous -p` finishes its sweep before the process ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from sous.records import field, record

DEFAULT_DAYS = 30
MAX_ENTRIES = 1_000
"""At most this many checkpoint entries are kept per project, whatever their age."""
INTERVAL_SECONDS = 3600
"""A sweep runs at most this often (the stamp file's age says when the last one ran)."""
GC_GRACE = "1.hour.ago"
"""Unreferenced objects younger than this survive `git gc`: a running session's newest ones."""
STAMP = ".last-cleanup"
DAY = 86_400


@record(frozen=False)
class Swept:
    """What one sweep removed."""

    sessions: list[str] = field(default_factory=list)
    """The ids of the session files removed."""
    in_use: list[str] = field(default_factory=list)
    """Old session files left because a running sous has them open."""
    checkpoints: int = 0
    """Checkpoint entries dropped, in all projects."""
    collected: list[Path] = field(default_factory=list)
    """The checkpoint repositories given to `git gc`."""


def period_days(value: Any) -> tuple[int | None, str]:
    """(days, "") for a valid `cleanupPeriodDays` (None: the default), or (None, the warning)."""
    if value is None:
        return DEFAULT_DAYS, ""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 1:
        zero = " (0 is refused, as Claude Code refuses it: use --no-session-persistence to keep no transcripts)"
        return None, (
            f"cleanupPeriodDays: expected a whole number of days of at least 1, got {json.dumps(value)}"
            f"{zero if value == 0 and not isinstance(value, bool) else ''}; no old sessions were removed"
        )
    return int(value), ""


def start(
    get: Callable[[str], Any], environ: Mapping[str, str], current: str, *, now: float | None = None
) -> tuple[threading.Thread | None, str]:
    """At a session's start: (the sweep's thread, or None when none is due; a warning or "").
    `current` is the id of the session starting, which is never removed."""
    days, problem = period_days(get("cleanupPeriodDays"))
    if days is None:
        return None, problem
    from sous.paths import data_dir

    root = data_dir(environ)
    now = time.time() if now is None else now
    stamp = root / STAMP
    try:
        if now - stamp.stat().st_mtime < INTERVAL_SECONDS:
            return None, ""
    except OSError:
        pass  # never swept here
    try:
        root.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    except OSError:
        return None, ""  # a data folder sous cannot write: nothing to clean either
    thread = threading.Thread(
        target=_quietly, args=(sweep, root, now - days * DAY, {current}), name="sous-retention", daemon=False
    )
    thread.start()
    return thread, ""


def _quietly(step: Callable[..., Any], *args: Any) -> None:
    # A sweep that fails (a folder removed meanwhile, a disk error) must never disturb the session.
    with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
        step(*args)


def sweep(root: Path, cutoff: float, keep: Collection[str] = (), *, gc: bool = True, gc_wait: bool = False) -> Swept:
    """Remove the session files under `root` last written before `cutoff` (seconds since the
    epoch) and the checkpoint entries older than it, except the sessions in `keep` and those in
    use; then start `git gc` on each checkpoint repository that lost entries."""
    swept = Swept()
    sessions = root / "sessions"
    for project in _folders(sessions):
        for path in _old_files(project, cutoff):
            session_id = path.name[: -len(".jsonl")]
            if session_id in keep:
                continue
            if _remove_unless_open(path):
                swept.sessions.append(session_id)
                _remove_folder(project / session_id)
            else:
                swept.in_use.append(session_id)
    keep_sessions = {*keep, *swept.in_use}
    checkpoints = root / "checkpoints"  # as `sous.checkpoints.store_dir` names it
    for log in sorted(checkpoints.glob("*.jsonl")) if checkpoints.is_dir() else []:
        git_dir = log.with_suffix(".git")
        dropped = prune_log(log, cutoff, keep_sessions)
        swept.checkpoints += dropped
        if dropped and (git_dir / "HEAD").is_file():
            keep_only_live_refs(git_dir, log)
            if gc:
                collect(git_dir, wait=gc_wait)
            swept.collected.append(git_dir)
    return swept


def _folders(sessions: Path) -> list[Path]:
    """The project folders directly under `sessions` (not links: nothing outside is touched)."""
    try:
        with os.scandir(sessions) as listing:
            return [Path(e.path) for e in listing if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _old_files(project: Path, cutoff: float) -> list[Path]:
    out = []
    try:
        with os.scandir(project) as listing:
            for entry in listing:
                if not entry.name.endswith(".jsonl"):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                    out.append(Path(entry.path))
    except OSError:
        return []
    return out


def _remove_unless_open(path: Path) -> bool:
    """Delete a session file unless a running sous holds it (its writer's shared lock)."""
    try:
        import fcntl
    except ImportError:  # no flock: the file's age alone decides
        path.unlink(missing_ok=True)
        return True
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _remove_folder(folder: Path) -> None:
    """A removed session's own folder (its sub-agents' transcripts); a link is only unlinked."""
    if folder.is_symlink():
        folder.unlink(missing_ok=True)
    elif folder.is_dir():
        import shutil  # not at the top: it costs start-up time, and a sweep seldom removes a folder

        shutil.rmtree(folder, ignore_errors=True)


def prune_log(log: Path, cutoff: float, keep_sessions: Collection[str] = (), max_entries: int = MAX_ENTRIES) -> int:
    """Drop from a project's checkpoint log the entries older than `cutoff` (unless of a session
    in `keep_sessions`) and all but the newest `max_entries`; returns how many were dropped."""
    from . import log_lock

    with log_lock(log):
        try:
            lines = log.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return 0
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn line: dropped with the rewrite
            if isinstance(record, dict) and isinstance(record.get("id"), int):
                records.append((line, record))
        entries = {r["id"]: r for _, r in records if r.get("type") != "after"}
        newest = sorted(entries, reverse=True)[:max_entries]
        kept = {
            i
            for i in newest
            if _number(entries[i].get("time")) >= cutoff or entries[i].get("session_id") in keep_sessions
        }
        dropped = len(entries) - len(kept)
        if not dropped:
            return 0
        text = "".join(line + "\n" for line, record in records if record["id"] in kept)
        temporary = log.with_name(f".{log.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, log)
    return dropped


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _git(git_dir: Path, *args: str, stdin: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_DIR=str(git_dir), LC_ALL="C", GIT_TERMINAL_PROMPT="0")
    done = subprocess.run(
        ["git", *args], input=stdin, capture_output=True, text=True, env=env, cwd=git_dir, timeout=120, check=True
    )
    return done.stdout


def keep_only_live_refs(git_dir: Path, log: Path) -> None:
    """Give every commit the log still names a ref, and take it from every other commit (one
    `update-ref` transaction). Commits of an older sous, which chained them by parents and kept
    no refs, get one while an entry names them."""
    from . import _REF, KEPT_REFS

    named: set[str] = set()
    for line in log.read_text("utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            named |= {v for k in ("before", "after") if isinstance(v := record.get(k), str) and len(v) == 40}
    have = set(_git(git_dir, "for-each-ref", "--format=%(objectname)", KEPT_REFS).split())
    missing = sorted(named - have)
    existing = set()
    if missing:  # only objects that exist can be given a ref
        checked = _git(git_dir, "cat-file", "--batch-check", stdin="\n".join(missing) + "\n")
        existing = {line.split()[0] for line in checked.splitlines() if line and not line.endswith(" missing")}
    head = _git(git_dir, "for-each-ref", "--format=%(objectname)", _REF).strip()
    commands = [f"delete {KEPT_REFS}{sha}\n" for sha in sorted(have - named - {head})]
    commands += [f"create {KEPT_REFS}{sha} {sha}\n" for sha in sorted(existing)]
    if commands:
        _git(git_dir, "update-ref", "--stdin", stdin="".join(commands))


def collect(git_dir: Path, *, wait: bool = False, grace: str = GC_GRACE) -> None:
    """`git gc` the repository: in the background (its own session, output discarded), or, with
    `wait`, before returning (tests, benchmarks)."""
    command = ["git", "gc", "--quiet", f"--prune={grace}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_DIR=str(git_dir), LC_ALL="C")
    if wait:
        subprocess.run(command, env=env, cwd=git_dir, capture_output=True, timeout=600, check=False)
        return
    subprocess.Popen(
        command,
        env=env,
        cwd=git_dir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
