"""The few lines the terminal shows at the end of a run: what it actually changed and ran (see
`sous.runtime.run_record`), so that a person never has to take the model's word for it."""

from __future__ import annotations

from typing import Any

SHOWN = 4
"""Files (and commands) named on their line; the rest are counted."""
COMMAND_CHARS = 60


def summary_lines(record: Any, answer: str) -> list[str]:
    """The record's lines, or none when the run used no tool and its answer claims no change (a
    plain question needs no "no files were changed")."""
    from sous.models.local_protocol import claims_change

    if not record.tool_calls and not claims_change(answer):
        return []
    lines = []
    if record.files:
        named = [f"{f.path} +{f.added} -{f.removed}" for f in record.files[:SHOWN]]
        lines.append("changed: " + ", ".join(named) + _more(len(record.files)))
    elif record.command_edits_checked:
        lines.append("no files were changed")
    else:
        lines.append(
            "no files were changed by sous's file tools (edits made by commands are not tracked: checkpoints are off)"
        )
    if record.commands:
        ran = [f"{_short(c.command)} ({_outcome(c)})" for c in record.commands[:SHOWN]]
        lines.append("ran: " + ", ".join(ran) + _more(len(record.commands)))
    return lines


def _more(count: int) -> str:
    return f" and {count - SHOWN} more" if count > SHOWN else ""


def _short(command: str) -> str:
    line = " ".join(command.split())
    return line if len(line) <= COMMAND_CHARS else line[: COMMAND_CHARS - 1] + "…"


def _outcome(command: Any) -> str:
    if command.status == "interrupted":
        return "interrupted"
    if command.status == "background":
        return "in the background"
    if command.status == "timed_out":
        return "timed out"
    return f"exit {command.exit_code}"
