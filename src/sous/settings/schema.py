"""The one validation step for a settings layer: wrong types are caught here, before any merge.

Each known key has an expected shape. A value of the wrong shape is reported in one line naming
the file, the key and what was expected, and then treated by one principle:

* **Fatal** when dropping the value could widen what sous may do: `permissions` (the block that
  holds the restrictions), `permissions.deny` and `permissions.ask` (and every item and rule in
  them), `permissions.defaultMode` (a misspelt `plan` must not become `default`), `hooks` (a
  guard hook must not vanish), `sandbox` and `sandbox.enabled`. sous refuses to start, as Claude
  Code shows its blocking "Settings Error" for an invalid file.
* **Dropped with a warning** when dropping it only narrows or changes nothing about safety:
  `permissions.allow` (a string there was once split into characters, and `*` allowed every
  command), `env`, `model`, `disableAllHooks`, `preToolUseHookFailure`, the sandbox's grants.

Keys sous does not know are passed through untouched (Claude Code has many; `sous config` lists
them). The check never raises; it returns the cleaned layer and the lines to show.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sous.records import field, record

PERMISSION_MODES = ("default", "manual", "acceptEdits", "plan", "dontAsk", "bypassPermissions", "auto")
"""The names Claude Code accepts for `permissions.defaultMode` (sous rejects the ones it cannot
honour later, with its own message)."""
HOOK_FAILURE_MODES = ("block", "continue")


@record(frozen=False)
class Checked:
    """One layer after the check."""

    values: dict[str, Any] = field(default_factory=dict)
    """The layer with every wrong value removed (fatal ones too, so nothing half-valid is used)."""
    warnings: list[str] = field(default_factory=list)
    """One line per value that was dropped; sous goes on without it."""
    errors: list[str] = field(default_factory=list)
    """One line per value that makes the layer unusable; sous must not start."""


def kind(value: Any) -> str:
    """The JSON name of a value's type, with its article: "a string", "an object"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    def __init__(self, name: str, check_rule: Callable[[str], object] | None):
        self.name = name
        self.check_rule = check_rule
        self.out = Checked()

    def bad(self, key: str, expected: str, value: Any, *, fatal: bool) -> None:
        got = f"got {kind(value)} {_show(value)}" if not isinstance(value, (dict, list)) else f"got {kind(value)}"
        if fatal:
            self.out.errors.append(
                f"{self.name}: {key}: expected {expected}, {got}; "
                "sous will not start with it (it may hold restrictions): fix the file"
            )
        else:
            self.out.warnings.append(f"{self.name}: {key}: expected {expected}, {got}; ignored")

    def string(
        self, data: dict[str, Any], key: str, dotted: str, *, fatal: bool = False, choices: tuple[str, ...] = ()
    ) -> None:
        if key not in data:
            return
        value = data[key]
        if not isinstance(value, str) or (choices and value not in choices):
            expected = "one of " + ", ".join(choices) if choices else "a string"
            self.bad(dotted, expected, value, fatal=fatal)
            del data[key]

    def boolean(self, data: dict[str, Any], key: str, dotted: str, *, fatal: bool = False) -> None:
        if key in data and not isinstance(data[key], bool):
            self.bad(dotted, "true or false", data[key], fatal=fatal)
            del data[key]

    def strings(self, data: dict[str, Any], key: str, dotted: str, *, fatal: bool = False, rules: bool = False) -> None:
        """A list of strings; for rule lists, each must also parse as a rule."""
        if key not in data:
            return
        value = data[key]
        expected = "a list of rule strings" if rules else "a list of strings"
        if not isinstance(value, list):
            self.bad(dotted, expected, value, fatal=fatal)
            del data[key]
            return
        kept = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.bad(f"{dotted}[{i}]", "a rule string" if rules else "a string", item, fatal=fatal)
                continue
            if rules and fatal and self.check_rule is not None:
                try:
                    self.check_rule(item)
                except ValueError as e:
                    self.out.errors.append(
                        f"{self.name}: {dotted}[{i}]: {e}; sous will not start with a "
                        "rule it cannot read in this list: fix the file"
                    )
                    continue
            kept.append(item)
        data[key] = kept

    def obj(self, data: dict[str, Any], key: str, dotted: str, *, fatal: bool = False) -> dict[str, Any] | None:
        """The object under `key` (a copy, put back into `data`), or None when absent or wrong."""
        if key not in data:
            return None
        if not isinstance(data[key], dict):
            self.bad(dotted, "an object", data[key], fatal=fatal)
            del data[key]
            return None
        data[key] = dict(data[key])
        return data[key]


def check(name: str, data: dict[str, Any], *, check_rule: Callable[[str], object] | None = None) -> Checked:
    """Validate one parsed layer (a JSON object) read from `name`. `check_rule` parses one
    permission rule and raises `ValueError` for text that is not one; given, an unreadable deny or
    ask rule is an error (an allow rule that does not parse is skipped later, with a warning)."""
    c = _Checker(name, check_rule)
    values = dict(data)
    c.string(values, "model", "model")
    if (env := c.obj(values, "env", "env")) is not None:
        for key, value in list(env.items()):
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                c.bad(f"env.{key}", "a string", value, fatal=False)
                del env[key]
    if (permissions := c.obj(values, "permissions", "permissions", fatal=True)) is not None:
        c.strings(permissions, "allow", "permissions.allow", rules=True)
        c.strings(permissions, "ask", "permissions.ask", fatal=True, rules=True)
        c.strings(permissions, "deny", "permissions.deny", fatal=True, rules=True)
        c.strings(permissions, "additionalDirectories", "permissions.additionalDirectories")
        c.string(permissions, "defaultMode", "permissions.defaultMode", fatal=True, choices=PERMISSION_MODES)
    if "hooks" in values:
        _hooks(c, values)
    c.boolean(values, "disableAllHooks", "disableAllHooks")
    c.string(values, "preToolUseHookFailure", "preToolUseHookFailure", choices=HOOK_FAILURE_MODES)
    if (sandbox := c.obj(values, "sandbox", "sandbox", fatal=True)) is not None:
        c.boolean(sandbox, "enabled", "sandbox.enabled", fatal=True)
        c.strings(sandbox, "writablePaths", "sandbox.writablePaths")
        if (network := c.obj(sandbox, "network", "sandbox.network")) is not None:
            c.strings(network, "allowedDomains", "sandbox.network.allowedDomains")
    c.out.values = values
    return c.out


def _hooks(c: _Checker, values: dict[str, Any]) -> None:
    """The shape `{Event: [{matcher, hooks: [{type, command, timeout...}]}]}`. A hook of the wrong
    shape may be a guard, so each is an error; what the hooks say (event names, handler types) is
    judged later by the hook loader, which skips what it cannot run with a warning."""
    hooks = values["hooks"]
    if not isinstance(hooks, dict):
        c.bad("hooks", "an object of events", hooks, fatal=True)
        del values["hooks"]
        return
    broken = False
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            c.bad(f"hooks.{event}", "a list of matcher groups", groups, fatal=True)
            broken = True
            continue
        for i, group in enumerate(groups):
            where = f"hooks.{event}[{i}]"
            if not isinstance(group, dict):
                c.bad(where, 'an object with "matcher" and "hooks"', group, fatal=True)
                broken = True
                continue
            if "matcher" in group and not isinstance(group["matcher"], str):
                c.bad(f"{where}.matcher", "a string", group["matcher"], fatal=True)
                broken = True
            handlers = group.get("hooks", [])
            if not isinstance(handlers, list):
                c.bad(f"{where}.hooks", "a list of handlers", handlers, fatal=True)
                broken = True
                continue
            for j, handler in enumerate(handlers):
                broken |= not _handler(c, f"{where}.hooks[{j}]", handler)
    if broken:
        del values["hooks"]


def _handler(c: _Checker, where: str, handler: Any) -> bool:
    if not isinstance(handler, dict):
        c.bad(where, "an object", handler, fatal=True)
        return False
    ok = True
    for key in ("type", "command", "url", "if", "onFailure"):
        if key in handler and not isinstance(handler[key], str):
            c.bad(f"{where}.{key}", "a string", handler[key], fatal=True)
            ok = False
    timeout = handler.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        c.bad(f"{where}.timeout", "a number of seconds above 0", timeout, fatal=True)
        ok = False
    headers = handler.get("headers")
    if headers is not None and not (isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())):
        c.bad(f"{where}.headers", "an object of strings", headers, fatal=True)
        ok = False
    if "args" in handler and not (
        isinstance(handler["args"], list) and all(isinstance(a, str) for a in handler["args"])
    ):
        c.bad(f"{where}.args", "a list of strings", handler["args"], fatal=True)
        ok = False
    return ok
