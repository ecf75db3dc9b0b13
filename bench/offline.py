"""Ten trivial tasks on the built-in offline model, end to end through sous's real loop and tools.

Run: `python bench/offline.py [--protocol fenced|json|both] [--model local:smollm2]`.
Reports per protocol: success rate, median seconds per task, tokens per second, model load
time and peak memory. Each task runs in a fresh folder with bypassPermissions and at most 6 turns.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

Check = Callable[[Path, str], bool]


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _runs(work: Path, code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, timeout=20).stdout


TASKS: list[tuple[str, dict[str, str], str, Check]] = [
    ("create a file", {}, "Create a file named hello.txt containing the text: hello world",
     lambda w, a: "hello world" in _read(w / "hello.txt")),
    ("write a script", {}, "Create a Python script greet.py that prints hi",
     lambda w, a: _runs(w, "import runpy; runpy.run_path('greet.py')").strip() == "hi"),
    ("count lines", {"data.txt": "alpha\nbeta\ngamma\n"}, "How many lines does data.txt have?",
     lambda w, a: re.search(r"\b(3|three)\b", a.lower()) is not None),
    ("read a value", {"config.py": "NAME = 'demo'\nVERSION = '1.4.2'\n"}, "What is VERSION in config.py?",
     lambda w, a: "1.4.2" in a),
    ("fix a bug", {"calc.py": "def add(a, b):\n    return a - b\n"},
     "calc.py has a bug: add(2, 3) should return 5. Fix it.",
     lambda w, a: _runs(w, "from calc import add; print(add(2, 3))").strip() == "5"),
    ("rename a function", {"a.py": "def old_name():\n    return 1\n", "b.py": "from a import old_name\nprint(old_name())\n"},
     "Rename the function old_name to new_name in a.py and b.py.",
     lambda w, a: "new_name" in _read(w / "a.py") and "new_name" in _read(w / "b.py")
     and "old_name" not in _read(w / "a.py") + _read(w / "b.py")),
    ("make a folder", {}, "Create a directory named build.", lambda w, a: (w / "build").is_dir()),
    ("delete a file", {"temp.log": "junk\n", "keep.txt": "keep\n"}, "Delete the file temp.log.",
     lambda w, a: not (w / "temp.log").exists() and (w / "keep.txt").exists()),
    ("append a line", {"list.txt": "first\nsecond\n"}, "Add a line with the word third at the end of list.txt.",
     lambda w, a: _read(w / "list.txt").splitlines()[-1:] == ["third"] and "first" in _read(w / "list.txt")),
    ("largest file", {"small.txt": "x\n", "big.txt": "x" * 5000 + "\n", "mid.txt": "x" * 100 + "\n"},
     "Which file in this folder is the largest?",
     lambda w, a: "big.txt" in a and "small.txt" not in a and "mid.txt" not in a),
]


async def run_task(model: str, files: dict[str, str], prompt: str, check: Check) -> dict:
    from sous.runtime import Options, open_session
    from sous.core import MessageAdded

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, text in files.items():
            (work / name).write_text(text)
        session = open_session(Options(cwd=str(work), model=model, permission_mode="bypassPermissions",
                                       max_turns=6, persist=False))
        output_tokens = 0

        def count(event: object) -> None:
            nonlocal output_tokens
            if isinstance(event, MessageAdded) and getattr(event.message, "usage", None):
                output_tokens += event.message.usage.output_tokens

        session.subscribe(count)
        started = time.perf_counter()
        end = await session.send(prompt)
        elapsed = time.perf_counter() - started
        session.close()
        answer = end.last_message.text if end.last_message else ""
        ok = end.reason == "end_turn" and check(work, answer)
        return {"ok": ok, "seconds": elapsed, "output_tokens": output_tokens, "turns": end.num_turns,
                "api_seconds": end.duration_api_ms / 1000, "answer": answer[:120]}


def bench(model: str, protocol: str, verbose: bool) -> dict:
    os.environ["SOUS_LOCAL_PROTOCOL"] = protocol
    from sous.models import local

    started = time.perf_counter()
    local._load(local.prepare(model.partition(":")[2] or local.DEFAULT_NAME))
    load_s = time.perf_counter() - started
    results = []
    for name, files, prompt, check in TASKS:
        result = asyncio.run(run_task(model, files, prompt, check))
        results.append(result)
        if verbose:
            print(f"  [{protocol}] {name:18} {'ok ' if result['ok'] else 'FAIL'} {result['seconds']:5.1f}s "
                  f"{result['turns']} turns  {result['answer']!r}", file=sys.stderr)
    tokens = sum(r["output_tokens"] for r in results)
    api_s = sum(r["api_seconds"] for r in results)
    return {"protocol": protocol, "success": f"{sum(r['ok'] for r in results)}/{len(results)}",
            "median_s_per_task": round(statistics.median(r["seconds"] for r in results), 2),
            "output_tokens_per_s": round(tokens / api_s, 1) if api_s else None,
            "load_s": round(load_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", choices=("fenced", "json", "both"), default="both")
    parser.add_argument("--model", default="local:qwen2.5-coder-0.5b")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args()
    protocols = ["fenced", "json"] if args.protocol == "both" else [args.protocol]
    report = [bench(args.model, p, not args.quiet) for p in protocols]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"model": args.model, "results": report, "peak_rss_mb": round(peak, 1)}, indent=2))


if __name__ == "__main__":
    main()
