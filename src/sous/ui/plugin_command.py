"""`/plugin` in the terminal: the plugins this session uses, and `sous plugin ...` without leaving.

A change (install, enable, disable...) is written at once and takes effect in the next session, as
the parts a plugin adds are made when a session starts."""

from __future__ import annotations

import asyncio
import io
from typing import Any

USAGE = (
    "/plugin marketplace add SOURCE|list|remove NAME|update · /plugin install|uninstall|enable|disable "
    "NAME[@MARKETPLACE] [--scope user|project|local] · /plugin list · /plugin validate PATH"
)


async def plugin_slash(session: Any, rest: str, args: list[str]) -> Any:
    from sous.plugins.cli import main

    from .slash import Outcome

    if not args:
        rows = [
            f"{p.id:40} {p.version or '-':10} {p.root}" + ("" if p.runs_code else "  (hooks and MCP servers left out)")
            for p in session.plugins
        ]
        return Outcome("\n".join([*(rows or ["no plugins are in use in this session"]), USAGE]))
    out, err = io.StringIO(), io.StringIO()
    try:  # a git clone can take a while: off the terminal's loop
        code = await asyncio.to_thread(main, args, session.project_dir, session.environ, out, err)
    except SystemExit:  # --help: argparse printed it to the real stdout
        return Outcome(USAGE)
    text = (out.getvalue() + err.getvalue()).strip()
    changes = args[0] in ("install", "i", "uninstall", "remove", "enable", "disable")
    if code == 0 and changes:
        text += "\n(takes effect in the next session)"
    return Outcome(text, error=code != 0)
