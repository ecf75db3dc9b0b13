"""The `sous` command: argument parsing and dispatch.

`sous --version` is answered before anything else is imported (the 60 ms budget); every other
path imports only what it uses.
"""

from __future__ import annotations

import sys

USAGE = "sous [options] [prompt]\n       sous COMMAND ..."
SUBCOMMANDS = {
    "config": "the merged settings, each value with the file it came from, and the model sous would use",
    "hooks": "list the configured hooks, or test them: sous hooks list | sous hooks test EVENT PAYLOAD.json",
    "mcp": "manage MCP servers (add, add-json, list, get, remove, login, logout) or serve sous's tools over MCP",
    "team": "run a team of agents from .sous/team.yaml",
    "batch": "run many tasks from a JSONL file in parallel, each in its own checkout (locally or on Ray)",
    "plugin": "manage plugins and marketplaces (marketplace add|list|remove|update, install, uninstall, enable, "
    "disable, list, validate)",
    "trust": "review and approve the MCP servers and hooks this project's own files would run",
    "acp": "speak the Agent Client Protocol on stdin/stdout, for editors (Zed, JetBrains, Neovim...)",
    "rewind": "list this folder's checkpoints, or restore the code and/or conversation to one",
}
"""Every word `main` dispatches on, for `--help` (a test checks that the two agree)."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in (["--version"], ["-v"], ["-V"]):
        from sous import __version__

        print(f"{__version__} (sous)")
        return 0
    if argv[:1] == ["mcp"]:
        from sous.mcp.cli import main as mcp_main

        return mcp_main(argv[1:])
    if argv[:1] == ["acp"]:
        from sous.ui.acp import main as acp_main

        return acp_main(argv[1:])
    if argv[:1] == ["team"]:
        from sous.team.runner import main as team_main

        return team_main(argv[1:])
    if argv[:1] == ["plugin"]:
        from sous.plugins.cli import main as plugin_main

        return plugin_main(argv[1:])
    if argv[:1] == ["trust"]:
        from sous.permissions.trust import main as trust_main

        return trust_main(argv[1:])
    if argv[:1] == ["batch"]:
        from sous.batch.cli import main as batch_main

        return batch_main(argv[1:])
    if argv[:1] == ["rewind"]:
        from sous.checkpoints.rewind import main as rewind_main

        return rewind_main(argv[1:])
    if argv[:1] in (["config"], ["hooks"]):
        from sous.inspect_cli import main as inspect_main

        return inspect_main(argv)
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("\nsous: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `sous -p ... | head`: the reader left; leave quietly, as Unix tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _parser():
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):
            """Name the closest known flag for an unknown one (`--modle` → --model)."""
            import difflib

            known = [o for a in self._actions for o in a.option_strings]
            for word in message.partition(":")[2].split() if "unrecognized arguments" in message else ():
                flag = word.partition("=")[0]
                if flag.startswith("-") and (close := difflib.get_close_matches(flag, known, n=1, cutoff=0.6)):
                    message += f" (did you mean {close[0]}?)"
                    break
            super().error(message)

    commands = "\n".join(f"  {name:8} {what}" for name, what in SUBCOMMANDS.items())
    p = Parser(
        prog="sous",
        usage=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A coding agent in your terminal. Without -p, opens an interactive session.",
        epilog=f"commands (sous COMMAND --help for more):\n{commands}",
    )
    p.add_argument("prompt", nargs="*", help="the prompt (with -p: the whole task; stdin is appended when piped)")
    p.add_argument("-p", "--print", action="store_true", help="run one prompt non-interactively and print the result")
    p.add_argument("--output-format", choices=("text", "json", "stream-json"), default="text")
    p.add_argument(
        "--input-format",
        choices=("text", "stream-json"),
        default="text",
        help="stream-json: a program sends prompts and control requests as JSON lines on stdin",
    )
    p.add_argument("--include-partial-messages", action="store_true", help="stream-json: add text deltas")
    p.add_argument("--replay-user-messages", action="store_true", help="stream-json input: echo each prompt back")
    p.add_argument("--verbose", action="store_true", help="accepted for compatibility; stream-json is always verbose")
    p.add_argument("--model", help="provider:model, e.g. anthropic:claude-sonnet-4-5, openai:gpt-5.1, scripted:FILE")
    p.add_argument("--max-turns", type=int, help="stop after this many model turns")
    p.add_argument(
        "--allowedTools",
        "--allowed-tools",
        dest="allowed_tools",
        nargs="+",
        action="extend",
        default=[],
        metavar="RULE",
        help='allow rules, e.g. "Bash(git *)" Edit',
    )
    p.add_argument(
        "--disallowedTools",
        "--disallowed-tools",
        dest="disallowed_tools",
        nargs="+",
        action="extend",
        default=[],
        metavar="RULE",
        help="deny rules; a bare tool name removes the tool",
    )
    p.add_argument("--tools", help='comma-separated built-in tools to offer ("" for none, "default" for all)')
    p.add_argument(
        "--permission-mode",
        choices=("default", "manual", "acceptEdits", "plan", "dontAsk", "bypassPermissions", "auto"),
    )
    p.add_argument(
        "--permission-prompt-tool",
        metavar="MCP_TOOL",
        help="-p: this MCP tool (mcp__server__tool) answers permission questions",
    )
    p.add_argument(
        "--dangerously-skip-permissions", action="store_true", help="alias of --permission-mode bypassPermissions"
    )
    p.add_argument("--system-prompt", help="replace sous's system prompt")
    p.add_argument("--append-system-prompt", default="", help="text added to the end of the system prompt")
    p.add_argument(
        "-c", "--continue", dest="continue_last", action="store_true", help="continue the last session in this folder"
    )
    p.add_argument(
        "-r",
        "--resume",
        metavar="ID",
        nargs="?",
        const="",
        help="resume a session by id; without one, in a terminal: choose it in a search box",
    )
    p.add_argument("--settings", metavar="FILE_OR_JSON", help="extra settings layer (highest)")
    p.add_argument("--agents", metavar="JSON", help='more agent types: {"name": {"description", "prompt", ...}}')
    p.add_argument("--agent", metavar="NAME", help="run the session as this agent (its prompt, tools, model)")
    p.add_argument(
        "--mcp-config",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE_OR_JSON",
        help="MCP servers from these files or JSON strings",
    )
    p.add_argument("--strict-mcp-config", action="store_true", help="use only the --mcp-config servers")
    p.add_argument("--fork-session", action="store_true", help="with --resume/--continue: go on in a new session")
    p.add_argument(
        "--max-budget-usd", type=float, metavar="USD", help="stream-json input: stop once model use costs this much"
    )
    p.add_argument(
        "--setting-sources",
        metavar="LIST",
        help="which settings files to read: a comma-separated subset of user,project,local (default: all)",
    )
    p.add_argument(
        "--add-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="another working folder: read (and in acceptEdits mode edited) as the project is; repeatable",
    )
    p.add_argument("--json-schema", metavar="SCHEMA", help="-p: the final answer as JSON fitting this JSON Schema")
    p.add_argument("--no-session-persistence", action="store_true", help="do not write a session file")
    p.add_argument(
        "--plugin-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="use the plugin in DIR for this session (repeatable; kept with --bare)",
    )
    p.add_argument("--bare", action="store_true", help="skip settings discovery and installed plugins")
    p.add_argument("--version", action="store_true", help="print the version")
    return p


def _main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.version:
        from sous import __version__

        print(f"{__version__} (sous)")
        return 0
    from sous.runtime import Options

    tools = None
    if args.tools is not None and args.tools.strip() != "default":
        tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    opts = Options(
        model=args.model,
        permission_mode="bypassPermissions" if args.dangerously_skip_permissions else args.permission_mode,
        allowed_tools=args.allowed_tools,
        disallowed_tools=args.disallowed_tools,
        tools=tools,
        system_prompt=args.system_prompt,
        append_system_prompt=args.append_system_prompt,
        max_turns=args.max_turns,
        continue_last=args.continue_last,
        resume=args.resume,
        settings=args.settings,
        agents_json=args.agents,
        agent=args.agent,
        mcp_config=args.mcp_config,
        strict_mcp_config=args.strict_mcp_config,
        bare=args.bare,
        plugin_dirs=args.plugin_dir,
        persist=not args.no_session_persistence,
        permission_prompt_tool=args.permission_prompt_tool if args.print else None,
        add_dirs=args.add_dir,
        setting_sources=_sources(args.setting_sources),
    )
    prompt = " ".join(args.prompt)
    pick = args.resume == ""  # `sous -r` alone: the terminal's session chooser
    opts.resume = args.resume or None
    if problem := _unsupported(args) or _json_schema(args, opts):
        print(f"sous: {problem}", file=sys.stderr)
        return 2
    opts.fork_session = args.fork_session
    if args.input_format == "stream-json":
        from sous.ui.driven import DriveOptions, run_driven

        if args.output_format != "stream-json" or prompt:
            print(
                "sous: --input-format stream-json needs --output-format stream-json and no prompt argument",
                file=sys.stderr,
            )
            return 2
        stdio = args.permission_prompt_tool == "stdio"
        opts.permission_prompt_tool = None if stdio else args.permission_prompt_tool
        opts.answers_permissions = stdio
        opts.questions_per_agent = True  # the program is told each question's agent_id
        drive = DriveOptions(
            partial=args.include_partial_messages,
            prompt_stdio=stdio,
            fork=args.fork_session,
            max_budget_usd=args.max_budget_usd,
            replay=args.replay_user_messages,
        )
        return _run(lambda: run_driven(opts, drive))
    if args.print:
        if not sys.stdin.isatty():
            piped = sys.stdin.read()
            prompt = f"{piped.rstrip()}\n\n{prompt}".strip() if prompt else piped.strip()
        if not prompt:
            print("sous: -p needs a prompt (as an argument or on stdin)", file=sys.stderr)
            return 2
        return _run(lambda: _headless(opts, prompt, args.output_format, args.include_partial_messages))
    if pick and not _full_terminal():
        print("sous: -r needs a session id here (choosing one needs a terminal): sous -r ID", file=sys.stderr)
        return 2
    return _run(lambda: _interactive(opts, prompt or None, pick=pick))


def _sources(given: str | None) -> list[str] | None:
    """`--setting-sources`: None = every settings file; an empty value = none of them."""
    return None if given is None else [s.strip() for s in given.split(",") if s.strip()]


def _unsupported(args) -> str | None:
    """Flags sous accepts only where it can honour them: one line saying why, or None."""
    if args.add_dir:  # checked again when the session opens; here so that nothing starts first
        import os

        from sous.permissions.workdirs import resolve_dir

        for given in args.add_dir:
            try:
                resolve_dir(given, os.getcwd())
            except ValueError as e:
                return f"--add-dir {e}"
    if args.setting_sources and (unknown := set(_sources(args.setting_sources) or ()) - {"user", "project", "local"}):
        first = sorted(unknown)[0]
        return f"--setting-sources={args.setting_sources}: unknown source {first!r} (use user, project, local)"
    if args.permission_prompt_tool == "stdio" and args.input_format != "stream-json":
        return "--permission-prompt-tool stdio needs --input-format stream-json (the program answers on stdin)"
    if args.resume == "" and (args.print or args.input_format == "stream-json"):
        return "-r needs a session id with -p and stream-json input (choosing one needs a terminal)"
    if args.fork_session and not (args.resume is not None or args.continue_last):
        return "--fork-session needs --resume or --continue"
    if args.fork_session and args.resume == "":
        return "--fork-session needs the id with -r (sous -r ID --fork-session), or /fork once resumed"
    if args.max_budget_usd is not None and (args.input_format != "stream-json" or args.max_budget_usd <= 0):
        return "--max-budget-usd needs a positive amount and --input-format stream-json"
    if args.replay_user_messages and args.input_format != "stream-json":
        return "--replay-user-messages needs --input-format stream-json"
    return None


def _json_schema(args, opts) -> str | None:
    """`--json-schema`: the schema into `opts`, or the one line saying what is wrong with it."""
    if args.json_schema is None:
        return None
    if not (args.print or args.input_format == "stream-json"):
        return "--json-schema needs -p or --input-format stream-json"
    from sous.tools.structured_output import parse_schema

    try:
        opts.json_schema = parse_schema(args.json_schema)
    except ValueError as e:
        return str(e)
    return None


def _full_terminal() -> bool:
    import os

    return os.environ.get("SOUS_UI") != "plain" and sys.stdin.isatty() and sys.stdout.isatty()


def _interactive(opts, prompt: str | None, pick: bool = False):
    """The full terminal UI on a terminal; the plain line-based one when input or output is
    piped, or with SOUS_UI=plain."""

    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 locale shows "?" instead of crashing
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    if sys.stdin.isatty() and sys.stdout.isatty() and not opts.bare:  # someone can approve the project's config
        from sous.permissions import trust

        trust.ask_in_terminal(trust.check(opts.cwd, opts.environ, opts.settings), opts.environ)
    if _full_terminal():
        from sous.ui import repl

        return repl.run_interactive(opts, prompt, pick_session=pick)
    from sous.ui import plain

    return plain.run_interactive(opts, prompt)


def _run(make_coro) -> int:
    import asyncio

    from sous.core import SousError

    try:
        return asyncio.run(make_coro())
    except SousError as e:
        print(f"sous: {e}", file=sys.stderr)
        return 2


async def _headless(opts, prompt: str, fmt: str, partial: bool) -> int:
    from sous.runtime import open_session
    from sous.ui.headless import run_headless

    session = open_session(opts)
    _interrupt_on_signals(session)
    try:
        code = await run_headless(session, prompt, fmt, partial=partial)
    finally:
        session.close()
    return 130 if session.interrupted else code


def _interrupt_on_signals(session) -> None:
    """Ctrl-C (or SIGTERM) stops the run the way Esc does: the running tool's processes are
    killed and the transcript records the interruption. A second Ctrl-C exits at once."""
    import asyncio
    import contextlib
    import os
    import signal

    def first(signum: int) -> None:
        session.interrupt()
        loop.remove_signal_handler(signum)
        loop.add_signal_handler(signum, lambda: os._exit(128 + signum))

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows: Ctrl-C raises KeyboardInterrupt instead
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, first, signum)


if __name__ == "__main__":
    sys.exit(main())
