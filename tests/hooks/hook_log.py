"""A hook script that logs the input it is given, and `sous -p` runs that read the log back: shared
by the tests of one hook event each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sous

SRC = str(Path(sous.__file__).resolve().parents[1])
PY = sys.executable
# Logs its stdin, then prints argv[1] (if any) and exits with argv[2] (if any).
LOG_HOOK = (
    "import os, sys\n"
    "open(os.environ['HOOK_LOG'], 'a').write(sys.stdin.read() + '\\n')\n"
    "print(sys.argv[1] if len(sys.argv) > 1 else '')\n"
    "sys.exit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)\n"
)


def project_with_hook(tmp_path: Path) -> Path:
    """A fresh project folder, with the logging hook script beside it."""
    work = tmp_path / "project"
    work.mkdir()
    (tmp_path / "log_hook.py").write_text(LOG_HOOK)
    return work


def logging(tmp_path: Path, output: str = "", code: int = 0) -> dict:
    """A command handler running the logging hook: it prints `output` and exits with `code`."""
    quoted = "'" + output.replace("'", "'\\''") + "'"
    return {"type": "command", "command": f"{PY} {tmp_path / 'log_hook.py'} {quoted} {code}"}


def run_sous(
    project: Path, turns: list, settings: dict, *flags: str, prompt: str = "go"
) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """`sous -p PROMPT` in stream-json with the scripted `turns` and `settings`: (the run, the hook inputs logged)."""
    script, log = project.parent / "turns.json", project.parent / "hook.log"
    script.write_text(json.dumps(turns))
    log.unlink(missing_ok=True)
    result = subprocess.run(
        [PY, "-m", "sous", "-p", prompt, "--model", f"scripted:{script}", "--output-format", "stream-json",
         "--verbose", "--settings", json.dumps(settings), *flags],
        cwd=project, env={**os.environ, "PYTHONPATH": SRC, "HOOK_LOG": str(log)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    payloads = [json.loads(line) for line in log.read_text().splitlines() if line] if log.exists() else []
    return result, payloads
