"""Project trust: what a project's own files would run is run only once the person has approved it.

A cloned repository can name programs that sous would start with the user's rights before any
prompt: MCP servers in `.mcp.json`, hook commands, the `statusLine` command and the
`apiKeyHelper` in `.claude/settings*.json` and `.sous/settings*.json`; and the folders
`permissions.additionalDirectories` there would open to the file tools (see `workdirs`); and what
those files grant (`env`, allow rules, a wider mode, sandbox loosening, agents' permission modes,
commands' allowed-tools: see `project_grants`), left out of the settings before they are merged. Each such
entry is identified by a hash of everything that decides what runs (a server's name and whole
entry; a hook's event, matcher and handler; the command; the folder as written and where it
leads). An approval records those hashes in `trusted-projects.json` under `$SOUS_HOME` (or
`~/.sous`), per project folder (symlinks resolved); an entry that is new or changed since then is
*pending* and is not started.

Who approves: in a terminal, one question before the session starts (`ask_in_terminal`); with
nobody to ask (`-p`, piped input) the pending entries are left out and named in one line
(`notice`); `sous trust` lists them and approves them (`sous trust --yes` without a terminal).
Claude Code's settings keys approve project MCP servers by name too, when they come from the
user's own settings (a project cannot approve itself): `enableAllProjectMcpServers: true`,
`enabledMcpjsonServers: [names]`; `disabledMcpjsonServers: [names]` keeps servers off without
asking. The user's own configuration (`~/.claude`, `~/.sous`, `~/.claude.json`, `--settings`,
`--mcp-config`) is trusted as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TextIO

from sous import paths
from sous.records import field, record

from . import project_grants, workdirs

STORE = "trusted-projects.json"


@record
class Entry:
    """One thing a project's files would run, or grant."""

    kind: Literal[
        "mcp",
        "hook",
        "command",
        "dir",
        "env",
        "rule",
        "mode",
        "judge",
        "model",
        "search",
        "failopen",
        "retention",
        "sandbox",
        "agent",
        "skill",
    ]
    name: str
    """The server's name, the hook's event and matcher (`PreToolUse (Bash)`), the variable, rule,
    mode, sandbox key, agent or command."""
    detail: str
    """What runs (the command line or the URL), or what is granted."""
    source: str
    """The file it comes from."""
    digest: str
    """Hash of everything that decides what runs; any change makes a new entry."""

    def label(self) -> str:
        """What the person is shown, control characters spelled out (see `shown`)."""
        name, detail = shown(self.name), shown(self.detail)
        if self.kind == "dir":
            return f"added working folder {name} (file access to {detail})"
        if self.kind == "command":
            return f"{name} command: {detail}"
        if self.kind in GRANT_LABELS:
            return GRANT_LABELS[self.kind].format(name=name, detail=detail)
        return f'MCP server "{name}": {detail}' if self.kind == "mcp" else f"hook {name}: {detail}"


GRANT_LABELS = {
    "env": "environment variable {name}={detail}",
    "rule": "allow rule {name}",
    "mode": "permission mode {name}",
    "judge": "auto mode judge model {detail}",
    "model": "model {detail} (it reads a file the project names)",
    "search": "web searches sent to {detail}",
    "failopen": "PreToolUse hooks that fail let the call through ({name}: {detail})",
    "retention": "remove your sessions of every project after {detail} days ({name})",
    "sandbox": "sandbox setting {name} = {detail}",
    "agent": 'agent "{name}" with permissionMode {detail}',
    "skill": "/{name} allowed-tools {detail}",
}
"""How a grant of the project's files is shown (see `project_grants`)."""


def shown(text: str) -> str:
    """`text` with control characters written out (`\\x1b`, `\\r`): a project's file must not hide
    what would run behind a terminal escape that conceals, erases or rewrites the line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


@record(frozen=False)
class ProjectTrust:
    """The trust state of one project's runnable entries."""

    project: str
    entries: list[Entry] = field(default_factory=list)
    """Every runnable entry of the project's files."""
    pending: list[Entry] = field(default_factory=list)
    """Entries that are new or changed since the last approval: they must not run."""
    changed: set[str] = field(default_factory=set)
    """Digests of pending entries that replace an approved entry of the same name."""
    disabled_servers: set[str] = field(default_factory=set)
    """Project MCP servers the user's settings keep off (`disabledMcpjsonServers`)."""
    problem: str = ""
    """One line when the trust store cannot be read: every entry is then pending."""

    def blocked_servers(self) -> set[str]:
        """Names of `.mcp.json` servers that must not be started."""
        return {e.name for e in self.pending if e.kind == "mcp"} | self.disabled_servers

    def hook_digests(self) -> set[str]:
        return {e.digest for e in self.pending if e.kind == "hook"}

    def approved(self) -> set[str]:
        """Digests of the entries that may be used: found in the project's files and not pending."""
        return {e.digest for e in self.entries} - {e.digest for e in self.pending}


def digest(kind: str, name: str, matcher: str, raw: Any) -> str:
    text = json.dumps([kind, name, matcher, raw], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def project_key(project_dir: str | Path) -> str:
    return os.path.realpath(project_dir)


def project_entries(project_dir: str | Path, environ: Mapping[str, str] = os.environ) -> list[Entry]:
    """Every MCP server of `.mcp.json`, and every hook handler, `statusLine` and `apiKeyHelper` of
    the project's settings files, the folders their `permissions.additionalDirectories` add, and
    what they and the project's agent definitions, commands and skills grant."""
    from sous.settings import layer_files

    project = Path(project_dir)
    out: list[Entry] = []
    mcp_file = project / ".mcp.json"
    servers = _json(mcp_file).get("mcpServers")
    for name, raw in (servers if isinstance(servers, dict) else {}).items():
        out.append(
            Entry(
                kind="mcp",
                name=str(name),
                detail=_server_detail(raw),
                source=str(mcp_file),
                digest=digest("mcp", str(name), "", raw),
            )
        )
    user_files = {os.path.realpath(p) for p in layer_files(project, environ)[:2]}
    seen: set[str] = set()
    for path in _project_settings_files(project, environ):
        if os.path.realpath(path) in user_files:  # sous started in the home folder: these are the user's own
            continue
        layer = _json(path)
        for key in COMMAND_KEYS:
            if (what := command_of(layer.get(key))) is not None:
                out.append(
                    Entry(
                        kind="command", name=key, detail=what, source=str(path), digest=digest("command", key, "", what)
                    )
                )
        for event, matcher, handler in _handlers(layer.get("hooks")):
            key = digest("hook", event, matcher, handler)
            if key in seen:
                continue
            seen.add(key)
            what = str(handler.get("command") or handler.get("url") or "") if isinstance(handler, dict) else ""
            out.append(
                Entry(
                    kind="hook",
                    name=f"{event} ({matcher})" if matcher else event,
                    detail=what or "(no command)",
                    source=str(path),
                    digest=key,
                )
            )
        for kind, name, value in project_grants.setting_grants(layer):
            key = digest(kind, name, "", value)
            if key not in seen:
                seen.add(key)
                out.append(
                    Entry(kind=kind, name=name, detail=project_grants.detail(kind, value), source=str(path), digest=key)
                )
        for given in workdirs.settings_dirs(layer.get("permissions")):
            where = _where(given, project, environ)
            out.append(
                Entry(kind="dir", name=given, detail=where, source=str(path), digest=digest("dir", given, "", where))
            )
    for grant, name, value, source in project_grants.definition_grants(project, environ):
        detail = project_grants.detail(grant, value)
        out.append(Entry(kind=grant, name=name, detail=detail, source=source, digest=digest(grant, name, "", value)))
    return out


def _where(given: str, project: Path, environ: Mapping[str, str]) -> str:
    """Where a listed folder leads (or, when it cannot be added, the path as it would be read)."""
    try:
        return workdirs.resolve_dir(given, str(project), environ)
    except ValueError:
        return os.path.normpath(os.path.join(project, given))


def trusted_dirs(
    value: Any, trust: ProjectTrust | None, environ: Mapping[str, str] = os.environ, cli_settings: str | None = None
) -> tuple[list[str], list[Entry]]:
    """The merged `additionalDirectories` without the pending ones of the project's files (one that
    the user's own layers list too is the user's), and the pending entries left out. `trust` None:
    the project's files name nothing to run."""
    listed = [d for d in value if isinstance(d, str)] if isinstance(value, list) else []
    if trust is None:
        return listed, []
    users = {
        d for layer in user_layers(environ, cli_settings) for d in workdirs.settings_dirs(layer.get("permissions"))
    }
    pending = [e for e in trust.pending if e.kind == "dir" and e.name not in users]
    names = {e.name for e in pending}
    return [d for d in listed if d not in names], pending


COMMAND_KEYS = ("statusLine", "apiKeyHelper")
"""Settings whose value is a command sous runs by itself."""


def command_of(value: Any) -> str | None:
    """The command a `statusLine` (`{"type": "command", "command": ...}`) or `apiKeyHelper` (a
    string) setting would run, or None when it names none."""
    if isinstance(value, dict):
        value = value.get("command")
    return value if isinstance(value, str) and value.strip() else None


def pending_command(trust: ProjectTrust, key: str, command: Any) -> Entry | None:
    """The pending entry of the project's files that the merged `key` setting would run, if any:
    that command must not run until it is approved."""
    what = command_of(command)
    return next((e for e in trust.pending if e.kind == "command" and e.name == key and e.detail == what), None)


def check(
    project_dir: str | Path, environ: Mapping[str, str] = os.environ, cli_settings: str | None = None
) -> ProjectTrust:
    """The project's entries and which of them are pending. The approval keys are read from the
    user's own layers only: `~/.claude/settings.json`, `~/.sous/settings.json` and
    `cli_settings` (`--settings FILE|JSON`)."""
    user = user_layers(environ, cli_settings)

    def names(key: str) -> set[str]:
        return {str(n) for layer in user for n in _list(layer.get(key))}

    enable_all = any(layer.get("enableAllProjectMcpServers") is True for layer in user)
    named, disabled = names("enabledMcpjsonServers"), names("disabledMcpjsonServers")
    approved = _approved(project_dir, environ)
    problem = _store_problem(environ)
    known = {(v.get("kind"), v.get("name")) for v in approved.values() if isinstance(v, dict)}
    trust = ProjectTrust(
        project=project_key(project_dir),
        entries=project_entries(project_dir, environ),
        disabled_servers=disabled,
        problem=problem,
    )
    for entry in trust.entries:
        if entry.digest in approved:
            continue
        if entry.kind == "mcp" and (entry.name in disabled or enable_all or entry.name in named):
            continue
        trust.pending.append(entry)
        if (entry.kind, entry.name) in known:
            trust.changed.add(entry.digest)
    return trust


def user_layers(environ: Mapping[str, str] = os.environ, cli_settings: str | None = None) -> list[dict[str, Any]]:
    """The user's own settings layers as dicts (unreadable ones are empty; `sous.settings` reports them)."""
    from sous.settings import layer_files

    layers = [_json(path) for path in layer_files(".", environ)[:2]]
    if cli_settings:
        if cli_settings.lstrip().startswith("{"):
            try:
                data = json.loads(cli_settings)
            except ValueError:
                data = {}
            layers.append(data if isinstance(data, dict) else {})
        else:
            layers.append(_json(Path(cli_settings)))
    return layers


def approve(
    trust: ProjectTrust, environ: Mapping[str, str] = os.environ, *, only: Iterable[Entry] | None = None
) -> None:
    """Record the pending entries (or just `only`) as approved, beside the earlier approvals of
    entries that are still there (approvals of entries that are gone are dropped, so one that
    comes back is asked about again)."""
    chosen = {e.digest for e in (trust.pending if only is None else only)}
    earlier = _approved(trust.project, environ)
    store = _store(environ)
    data = _json(store)
    projects = data.get("projects")
    if not isinstance(projects, dict):
        projects = data["projects"] = {}
    projects[trust.project] = {
        "approved": {
            e.digest: {"kind": e.kind, "name": e.name, "detail": e.detail}
            for e in trust.entries
            if e.digest in chosen or e.digest in earlier
        }
    }
    _write(store, data)


def approve_saved_rules(
    project_dir: str | Path, environ: Mapping[str, str], cli_settings: str | None, rules: Iterable[str]
) -> None:
    """Record as approved the allow rules sous just wrote to the project's settings for the person
    ("don't ask again"): they are the person's own, and keep working in later sessions."""
    wanted = set(rules)
    trust = check(project_dir, environ, cli_settings)
    saved = [e for e in trust.pending if e.kind == "rule" and e.name in wanted]
    if saved:
        approve(trust, environ, only=saved)


def reset(project_dir: str | Path, environ: Mapping[str, str] = os.environ) -> bool:
    """Forget the project's approvals; True when there were some."""
    store = _store(environ)
    data = _json(store)
    projects = data.get("projects")
    if not isinstance(projects, dict) or projects.pop(project_key(project_dir), None) is None:
        return False
    _write(store, data)
    return True


def trusted_hooks(
    value: Any, trust: ProjectTrust, environ: Mapping[str, str] = os.environ, cli_settings: str | None = None
) -> Any:
    """The merged `hooks` setting without the pending handlers of the project's files. A group that
    one of the user's own layers lists is the user's, and kept whole."""
    pending = trust.hook_digests()
    if not pending or not isinstance(value, dict):
        return value
    users = {
        (event, json.dumps(group, sort_keys=True))
        for layer in user_layers(environ, cli_settings)
        if isinstance(layer.get("hooks"), dict)
        for event, groups in layer["hooks"].items()
        for group in _list(groups)
    }
    out: dict[str, Any] = {}
    for event, groups in value.items():
        if not isinstance(groups, list):
            out[event] = groups
            continue
        kept = []
        for group in groups:
            if (
                not isinstance(group, dict)
                or not isinstance(group.get("hooks"), list)
                or (event, json.dumps(group, sort_keys=True)) in users
            ):
                kept.append(group)
                continue
            matcher = str(group.get("matcher") or "")
            handlers = [h for h in group["hooks"] if digest("hook", event, matcher, h) not in pending]
            if handlers:
                kept.append({**group, "hooks": handlers})
        out[event] = kept
    return out


def notice(pending: list[Entry]) -> str:
    """One line naming what was left out and how to approve it."""
    what = "; ".join(e.label() for e in pending)
    return (
        f"left out (not started, not granted), new or changed in this project's config since you last approved "
        f"it: {what}. "
        "Review and approve with `sous trust`"
    )


def ask_in_terminal(
    trust: ProjectTrust,
    environ: Mapping[str, str] = os.environ,
    *,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> bool:
    """Ask once about every pending entry; True (and recorded) when the person says yes."""
    if not trust.pending:
        return True
    stdout.write(describe(trust, heading=True))
    stdout.write("Trust this project's config and run them? [y/N] ")
    stdout.flush()
    answer = stdin.readline().strip().lower()
    if answer in ("y", "yes"):
        approve(trust, environ)
        return True
    stdout.write(
        "Not approved: they will not run in this session and nothing listed is granted "
        "(`sous trust` approves them later).\n"
    )
    return False


def describe(trust: ProjectTrust, *, heading: bool = False) -> str:
    lines = []
    if heading:
        lines.append(
            f"This project ({trust.project}) would run programs, open folders or grant permissions "
            "that you have not approved:"
        )
    for entry in trust.pending:
        state = "changed" if entry.digest in trust.changed else "new"
        lines.append(f"  [{state}] {entry.label()}  ({shown(entry.source)})")
    return "\n".join(lines) + "\n"


def main(argv: list[str], environ: Mapping[str, str] = os.environ) -> int:
    """`sous trust [--yes | --reset] [DIR]`: show this project's runnable entries and approve them."""
    import argparse

    p = argparse.ArgumentParser(
        prog="sous trust",
        description="Show and approve the MCP servers and hook commands that this project's files would run, "
        "the folders they would open to the model, and what they grant (env, allow rules, a wider mode, "
        "sandbox loosening, agents' permission modes, commands' allowed-tools).",
    )
    p.add_argument("--yes", "-y", action="store_true", help="approve every new or changed entry without asking")
    p.add_argument("--reset", action="store_true", help="forget this project's approvals")
    p.add_argument("dir", nargs="?", default=".", help="the project folder (default: the current one)")
    args = p.parse_args(argv)
    project = os.path.abspath(args.dir)
    if args.reset:
        forgot = reset(project, environ)
        print("approvals forgotten" if forgot else "this project had no approvals")
        return 0
    trust = check(project, environ)
    if not trust.entries:
        print("this project's files start no MCP server, run no hook and add no working folder, and grant nothing")
        return 0
    pending = {e.digest for e in trust.pending}
    for entry in trust.entries:
        state = (
            "disabled"
            if entry.kind == "mcp" and entry.name in trust.disabled_servers
            else "changed"
            if entry.digest in trust.changed
            else "new"
            if entry.digest in pending
            else "approved"
        )
        print(f"[{state}] {entry.label()}  ({shown(entry.source)})")
    if not trust.pending:
        return 0
    if args.yes:
        approve(trust, environ)
        print(f"approved {len(trust.pending)} entr{'y' if len(trust.pending) == 1 else 'ies'}")
        return 0
    if sys.stdin.isatty():
        return 0 if ask_in_terminal(trust, environ) else 1
    print("run `sous trust --yes` to approve them", file=sys.stderr)
    return 1


def _project_settings_files(project: Path, environ: Mapping[str, str]) -> list[Path]:
    from sous.settings import layer_files

    return layer_files(project, environ)[2:]


def _handlers(hooks: Any):
    if not isinstance(hooks, dict):
        return
    for event, groups in hooks.items():
        for group in groups if isinstance(groups, list) else []:
            if not isinstance(group, dict):
                continue
            for handler in group["hooks"] if isinstance(group.get("hooks"), list) else []:
                yield str(event), str(group.get("matcher") or ""), handler


def _server_detail(raw: Any) -> str:
    if not isinstance(raw, dict):
        return repr(raw)
    if raw.get("url"):
        return str(raw["url"])
    args = raw["args"] if isinstance(raw.get("args"), list) else []
    return " ".join([str(raw.get("command", "")), *map(str, args)]).strip() or "(no command)"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _store(environ: Mapping[str, str]) -> Path:
    return paths.config_dir(environ) / STORE


def _approved(project_dir: str | Path, environ: Mapping[str, str]) -> dict[str, Any]:
    projects = _json(_store(environ)).get("projects")
    entry = projects.get(project_key(project_dir)) if isinstance(projects, dict) else None
    approved = entry.get("approved") if isinstance(entry, dict) else None
    return approved if isinstance(approved, dict) else {}


def _store_problem(environ: Mapping[str, str]) -> str:
    """One line when the trust store exists but cannot be used (every entry is then pending)."""
    store = _store(environ)
    try:
        data = json.loads(store.read_text("utf-8"))
    except FileNotFoundError:
        return ""
    except (OSError, ValueError) as e:
        why = getattr(e, "strerror", None) or "not valid JSON"
        return f"{store}: cannot read the trusted projects ({why}); this project's config is treated as not approved"
    if not isinstance(data, dict) or not isinstance(data.get("projects", {}), dict):
        return f"{store}: not a trusted-projects file; this project's config is treated as not approved"
    return ""


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
