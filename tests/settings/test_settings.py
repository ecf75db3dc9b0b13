from __future__ import annotations

import json

from sous import settings


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))


def test_layers_merge_lists_and_take_scalars_from_the_highest(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    project = tmp_path / "proj"
    write(home / ".claude" / "settings.json", {"model": "a", "permissions": {"allow": ["Read"]}})
    write(project / ".claude" / "settings.json", {"model": "b", "permissions": {"allow": ["Bash(ls)"]}})
    write(project / ".sous" / "settings.local.json", {"permissions": {"deny": ["Bash(rm *)"]}})
    cfg = settings.load(project, '{"model": "c"}')
    assert cfg.get("model") == "c"
    assert cfg.get("permissions.allow") == ["Read", "Bash(ls)"]
    assert cfg.get("permissions.deny") == ["Bash(rm *)"]
    assert cfg.problems == []


def test_malformed_file_is_an_error_with_line_and_column_and_the_rest_still_reads(tmp_path, monkeypatch):
    # An error, not a warning: the unreadable file may hold deny rules (see test_bad_settings.py).
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    write(tmp_path / ".claude" / "settings.json", '{\n  "model": "x",\n  oops\n}')
    write(tmp_path / ".sous" / "settings.json", {"model": "ok"})
    cfg = settings.load(tmp_path)
    assert cfg.get("model") == "ok" and cfg.problems == []
    assert len(cfg.errors) == 1 and "settings.json:3:3: invalid JSON" in cfg.errors[0]


def test_bare_skips_discovery(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path / ".sous" / "settings.json", {"model": "x"})
    assert settings.load(tmp_path, bare=True).get("model") is None


def test_sources_keep_only_the_named_layers_and_the_cli_layer(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    project = tmp_path / "proj"
    write(home / ".claude" / "settings.json", {"permissions": {"allow": ["Read"]}})
    write(project / ".claude" / "settings.json", {"permissions": {"deny": ["Bash"]}})
    write(project / ".claude" / "settings.local.json", '{"not json')
    only_project = settings.load(project, sources=["project"])
    assert only_project.get("permissions.deny") == ["Bash"] and only_project.get("permissions.allow") is None
    assert only_project.errors == []  # the local file, left out, is not read at all
    only_user = settings.load(project, '{"model": "m"}', sources=["user"])
    assert only_user.get("permissions.allow") == ["Read"] and only_user.get("permissions.deny") is None
    assert only_user.get("model") == "m"
    none = settings.load(project, sources=[])
    assert none.get("permissions") is None and none.errors == []
    assert len(settings.load(project).errors) == 1  # all layers by default, the broken one included
