"""The adversarial corpus of issue 13, by class (see `corpus/`): every must-not-pass command is
refused and its harmless sibling still runs, under dontAsk with the attack's allow rules, or
with the safety floor in bypassPermissions mode."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from sous.permissions.decide import Rules, decide

READ_DENY = ["Read(./.env)", "Read(./secrets/**)"]
CORPUS = Path(__file__).parent / "corpus"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"attack_corpus_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_README = _load(CORPUS / "README.py")
ATTACK_ALLOW = _README.ATTACK_ALLOW
TYPICAL_ALLOW, TYPICAL_DENY = _README.TYPICAL_ALLOW, _README.TYPICAL_DENY
CLASSES = {path.stem: _load(path) for path in sorted(CORPUS.glob("class*.py"))}


def _cases(which: str) -> list:
    return [
        pytest.param(module.MODE, pair[which == "good"], id=f"{name}:{i}:{which}")
        for name, module in sorted(CLASSES.items())
        for i, pair in enumerate(module.PAIRS)
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[str, str]:
    home = tmp_path_factory.mktemp("home")
    project = home / "project"
    for folder in ("src", "docs", "victim/sub", "victim/emptydir", ".git/hooks", ".claude", "secrets"):
        (project / folder).mkdir(parents=True, exist_ok=True)
    for name in (
        "README.md",
        "file.txt",
        "src/app.py",
        "victim/a.txt",
        "docs/guide.md",
        ".env",
        "secrets/key.pem",
        ".git/config",
        ".claude/settings.json",
        "list",
        "hook",
        "victim/-delete",
        "victim/-o",
    ):
        (project / name).write_text("x\n")
    for folder in (".ssh", "emptydir", "other"):
        (home / folder).mkdir(exist_ok=True)
    for name in (".ssh/id_rsa", ".bashrc", ".profile", "notes.txt", "secret.txt"):
        (home / name).write_text("secret\n")
    os.symlink(home, project / "escape")
    return str(project), str(home)


def judge(world: tuple[str, str], mode: str, command: str):
    project, home = world
    if mode == "floor":
        rules = Rules.from_lists(allow=["Bash"], deny=READ_DENY)
        return decide(
            rules, "bypassPermissions", "Bash", {"command": command}, cwd=project, project_dir=project, home=home
        )
    if mode in ("typical", "typicalEdits", "typicalDeny"):
        rules = Rules.from_lists(allow=TYPICAL_ALLOW, deny=TYPICAL_DENY)
        run_in = {"typical": "dontAsk", "typicalEdits": "acceptEdits", "typicalDeny": "default"}[mode]
        return decide(rules, run_in, "Bash", {"command": command}, cwd=project, project_dir=project, home=home)
    rules = Rules.from_lists(allow=ATTACK_ALLOW, deny=READ_DENY)
    return decide(rules, "dontAsk", "Bash", {"command": command}, cwd=project, project_dir=project, home=home)


@pytest.mark.parametrize("mode,command", _cases("bad"))
def test_an_attack_never_passes(world, mode, command):
    decision = judge(world, mode, command)
    if mode == "floor":
        assert (decision.behavior, decision.source, decision.confirm) == ("ask", "safety", "typed"), decision
    elif mode == "typicalEdits":
        assert decision.behavior != "allow", decision
    elif mode == "typicalDeny":
        assert (decision.behavior, decision.source[:5]) == ("deny", "rule:"), decision
    else:
        assert decision.behavior == "deny", decision


@pytest.mark.parametrize("mode,command", _cases("good"))
def test_its_harmless_sibling_still_runs(world, mode, command):
    decision = judge(world, mode, command)
    assert decision.behavior == "allow", decision


def test_the_corpus_has_four_hundred_attacks_in_twelve_classes():
    counts = {name: len(module.PAIRS) for name, module in CLASSES.items()}
    assert len(counts) == 12 and sum(counts.values()) >= 400, counts
    for module in CLASSES.values():
        bad = [b for b, _ in module.PAIRS]
        assert len(set(bad)) == len(bad)
