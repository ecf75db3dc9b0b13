"""Changing a session as it goes: its model, permission mode, tools, sub-agent types, grants and
working folders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sous.core import ConfigError, Model, Tool

from .state import SessionState


def styled(system: str, name: str, project_dir: str, environ: Any, plugins: Any = ()) -> tuple[str, str, str]:
    """`system` in the output style `name`: (the prompt, the style's name, "") or, for a style
    that does not exist, (`system` unchanged, "default", one line saying so). `plugins` are the
    plugins in use, whose `output-styles/` count too."""
    from sous.context import output_styles

    styles, _ = output_styles.discover(project_dir, environ, _style_folders(plugins))
    style = styles.get(name.lower())
    if style is None:
        known = ", ".join(s.name for s in styles.values())
        return system, "default", f"outputStyle {name!r}: no such output style (known: {known}); using the default"
    return output_styles.apply(system, style), style.name, ""


def _style_folders(plugins: Any) -> list[Any]:
    from sous.plugins import style_folders

    return [folder for plugin in plugins for folder in style_folders(plugin)]


class Changes(SessionState):
    """The settings side of the Session API."""

    def set_model(self, spec: str) -> Model:
        """Switch the model (`provider:model` or an alias) for this session and its new sub-agents;
        raises `ConfigError` when it cannot be resolved."""
        return self._use_model(self._resolve(spec))

    def _use_model(self, model: Model) -> Model:
        self._agent.model = model
        if self._subagents is not None:
            self._subagents.model = model
        return model

    async def switch_model(self, spec: str, source: str = "command") -> Model:
        """`set_model` with Claude Code's PreModelSwitch and PostModelSwitch hooks around it
        (`source`: "command" for `/model`, "sdk" for a program's request). Raises `ConfigError`
        when `spec` cannot be resolved or a PreModelSwitch hook blocks the switch (the model stays
        as it was); a PostModelSwitch hook's context goes with the next prompt."""
        model = self._resolve(spec)
        if self._hooks is None:
            return self._use_model(model)
        fields = {"from_model": self.model.name, "to_model": model.name, "requested_model": spec, "source": source}
        verdict = await self._hooks.fire("PreModelSwitch", model.name, fields)
        if verdict.block is not None:
            raise ConfigError(f"a PreModelSwitch hook blocked the switch: {verdict.block}")
        self._use_model(model)
        verdict = await self._hooks.fire("PostModelSwitch", model.name, fields)
        self._pending_context.extend(verdict.context)
        if verdict.block:
            self._pending_context.append(f"PostModelSwitch hook feedback:\n{verdict.block}")
        return model

    def set_output_style(self, name: str) -> str:
        """Put the output style `name` in the system prompt from the next request on; returns its
        name as written in its file. Raises `ConfigError` for an unknown style."""
        base = self._front.get("baseSystem", self._convo.system)
        system, found, problem = styled(base, name, self.project_dir, self.environ, self._front.get("plugins") or ())
        if problem:
            raise ConfigError(problem)
        self._convo.system = system
        self._front["outputStyle"] = found
        return found

    def output_styles(self) -> dict[str, Any]:
        """Every output style by lower-cased name (`sous.context.output_styles.OutputStyle`)."""
        from sous.context import output_styles

        folders = _style_folders(self._front.get("plugins") or ())
        return output_styles.discover(self.project_dir, self.environ, folders)[0]

    def set_mode(self, mode: str) -> None:
        """Change the permission mode; raises `ConfigError` for an unknown mode."""
        try:
            self._permissions.set_mode(mode)
        except ValueError as e:
            raise ConfigError(str(e)) from e

    def set_tools(self, *, add: Iterable[Tool] = (), remove: Iterable[str] = (), allow: bool = False) -> None:
        """Offer more tools (replacing those of the same name) or fewer; with `allow`, the added
        tools run without asking."""
        from sous.permissions.rules import parse

        added = list(add)
        self._set_toolset(self.tools.without(remove).adding(added))
        if allow:
            self._permissions.rules.allow.extend(parse(t.name) for t in added)
            self._permissions.read_only_tools |= {t.name for t in added if t.read_only}

    def refresh_agents(self) -> dict[str, Any]:
        """Re-read the agent files into the sub-agent types and the Agent tool's description."""
        from sous import agents
        from sous.tools.agent import agent_tool

        if self._subagents is None:
            return {}
        denied = {r.specifier for r in self._permissions.rules.deny if r.tool == "Agent" and r.specifier}
        from sous.permissions import trust

        from .trusted import definitions_gate

        # the project's own agents keep a wide permissionMode only once approved, as at start-up
        gated = definitions_gate(trust.check(self.project_dir, self.environ), self.project_dir, self.environ, [])
        for name, spec in gated(agents.discover(self.project_dir, self.environ)).items():
            if name in denied:  # `Agent(Explore)` in permissions.deny keeps the type away, as at start-up
                continue
            if spec.source != "built-in" or name not in self._subagents.types:
                self._subagents.types[name] = spec
        if self.tools.get("Agent") is not None:
            self._set_toolset(self.tools.adding([agent_tool(self._subagents.types)]))
        return dict(self._subagents.types)

    async def add_dir(self, path: str, source: str = "slash_command") -> str:
        """Add a working folder (`/add-dir`) and return it resolved: `path` is relative to the
        working folder, `~` the home folder, symlinks followed (see `permissions.workdirs`). From
        the next call on the file tools, Bash's checks and the sandbox include it, in sub-agents
        too; the model is told with the next prompt, and DirectoryAdded hooks run. Raises
        `ConfigError` (one line) when it is not a directory or lies in a working folder already."""
        from sous.permissions import workdirs
        from sous.tools._files import ADDED_DIRS

        try:
            real = workdirs.resolve_dir(path, self.cwd, self.environ)
        except ValueError as e:
            raise ConfigError(str(e)) from e
        folders = self._agent.ctx.state.setdefault(ADDED_DIRS, [])
        if (holder := workdirs.covered(real, [self.project_dir, *folders])) is not None:
            raise ConfigError(f"{real} is already accessible within the working directory {holder}")
        folders.append(real)
        self._pending_context.append(
            f"{real} was added as an additional working directory: its files are read and edited under the "
            "same permissions as the project's."
        )
        if self._hooks is not None:
            await self._hooks.directory_added(real, source)
        return real

    def revoke_grant(self, number: int) -> bool:
        """Withdraw grant `#number` (`/permissions revoke N`); False when there is none."""
        return bool(self._permissions.grants.revoke(number))
