"""`sous team`: two scripted members build against a shared contract with the board as their only
channel; the real `sous team` process, real files, real locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.core import ConfigError
from sous.team import load
from sous.team.board import Board, BoardError

SRC = str(Path(sous.__file__).resolve().parents[1])


def call(name: str, **args) -> dict:
    return {"tool_calls": [{"name": name, "input": args}]}


BACKEND = [
    call("Write", file_path="api/contract.md", content='GET /todos -> [{"id": 1, "title": "..."}]\n'),
    call(
        "PostTask",
        title="Build the page listing GET /todos",
        owner="frontend",
        description="The contract is in api/contract.md",
    ),
    call("SendTeamMessage", to="frontend", text="Contract ready in api/contract.md; task #1 is yours."),
    {"text": "Backend: contract published, waiting for the frontend."},
    call("TeamBoard"),  # woken by the frontend's message
    {"text": "Backend: the page is done; nothing left for me."},
]
FRONTEND = [
    call("WaitForMessages", timeout_s=30),
    call("Read", file_path="api/contract.md"),
    call("Write", file_path="api/hack.py", content="# not my folder\n"),  # refused: nobody to approve it
    call("Write", file_path="web/index.html", content="<ul id=todos></ul><script>fetch('/todos')</script>\n"),
    call("UpdateTask", id=1, state="done", note="web/index.html lists the todos"),
    call("SendTeamMessage", to="backend", text="Page done in web/index.html."),
    {"text": "Frontend: page built against the contract."},
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".sous").mkdir(parents=True)
    (tmp_path / "backend.json").write_text(json.dumps(BACKEND))
    (tmp_path / "frontend.json").write_text(json.dumps(FRONTEND))
    (root / ".sous" / "team.yaml").write_text(f"""\
goal: A todo app, a JSON API and a web page that lists the todos.
members:
  - name: backend
    folder: api
    model: scripted:{tmp_path / "backend.json"}
    prompt: You own the API and its contract.
  - name: frontend
    folder: web/
    model: scripted:{tmp_path / "frontend.json"}
""")
    return root


def run_team(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", "team", *args],
        cwd=project,
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(project.parent), "SOUS_HOME": str(project.parent / "home")},
    )


def test_two_members_finish_a_task_through_the_board(project):
    done = run_team(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "api" / "contract.md").exists() and "fetch('/todos')" in (
        project / "web" / "index.html"
    ).read_text()
    assert not (project / "api" / "hack.py").exists()  # outside frontend's folder, and nobody to approve
    assert "[frontend] ⏺ Write(api/hack.py)" in done.stdout and "all tasks done" in done.stdout
    assert "[frontend]   ✗ Permission to use Write was denied" in done.stdout
    assert "[backend] ⏺ PostTask(Build the page listing GET /todos)" in done.stdout
    board = Board(project / ".sous" / "team")
    (task,) = board.tasks()
    assert task["state"] == "done" and task["owner"] == "frontend" and task["created_by"] == "backend"
    log = [json.loads(line) for line in (project / ".sous" / "team" / "log.jsonl").read_text().splitlines()]
    assert any(e["who"] == "frontend" and "Page done" in e["what"] for e in log)
    assert board.unread("backend") == 0 and board.unread("frontend") == 0


def test_the_board_is_exact_about_who_owns_what(tmp_path):
    board = Board(tmp_path / "team")
    task = board.post("a", "write docs")
    assert task["state"] == "open" and board.claim("b", task["id"])["owner"] == "b"
    with pytest.raises(BoardError, match="belongs to b"):
        board.claim("c", task["id"])
    with pytest.raises(BoardError, match="no task #9"):
        board.update("b", 9, "done")
    board.send("a", "b", "hello")
    assert board.unread("b") == 1 and [m["text"] for m in board.take_mail("b")] == ["hello"]
    assert board.take_mail("b") == [] and Board(tmp_path / "team").tasks()[0]["owner"] == "b"  # on disk


def test_bad_team_files_get_one_line(tmp_path):
    bad = tmp_path / "team.yaml"
    bad.write_text("members:\n  - name: x\n")
    with pytest.raises(ConfigError, match="member 1 needs a `name` and a `folder`"):
        load(bad)
    bad.write_text("members: [{name: x, folder: ../out}]")
    with pytest.raises(ConfigError, match="folder must be a folder inside the project"):
        load(bad)
    bad.write_text("members: [oops")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(bad)


def test_the_person_watching_messages_members_approves_and_sees_the_board(project, tmp_path):
    import pexpect

    solo = [
        {"text": "Backend: waiting for instructions."},
        call("Write", file_path="api/README.md", content="The API.\n"),
        call("Write", file_path="docs/outside.md", content="asks first\n"),
        {"text": "Backend: README written."},
    ]
    (tmp_path / "solo.json").write_text(json.dumps(solo))
    (project / ".sous" / "team.yaml").write_text(
        f"goal: docs\nmembers:\n  - name: backend\n    folder: api\n    model: scripted:{tmp_path / 'solo.json'}\n"
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sous", "team"],
        cwd=str(project),
        encoding="utf-8",
        timeout=30,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "h")},
    )
    child.expect(r"\[backend\] Backend: waiting for instructions\.")
    child.sendline("/board")
    child.expect(r"\(no tasks yet\)")
    child.sendline("@backend please write api/README.md")
    child.expect(r"\[backend\] ⏺ Write\(api/README\.md\)")
    child.expect(r"\? \[backend\] wants to run Write\(docs/outside\.md\).*Allow once\? \[y/N\]")
    child.sendline("y")
    child.expect(r"\[backend\] Backend: README written\.")
    child.expect(r"everyone is idle")  # with a person watching, an idle team waits for them
    child.sendline("/stop")
    child.expect("stopping the team")
    child.expect("no tasks")
    child.expect(pexpect.EOF)
    assert (project / "api" / "README.md").exists() and (project / "docs" / "outside.md").exists()
    log = (project / ".sous" / "team" / "log.jsonl").read_text()
    assert "please write api/README.md" in log


def _readme_team_file() -> str:
    """The team file of the README's worked example, as written there."""
    readme = (Path(SRC).parent / "README.md").read_text("utf-8")
    block = readme.split("```yaml\n# .sous/team.yaml\n", 1)[1].split("```", 1)[0]
    assert "name: frontend" in block and "api/CONTRACT.md" in block
    return block


def test_the_readme_team_example_runs_unattended_to_the_end(tmp_path):
    root = tmp_path / "project"
    (root / ".sous").mkdir(parents=True)
    backend = [
        call("Write", file_path="api/CONTRACT.md", content='GET /todos -> [{"id": 1, "title": "..."}]\n'),
        call("PostTask", title="Build web/index.html against api/CONTRACT.md", owner="frontend"),
        call("SendTeamMessage", to="frontend", text="Contract in api/CONTRACT.md; task #1 is yours."),
        {"text": "Backend: contract published."},
        {"text": "Backend: nothing left for me."},
    ]
    frontend = [
        call("WaitForMessages", timeout_s=30),
        call("ClaimTask", id=1),
        call("Read", file_path="api/CONTRACT.md"),
        call("Write", file_path="web/index.html", content="<ul id=todos></ul>\n"),
        call("UpdateTask", id=1, state="done", note="web/index.html lists the todos"),
        call("SendTeamMessage", to="backend", text="Page done."),
        {"text": "Frontend: done."},
    ]
    (tmp_path / "backend.json").write_text(json.dumps(backend))
    (tmp_path / "frontend.json").write_text(json.dumps(frontend))
    team = _readme_team_file()
    team = team.replace("  - name: backend\n", f"  - name: backend\n    model: scripted:{tmp_path / 'backend.json'}\n")
    team = team.replace(
        "  - name: frontend\n", f"  - name: frontend\n    model: scripted:{tmp_path / 'frontend.json'}\n"
    )
    (root / ".sous" / "team.yaml").write_text(team)
    done = run_team(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[frontend] ⏺ Read(api/CONTRACT.md)" in done.stdout
    assert "✗" not in done.stdout, done.stdout  # the frontend's Read of the backend's contract was allowed
    assert "all tasks done" in done.stdout
    assert (root / "web" / "index.html").exists() and (root / "api" / "CONTRACT.md").exists()


def test_members_asking_the_same_at_once_get_one_question(project, tmp_path):
    import io

    import pexpect

    for name in ("alice", "bob"):
        turns = [call("Bash", command="echo hi >> shared.txt"), {"text": f"{name}: appended."}]
        (tmp_path / f"{name}.json").write_text(json.dumps(turns))
    (project / ".sous" / "team.yaml").write_text(
        "goal: notes\nmembers:\n"
        + "".join(
            f"  - name: {n}\n    folder: {n}\n    model: scripted:{tmp_path / f'{n}.json'}\n" for n in ("alice", "bob")
        )
    )
    seen = io.StringIO()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "sous", "team"],
        cwd=str(project),
        encoding="utf-8",
        timeout=30,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "h")},
    )
    child.logfile_read = seen
    child.expect(r"\? \[(alice|bob)(, alice|, bob)?\] wants? to run Bash\(echo hi >> shared\.txt\)")
    if not child.match.group(2):  # the other member asked after the question was shown: it joins it
        child.expect(r"\+ \[(alice|bob)\] asks the same; the answer is theirs too")
    child.sendline("y")
    child.expect(r"everyone is idle")
    child.sendline("/stop")
    child.expect(pexpect.EOF)
    out = seen.getvalue()
    assert "[alice] alice: appended." in out and "[bob] bob: appended." in out
    assert out.count("to run Bash(echo hi >> shared.txt)") == 1
    assert (project / "shared.txt").read_text() == "hi\nhi\n"


IDLE_HOOK = """\
import json, pathlib, sys
here = pathlib.Path(sys.argv[1])
payload = json.loads(sys.stdin.read())
with open(here / "idle.log", "a") as log:
    log.write(json.dumps(payload) + "\\n")
runs = len((here / "idle.log").read_text().splitlines())
if runs <= int(sys.argv[2]):
    sys.stderr.write("write notes/NOTES.md before you wait")
    sys.exit(2)
"""


def _idle_team(tmp_path: Path, replies: list, blocks: int) -> Path:
    root = tmp_path / "project"
    (root / ".sous").mkdir(parents=True)
    (tmp_path / "solo.json").write_text(json.dumps(replies))
    (root / ".sous" / "team.yaml").write_text(
        f"goal: notes\nname: scribes\nmembers:\n  - name: writer\n    folder: notes\n"
        f"    model: scripted:{tmp_path / 'solo.json'}\n"
    )
    (tmp_path / "idle.py").write_text(IDLE_HOOK)
    command = f"{sys.executable} {tmp_path / 'idle.py'} {tmp_path} {blocks}"
    (tmp_path / ".claude").mkdir()  # user settings: HOME is tmp_path in run_team
    hooks = {"TeammateIdle": [{"hooks": [{"type": "command", "command": command}]}]}
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"hooks": hooks}))
    return root


def test_a_teammate_idle_hook_that_exits_2_keeps_the_member_working_with_its_reason(tmp_path):
    replies = [
        {"text": "I am done."},
        call("Write", file_path="notes/NOTES.md", content="notes\n"),
        {"text": "Notes written."},
    ]
    root = _idle_team(tmp_path, replies, blocks=1)
    done = run_team(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "notes" / "NOTES.md").read_text() == "notes\n"
    assert "[writer] a TeammateIdle hook keeps it working: write notes/NOTES.md before you wait" in done.stdout
    payloads = [json.loads(line) for line in (tmp_path / "idle.log").read_text().splitlines()]
    assert len(payloads) == 2  # blocked once, then let it wait
    assert {p["hook_event_name"] for p in payloads} == {"TeammateIdle"}
    assert {(p["teammate_name"], p["team_name"]) for p in payloads} == {("writer", "scribes")}
    transcripts = "".join(p.read_text() for p in (tmp_path / "home").rglob("*.jsonl"))
    assert "TeammateIdle hook feedback:\\nwrite notes/NOTES.md before you wait" in transcripts  # the next prompt


def test_a_teammate_idle_hook_that_always_blocks_lets_the_member_wait_after_eight(tmp_path):
    root = _idle_team(tmp_path, [{"text": f"reply {i}"} for i in range(9)], blocks=100)
    done = run_team(root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("a TeammateIdle hook keeps it working") == 8
    assert "[writer] TeammateIdle hooks blocked 8 times in a row; it waits now" in done.stdout
    assert len((tmp_path / "idle.log").read_text().splitlines()) == 9
