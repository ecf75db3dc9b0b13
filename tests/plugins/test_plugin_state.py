"""`sous plugin ...` and plugin discovery on bad input: malformed manifests and catalogues, paths
that leave the plugin, unreadable state files, a plugin turned on only by a project's files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from sous import plugins
from sous.plugins import store


def catalogue(root: Path, plugins_list: list) -> None:
    (root / ".claude-plugin").mkdir(parents=True, exist_ok=True)
    (root / ".claude-plugin" / "marketplace.json").write_text(json.dumps({"name": "market", "plugins": plugins_list}))


def test_a_folder_that_is_not_a_plugin_is_named_in_one_line_and_nothing_loads(tmp_path, environ):
    bad_json = tmp_path / "bad"
    (bad_json / ".claude-plugin").mkdir(parents=True)
    (bad_json / ".claude-plugin" / "plugin.json").write_text("{not json")
    bad_name = tmp_path / "badname"
    (bad_name / ".claude-plugin").mkdir(parents=True)
    (bad_name / ".claude-plugin" / "plugin.json").write_text(json.dumps({"name": "../evil"}))
    found = plugins.discover(
        str(tmp_path), None, plugin_dirs=[str(tmp_path / "none"), str(bad_json), str(bad_name)], environ=environ
    )
    assert found.plugins == []
    assert len(found.problems) == 3
    assert "not a folder" in found.problems[0] and "cannot be read as JSON" in found.problems[1]
    assert '"name"' in found.problems[2]


def test_component_paths_that_leave_the_plugin_are_ignored(tmp_path, environ):
    (tmp_path / "secret.md").write_text("outside the plugin")
    root = tmp_path / "p"
    (root / ".claude-plugin").mkdir(parents=True)
    manifest = {"name": "p", "commands": ["../secret.md", "/etc"], "hooks": "../hooks.json", "mcpServers": 7}
    (root / ".claude-plugin" / "plugin.json").write_text(json.dumps(manifest))
    found = plugins.discover(str(tmp_path), None, plugin_dirs=[str(root)], environ=environ)
    [plugin] = found.plugins
    commands, problems = plugins.commands(plugin)
    assert commands == {} and len(problems) == 2 and all("not a path inside the plugin" in p for p in problems)
    hooks, problems = plugins.hooks(plugin)
    assert hooks == [] and "not a file inside the plugin" in problems[0]


def test_enabled_plugins_of_the_wrong_shape_or_not_installed_say_so(tmp_path, environ):
    found = plugins.discover(str(tmp_path), ["kit@market"], environ=environ)
    assert found.plugins == [] and "enabledPlugins: expected an object" in found.problems[0]
    found = plugins.discover(str(tmp_path), {"kit@market": True, "off@market": False}, environ=environ)
    assert found.plugins == [] and found.problems == [
        "plugin kit@market is enabled but not installed here: sous plugin install kit@market"
    ]


def test_a_corrupt_install_record_is_reported_and_never_rewritten(cli, home, market_dir, project, environ):
    state = home / ".claude" / "plugins" / "installed_plugins.json"
    state.parent.mkdir(parents=True)
    state.write_text("{broken")
    assert cli("marketplace", "add", str(market_dir))[0] == 0
    code, out, err = cli("install", "kit@market")
    assert code == 1 and out == "" and err.count("\n") == 1 and "not valid JSON" in err
    assert state.read_text() == "{broken"
    assert not (home / ".claude" / "settings.json").exists()
    code, _, err = cli("list")
    assert code == 1 and "installed_plugins.json: not valid JSON" in err
    found = plugins.discover(str(project), {"kit@market": True}, environ=environ)
    assert found.plugins == [] and "not valid JSON" in found.problems[0]


def test_a_settings_file_that_cannot_be_read_stops_the_install_before_any_copy(cli, home, market_dir):
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text('{"permissions": {"deny": ["Bash"]},}')
    assert cli("marketplace", "add", str(market_dir))[0] == 0
    code, _, err = cli("install", "kit@market")
    assert code == 1 and "settings.json: not valid JSON" in err
    assert (home / ".claude" / "settings.json").read_text() == '{"permissions": {"deny": ["Bash"]},}'
    assert not (home / ".claude" / "plugins" / "cache").exists()


def test_a_catalogue_source_outside_the_marketplace_is_refused(cli, tmp_path, home):
    market = tmp_path / "m"
    (tmp_path / "outside" / ".claude-plugin").mkdir(parents=True)
    (tmp_path / "outside" / ".claude-plugin" / "plugin.json").write_text('{"name": "kit"}')
    catalogue(market, [{"name": "kit", "source": "../outside"}, {"name": "odd", "source": {"source": "npm"}}])
    assert cli("marketplace", "add", str(market))[0] == 0
    code, _, err = cli("install", "kit@market")
    assert code == 1 and "is not a folder inside the marketplace" in err
    code, _, err = cli("install", "odd")
    assert code == 1 and "not one sous can install" in err
    assert not (home / ".claude" / "plugins" / "installed_plugins.json").exists()


def test_unknown_names_get_one_line_each(cli, tmp_path, market_dir):
    assert cli("marketplace", "add", str(tmp_path / "nowhere"))[2].startswith("sous plugin: ")
    assert cli("install", "kit")[2] == "sous plugin: no plugin named 'kit' in any added marketplace\n"
    assert cli("install", "kit@elsewhere")[0] == 1
    assert cli("uninstall", "kit@market")[2] == "sous plugin: kit@market is not installed at user scope\n"
    assert cli("enable", "kit")[2] == "sous plugin: no installed plugin named 'kit'\n"
    assert cli("marketplace", "remove", "market")[0] == 1
    not_a_market = tmp_path / "plain"
    not_a_market.mkdir()
    assert "not a marketplace" in cli("marketplace", "add", str(not_a_market))[2]


def test_a_plugin_turned_on_only_by_the_project_brings_prompts_but_not_programs(
    cli, market_dir, project, home, environ
):
    assert cli("marketplace", "add", str(market_dir))[0] == 0
    assert cli("install", "kit@market")[0] == 0
    assert cli("disable", "kit@market")[0] == 0  # the user has it off; the project turns it on
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(json.dumps({"enabledPlugins": {"kit@market": True}}))
    user = [json.loads((home / ".claude" / "settings.json").read_text())]
    found = plugins.discover(str(project), {"kit@market": True}, user_layers=user, environ=environ)
    [plugin] = found.plugins
    assert not plugin.runs_code and found.withheld == ["kit@market"]
    assert "kit:hello" in plugins.commands(plugin)[0]
    # enabling it for this project is the person's consent
    assert cli("enable", "kit@market", "--scope", "local")[1] == "enabled kit@market (local scope)\n"
    found = plugins.discover(str(project), {"kit@market": True}, user_layers=user, environ=environ)
    assert found.plugins[0].runs_code and found.withheld == []
    listed = json.loads(cli("list", "--json")[1])
    assert [(e["scope"], e["enabled"]) for e in listed] == [("user", True), ("local", True)]
    assert listed[1]["projectPath"] == str(project.resolve())


def test_the_withheld_programs_are_named_on_stderr_in_print_mode(run_sous, market_dir, project, tmp_path):
    assert run_sous("plugin", "marketplace", "add", str(market_dir)).returncode == 0
    assert run_sous("plugin", "install", "kit", "--scope", "project").returncode == 0
    records = store.installed({"HOME": str(tmp_path / "home")})
    records["kit@market"][0]["projectPath"] = str(tmp_path / "elsewhere")  # installed for another project
    store.save_installed(records, {"HOME": str(tmp_path / "home")})
    user_install = run_sous("plugin", "install", "kit")
    assert user_install.returncode == 0
    assert run_sous("plugin", "disable", "kit@market").returncode == 0
    turns = tmp_path / "turns.json"
    turns.write_text(json.dumps([{"text": "fine"}]))
    done = run_sous("-p", "hi", "--model", f"scripted:{turns}")
    assert done.returncode == 0 and done.stdout == "fine\n"
    assert "hooks and MCP servers of kit@market were left out" in done.stderr


def test_two_plugins_of_one_name_load_once(tmp_path, plugin_dir, environ):
    copy = tmp_path / "copy"
    shutil.copytree(plugin_dir, copy)
    found = plugins.discover(str(tmp_path), None, plugin_dirs=[str(plugin_dir), str(copy)], environ=environ)
    assert [p.root for p in found.plugins] == [plugin_dir.resolve()]
    assert "another plugin named 'kit'" in found.problems[0]


def test_a_git_marketplace_is_cloned_installed_from_and_updated(cli, tmp_path, home, project, new_marketplace):
    repo = tmp_path / "repo"
    new_marketplace(repo, name="gitmarket")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "first"], check=True)
    code, out, err = cli("marketplace", "add", f"file://{repo}")
    assert code == 0, err
    clone = home / ".claude" / "plugins" / "marketplaces" / "gitmarket"
    assert (clone / ".claude-plugin" / "marketplace.json").is_file()
    known = store.known_marketplaces({"HOME": str(home)})
    assert known["gitmarket"]["source"] == {"source": "git", "url": f"file://{repo}"}
    assert cli("install", "kit@gitmarket")[0] == 0
    (repo / "plugins" / "kit" / "commands" / "later.md").write_text("Added later.")
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "second"], check=True)
    assert cli("marketplace", "update", "gitmarket")[1] == "gitmarket: updated\n"
    assert (clone / "plugins" / "kit" / "commands" / "later.md").is_file()
    code, _, err = cli("marketplace", "add", f"file://{repo}")
    assert code == 1 and "already added" in err
    assert cli("marketplace", "remove", "gitmarket")[0] == 0 and not clone.exists()
    # named by the project's settings only: installing from it adds it first
    (project / ".claude").mkdir()
    extra = {"extraKnownMarketplaces": {"gitmarket": {"source": {"source": "git", "url": f"file://{repo}"}}}}
    (project / ".claude" / "settings.json").write_text(json.dumps(extra))
    code, out, err = cli("install", "kit@gitmarket", "--scope", "project")
    assert code == 0 and out == "installed kit@gitmarket 1.2.0 (project scope), enabled\n", err
    assert clone.is_dir()


def test_validate_names_every_problem(cli, plugin_dir, market_dir, tmp_path):
    assert cli("validate", str(plugin_dir)) == (0, "plugin kit: valid\n", "")
    assert cli("validate", str(market_dir))[1] == "marketplace market: valid\n"
    (plugin_dir / "agents" / "broken.md").write_text("---\nname: broken\n---\nno description")
    (plugin_dir / "hooks" / "hooks.json").write_text(json.dumps({"hooks": {"NoSuchEvent": []}}))
    (plugin_dir / ".mcp.json").write_text(json.dumps({"mcpServers": {"x": {"args": []}}}))
    code, out, _ = cli("validate", str(plugin_dir))
    assert code == 1 and out.endswith("plugin kit: 3 problem(s)\n")
    assert "broken.md: an agent needs a name and a description" in out
    assert "NoSuchEvent: unknown or unsupported event" in out and "MCP server 'x' needs a command or a url" in out
    assert cli("validate", str(tmp_path / "nothing"))[0] == 1


def test_a_marketplace_added_for_the_project_is_named_in_its_settings(cli, market_dir, project, home):
    catalogue_file = market_dir / ".claude-plugin" / "marketplace.json"
    code, out, err = cli("marketplace", "add", str(catalogue_file), "--scope", "project")
    assert code == 0, err
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    source = {"source": "directory", "path": str(market_dir.resolve())}
    assert settings == {"extraKnownMarketplaces": {"market": {"source": source}}}
    listed = json.loads(cli("marketplace", "list", "--json")[1])
    assert [(m["name"], m["installLocation"]) for m in listed] == [("market", str(market_dir.resolve()))]
    assert not (home / ".claude" / "settings.json").exists()


def test_hooks_and_servers_files_that_are_not_objects_are_named_not_fatal(plugin_dir, tmp_path, environ):
    (plugin_dir / "hooks" / "hooks.json").write_text("[1, 2]")
    (plugin_dir / ".mcp.json").write_text('"just a string"')
    [plugin] = plugins.discover(str(tmp_path), None, plugin_dirs=[str(plugin_dir)], environ=environ).plugins
    assert plugins.hooks(plugin)[0] == [] and "expected a JSON object" in plugins.hooks(plugin)[1][0]
    assert plugins.mcp_servers(plugin)[0] == {} and "expected a JSON object" in plugins.mcp_servers(plugin)[1][0]


def test_a_version_or_marketplace_name_cannot_steer_the_copy_out_of_the_cache(cli, market_dir, home, project):
    manifest = market_dir / "plugins" / "kit" / ".claude-plugin" / "plugin.json"
    manifest.write_text(json.dumps({"name": "kit", "version": "../.."}))
    assert cli("marketplace", "add", str(market_dir))[0] == 0
    code, out, err = cli("install", "kit@market")
    assert code == 0, err
    [record] = store.installed({"HOME": str(home)})["kit@market"]
    cache = home / ".claude" / "plugins" / "cache"
    assert Path(record["installPath"]).parent == cache / "market" / "kit" and (cache / "market" / "kit").is_dir()
    (project / ".claude").mkdir()
    evil = {"extraKnownMarketplaces": {"../up": {"source": {"source": "directory", "path": str(market_dir)}}}}
    (project / ".claude" / "settings.json").write_text(json.dumps(evil))
    code, _, err = cli("install", "kit@../up")
    assert code == 1 and "no marketplace named '../up'" in err


def test_disabling_says_when_another_scope_keeps_the_plugin_on(cli, market_dir, project):
    assert cli("marketplace", "add", str(market_dir))[0] == 0
    assert cli("install", "kit@market", "--scope", "project")[0] == 0
    code, out, _ = cli("disable", "kit@market")
    assert code == 0
    assert out.strip() == (
        f"disabled kit@market (user scope); but {project / '.claude' / 'settings.json'} turns it on "
        "and wins here (--scope project)"
    )
    assert json.loads(cli("list", "--json")[1])[0]["enabled"] is True
