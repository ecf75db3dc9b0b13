"""`--json-schema` (the SDK's `output_format`): the final answer as a validated JSON object."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest
from claude_agent_sdk import ResultMessage, query

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "stars": {"type": "integer", "minimum": 0}},
    "required": ["name", "stars"],
    "additionalProperties": False,
}


def _answer(data: dict, call_id: str = "so1") -> dict:
    return {"tool_calls": [{"name": "StructuredOutput", "input": data, "id": call_id}]}


async def _collect(prompt: str, options) -> list:
    return [m async for m in query(prompt=prompt, options=options)]


def _run_cli(cli: str, project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cli, *args], check=False, input="", capture_output=True, text=True, cwd=project, timeout=60)


@pytest.mark.parametrize(
    ("schema", "says"),
    [
        ("{not json", "--json-schema is not valid JSON"),
        ("[1, 2]", "--json-schema must be a JSON object"),
        ('"text"', "--json-schema must be a JSON object"),
        ('{"type": 5}', "--json-schema is not a valid JSON Schema"),
        ('{"type": "object", "required": "name"}', "--json-schema is not a valid JSON Schema"),
    ],
)
def test_a_malformed_schema_is_one_line_and_exit_2(cli, project, script, schema, says):
    run = _run_cli(cli, project, "-p", "hi", "--model", script([{"text": "x"}]), "--json-schema", schema)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("sous: ") and says in run.stderr and run.stderr.count("\n") == 1


def test_json_schema_without_print_or_stream_input_is_refused(cli, project):
    run = _run_cli(cli, project, "--json-schema", json.dumps(SCHEMA))
    assert run.returncode == 2 and "--json-schema needs -p" in run.stderr


def test_query_with_output_format_gets_the_structured_output(options, script):
    opts = options(
        script([_answer({"name": "sous", "stars": 7})]), output_format={"type": "json_schema", "schema": SCHEMA}
    )
    messages = asyncio.run(_collect("describe the repo", opts))
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success" and not result.is_error
    assert result.structured_output == {"name": "sous", "stars": 7}
    assert result.result == '{"name":"sous","stars":7}'  # as Claude Code: the object as compact JSON
    assert result.num_turns == 1  # a valid call ends the run: no further model request


def test_an_output_that_does_not_fit_is_an_error_the_model_corrects(options, script):
    turns = [
        _answer({"name": "sous", "stars": -1}, "a"),
        _answer({"name": "sous"}, "b"),
        _answer({"name": "s", "stars": 3}),
    ]
    opts = options(script(turns), output_format={"type": "json_schema", "schema": SCHEMA})
    messages = asyncio.run(_collect("describe", opts))
    results = [b for m in messages if hasattr(m, "content") and isinstance(m.content, list) for b in m.content]
    errors = [b for b in results if getattr(b, "is_error", None)]
    assert len(errors) == 2 and "stars" in str(errors[0].content) and "stars" in str(errors[1].content)
    assert messages[-1].subtype == "success" and messages[-1].structured_output == {"name": "s", "stars": 3}


def test_a_model_that_never_calls_the_tool_is_reminded_once_then_the_run_is_an_error(options, script):
    opts = options(
        script([{"text": "here it is in prose"}, {"text": "still prose"}]),
        output_format={"type": "json_schema", "schema": SCHEMA},
    )
    messages = asyncio.run(_collect("describe", opts))
    result = messages[-1]
    assert result.subtype == "error_max_structured_output_retries" and result.is_error
    assert result.structured_output is None
    (path,) = Path(os.environ["SOUS_HOME"]).rglob(f"{result.session_id}.jsonl")
    assert path.read_text().count("You MUST call the StructuredOutput tool") == 1


def test_too_many_failed_calls_end_the_run_with_the_retries_error(cli, project, script):
    turns = [_answer({"name": 1}, f"c{i}") for i in range(5)]
    run = subprocess.run(
        [cli, "-p", "go", "--output-format", "json", "--model", script(turns), "--json-schema", json.dumps(SCHEMA)],
        check=False,
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
        env={**os.environ, "MAX_STRUCTURED_OUTPUT_RETRIES": "2"},
    )
    result = json.loads(run.stdout)
    assert run.returncode == 1 and result["subtype"] == "error_max_structured_output_retries"
    (error,) = result["errors"]
    assert error.startswith(
        "Failed to provide valid structured output after 2 attempts — last StructuredOutput error: "
    )
    assert "stars: required argument is missing" in error
    assert result["num_turns"] == 2 and "structured_output" not in result


def test_text_output_prints_the_object_as_json(cli, project, script):
    model = script([{"text": "let me answer"}, _answer({"name": "sous", "stars": 1})])
    run = _run_cli(cli, project, "-p", "go", "--model", model, "--json-schema", json.dumps(SCHEMA))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"name": "sous", "stars": 1}


def test_a_schema_with_combinators_is_checked_in_full(cli, project, script):
    schema = {"type": "object", "properties": {"v": {"anyOf": [{"type": "string", "pattern": "^v[0-9]+$"}]}}}
    model = script([_answer({"v": "x1"}, "a"), _answer({"v": "v2"}, "b")])
    run = _run_cli(
        cli, project, "-p", "go", "--output-format", "json", "--model", model, "--json-schema", json.dumps(schema)
    )
    result = json.loads(run.stdout)
    assert result["structured_output"] == {"v": "v2"} and result["num_turns"] == 2


def test_each_prompt_of_a_client_session_gets_its_own_structured_output(options, script):
    from claude_agent_sdk import ClaudeSDKClient

    turns = [_answer({"name": "first", "stars": 1}, "a"), {"text": "no tool this time"}, {"text": "still none"}]
    opts = options(script(turns), output_format={"type": "json_schema", "schema": SCHEMA})

    async def main():
        async with ClaudeSDKClient(opts) as client:
            results = []
            for prompt in ("one", "two"):
                await client.query(prompt)
                results.append([m async for m in client.receive_response()][-1])
            return results

    one, two = asyncio.run(main())
    assert one.subtype == "success" and one.structured_output == {"name": "first", "stars": 1}
    assert two.subtype == "error_max_structured_output_retries" and two.structured_output is None
    assert two.session_id == one.session_id
