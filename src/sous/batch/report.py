"""What a batch shows while it runs and when it ends.

On a terminal one status line is redrawn in place (done / running / failed, throughput, spend)
and each finished task that did not succeed is printed above it; otherwise every finished task is
one plain line. The summary table at the end covers every task of the file (this run's and the
earlier runs' results).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, TextIO

from sous.batch.results import STATUSES


def _money(usd: float) -> str:
    return f"${usd:.4f}" if usd < 1 else f"${usd:.2f}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class Progress:
    """Tells the person watching how the batch goes. `live` redraws one line (a terminal)."""

    def __init__(self, total: int, *, skipped: int = 0, out: TextIO = sys.stderr, live: bool | None = None):
        self.total = total
        self.skipped = skipped
        self.out = out
        self.live = out.isatty() if live is None else live
        self.started = time.monotonic()
        self.counts: Counter[str] = Counter()
        self.running = 0
        self.spent = 0.0
        self._drawn = False

    def started_task(self, task_id: str) -> None:
        self.running += 1
        if not self.live:
            self._print(f"start {task_id}")
        self.draw()

    def finished_task(self, line: dict[str, Any]) -> None:
        self.running -= 1
        self.counts[line["status"]] += 1
        self.spent += line.get("cost_usd") or 0.0
        done = sum(self.counts.values()) + self.skipped
        text = (
            f"[{done}/{self.total}] {line['id']}: {line['status']} in {_duration(line['duration_s'])}"
            f" ({_money(line.get('cost_usd') or 0.0)})"
        )
        if line.get("error") and line["status"] != "success":
            text += f": {line['error'].splitlines()[0][:160]}"
        if not self.live or line["status"] != "success":
            self._print(text)
        self.draw()

    def note(self, text: str) -> None:
        self._print(text)
        self.draw()

    def status_line(self) -> str:
        done = sum(self.counts.values())
        bad = done - self.counts["success"]
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed * 60
        return (
            f"{done + self.skipped}/{self.total} done · {self.running} running · {self.counts['success']} ok"
            f" · {bad} not ok · {rate:.1f} tasks/min · {_money(self.spent)} · {_duration(elapsed)}"
        )

    def draw(self) -> None:
        if self.live:
            self.out.write("\r\x1b[2K" + self.status_line())
            self.out.flush()
            self._drawn = True

    def close(self) -> None:
        if self.live and self._drawn:
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self._drawn = False

    def _print(self, text: str) -> None:
        if self.live and self._drawn:
            self.out.write("\r\x1b[2K")
        self.out.write(text + "\n")
        self.out.flush()


def summary(lines: Iterable[dict[str, Any]], *, wall_s: float, not_started: int = 0, slowest: int = 5) -> str:
    """The end-of-batch table: tasks by status, success rate, cost, time, the slowest tasks."""
    lines = list(lines)
    counts = Counter(line["status"] for line in lines)
    total = len(lines)
    cost = sum(line.get("cost_usd") or 0.0 for line in lines)
    task_time = sum(line.get("duration_s") or 0.0 for line in lines)
    rate = f"{counts['success'] / total:.0%}" if total else "-"
    rows = [
        ("tasks", str(total + not_started)),
        *((status, str(counts[status])) for status in STATUSES if counts[status]),
        *([("not started", str(not_started))] if not_started else []),
        ("success rate", f"{rate} ({counts['success']}/{total})"),
        ("cost", _money(cost) + (f" ({_money(cost / total)} a task)" if total else "")),
        ("wall time", _duration(wall_s)),
        ("task time", _duration(task_time) + (f" ({_duration(task_time / total)} a task)" if total else "")),
    ]
    width = max(len(k) for k, _ in rows)
    out = [f"{k:<{width}}  {v}" for k, v in rows]
    ranked = sorted(lines, key=lambda line: line.get("duration_s") or 0.0, reverse=True)[:slowest]
    if ranked:
        out += ["", "slowest:"]
        idw = max(len(line["id"]) for line in ranked)
        out += [
            f"  {line['id']:<{idw}}  {_duration(line['duration_s']):>7}  {line['status']:<11}  "
            f"{line.get('turns') or 0} turns  {_money(line.get('cost_usd') or 0.0)}"
            for line in ranked
        ]
    return "\n".join(out)
