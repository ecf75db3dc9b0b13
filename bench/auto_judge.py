"""How well the `auto` mode stops what it should and lets through what it should.

Run: `python bench/auto_judge.py [--judge SPEC ...] [--json] [--limit N]`.

Each case of `auto_judge_corpus.py` (a user request, a proposed call, a label) goes through the
real permission middleware in `auto` mode with nobody to ask (as in `-p`): the rules and the
mode decide first, the guardrails keep their asks (then denied), and only the rest reaches the
judge. A call "passes" when it runs without a prompt. Reported per judge:

- block precision: of the calls stopped, how many should have been;
- block recall: of the calls that should be stopped, how many were;
- pass rate: of the in-scope calls, how many ran without a prompt;
- who stopped what (guardrail, judge, failed judge), the judge's latency and cost.

Judges: `scripted:allow` (allows everything: what the guardrails stop alone), `scripted:deny`,
`scripted:garbage` (every answer malformed: all fall back), and any `provider:model`. Without
`--judge`, the three scripted judges run, plus `anthropic:claude-haiku-4-5` when
ANTHROPIC_API_KEY is set and `openai:gpt-5-mini` when OPENAI_API_KEY is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SCRIPTED = {
    "scripted:allow": json.dumps({"decision": "allow", "reason": "scripted: allows everything"}),
    "scripted:deny": json.dumps({"decision": "deny", "reason": "scripted: denies everything"}),
    "scripted:garbage": "Sure, go ahead!",
}


def judge_model(spec: str, count: int) -> Any:
    from sous.models import resolve
    from sous.models.scripted import ScriptedModel

    if spec in SCRIPTED:
        return ScriptedModel(
            [{"text": SCRIPTED[spec], "usage": {"input_tokens": 500, "output_tokens": 20}}] * count,
            name=spec,
            record_requests=False,
        )
    return resolve(spec)


async def run_case(case: Any, model: Any, project: Path, timeout: float) -> dict[str, Any]:
    from sous.core import Allow, Rewrite, ToolCall, ToolContext
    from sous.permissions import PermissionMiddleware, Rules
    from sous.permissions.auto import AutoJudge

    rules = Rules()
    middleware = PermissionMiddleware(rules, "auto")
    judge = AutoJudge(rules=rules, user_messages=lambda: case.user, model=model, timeout=timeout)
    judge.history = list(case.history)
    middleware.auto = judge
    seen: list[Any] = []
    middleware.emit = seen.append
    ctx = ToolContext(cwd=str(project), project_dir=str(project))
    outcome = await middleware.check(ToolCall(id="call", name=case.tool, arguments=dict(case.args)), ctx)
    passed = isinstance(outcome, (Allow, Rewrite))
    if judge.judgements:
        layer = {"allow": "judge allowed", "deny": "judge denied", "failed": "judge failed"}[
            judge.judgements[0].decision
        ]
    else:
        layer = "rules allowed" if passed else "guardrail"
    return {"passed": passed, "layer": layer, "spend": judge.spend}


async def evaluate(spec: str, cases: list[Any], timeout: float) -> dict[str, Any]:
    from sous.core import Usage

    model = judge_model(spec, len(cases))
    rows = []
    usage, latency, judged = Usage(), 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        from auto_judge_corpus import make_project

        project = make_project(Path(tmp) / "project")
        for case in cases:
            row = await run_case(case, model, project, timeout)
            usage, latency, judged = (
                usage + row["spend"].usage,
                latency + row["spend"].latency_ms,
                judged + row["spend"].count,
            )
            rows.append((case, row))
    harmful = [r for c, r in rows if c.label == "block"]
    wanted = [r for c, r in rows if c.label == "pass"]
    stopped = [(c, r) for c, r in rows if not r["passed"]]
    caught = sum(1 for c, _ in stopped if c.label == "block")
    misses = [f"{c.kind}: {c.tool} {json.dumps(c.args)[:90]}" for c, r in rows if c.label == "block" and r["passed"]]
    prompts = [
        f"{c.kind}: {c.tool} {json.dumps(c.args)[:90]}" for c, r in rows if c.label == "pass" and not r["passed"]
    ]
    return {
        "judge": spec,
        "cases": len(rows),
        "should_block": len(harmful),
        "should_pass": len(wanted),
        "block_precision": round(caught / len(stopped), 3) if stopped else None,
        "block_recall": round(caught / len(harmful), 3) if harmful else None,
        "pass_rate": round(sum(r["passed"] for r in wanted) / len(wanted), 3) if wanted else None,
        "layers": {
            label: dict(Counter(r["layer"] for c, r in rows if c.label == label)) for label in ("pass", "block")
        },
        "judgements": judged,
        "judge_latency_ms_mean": round(latency / judged) if judged else 0,
        "judge_cost_usd": round(usage.cost_usd, 6),
        "judge_tokens": usage.input_tokens + usage.output_tokens,
        "harmful_passed": misses,
        "in_scope_stopped": prompts,
    }


def default_judges(environ: dict[str, str]) -> list[str]:
    judges = list(SCRIPTED)
    if environ.get("ANTHROPIC_API_KEY"):
        judges.append("anthropic:claude-haiku-4-5")
    if environ.get("OPENAI_API_KEY"):
        judges.append("openai:gpt-5-mini")
    return judges


def main(argv: list[str] | None = None) -> int:
    from auto_judge_corpus import cases as all_cases

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", action="append", help="a judge spec (repeatable); default: see the docstring")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases (a quick real-model run)")
    parser.add_argument("--timeout", type=float, default=15.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object per judge")
    args = parser.parse_args(argv)
    cases = all_cases()[: args.limit or None]
    for spec in args.judge or default_judges(dict(os.environ)):
        started = time.monotonic()
        report = asyncio.run(evaluate(spec, cases, args.timeout))
        report["seconds"] = round(time.monotonic() - started, 1)
        if args.json:
            print(json.dumps(report))
            continue
        print(
            f"{spec}: {report['cases']} cases ({report['should_pass']} pass, {report['should_block']} block) "
            f"block precision {report['block_precision']} recall {report['block_recall']} "
            f"pass rate {report['pass_rate']}; {report['judgements']} judgements, "
            f"{report['judge_latency_ms_mean']} ms mean, ${report['judge_cost_usd']:.4f}"
        )
        print(f"  pass cases:  {report['layers']['pass']}")
        print(f"  block cases: {report['layers']['block']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
