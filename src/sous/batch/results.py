"""The batch's output folder: `results.jsonl`, `patches/ID.patch`, `transcripts/ID.jsonl`.

`results.jsonl` is append-only, one line per finished task run, flushed as each task ends, so a
crash loses nothing already recorded. Rerunning the batch skips the ids whose latest line has a
final status; an `interrupted` task runs again and its new line supersedes the old one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sous.batch.runner import Outcome

STATUSES = ("success", "failed", "error", "timeout", "interrupted")
FINAL = frozenset(STATUSES) - {"interrupted"}
"""Statuses a rerun does not run again."""


class Results:
    """The output folder of one batch."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.path = self.out / "results.jsonl"
        self.warnings: list[str] = []
        """Lines of an existing results file that could not be read (a crash mid-write)."""
        self.latest: dict[str, dict[str, Any]] = {}
        """The latest line of each id, from earlier runs and this one."""
        self.spent: dict[str, float] = {}
        """What each id's runs cost together, interrupted and superseded runs included."""
        self._lock: int | None = None
        self._read()

    def lock(self) -> None:
        """Create the folder and hold its lock until this process exits, so that two batches
        never write one results file. Raises OSError (EBUSY when another batch holds it)."""
        import errno
        import fcntl

        self.out.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.out / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OSError(errno.EBUSY, "another sous batch is writing there") from None
        self._lock = fd

    def _read(self) -> None:
        if not self.path.exists():
            return
        for number, raw in enumerate(self.path.read_text("utf-8", "replace").splitlines(), start=1):
            try:
                line = json.loads(raw)
            except ValueError:
                line = None
            if not isinstance(line, dict) or not isinstance(line.get("id"), str) or line.get("status") not in STATUSES:
                if raw.strip():
                    self.warnings.append(f"{self.path}:{number}: not a result line; ignored")
                continue
            self._take(line)

    def _take(self, line: dict[str, Any]) -> None:
        self.latest[line["id"]] = line
        cost = line.get("cost_usd")
        self.spent[line["id"]] = self.spent.get(line["id"], 0.0) + (cost if isinstance(cost, (int, float)) else 0.0)

    def finished(self, task_id: str) -> bool:
        """Whether an earlier run recorded a final status for `task_id`."""
        line = self.latest.get(task_id)
        return line is not None and line["status"] in FINAL

    def record(self, outcome: Outcome) -> dict[str, Any]:
        """Write the outcome's patch and transcript, append its line, and return the line."""
        line = dict(outcome.record)
        task_id = line["id"]
        line["patch"] = self._artifact("patches", f"{task_id}.patch", outcome.patch)
        line["transcript"] = self._artifact("transcripts", f"{task_id}.jsonl", outcome.transcript)
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._take(line)
        return line

    def _artifact(self, folder: str, name: str, text: str | bytes | None) -> str | None:
        """Write `text` to OUT/folder/name (replacing an earlier run's) and return the path
        relative to OUT; with no text, remove a stale file and return None."""
        path = self.out / folder / name
        if text is None:
            path.unlink(missing_ok=True)
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        return f"{folder}/{name}"
