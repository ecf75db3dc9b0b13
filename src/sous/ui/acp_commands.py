"""Slash commands in an editor: what `sous acp` advertises with `available_commands_update`, and
running a prompt that starts with `/name args`.

Advertised: the built-in commands that make sense in an editor's thread, the project's and the
user's custom commands and skills (with their `argument-hint`), and the MCP servers' prompts. The
built-ins that would start another session under the editor's feet (`/clear`, `/resume`, `/fork`,
`/rewind`), open a terminal editor (`/memory`) or leave are not offered, and say why when typed.
"""

from __future__ import annotations

import difflib
from typing import Any

from sous.records import record

from . import slash

OFFERED = (
    "/compact",
    "/context",
    "/cost",
    "/model",
    "/output-style",
    "/todos",
    "/status",
    "/init",
    "/permissions",
    "/hooks",
    "/mcp",
    "/agents",
)
NOT_HERE = {
    "/clear": "start a new thread in the editor instead",
    "/resume": "the editor loads earlier sessions from its own history",
    "/fork": "start a new thread in the editor instead",
    "/rewind": "it would change the history the editor shows; use `sous rewind` in a terminal",
    "/memory": "open the memory files in the editor (`/status` names them)",
    "/exit": "close the thread in the editor",
    "/quit": "close the thread in the editor",
    "/help": "the editor lists the commands as you type /",
}


@record
class Offer:
    """One command as the editor lists it: its name without the slash, what it does, a hint for its input."""

    name: str
    description: str
    hint: str = ""


def offers(session: Any) -> list[Offer]:
    """Every command a prompt may start with in this session, built-ins first."""
    found: dict[str, Offer] = {}
    for usage, what in slash.BUILTINS.items():
        name, _, hint = usage.partition(" ")
        if name in OFFERED:
            found[name[1:]] = Offer(name=name[1:], description=what, hint=hint.strip())
    for command in session.commands.values():
        if command.user_invocable and command.name not in found and f"/{command.name}" not in NOT_HERE:
            hint = command.meta.get("argument-hint") or ""
            if isinstance(hint, list):  # `argument-hint: [name]` unquoted reads as a YAML list
                hint = " ".join(f"[{h}]" for h in hint)
            kind = "skill" if command.skill else "command"
            description = command.description or f"the {kind} {command.name}"
            found[command.name] = Offer(name=command.name, description=description, hint=str(hint))
    if session.mcp is not None:
        for name, description in session.mcp.prompt_commands():
            found.setdefault(name, Offer(name=name, description=description or f"the MCP prompt {name}"))
    return list(found.values())


def updates(session: Any) -> Any:
    """The `available_commands_update` listing `offers(session)`."""
    from acp.helpers import update_available_commands
    from acp.schema import AvailableCommand, AvailableCommandInput, UnstructuredCommandInput

    return update_available_commands(
        AvailableCommand(
            name=o.name,
            description=o.description,
            input=AvailableCommandInput(root=UnstructuredCommandInput(hint=o.hint)) if o.hint else None,
        )
        for o in offers(session)
    )


async def run(session: Any, text: str) -> slash.Outcome | None:
    """Run a built-in or an MCP prompt typed as `/name args`; None for what the session itself
    takes as a prompt (plain text, a custom command or skill, which it expands)."""
    line = text.strip()
    if not slash.is_command_like(line):
        return None
    name = line.split()[0]
    if why := NOT_HERE.get(name):
        return slash.Outcome(f"{name} is not available in an editor: {why}", error=True)
    known = [f"/{o.name}" for o in offers(session)]
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        return slash.Outcome(
            f"unknown command {name}" + (f" — did you mean {close[0]}?" if close else "; type / to see the list"),
            error=True,
        )
    outcome = await slash.run(session, line)
    if outcome is not None and outcome.edit is not None:  # no terminal editor to hand over to here
        return slash.Outcome(f"written to {outcome.edit}: open it in the editor to change it")
    return outcome
