"""The stdin protocol spoken line by line, for what the SDK never sends: malformed lines, unknown
requests, a program that never answers; and many sub-agents asking the same at once."""

from __future__ import annotations

import json
import subprocess
import time

from stream_json import FLAGS
from stream_json import lines as _lines
from stream_json import start as _start


def _user(text: str) -> str:
    return json.dumps({"type": "user", "message": {"role": "user", "content": text}, "parent_tool_use_id": None})


def test_malformed_lines_and_unknown_requests_get_clear_answers_and_the_turn_still_runs(cli, project, script):
    proc = _start(cli, project, script([{"text": "answered"}]))
    out, err = proc.communicate(
        "\n".join(
            [
                "{not json",
                json.dumps(
                    {"type": "control_request", "request_id": "r1", "request": {"subtype": "rewind_everything"}}
                ),
                json.dumps({"type": "control_request", "request": {"subtype": "interrupt"}}),
                json.dumps({"type": "user", "message": {"role": "user", "content": [{"type": "video"}]}}),
                json.dumps({"type": "mystery"}),
                json.dumps(
                    {
                        "type": "control_request",
                        "request_id": "r2",
                        "request": {"subtype": "set_permission_mode", "mode": "yolo"},
                    }
                ),
                _user("hello"),
            ]
        )
        + "\n",
        timeout=60,
    )
    assert proc.returncode == 0
    lines = _lines(out)
    errors = {
        line["response"]["request_id"]: line["response"]["error"]
        for line in lines
        if line["type"] == "control_response" and line["response"]["subtype"] == "error"
    }
    assert "unsupported control request subtype 'rewind_everything'" in errors["r1"]
    assert "yolo" in errors["r2"]
    assert lines[-1]["type"] == "result" and lines[-1]["result"] == "answered"
    problems = err.splitlines()
    assert any("stdin line 1 is not JSON" in p for p in problems)
    assert any('needs a "request_id"' in p for p in problems)
    assert any("unsupported content block" in p for p in problems)
    assert any("unknown message type 'mystery'" in p for p in problems)


def test_a_program_that_never_answers_can_use_tool_gets_a_denial_after_the_timeout(cli, project, script):
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "echo x > out.txt"}, "id": "c1"}]},
        {"text": "gave up"},
    ]
    proc = _start(
        cli, project, script(turns), "--permission-prompt-tool", "stdio", env={"SOUS_SDK_REPLY_TIMEOUT_S": "1"}
    )
    proc.stdin.write(_user("write") + "\n")
    proc.stdin.flush()
    started = time.monotonic()
    lines = []
    while not lines or lines[-1]["type"] != "result":
        lines.append(json.loads(proc.stdout.readline()))
    elapsed = time.monotonic() - started
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    asked = [line for line in lines if line["type"] == "control_request"]
    assert asked[0]["request"]["subtype"] == "can_use_tool" and asked[0]["request"]["tool_name"] == "Bash"
    assert any(
        line["type"] == "control_cancel_request" and line["request_id"] == asked[0]["request_id"] for line in lines
    )
    results = [b for line in lines if line["type"] == "user" for b in line["message"]["content"]]
    assert results[0]["is_error"] and "did not answer can_use_tool within 1s" in results[0]["content"]
    assert not (project / "out.txt").exists() and elapsed < 20


def test_closing_stdin_while_a_question_waits_denies_it_at_once_and_exits_zero(cli, project, script):
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": "echo x > out.txt"}, "id": "c1"}]},
        {"text": "stopped"},
    ]
    proc = _start(cli, project, script(turns), "--permission-prompt-tool", "stdio")
    started = time.monotonic()
    out, _ = proc.communicate(_user("write") + "\n", timeout=30)
    assert proc.returncode == 0 and time.monotonic() - started < 20
    lines = _lines(out)
    results = [b for line in lines if line["type"] == "user" for b in line["message"]["content"]]
    assert results[0]["is_error"] and "closed its input" in results[0]["content"]
    assert lines[-1]["type"] == "result" and not (project / "out.txt").exists()


def test_an_answer_to_no_request_is_reported_not_obeyed(cli, project, script):
    proc = _start(cli, project, script([{"text": "fine"}]))
    out, err = proc.communicate(
        "\n".join(
            [
                json.dumps(
                    {
                        "type": "control_response",
                        "response": {"subtype": "success", "request_id": "forged", "response": {"behavior": "allow"}},
                    }
                ),
                _user("hi"),
            ]
        )
        + "\n",
        timeout=60,
    )
    assert proc.returncode == 0 and "answers no waiting request" in err
    assert _lines(out)[-1]["result"] == "fine"


def test_prompt_argument_or_text_output_with_stream_json_input_is_refused(cli, project):
    for extra in (["--output-format", "text"], ["a prompt"]):
        run = subprocess.run(
            [cli, *FLAGS, *extra], check=False, input="", capture_output=True, text=True, cwd=project, timeout=60
        )
        assert run.returncode == 2 and "--input-format stream-json needs --output-format stream-json" in run.stderr


def test_with_dash_p_too_the_prompts_run_in_one_session_and_stdin_end_exits_zero(cli, project, script):
    proc = _start(cli, project, script([{"text": "a"}, {"text": "b"}]), "-p")
    out, err = proc.communicate(_user("one") + "\n" + _user("two") + "\n", timeout=60)
    assert proc.returncode == 0, err
    lines = _lines(out)
    assert [line["type"] for line in lines] == [
        "system",
        "assistant",
        "result",
    ] * 2  # an init per prompt, as in Claude Code
    results = [line for line in lines if line["type"] == "result"]
    assert [r["result"] for r in results] == ["a", "b"] and results[0]["session_id"] == results[1]["session_id"]


def test_a_session_that_cannot_open_ends_at_once_with_one_line_even_if_stdin_stays_open(cli, project):
    proc = _start(cli, project, "nonsense-provider:model")
    proc.stdin.write(_user("hi") + "\n")
    proc.stdin.flush()  # and stdin is left open: sous must not wait for its end
    assert proc.wait(timeout=30) == 1
    err = proc.stderr.read()
    assert err.startswith("sous: ") and "nonsense-provider" in err and proc.stdout.read() == ""
    proc.stdin.close()


QUEUE_SHARED = "echo line >> shared.txt"
QUEUE_OTHER = "touch other.txt"


def _five_agent_turns() -> list[dict]:
    agents = [
        {
            "id": f"agent{n}",
            "name": "Agent",
            "input": {"description": f"job {n}", "prompt": f"do job {n}", "subagent_type": "general-purpose"},
        }
        for n in range(1, 6)
    ]
    first = [QUEUE_SHARED, QUEUE_SHARED, QUEUE_OTHER, QUEUE_SHARED, QUEUE_SHARED]
    return [
        {"tool_calls": agents},
        *({"tool_calls": [{"name": "Bash", "input": {"command": c, "description": "write it"}}]} for c in first),
        *({"text": "job done"} for _ in range(5)),
        {"text": "all five finished"},
    ]


def test_each_parallel_sub_agent_asks_the_program_on_its_own_labelled(cli, project, script):
    """The program is told which agent asks (`agent_id`) and may answer each differently: one
    agent's answer never reaches another, so four agents asking the same are asked four times."""
    proc = _start(cli, project, script(_five_agent_turns()), "--permission-prompt-tool", "stdio")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(_user("run five jobs") + "\n")
    proc.stdin.flush()
    lines: list[dict] = [{"type": "start"}]
    asked: list[dict] = []
    while lines[-1]["type"] != "result":
        line = json.loads(proc.stdout.readline())
        lines.append(line)
        if line["type"] == "control_request" and line["request"]["subtype"] == "can_use_tool":
            asked.append(line)
            allow = line["request"]["input"]["command"] == QUEUE_OTHER
            response = {"behavior": "allow", "updatedInput": line["request"]["input"]} if allow else None
            body = response or {"behavior": "deny", "message": "not that file"}
            answer = {"subtype": "success", "request_id": line["request_id"], "response": body}
            proc.stdin.write(json.dumps({"type": "control_response", "response": answer}) + "\n")
            proc.stdin.flush()
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert sorted(r["request"]["input"]["command"] for r in asked) == sorted([QUEUE_OTHER] + [QUEUE_SHARED] * 4)
    assert all(len(r["request"]["agent_id"]) == 12 for r in asked)  # which sub-agent asks
    assert len({r["request"]["agent_id"] for r in asked}) == 5
    denials = lines[-1]["permission_denials"]
    assert [d["tool_input"]["command"] for d in denials] == [QUEUE_SHARED] * 4
    assert lines[-1]["result"] == "all five finished"
    assert (project / "other.txt").exists() and not (project / "shared.txt").exists()


def test_malformed_mcp_servers_in_initialize_are_an_error_answer_and_a_later_initialize_still_works(
    cli, project, script
):
    def initialize(request_id: str, **fields) -> str:
        request = {"subtype": "initialize", **fields}
        return json.dumps({"type": "control_request", "request_id": request_id, "request": request})

    proc = _start(cli, project, script([{"text": "answered"}]))
    out, err = proc.communicate(
        "\n".join(
            [
                initialize("bad1", sdkMcpServers="calc"),
                initialize("bad2", mcpServers=["not", "an", "object"]),
                initialize("good", sdkMcpServers=[], mcpServers={}),
                _user("hello"),
            ]
        )
        + "\n",
        timeout=60,
    )
    assert proc.returncode == 0, err
    answers = {
        line["response"]["request_id"]: line["response"] for line in _lines(out) if line["type"] == "control_response"
    }
    assert answers["bad1"]["subtype"] == "error" and "sdkMcpServers" in answers["bad1"]["error"]
    assert answers["bad2"]["subtype"] == "error" and "mcpServers" in answers["bad2"]["error"]
    assert answers["good"]["subtype"] == "success" and answers["good"]["response"]["mcp_servers_applied"] is True
    assert [line["result"] for line in _lines(out) if line["type"] == "result"] == ["answered"]
