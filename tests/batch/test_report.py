from __future__ import annotations

import io

from sous.batch.report import Progress, summary


def _line(task_id: str, status: str, duration: float, cost: float = 0.0, error: str | None = None) -> dict:
    return {"id": task_id, "status": status, "duration_s": duration, "cost_usd": cost, "turns": 3, "error": error}


def test_on_a_terminal_one_status_line_is_redrawn_and_only_problems_are_printed_above_it():
    out = io.StringIO()
    progress = Progress(3, skipped=1, out=out, live=True)
    progress.started_task("a")
    progress.started_task("b")
    assert out.getvalue().endswith("1/3 done · 2 running · 0 ok · 0 not ok · 0.0 tasks/min · $0.0000 · 0.0s")
    progress.finished_task(_line("a", "success", 1.5, 0.25))
    progress.finished_task(_line("b", "timeout", 61, 1.5, "timeout after 60 s, during the agent's run\nmore"))
    progress.close()
    text = out.getvalue()
    assert "a: success" not in text
    assert "\r\x1b[2K[3/3] b: timeout in 1m01s ($1.50): timeout after 60 s, during the agent's run\n" in text
    assert "3/3 done · 0 running · 1 ok · 1 not ok · " in text and "· $1.75 · " in text
    assert text.endswith("\r\x1b[2K")


def test_without_a_terminal_every_task_is_one_plain_line():
    out = io.StringIO()
    progress = Progress(2, out=out, live=False)
    progress.started_task("a")
    progress.finished_task(_line("a", "success", 2.0))
    progress.close()
    assert out.getvalue() == "start a\n[1/2] a: success in 2.0s ($0.0000)\n"


def test_the_summary_counts_rates_costs_and_names_the_slowest_tasks():
    lines = [
        _line("quick", "success", 1.0, 0.5),
        _line("slow", "failed", 125.0, 1.5),
        _line("mid", "success", 30.0, 0.0),
        _line("broken", "error", 0.2),
    ]
    assert summary(lines, wall_s=130, not_started=1, slowest=2) == "\n".join(
        [
            "tasks         5",
            "success       2",
            "failed        1",
            "error         1",
            "not started   1",
            "success rate  50% (2/4)",
            "cost          $2.00 ($0.5000 a task)",
            "wall time     2m10s",
            "task time     2m36s (39.0s a task)",
            "",
            "slowest:",
            "  slow    2m05s  failed       3 turns  $1.50",
            "  mid     30.0s  success      3 turns  $0.0000",
        ]
    )
    assert summary([], wall_s=0).splitlines()[:2] == ["tasks         0", "success rate  - (0/0)"]
