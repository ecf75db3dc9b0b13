"""Hook entries from the merged settings, and which of them match an event.

Shape (Claude Code's): `{"hooks": {"PreToolUse": [{"matcher": "Bash|Edit", "hooks": [
{"type": "command", "command": "...", "timeout": 30, "if": "Bash(rm *)"}]}]}}`. Every settings
layer contributes (the settings merge concatenates the lists); identical handlers run once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sous.records import field, record

FIRED = (
    "SessionStart",
    "SessionEnd",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "PreToolUse",
    "PermissionRequest",
    "PermissionDenied",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "CwdChanged",
    "InstructionsLoaded",
    "PreModelSwitch",
    "PostModelSwitch",
    "WorktreeCreate",
    "WorktreeRemove",
    "DirectoryAdded",
    "ConfigChange",
    "TeammateIdle",
    "Elicitation",
    "ElicitationResult",
)
"""The events sous fires."""
NOT_FIRED = ("Setup", "MessageDisplay", "TaskCreated", "TaskCompleted", "FileChanged")
"""Events Claude Code documents that sous accepts in settings but never fires (`sous hooks list`
names them), so a shared settings file loads without a warning per event."""
EVENTS = FIRED + NOT_FIRED
MATCHED_FIELD = {
    "PreModelSwitch": "to_model",
    "PostModelSwitch": "to_model",
    "StopFailure": "error",
    "SubagentStart": "agent_type",
    "SubagentStop": "agent_type",
    "UserPromptExpansion": "command_name",
    "InstructionsLoaded": "load_reason",
    "Notification": "notification_type",
    "PreCompact": "trigger",
    "PostCompact": "trigger",
    "Setup": "trigger",
    "Elicitation": "mcp_server_name",
    "ElicitationResult": "mcp_server_name",
}
"""The input field an event's matcher is tried on, where it is not `tool_name`, `source` or `reason`."""
TOOL_EVENTS = ("PreToolUse", "PermissionRequest", "PostToolUse", "PostToolUseFailure")
HANDLER_TYPES = ("command", "http", "prompt", "agent")
JUDGED_TIMEOUT_S = {"prompt": 30.0, "agent": 60.0}
"""Claude Code's defaults for the handlers a model answers."""
DEFAULT_TIMEOUT_S = 60.0
"""A handler without `timeout` is stopped after a minute. Claude Code 2.1.x waits 600 s (60 s in
2025); a hook that hangs would then hold the session for ten minutes with nothing on screen, so
sous keeps the shorter bound: a hook that needs longer says so with `timeout`."""
_PLAIN = re.compile(r"^[A-Za-z0-9_ ,|-]*$")


@record(kw_only=False)
class Handler:
    type: str
    command: str = ""
    args: tuple[str, ...] = ()
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    if_rule: str = ""
    on_failure: str = ""
    """"block" makes a failure (timeout, crash, unusable output) block instead of passing."""
    prompt: str = ""
    """For `prompt` and `agent` handlers: what the model is asked; `$ARGUMENTS` is the event's
    JSON (appended when the prompt does not say where)."""
    model: str = ""
    """For `prompt` and `agent` handlers: the model that answers (`provider:model`, an alias,
    `scripted:FILE`); "" = the session's model."""
    env: tuple[tuple[str, str], ...] = ()
    """More environment for this handler (a plugin's `CLAUDE_PLUGIN_ROOT` and `CLAUDE_PLUGIN_DATA`)."""

    @property
    def label(self) -> str:
        """What the handler runs, in one line (for records and listings)."""
        if self.type in JUDGED_TIMEOUT_S:
            first = self.prompt.strip().splitlines()[0] if self.prompt.strip() else ""
            return f"{self.type}: {first[:80]}"
        return self.command or self.url


@record(kw_only=False)
class Group:
    matcher: str
    handlers: tuple[Handler, ...]


@record(frozen=False, kw_only=False)
class HookConfig:
    groups: dict[str, list[Group]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def handlers(self, event: str, subject: str | None = None) -> list[Handler]:
        """The distinct handlers for `event` whose matcher fits `subject` (a tool name, a
        SessionStart source...), in settings order."""
        seen: dict[Handler, None] = {}
        for group in self.groups.get(event, []):
            if subject is None or matcher_fits(group.matcher, subject):
                seen.update(dict.fromkeys(group.handlers))
        return list(seen)

    def __bool__(self) -> bool:
        return any(self.groups.values())

    def joined(self, other: HookConfig) -> HookConfig:
        """A new config with `other`'s groups after this one's (a plugin's hooks after the settings')."""
        groups = {event: list(found) for event, found in self.groups.items()}
        for event, found in other.groups.items():
            groups.setdefault(event, []).extend(found)
        return HookConfig(groups=groups, problems=[*self.problems, *other.problems])


def matcher_fits(matcher: str, subject: str) -> bool:
    """`*`, "" = all; letters, digits, `_ -,|` only = exact names split on `|` or `,`; anything
    else is an unanchored regular expression (so `Edit.*` also matches `NotebookEdit`)."""
    if matcher in ("", "*"):
        return True
    if _PLAIN.match(matcher):
        return subject in {m.strip() for m in re.split(r"[|,]", matcher)}
    try:
        return re.search(matcher, subject) is not None
    except re.error:
        return False


def _handler(raw: dict[str, Any], env: tuple[tuple[str, str], ...] = ()) -> Handler:
    kind = raw.get("type", "command")
    if kind not in HANDLER_TYPES:
        raise ValueError(f"handler type {kind!r} is not supported ({', '.join(HANDLER_TYPES)})")
    if kind == "command" and not isinstance(raw.get("command"), str):
        raise ValueError('a command handler needs a "command" string')
    if kind == "http" and not isinstance(raw.get("url"), str):
        raise ValueError('an http handler needs a "url" string')
    if kind in JUDGED_TIMEOUT_S and not (isinstance(raw.get("prompt"), str) and raw["prompt"].strip()):
        raise ValueError(f'a {kind} handler needs a "prompt" string')
    if not isinstance(raw.get("model", ""), str):
        raise ValueError('"model" must be a string')
    try:
        timeout = float(raw.get("timeout") or 0)
    except (TypeError, ValueError):
        timeout = -1
    if timeout < 0 or isinstance(raw.get("timeout"), bool):
        raise ValueError('"timeout" must be a positive number of seconds')
    return Handler(
        type=kind,
        command=raw.get("command", ""),
        args=tuple(map(str, raw.get("args") or ())),
        url=raw.get("url", ""),
        headers=tuple(sorted((raw.get("headers") or {}).items())),
        timeout_s=float(timeout or JUDGED_TIMEOUT_S.get(kind, DEFAULT_TIMEOUT_S)),
        if_rule=raw.get("if", ""),
        on_failure=raw.get("onFailure", ""),
        prompt=raw.get("prompt", "") if kind in JUDGED_TIMEOUT_S else "",
        model=raw.get("model", "") if kind in JUDGED_TIMEOUT_S else "",
        env=env,
    )


REFUSED_TYPES = {
    "SessionStart": ("http", "prompt", "agent"),
    "Setup": ("http", "prompt", "agent"),
    "PermissionRequest": ("agent",),
}
"""Handler types Claude Code will not run for an event: SessionStart and Setup run only command
hooks (a prompt or agent hook has no conversation to judge yet), and an agent hook answers ok or
not ok, which is no allow/deny for a PermissionRequest."""


def _refused(event: str, handler: Handler) -> str:
    """One line saying why `handler` will not run for `event`, or "" when it may."""
    if handler.type not in REFUSED_TYPES.get(event, ()):
        return ""
    if event == "PermissionRequest":
        return "an agent handler cannot answer a permission request (use a command, http or prompt handler); skipped"
    return f"{event} runs only command handlers, as in Claude Code; this {handler.type} handler is skipped"


def load(
    settings_hooks: Any, disabled: bool = False, *, env: Mapping[str, str] | None = None, where: str = "hooks"
) -> HookConfig:
    """Parse the merged `hooks` setting (or a plugin's hooks, each handler given `env` and problems
    named after `where`). Bad entries are skipped with a one-line problem each."""
    config = HookConfig()
    if disabled or not settings_hooks:
        return config
    if not isinstance(settings_hooks, dict):
        config.problems.append(f"{where}: expected an object of events")
        return config
    extra = tuple(sorted((env or {}).items()))
    for event, groups in settings_hooks.items():
        if event not in EVENTS:
            config.problems.append(f"{where}.{event}: unknown or unsupported event, ignored")
            continue
        for i, group in enumerate(groups if isinstance(groups, list) else []):
            try:
                handlers = tuple(_handler(h, extra) for h in group.get("hooks", []))
            except (ValueError, AttributeError, TypeError) as e:
                config.problems.append(f"{where}.{event}[{i}]: {e}")
                continue
            refused = {h: why for h in handlers if (why := _refused(event, h))}
            config.problems += [f"{where}.{event}[{i}]: {why}" for why in refused.values()]
            handlers = tuple(h for h in handlers if h not in refused)
            config.groups.setdefault(event, []).append(
                Group(matcher=str(group.get("matcher") or ""), handlers=handlers)
            )
    return config
