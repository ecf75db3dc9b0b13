"""Plugins in a session opened by the builder (scripted model): `/plugin` in the terminal, the
stream-json init line, and settings that turn hooks off for plugins too."""

from __future__ import annotations

import json
import os

import pytest

from sous.models.scripted import ScriptedModel
from sous.runtime import Options, open_session
from sous.ui import slash


@pytest.fixture
def make_session(home, project, tmp_path):
    opened = []

    def make(turns: list[dict], env: dict[str, str] | None = None, **options):
        environ = {**os.environ, "HOME": str(home), "SOUS_HOME": str(tmp_path / "sous"), **(env or {})}
        session = open_session(
            Options(
                cwd=str(project),
                model=ScriptedModel(turns),
                environ=environ,
                permission_mode="bypassPermissions",
                **options,
            )
        )
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


async def test_slash_plugin_lists_what_is_in_use_and_manages_plugins(make_session, plugin_dir, market_dir, home):
    session = make_session([], plugin_dirs=[str(plugin_dir)])
    shown = await slash.run(session, "/plugin")
    assert "kit@inline" in shown.text and str(plugin_dir.resolve()) in shown.text and not shown.error
    added = await slash.run(session, f"/plugin marketplace add {market_dir}")
    assert added.text.startswith("added marketplace market") and not added.error
    done = await slash.run(session, "/plugin install kit@market --scope project")
    assert done.text == "installed kit@market 1.2.0 (project scope), enabled\n(takes effect in the next session)"
    wrong = await slash.run(session, "/plugin install")
    assert wrong.error and wrong.text.startswith("sous plugin: the following arguments are required")
    missing = await slash.run(session, "/plugin enable nothing@market")
    assert missing.error and "not installed here" in missing.text
    fresh = make_session([])
    assert [p.id for p in fresh.plugins] == ["kit@market"] and fresh.plugins[0].runs_code
    assert "kit:hello" in fresh.commands and "kit:reviewer" in fresh.subagents.types


async def test_disable_all_hooks_and_managed_hooks_only_keep_plugin_hooks_off(make_session, plugin_dir, project):
    session = make_session([], plugin_dirs=[str(plugin_dir)])
    assert session.hook_config is not None and session.hook_config.handlers("PreToolUse", "Bash")
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(json.dumps({"disableAllHooks": True}))
    off = make_session([], plugin_dirs=[str(plugin_dir)])
    assert off.hook_config is None
    managed = project / "managed.json"
    managed.write_text(json.dumps({"allowManagedHooksOnly": True}))
    (project / ".claude" / "settings.json").write_text("{}")
    assert make_session([], plugin_dirs=[str(plugin_dir)]).hook_config is not None  # no policy yet
    only_managed = make_session([], env={"SOUS_MANAGED_SETTINGS": str(managed)}, plugin_dirs=[str(plugin_dir)])
    assert only_managed.hook_config is None
    assert "kit:hello" in only_managed.commands  # the plugin's prompts are still there


async def test_the_plugin_hook_handlers_carry_the_plugin_environment(make_session, plugin_dir, home):
    session = make_session([], plugin_dirs=[str(plugin_dir)])
    [guard] = session.hook_config.handlers("PreToolUse", "Bash")
    env = dict(guard.env)
    assert env["CLAUDE_PLUGIN_ROOT"] == str(plugin_dir.resolve())
    assert env["CLAUDE_PLUGIN_DATA"] == str(home / ".claude" / "plugins" / "data" / "kit-inline")
    assert str(plugin_dir.resolve()) in guard.command and "${" not in guard.command
    assert (home / ".claude" / "plugins" / "data" / "kit-inline").is_dir()


async def test_a_plugins_output_style_can_be_chosen_and_goes_with_the_plugin(make_session, plugin_dir, project):
    style = plugin_dir / "output-styles" / "terse.md"
    style.parent.mkdir()
    style.write_text("---\nname: Terse\ndescription: Few words\n---\nANSWER-IN-FIVE-WORDS.")
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(json.dumps({"outputStyle": "terse"}))
    session = make_session([], plugin_dirs=[str(plugin_dir)])
    assert session.output_style == "Terse" and "terse" in session.output_styles()
    assert "ANSWER-IN-FIVE-WORDS." in session.system_prompt
    session.set_output_style("default")
    assert session.set_output_style("TERSE") == "Terse" and "ANSWER-IN-FIVE-WORDS." in session.system_prompt
    without = make_session([])
    assert without.output_style == "default"
    assert any("no such output style" in n.text for n in without.notices)


async def test_names_follow_claude_code_subfolders_add_segments_and_skills_take_their_folder(
    make_session, plugin_dir, project
):
    skill = project / ".claude" / "skills" / "release-steps" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\nname: shipit\ndescription: Release\n---\nSteps.")
    nested = plugin_dir / "agents" / "team" / "lead.md"
    nested.parent.mkdir()
    nested.write_text("---\nname: lead\ndescription: Leads\n---\nLead.")
    session = make_session([], plugin_dirs=[str(plugin_dir)])
    assert {"kit:hello", "kit:git:ship", "kit:tidy", "release-steps"} <= set(session.commands)
    assert "shipit" not in session.commands and "hello" not in session.commands
    assert {"kit:reviewer", "kit:team:lead"} <= set(session.subagents.types)
    assert session.subagents.types["kit:reviewer"].permission_mode is None  # a plugin cannot loosen permissions
