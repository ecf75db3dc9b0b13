from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sous
from sous.checkpoints import Checkpoints, RewindRefused
from sous.models.scripted import ScriptedModel
from sous.runtime import Options, open_session
from sous.store import transcript
from sous.ui import slash

SRC = str(Path(sous.__file__).resolve().parents[1])


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` (but .git) and its bytes; empty folders as None."""
    out: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        rel = os.path.relpath(folder, root)
        if not files and not dirs and rel != ".":
            out[rel + "/"] = b""
        for name in files:
            out[os.path.normpath(os.path.join(rel, name))] = Path(folder, name).read_bytes()
    return out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    return 1\n")
    (root / "README.md").write_text("# demo\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "old.txt").write_text("to be removed by Bash\n")
    (root / ".gitignore").write_text("build/\n*.log\n")
    (root / "build").mkdir()
    (root / "build" / "out.o").write_bytes(b"\x00compiled")
    return root


TURNS = [  # three user turns: Edit, Write, then Bash (rm, mv, a new folder, a binary, an ignored file)
    [
        {"tool_calls": [{"name": "Read", "input": {"file_path": "src/app.py"}}]},
        {
            "tool_calls": [
                {
                    "name": "Edit",
                    "input": {"file_path": "src/app.py", "old_string": "return 1", "new_string": "return 2"},
                }
            ]
        },
        {"text": "edited"},
    ],
    [
        {"tool_calls": [{"name": "Read", "input": {"file_path": "README.md"}}]},
        {
            "tool_calls": [
                {"name": "Write", "input": {"file_path": "src/new.py", "content": "NEW = True\n"}},
                {"name": "Write", "input": {"file_path": "README.md", "content": "# changed\n"}},
            ]
        },
        {"text": "written"},
    ],
    [
        {
            "tool_calls": [
                {
                    "name": "Bash",
                    "input": {
                        "command": (
                            "rm old.txt && mv data.bin moved.bin && mkdir -p gen/deep && "
                            "printf 'x\\000y' > gen/deep/b.bin && "
                            "echo noise > run.log && echo rebuilt > build/out.o && chmod +x src/new.py"
                        ),
                        "description": "churn",
                    },
                }
            ]
        },
        {"text": "churned"},
    ],
]


def _sous(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sous", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, "PYTHONPATH": SRC, **env},
    )


def test_three_turns_of_edit_write_and_bash_rewound_to_turn_one_byte_for_byte(project, tmp_path):
    env = {"SOUS_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}
    before = tree(project)
    for n, turns in enumerate(TURNS):
        script = tmp_path / f"turn{n}.json"
        script.write_text(json.dumps(turns))
        run = _sous(
            "-p",
            f"turn {n + 1}",
            "--model",
            f"scripted:{script}",
            "--dangerously-skip-permissions",
            *(["-c"] if n else []),
            cwd=project,
            env=env,
        )
        assert run.returncode == 0, run.stderr
    assert (project / "gen" / "deep" / "b.bin").read_bytes() == b"x\0y" and not (project / "old.txt").exists()
    listed = json.loads(_sous("rewind", "--list", "--json", cwd=project, env=env).stdout)
    assert [e["prompt"] for e in listed] == ["turn 1", "turn 2", "turn 3"] and all(e["changed"] for e in listed)
    ignored_now = {name: (project / name).read_bytes() for name in ("run.log", "build/out.o")}

    run = _sous("rewind", str(listed[0]["id"]), "--both", cwd=project, env=env)
    assert run.returncode == 0, run.stderr
    assert "files restored" in run.stdout and "conversation rewound" in run.stdout
    after = tree(project)
    for name, data in ignored_now.items():  # ignored files are not the checkpoints' to touch
        assert after.pop(name) == data
    before.pop("build/out.o")
    assert after == before
    assert os.access(project / "src" / "app.py", os.X_OK) is False
    session = transcript.load(transcript.latest(str(project), env | {"SOUS_HOME": env["SOUS_HOME"]}))
    assert session.messages == []  # the conversation is back to before turn 1

    # The rewind saved the tree it replaced: restoring that point undoes the rewind.
    listed = json.loads(_sous("rewind", "--json", cwd=project, env=env).stdout)
    assert listed[-1]["kind"] == "rewind"
    run = _sous("rewind", str(listed[-1]["id"]), cwd=project, env=env)
    assert run.returncode == 0, run.stderr
    assert (project / "gen" / "deep" / "b.bin").read_bytes() == b"x\0y" and (project / "src" / "new.py").exists()
    assert (project / "README.md").read_text() == "# changed\n"


@pytest.fixture
def session(project, tmp_path):
    environ = {**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")}
    turns = [turn for group in TURNS for turn in group]
    opened = open_session(
        Options(cwd=str(project), model=ScriptedModel(turns), environ=environ, permission_mode="bypassPermissions")
    )
    yield opened
    opened.close()


async def _three_turns(session) -> list[list]:
    histories = []
    for n in range(3):
        histories.append(list(session.messages))
        await session.send(f"turn {n + 1}")
    return histories


async def test_rewinding_only_the_conversation_leaves_the_files(session, project):
    histories = await _three_turns(session)
    files = tree(project)
    outcome = await slash.run(session, "/rewind 2 conversation")
    assert not outcome.error, outcome.text
    assert list(session.messages) == histories[1] and tree(project) == files
    assert transcript.load(session.transcript_path).messages == histories[1]
    session.model.turns.append({"text": "again"})
    await session.send("turn 2 again")
    assert [m.text for m in session.model.requests[-1].messages if m.role == "user"][-2:] == ["turn 1", "turn 2 again"]


async def test_a_rewind_refuses_to_overwrite_changes_made_outside_sous(session, project):
    await _three_turns(session)
    (project / "README.md").write_text("edited by hand\n")  # a file turn 2 changed
    (project / "notes.txt").write_text("mine\n")  # a file no checkpoint knows
    refused = await slash.run(session, "/rewind 1 code")
    assert refused.error and "README.md" in refused.text and "changed outside sous" in refused.text
    assert (project / "README.md").read_text() == "edited by hand\n" and (project / "gen").exists()
    done = await slash.run(session, "/rewind 1 code force")
    assert not done.error, done.text
    assert (project / "README.md").read_text() == "# demo\n" and not (project / "gen").exists()
    assert not (project / "notes.txt").exists()  # created after the checkpoint: the tree goes back
    undo = int(done.text.rpartition("`/rewind ")[2].split("`")[0])
    await slash.run(session, f"/rewind {undo} code")
    assert (project / "README.md").read_text() == "edited by hand\n" and (project / "notes.txt").read_text() == "mine\n"


async def test_outside_changes_to_files_no_checkpoint_covers_are_no_reason_to_refuse(session, project):
    await _three_turns(session)
    (project / "hand.log").write_text("ignored, written by hand\n")
    (project / "build" / "out.o").write_bytes(b"relinked by hand")
    store = Checkpoints(str(project), environ=session.environ)  # the session's own shadow repository
    done = await store.restore_code(store.list()[0])
    assert "hand.log" not in done.written + done.deleted
    assert (project / "hand.log").exists() and (project / "build" / "out.o").read_bytes() == b"relinked by hand"
    assert (project / "src" / "app.py").read_text() == "def main():\n    return 1\n"
    (project / "src" / "app.py").write_text("changed by hand\n")
    with pytest.raises(RewindRefused) as refused:
        await store.restore_code(done.undo)
    assert refused.value.paths == ["src/app.py"]


async def test_files_over_the_size_cap_are_never_snapshotted_nor_touched(project, tmp_path):
    store = Checkpoints(str(project), environ={"SOUS_HOME": str(tmp_path / "home")}, max_file_bytes=1000)
    (project / "big.dat").write_bytes(b"a" * 5000)
    first = await store.turn_started("m1", "go")
    (project / "big.dat").write_bytes(b"b" * 5000)
    (project / "README.md").write_text("changed\n")
    await store.turn_ended()
    done = await store.restore_code(first)
    assert done.written == ["README.md"] and (project / "big.dat").read_bytes() == b"b" * 5000
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", first.before],
        capture_output=True,
        text=True,
        env={"GIT_DIR": str(store.git_dir)},
        check=True,
    ).stdout.split()
    assert "big.dat" not in listing and "src/app.py" in listing


def test_the_cli_says_one_line_for_a_bad_id_and_lists_nothing_in_a_fresh_project(project, tmp_path):
    env = {"SOUS_HOME": str(tmp_path / "home")}
    assert _sous("rewind", cwd=project, env=env).stdout.strip() == "no checkpoints in this project yet"
    run = _sous("rewind", "7", cwd=project, env=env)
    assert run.returncode == 1 and run.stderr.count("\n") == 1 and "no checkpoint #7" in run.stderr


async def test_without_git_the_turn_runs_and_says_once_that_checkpoints_are_off(project, tmp_path):
    environ = {"HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home"), "PATH": str(tmp_path / "nowhere")}
    turns = [{"text": "one"}, {"text": "two"}]
    script = tmp_path / "t.json"
    script.write_text(json.dumps(turns))
    session = open_session(Options(cwd=str(project), model=f"scripted:{script}", environ=environ, bare=True))
    notices = []
    session.subscribe(lambda event: notices.append(event.text) if hasattr(event, "level") else None)
    try:
        assert (await session.send("hello")).last_message.text == "one"
        assert (await session.send("again")).last_message.text == "two"
    finally:
        session.close()
    off = [n for n in notices if "checkpoints are off" in n]
    assert len(off) == 1 and "git" in off[0]
    assert (await slash.run(session, "/rewind")).text == "no checkpoints yet: one is taken at each prompt"
