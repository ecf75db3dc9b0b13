"""`sous mcp add|add-json|list|get|remove`: manage MCP servers in Claude Code's files.

Scopes: `local` (default; `~/.claude.json` → `projects[<project>].mcpServers`, private to you),
`project` (`.mcp.json`, meant to be committed), `user` (`~/.claude.json` → `mcpServers`).

    sous mcp add time -- python -m mcp_server_time
    sous mcp add --transport http --header "Authorization: Bearer ${TOKEN}" notion https://mcp.notion.com/mcp
    sous mcp add-json --scope project git '{"command": "python", "args": ["-m", "mcp_server_git"]}'
    sous mcp list            # every server with its state and tool count
    sous mcp login notion    # log in to an OAuth server in a browser; `sous mcp logout notion` forgets it
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def _file(scope: str, project: str) -> tuple[Path, list[str]]:
    """The JSON file and the key path to its `mcpServers` object for a scope."""
    home = Path(os.environ.get("HOME") or Path.home())
    if scope == "project":
        return Path(project) / ".mcp.json", ["mcpServers"]
    if scope == "user":
        return home / ".claude.json", ["mcpServers"]
    return home / ".claude.json", ["projects", str(Path(project).resolve()), "mcpServers"]


def _edit(scope: str, project: str, change) -> Any:
    path, keys = _file(scope, project)
    data = json.loads(path.read_text("utf-8") or "{}") if path.is_file() else {}
    node = data
    for key in keys:
        node = node.setdefault(key, {})
    result = change(node)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)
    return result


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:  # its own flags; stdout belongs to the protocol
        from .serve import main as serve_main

        return serve_main(argv[1:])
    parser = argparse.ArgumentParser(prog="sous mcp")
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a server: NAME URL, or NAME -- COMMAND ARGS...")
    add.add_argument("--transport", "-t", choices=("stdio", "http", "sse"), default=None)
    add.add_argument("--scope", "-s", choices=("local", "project", "user"), default="local")
    add.add_argument("--env", "-e", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--header", "-H", action="append", default=[], metavar="'Name: value'")
    add.add_argument("name")
    add.add_argument("target", nargs=argparse.REMAINDER)
    add_json = sub.add_parser("add-json", help="add a server from its JSON entry")
    add_json.add_argument("--scope", "-s", choices=("local", "project", "user"), default="local")
    add_json.add_argument("name")
    add_json.add_argument("json")
    sub.add_parser("list", help="every server with its state")
    sub.add_parser("serve", help="offer sous's own tools to other MCP clients on stdio")
    get = sub.add_parser("get", help="one server's entry")
    get.add_argument("name")
    login_cmd = sub.add_parser("login", help="log in to an HTTP or SSE server that uses OAuth (in a browser)")
    login_cmd.add_argument("--no-browser", action="store_true", help="print the address only; open no browser")
    login_cmd.add_argument("name")
    sub.add_parser("logout", help="forget the stored login of a server").add_argument("name")
    remove = sub.add_parser("remove", help="remove a server")
    remove.add_argument("--scope", "-s", choices=("local", "project", "user"), default=None)
    remove.add_argument("name")
    if not argv:  # a bare `sous mcp` shows what it can do, as `sous hooks` does
        parser.print_help(sys.stderr)
        return 2
    args = parser.parse_args(argv)
    project = os.getcwd()

    if args.action in ("add", "add-json"):
        entry = _entry(args) if args.action == "add" else json.loads(args.json)
        if entry is None:
            return 2
        _edit(args.scope, project, lambda servers: servers.__setitem__(args.name, entry))
        print(f"Added {args.name} to {_file(args.scope, project)[0]} ({args.scope} scope)")
        if args.scope == "project":  # the person typed it: this entry, and only it, is approved
            from sous.permissions import trust

            state = trust.check(project)
            trust.approve(state, only=[e for e in state.pending if e.kind == "mcp" and e.name == args.name])
        return 0
    if args.action == "remove":
        scopes = [args.scope] if args.scope else ["local", "project", "user"]
        for scope in scopes:
            if _edit(scope, project, lambda servers: servers.pop(args.name, None)) is not None:
                print(f"Removed {args.name} from the {scope} scope")
                return 0
        print(f"sous: no MCP server named {args.name!r}", file=sys.stderr)
        return 1
    if args.action == "logout":
        from .login import logout

        print(logout(args.name, os.environ))
        return 0
    from . import load

    config = load(project)
    for problem in config.problems:
        print(f"sous: warning: {problem}", file=sys.stderr)
    if config.untrusted:
        print(
            f"sous: not approved, so not started: {', '.join(config.untrusted)} (from .mcp.json; "
            "review and approve with `sous trust`)",
            file=sys.stderr,
        )
    if args.action == "login":
        return _login(config, args.name, project, not args.no_browser)
    if args.action == "get":
        spec = config.servers.get(args.name)
        if spec is None:
            print(f"sous: no MCP server named {args.name!r}", file=sys.stderr)
            return 1
        print(
            json.dumps(
                {
                    "name": spec.name,
                    "type": spec.type,
                    "command": spec.command,
                    "args": list(spec.args),
                    "url": spec.url,
                    "source": spec.source,
                },
                indent=2,
            )
        )
        return 0
    return _list(config, project)


def _entry(args: argparse.Namespace) -> dict[str, Any] | None:
    target = args.target[1:] if args.target[:1] == ["--"] else args.target
    if not target:
        print("sous: give a URL, or -- and the command that starts the server", file=sys.stderr)
        return None
    kind = args.transport or ("stdio" if args.target[:1] == ["--"] or not target[0].startswith("http") else "http")
    entry: dict[str, Any] = {"type": kind}
    if kind == "stdio":
        entry |= {"command": target[0], "args": target[1:]}
    else:
        entry["url"] = target[0]
    if args.env:
        entry["env"] = dict(e.split("=", 1) for e in args.env if "=" in e)
    if args.header:
        entry["headers"] = {h.split(":", 1)[0].strip(): h.split(":", 1)[1].strip() for h in args.header if ":" in h}
    return entry


def _list(config: Any, project: str) -> int:
    import asyncio

    from .client import McpManager

    async def check() -> list[str]:
        manager = McpManager(config.servers, environ=os.environ, project_dir=project)
        await manager.start()
        try:
            return manager.describe()
        finally:
            await manager.close()

    lines = asyncio.run(check()) if config.servers else ["no MCP servers are configured"]
    for line in lines:
        print(line)
    return 0


def _login(config: Any, name: str, project: str, open_browser: bool) -> int:
    import asyncio

    spec = config.servers.get(name)
    if spec is None:
        unapproved = " (a .mcp.json server not approved yet: `sous trust`)" if name in config.untrusted else ""
        print(f"sous: no MCP server named {name!r}{unapproved}", file=sys.stderr)
        return 1
    from .login import LoginFailed, login

    def say(text: str) -> None:
        print(text, flush=True)

    try:
        print(asyncio.run(login(spec, os.environ, say=say, open_browser=open_browser, project_dir=project)))
    except LoginFailed as e:
        print(f"sous: login to {name} failed: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sous: login to {name} interrupted; nothing was stored", file=sys.stderr)
        return 130
    return 0
