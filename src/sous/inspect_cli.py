"""`sous config` and `sous hooks list|test`: look at the setup without starting a session.

sous config                     the merged settings, each value with the file it came from
sous hooks list                 the configured hooks by event
sous hooks test EVENT FILE      run the hooks of EVENT on the JSON payload in FILE ("-" = stdin)
                                and print what each handler did and what they decided together
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

USAGE = "usage: sous config | sous hooks list | sous hooks test EVENT PAYLOAD.json"


def main(argv: list[str]) -> int:
    if argv[1:] in (["--help"], ["-h"]):
        print(__doc__.strip())
        return 0
    from sous.permissions import project_grants

    cwd = os.getcwd()
    cfg, _, left_out = project_grants.load(cwd, os.environ)  # what a session here would use
    for problem in cfg.problems:
        print(f"sous: warning: {problem}", file=sys.stderr)
    for error in cfg.errors:
        print(f"sous: error: {error}", file=sys.stderr)
    if argv == ["config"]:
        print("# layers read (lowest first): " + (", ".join(cfg.sources) or "none"))
        for line in cfg.explain():
            print(line)
        print(_model_line(cfg))
        if unknown := cfg.unknown_keys():
            print("# not used by sous (ignored): " + ", ".join(unknown))
        if left_out:
            print("# left out until you approve them with `sous trust`: " + "; ".join(e.label() for e in left_out))
        return 0
    if argv[:1] != ["hooks"] or len(argv) < 2:
        print(USAGE, file=sys.stderr)
        return 2
    from sous import hooks

    config = hooks.load(cfg.get("hooks"), disabled=bool(cfg.get("disableAllHooks")))
    if not cfg.get("disableAllHooks") and cfg.get("allowManagedHooksOnly") is not True:
        config = _with_plugin_hooks(config, cfg, cwd)
    for problem in config.problems:
        print(f"sous: warning: {problem}", file=sys.stderr)
    if argv[1:] == ["list"]:
        if not any(group.handlers for groups in config.groups.values() for group in groups):
            print("no hooks configured" + (" (disableAllHooks is set)" if cfg.get("disableAllHooks") else ""))
        for event, groups in config.groups.items():
            for group in groups:
                for handler in group.handlers:
                    print(f"{event}\t{group.matcher or '*'}\t{handler.type}\t{handler.label}")
        from sous.hooks.config import NOT_FIRED

        if idle := [event for event in config.groups if event in NOT_FIRED]:
            print(f"sous: sous never fires {', '.join(idle)}: these hooks will not run", file=sys.stderr)
        from sous.permissions import trust

        if waiting := [e for e in trust.check(cwd).pending if e.kind == "hook"]:
            print(
                f"sous: {len(waiting)} of these from the project's files will not run until approved (`sous trust`)",
                file=sys.stderr,
            )
        return 0
    if argv[1] == "test" and len(argv) == 4:
        return _test(config, argv[2], argv[3], cwd, cfg.get("preToolUseHookFailure") or "block", cfg.get("model"))
    print(USAGE, file=sys.stderr)
    return 2


def _with_plugin_hooks(config, cfg, cwd: str):
    """The hooks of the plugins a session here would use (their programs allowed to run)."""
    from sous import plugins
    from sous.permissions import trust

    found = plugins.discover(cwd, cfg.get("enabledPlugins"), user_layers=trust.user_layers())
    config, problems, _ = plugins.with_hooks(config, found, cwd)
    config.problems += [*found.problems, *problems]
    return config


def _model_line(cfg) -> str:
    """Which model a session started here without --model would use, and why."""
    from sous.core import ConfigError
    from sous.models import split

    environ = {**os.environ, **{k: str(v) for k, v in (cfg.get("env") or {}).items()}}
    spec = cfg.get("model") or environ.get("SOUS_MODEL")
    try:
        provider, model_id = split(spec, environ)
    except ConfigError as e:
        return f"# model: none: {e}"
    if cfg.get("model"):
        why = "the model setting"
    elif environ.get("SOUS_MODEL"):
        why = "SOUS_MODEL"
    elif provider == "anthropic":
        found = [k for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL") if environ.get(k)]
        why = " and ".join(found) + " found"
    elif provider == "openai":
        why = " and ".join(k for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL") if environ.get(k)) + " found"
    else:
        why = "no API key found (ANTHROPIC_API_KEY, OPENAI_API_KEY): the built-in offline model"
    return f"# model: {provider}:{model_id} ({why}; --model chooses another)"


def _resolve(spec: str | None):
    """The model that answers `prompt` and `agent` hooks here: theirs, else the `model` setting."""
    from sous.models import resolve

    return resolve(spec, os.environ)


def _test(config, event: str, source: str, cwd: str, pre_tool_failure: str, model: str | None) -> int:
    import asyncio

    from sous.hooks import HookMiddleware
    from sous.hooks.config import EVENTS, MATCHED_FIELD

    if event not in EVENTS:
        print(f"sous: unknown hook event {event!r}; known: {', '.join(EVENTS)}", file=sys.stderr)
        return 2
    try:
        payload = json.loads(sys.stdin.read() if source == "-" else Path(source).read_text("utf-8"))
    except (OSError, ValueError) as e:
        print(f"sous: cannot read the payload {source}: {e}", file=sys.stderr)
        return 2
    runs: list[dict] = []
    middleware = HookMiddleware(
        config,
        session_id=payload.get("session_id", "hooks-test"),
        transcript_path=payload.get("transcript_path", ""),
        project_dir=cwd,
        environ=os.environ,
        mode=lambda: payload.get("permission_mode", "default"),
        pre_tool_failure=pre_tool_failure,
        record=runs.append,
        notify=lambda text: print(f"sous: {text}", file=sys.stderr),
        models=lambda spec: _resolve(spec or model or os.environ.get("SOUS_MODEL")),
    )
    subject = (
        payload.get(MATCHED_FIELD[event])
        if event in MATCHED_FIELD
        else payload.get("tool_name") or payload.get("source") or payload.get("reason")
    )
    fields = {k: v for k, v in payload.items() if k not in ("session_id", "transcript_path", "hook_event_name")}
    verdict = asyncio.run(middleware.fire(event, subject, fields))
    for run in runs:
        print(json.dumps(run))
    print(
        json.dumps(
            {
                "decision": verdict.decision,
                "reason": verdict.reason or None,
                "block": verdict.block,
                "updated_input": verdict.updated_input,
                "context": verdict.context,
                "stop": verdict.stop,
                "elicitation": verdict.elicitation,
            }
        )
    )
    return 0
