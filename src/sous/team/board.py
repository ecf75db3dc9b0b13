"""The team's board: the only channel between members, and the state a crashed team resumes from.

It lives in `.sous/team/` inside the project:

    tasks.json          {"next_id": N, "tasks": [{id, title, description, owner, state, created_by, notes}]}
    mail/<member>.jsonl one message a line: {"from", "text", "ts"}; `mail/<member>.read` counts those read
    log.jsonl           what happened, a line each (for the live view and for people reading later)

Every change takes an exclusive lock on `.sous/team/lock`, so members in other processes (or a
second `sous team` after a crash) see a consistent board. Waiting for news is polling the files'
sizes: cheap, and it works across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STATES = ("open", "claimed", "done", "blocked")


class BoardError(Exception):
    """A request the board refuses (unknown task, claimed by someone else...); one line for the model."""


class Board:
    def __init__(self, folder: Path):
        self.folder = folder
        (folder / "mail").mkdir(parents=True, exist_ok=True)
        self.tasks_path = folder / "tasks.json"
        self.log_path = folder / "log.jsonl"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.folder / "lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.tasks_path.read_text("utf-8"))
        except (OSError, ValueError):
            return {"next_id": 1, "tasks": []}

    def _write(self, data: dict[str, Any]) -> None:
        partial = self.tasks_path.with_suffix(".tmp")
        partial.write_text(json.dumps(data, indent=2, ensure_ascii=False), "utf-8")
        partial.replace(self.tasks_path)  # a crash mid-write leaves the old board, never half of one

    def log(self, who: str, what: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"ts": time.time(), "who": who, "what": what}, ensure_ascii=False) + "\n")

    # --- tasks ------------------------------------------------------------------------------------

    def tasks(self) -> list[dict[str, Any]]:
        return self._read()["tasks"]

    def post(self, who: str, title: str, description: str = "", owner: str | None = None) -> dict[str, Any]:
        with self._locked():
            data = self._read()
            task = {
                "id": data["next_id"],
                "title": title,
                "description": description,
                "owner": owner,
                "state": "claimed" if owner else "open",
                "created_by": who,
                "notes": [],
            }
            data["next_id"] += 1
            data["tasks"].append(task)
            self._write(data)
        self.log(who, f"posted task #{task['id']}: {title}" + (f" (for {owner})" if owner else ""))
        return task

    def claim(self, who: str, task_id: int) -> dict[str, Any]:
        with self._locked():
            data = self._read()
            task = self._find(data, task_id)
            if task["owner"] not in (None, who):
                raise BoardError(f"task #{task_id} belongs to {task['owner']}; ask them, or pick another")
            if task["state"] == "done":
                raise BoardError(f"task #{task_id} is done already")
            task["owner"], task["state"] = who, "claimed"
            self._write(data)
        self.log(who, f"claimed task #{task_id}")
        return task

    def update(self, who: str, task_id: int, state: str, note: str = "") -> dict[str, Any]:
        if state not in STATES:
            raise BoardError(f"state must be one of {', '.join(STATES)}")
        with self._locked():
            data = self._read()
            task = self._find(data, task_id)
            if task["owner"] not in (None, who):
                raise BoardError(f"task #{task_id} belongs to {task['owner']}")
            task["state"] = state
            task["owner"] = None if state == "open" else (task["owner"] or who)
            if note:
                task["notes"].append(f"{who}: {note}")
            self._write(data)
        self.log(who, f"task #{task_id} → {state}" + (f": {note}" if note else ""))
        return task

    @staticmethod
    def _find(data: dict[str, Any], task_id: int) -> dict[str, Any]:
        for task in data["tasks"]:
            if task["id"] == task_id:
                return task
        raise BoardError(f"there is no task #{task_id}")

    def unfinished(self) -> list[dict[str, Any]]:
        return [t for t in self.tasks() if t["state"] != "done"]

    # --- mail -------------------------------------------------------------------------------------

    def send(self, who: str, to: str, text: str) -> None:
        with self._locked(), open(self.folder / "mail" / f"{to}.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({"from": who, "text": text, "ts": time.time()}, ensure_ascii=False) + "\n")
        self.log(who, f"→ {to}: {text[:200]}")

    def _mail(self, member: str) -> list[dict[str, Any]]:
        path = self.folder / "mail" / f"{member}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]

    def _read_count(self, member: str) -> int:
        try:
            return int((self.folder / "mail" / f"{member}.read").read_text())
        except (OSError, ValueError):
            return 0

    def unread(self, member: str) -> int:
        return max(len(self._mail(member)) - self._read_count(member), 0)

    def take_mail(self, member: str) -> list[dict[str, Any]]:
        """The messages `member` has not read yet, marked read."""
        with self._locked():
            mail = self._mail(member)
            seen = self._read_count(member)
            (self.folder / "mail" / f"{member}.read").write_text(str(len(mail)))
        return mail[seen:]

    async def wait_for_mail(self, member: str, timeout_s: float, stop: asyncio.Event | None = None) -> bool:
        """Wait until `member` has unread mail (True) or `timeout_s` passes (False)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
            if self.unread(member):
                return True
            await asyncio.sleep(0.1)
        return bool(self.unread(member))

    def render(self) -> str:
        rows = [f"#{t['id']:<3} {t['state']:8} {t['owner'] or '-':12} {t['title']}" for t in self.tasks()]
        return "\n".join(rows) or "(no tasks yet)"
