"""Time to decide a permission for a 20-part compound command (target < 2 ms).

Run: `python bench/permissions.py [--runs 2000]`. The command mixes allowed prefixes, read-only
commands, wrappers, a substitution and a redirection; the decision parses it with the shell
grammar, reads every word's value, checks the files it reads against the project, the safety
floor, the rules and the mode. The first call (loading the grammar) is reported apart. Wall
time and process CPU time are both given: on a shared machine the CPU median is the steadier.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

PARTS = [
    "npm test",
    "pytest -q",
    "git add src/app.py",
    "make build",
    "ls -la",
    "timeout 60 cargo test",
    "echo $(git rev-parse HEAD)",
    "cat README.md | head -5",
    "env CI=1 npm run lint",
    "git status --short",
]
COMMAND = " && ".join(PARTS * 2)
ALLOW = [
    "Bash(npm test *)",
    "Bash(npm test)",
    "Bash(pytest *)",
    "Bash(git add *)",
    "Bash(make *)",
    "Bash(cargo test *)",
    "Bash(npm run *)",
    "Edit(src/**)",
]
DENY = ["Bash(rm -rf *)", "Bash(curl *)"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    from sous.permissions.decide import Rules, decide

    rules = Rules.from_lists(allow=ALLOW, deny=DENY)
    with tempfile.TemporaryDirectory() as project:
        started = time.perf_counter()
        first = decide(rules, "default", "Bash", {"command": COMMAND}, cwd=project, project_dir=project)
        first_ms = (time.perf_counter() - started) * 1000
        times, cpu = [], []
        for _ in range(args.runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            decide(rules, "default", "Bash", {"command": COMMAND}, cwd=project, project_dir=project)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
    print(
        json.dumps(
            {
                "parts": len(PARTS) * 2,
                "decision": first.behavior,
                "first_call_ms": round(first_ms, 2),
                "median_ms": round(statistics.median(times), 3),
                "cpu_median_ms": round(statistics.median(cpu), 3),
                "p95_ms": round(sorted(times)[int(len(times) * 0.95)], 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
