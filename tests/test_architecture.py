"""The layering of ARCHITECTURE.md, read from the code: who may import whom, and that only the
runtime changes a session."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import sous

SRC = Path(sous.__file__).resolve().parent

LAYERS = {
    "core": 0,
    "records": 0,
    "paths": 1,
    "labels": 1,
    "settings": 1,
    "models": 1,
    "tools": 1,
    "store": 1,
    "worktree": 1,
    "testing": 1,
    "permissions": 2,
    "hooks": 2,
    "mcp": 2,
    "agents": 2,
    "context": 2,
    "checkpoints": 2,
    "plugins": 2,
    "runtime": 3,
    "ui": 4,
    "team": 4,
    "batch": 4,
    "mcp.serve": 4,
    "inspect_cli": 4,
    "api": 4,
    "cli": 5,
    "mcp.cli": 5,
    "__main__": 5,
}
"""A unit may import units of lower layers, and of its own layer except among front ends (layer 4),
which are independent of each other: only the command line picks one."""

SESSION_NAME = re.compile(r"(^|_)session$|^s$")
MUTATORS = {"append", "extend", "insert", "remove", "pop", "clear", "update", "setdefault", "add", "discard"}


def unit_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "sous" or len(parts) == 1:
        return None
    if parts[1] == "mcp" and len(parts) > 2 and parts[2] in ("serve", "cli"):
        return f"mcp.{parts[2]}"
    return parts[1]


def imports(path: Path) -> set[str]:
    """Every sous module `path` imports, at the top or inside functions."""
    package = ".".join(("sous", *path.relative_to(SRC).with_suffix("").parts[:-1]))
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("sous.")}


def layer_violations() -> list[str]:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(("sous", *path.relative_to(SRC).with_suffix("").parts))
        here = unit_of(module.removesuffix(".__init__"))
        if here is None:
            continue  # the package's lazy re-exports
        assert here in LAYERS, f"{path}: a new unit; give it a layer in ARCHITECTURE.md and here"
        for target in imports(path):
            there = unit_of(target)
            if there is None or there == here or there not in LAYERS:
                continue
            same = LAYERS[there] == LAYERS[here] and LAYERS[here] != LAYERS["ui"]
            ok = LAYERS[there] < LAYERS[here] or same
            if not ok:
                problems.append(f"{module} imports {target} ({here} may not import {there})")
    return problems


def _is_session(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return bool(SESSION_NAME.search(node.id))
    if isinstance(node, ast.Attribute):
        return bool(SESSION_NAME.search(node.attr))
    if isinstance(node, ast.Subscript):
        return isinstance(node.value, (ast.Name, ast.Attribute)) and (
            getattr(node.value, "id", "") or getattr(node.value, "attr", "")
        ).endswith("sessions")
    return False


def _rooted_at_session(node: ast.expr) -> bool:
    """`session.x`, `self.session.x.y`, `sessions[name].x`: an attribute chain on a session."""
    while isinstance(node, ast.Attribute):
        if _is_session(node.value):
            return True
        node = node.value
    return False


def session_violations(source: str, where: str) -> list[str]:
    """Assignments to a session's attributes, mutation of its collections, private attributes and
    reaching through `.agent.ctx` — everything a client of the Session API must not do."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _rooted_at_session(target):
                    problems.append(f"{line}: assigns to a session's {target.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
            and isinstance(node.func.value, ast.Attribute)
            and _rooted_at_session(node.func.value)
        ):
            problems.append(f"{line}: changes a session's {node.func.value.attr} in place")
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_") and not node.attr.startswith("__") and _is_session(node.value):
                problems.append(f"{line}: reads a session's private {node.attr}")
            if node.attr == "ctx" and isinstance(node.value, ast.Attribute) and node.value.attr == "agent":
                problems.append(f"{line}: reaches through .agent.ctx")
    return problems


def test_layers_import_only_what_architecture_md_allows():
    assert layer_violations() == []


def test_nothing_outside_the_runtime_changes_a_session():
    # Layers below the runtime cannot hold a Session (they may not import it); the clients are above.
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        module = ".".join(("sous", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
        if LAYERS.get(unit_of(module) or "", 0) > LAYERS["runtime"]:
            problems += session_violations(path.read_text("utf-8"), str(path.relative_to(SRC)))
    assert problems == []


def test_the_session_checks_catch_what_they_are_for():
    bad = """
session.agent.ctx.project_dir = folder
self.session.permissions.rules.allow.extend(rules)
s.convo.inbox.clear()
self.sessions[name].agent = other
session.totals += 1
print(session._permissions)
tools = x.agent.ctx.state
"""
    found = session_violations(bad, "bad.py")
    assert sorted({int(f.split(":")[1]) for f in found}) == [2, 3, 4, 5, 6, 7, 8], found
    good = "session.set_mode('plan')\nawait session.send(text)\nmode = session.mode\nself.session.queue(t)\n"
    assert session_violations(good, "good.py") == []


def test_the_layer_table_matches_architecture_md():
    text = (SRC.parents[1] / "ARCHITECTURE.md").read_text("utf-8")
    for unit in LAYERS:
        assert f"`{unit}`" in text, f"ARCHITECTURE.md does not place {unit}"


def test_the_readme_layout_map_names_every_unit():
    readme = (SRC.parents[1] / "README.md").read_text("utf-8")
    layout = readme.split("## How it is built", 1)[1].split("```", 2)[1]
    named = {line.split()[0] for line in layout.splitlines() if line.startswith("  ") and not line.startswith("   ")}
    units = {
        p.name + ("/" if p.is_dir() else "")
        for p in SRC.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
    }
    assert units - named == set(), "README's layout map misses these"
    assert named - units == set(), "README's layout map names what does not exist"
