"""The project's test command: guessed from its files for /init, and read back from AGENTS.md.

/init asks the model to write a `Test command: \\`...\\`` line into AGENTS.md, suggesting what
`guess` finds; the Stop-hook recipe in the README runs the command `read` finds there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

LINE = re.compile(r"^\s*(?:[-*]\s*)?\**Test command:?\**:?\s*`([^`]+)`", re.M)
NPM_PLACEHOLDER = "no test specified"


def guess(root: str | Path) -> str | None:
    """The command that most likely runs this project's whole test suite, or None. A Makefile's
    `test` target wins (the project's own choice), then each ecosystem's usual command."""
    root = Path(root)
    makefile = root / "Makefile"
    if makefile.is_file() and re.search(r"^test\s*:", makefile.read_text("utf-8", "replace"), re.M):
        return "make test"
    package = root / "package.json"
    if package.is_file():
        try:
            script = (json.loads(package.read_text("utf-8")).get("scripts") or {}).get("test")
        except (ValueError, AttributeError):
            script = None
        if isinstance(script, str) and NPM_PLACEHOLDER not in script:
            return "npm test"
    if (root / "Cargo.toml").is_file():
        return "cargo test"
    if (root / "go.mod").is_file():
        return "go test ./..."
    if _uses_pytest(root):
        return "python -m pytest"
    return None


def _uses_pytest(root: Path) -> bool:
    for name in ("pytest.ini", "conftest.py"):
        if (root / name).is_file():
            return True
    for name in ("pyproject.toml", "setup.cfg", "tox.ini"):
        path = root / name
        if path.is_file() and "pytest" in path.read_text("utf-8", "replace"):
            return True
    tests = root / "tests"
    return tests.is_dir() and any(tests.glob("test_*.py"))


def read(agents_md: str | Path) -> str | None:
    """The command on AGENTS.md's `Test command:` line, or None."""
    try:
        match = LINE.search(Path(agents_md).read_text("utf-8"))
    except OSError:
        return None
    return match.group(1).strip() if match else None
