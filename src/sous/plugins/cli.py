"""`sous plugin ...`: Claude Code's `claude plugin` commands.

sous plugin marketplace add SOURCE | list [--json] | remove NAME | update [NAME]
sous plugin install|uninstall|enable|disable NAME[@MARKETPLACE] [--scope user|project|local]
sous plugin list [--json]
sous plugin validate PATH
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import install, marketplace, store
from .store import PluginError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, raised, so that `/plugin` in the terminal can show it (argparse would exit)."""
        raise PluginError(f"{message} (usage: {self.format_usage().strip().removeprefix('usage: ')})")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sous plugin", description="Manage plugins and marketplaces.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    market = sub.add_parser("marketplace", help="add, list, remove or update marketplaces")
    msub = market.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = msub.add_parser("add", help="add a marketplace: a local folder, a git URL or owner/repo")
    add.add_argument("source")
    add.add_argument("-s", "--scope", choices=store.SCOPES, default="user", help="project, local: in settings too")
    msub.add_parser("list", help="the added marketplaces").add_argument("--json", action="store_true")
    msub.add_parser("remove", aliases=["rm"], help="forget a marketplace").add_argument("name")
    msub.add_parser("update", help="pull git marketplaces").add_argument("name", nargs="?")
    for name, aliases, what in (
        ("install", ["i"], "install and enable a plugin"),
        ("uninstall", ["remove"], "remove a plugin"),
        ("enable", [], "turn an installed plugin on"),
        ("disable", [], "turn an installed plugin off"),
    ):
        command = sub.add_parser(name, aliases=aliases, help=what)
        command.add_argument("plugin", metavar="NAME[@MARKETPLACE]")
        command.add_argument("-s", "--scope", choices=store.SCOPES, default="user")
    sub.add_parser("list", help="the installed plugins").add_argument("--json", action="store_true")
    sub.add_parser("validate", help="check a plugin or marketplace folder").add_argument("path")
    return p


def main(
    argv: list[str],
    cwd: str | None = None,
    environ: Mapping[str, str] = os.environ,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one `sous plugin` command; what it says goes to `out`, a failure (one line) to `err`."""
    cwd = os.path.abspath(cwd or os.getcwd())
    out, err = out or sys.stdout, err or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except PluginError as e:
        print(f"sous plugin: {e}", file=err)
        return 2
    try:
        return _dispatch(args, cwd, environ, functools.partial(print, file=out))
    except PluginError as e:
        print(f"sous plugin: {e}", file=err)
        return 1


def _settings(cwd: str, environ: Mapping[str, str]) -> Any:
    from sous import settings

    return settings.load(cwd, environ=environ)


def _dispatch(args: argparse.Namespace, cwd: str, environ: Mapping[str, str], say: Callable[..., None]) -> int:
    command = {"i": "install", "remove": "uninstall"}.get(args.command, args.command)
    if command == "marketplace":
        return _marketplace(args, cwd, environ, say)
    if command == "install":
        extra = _settings(cwd, environ).get("extraKnownMarketplaces")
        say(install.install(args.plugin, args.scope, cwd, extra, environ))
    elif command == "uninstall":
        say(install.uninstall(args.plugin, args.scope, cwd, environ))
    elif command in ("enable", "disable"):
        say(install.set_enabled(args.plugin, command == "enable", args.scope, cwd, environ))
    elif command == "list":
        entries = install.listing(cwd, _settings(cwd, environ).get("enabledPlugins"), environ)
        if args.json:
            say(json.dumps(entries, indent=2))
        elif not entries:
            say("no plugins installed (sous plugin install NAME@MARKETPLACE)")
        for e in [] if args.json else entries:
            state = "enabled" if e["enabled"] else "disabled"
            say(f"{e['id']:40} {e['version'] or '-':12} {e['scope']:8} {state:9} {e['installPath']}")
    elif command == "validate":
        from .validate import validate

        problems, what = validate(Path(args.path))
        for line in problems:
            say(line)
        say(f"{what}: {'valid' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0
    return 0


def _marketplace(args: argparse.Namespace, cwd: str, environ: Mapping[str, str], say: Callable[..., None]) -> int:
    action = {"rm": "remove"}.get(args.action, args.action)
    if action == "add":
        name, entry = marketplace.add(args.source, environ)
        if args.scope != "user":  # shared with the team through the project's settings, as Claude Code does
            named = {"source": entry["source"]}
            store.set_in_settings(store.settings_file(args.scope, cwd, environ), "extraKnownMarketplaces", name, named)
        count = len(marketplace.read_catalogue(Path(entry["installLocation"]))["plugins"])
        say(f"added marketplace {name} ({count} plugin{'s' if count != 1 else ''}): {entry['installLocation']}")
    elif action == "remove":
        marketplace.remove(args.name, environ)
        say(f"removed marketplace {args.name} (plugins installed from it stay installed)")
    elif action == "update":
        names = [args.name] if args.name else sorted(store.known_marketplaces(environ))
        for name in names:
            say(marketplace.update(name, environ))
    else:
        known = marketplace.all_known(_settings(cwd, environ).get("extraKnownMarketplaces"), environ)
        if args.json:
            say(json.dumps([{"name": n, **e} for n, e in sorted(known.items())], indent=2))
        elif not known:
            say("no marketplaces added (sous plugin marketplace add SOURCE)")
        for name, entry in [] if args.json else sorted(known.items()):
            source = entry.get("source") or {}
            where = source.get("path") or source.get("url") or source.get("repo") or ""
            say(f"{name:30} {source.get('source', '?'):10} {where}")
    return 0
