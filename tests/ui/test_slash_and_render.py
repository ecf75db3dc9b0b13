"""The pieces under the terminal: slash commands on a real session (scripted model, real hook
scripts, real session files), compaction, `@` attachments, streamed Markdown and fuzzy paths."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from sous.context.attachments import attach, mentions
from sous.context.compact import SUMMARY_HEADER
from sous.core import ToolContext
from sous.models.scripted import ScriptedModel
from sous.runtime import Options, open_session
from sous.store import transcript
from sous.ui import slash
from sous.ui.complete import fuzzy_score
from sous.ui.render import MarkdownBlocks, fold


@pytest.fixture
def make_session(tmp_path):
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    environ = {**os.environ, "HOME": str(tmp_path), "SOUS_HOME": str(tmp_path / "home")}
    opened = []

    def make(turns: list[dict], env: dict[str, str] | None = None, **options):
        session = open_session(
            Options(
                cwd=str(project),
                model=ScriptedModel(turns),
                environ={**environ, **(env or {})},
                permission_mode="bypassPermissions",
                **options,
            )
        )
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


async def test_compact_replaces_the_history_and_a_resumed_session_starts_from_the_summary(make_session):
    session = make_session(
        [{"text": "Paris."}, {"text": "The user asked for France's capital: Paris."}, {"text": "Yes, Paris."}]
    )
    await session.send("capital of France?")
    outcome = await slash.run(session, "/compact keep the city")
    assert "compacted" in outcome.text and not outcome.error
    request = session.model.requests[1]
    assert request.tools == () and "keep the city" in request.messages[-1].text
    [summary] = [m.text for m in session.messages]
    assert summary.startswith(SUMMARY_HEADER + "The user asked for France's capital: Paris.")
    assert "- USER: capital of France?" in summary and str(session.transcript_path) in summary
    await session.send("sure?")
    assert session.model.requests[2].messages[0].text.startswith(SUMMARY_HEADER)
    loaded = transcript.load(session.transcript_path)
    assert loaded.messages[0].text.startswith(SUMMARY_HEADER) and len(loaded.messages) == 3


async def test_a_pre_compact_hook_can_block_and_post_compact_sees_the_summary(make_session, tmp_path):
    log = tmp_path / "post.json"
    settings = {
        "hooks": {
            "PreCompact": [
                {
                    "matcher": "manual",
                    "hooks": [{"type": "command", "command": "grep -q forbidden && { echo no >&2; exit 2; }; exit 0"}],
                }
            ],
            "PostCompact": [{"hooks": [{"type": "command", "command": f"cat > {log}"}]}],
        }
    }
    session = make_session([{"text": "ok"}, {"text": "A summary."}], settings=json.dumps(settings))
    await session.send("hello")
    blocked = await slash.run(session, "/compact forbidden")
    assert blocked.error and "PreCompact hook blocked" in blocked.text
    assert len(session.messages) == 2  # unchanged
    done = await slash.run(session, "/compact")
    assert not done.error
    assert json.loads(log.read_text())["compact_summary"] == "A summary."


async def test_a_failed_summary_leaves_the_conversation_alone(make_session):
    session = make_session([{"text": "ok"}, {"text": ""}])
    await session.send("hello")
    outcome = await slash.run(session, "/compact")
    assert outcome.error and "empty summary" in outcome.text
    assert len(session.messages) == 2


async def test_clear_starts_a_new_session_file_and_resume_goes_back(make_session):
    session = make_session([{"text": "first answer"}, {"text": "second answer"}])
    await session.send("first question")
    first_id, first_path = session.id, session.transcript_path
    assert "context cleared" in (await slash.run(session, "/clear")).text
    assert session.id != first_id and session.messages == () and session.transcript_path != first_path
    listing = (await slash.run(session, "/resume")).text
    assert "first question" in listing and "1." in listing
    resumed = await slash.run(session, "/resume 1")
    assert session.id == first_id and "first answer" in resumed.text
    await session.send("more")
    assert [m.text for m in transcript.load(first_path).messages][-1] == "second answer"


async def test_fork_goes_on_in_a_new_session_and_leaves_the_old_transcript_untouched(make_session):
    session = make_session([{"text": "first answer"}, {"text": "answer in the fork"}])
    await session.send("first question")
    old_id, old_path = session.id, session.transcript_path
    before = old_path.read_bytes()
    assert (await slash.run(session, "/fork now")).error  # no arguments
    outcome = await slash.run(session, "/fork")
    assert not outcome.error and session.id != old_id and session.id in outcome.text
    assert f"sous -r {old_id}" in outcome.text and "2 messages" in outcome.text
    assert [m.text for m in session.messages] == ["first question", "first answer"]
    await session.send("go on")
    assert old_path.read_bytes() == before  # the old session is as it was
    forked = transcript.load(session.transcript_path)
    assert forked.session_id == session.id
    assert [m.text for m in forked.messages] == ["first question", "first answer", "go on", "answer in the fork"]
    listing = (await slash.run(session, "/resume")).text
    assert "first question" in listing  # the old session can be resumed


async def test_resume_with_words_lists_the_sessions_that_mention_them(make_session):
    session = make_session([{"text": "The kiln runs at 1200 degrees."}, {"text": "Tea is ready."}, {"text": "ok"}])
    await session.send("how hot is the kiln?")
    await slash.run(session, "/clear")
    await session.send("make tea")
    await slash.run(session, "/clear")
    listing = (await slash.run(session, "/resume 1200 degrees")).text
    assert "how hot is the kiln?" in listing and "make tea" not in listing
    assert "The kiln runs at 1200 degrees" in listing  # where it matched, under the row
    assert "make tea" in (await slash.run(session, "/resume tea")).text
    missing = await slash.run(session, "/resume zebra")
    assert missing.error and "zebra" in missing.text


async def test_model_cost_context_status_todos_and_unknown_commands(make_session):
    keyless = make_session([], env={"ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": "", "ANTHROPIC_BASE_URL": ""})
    assert (await slash.run(keyless, "/model haiku")).text == (
        "cannot switch: no Anthropic key: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)"
    )
    session = make_session(
        [{"text": "hi", "usage": {"input_tokens": 1200, "output_tokens": 30}}], env={"ANTHROPIC_API_KEY": "test"}
    )
    await session.send("hello")
    assert (await slash.run(session, "/model haiku")).text == "model: anthropic:claude-haiku-4-5"
    assert "cannot switch" in (await slash.run(session, "/model nosuch:thing")).text
    cost = (await slash.run(session, "/cost")).text
    assert "1,200 in, 30 out" in cost and "runs:              1 (1 model turns)" in cost
    context = (await slash.run(session, "/context")).text
    assert "of 200,000 tokens" in context and "tool schemas" in context
    assert f"session:  {session.id}" in (await slash.run(session, "/status")).text
    assert (await slash.run(session, "/todos")).text == "no todos yet"
    assert "did you mean /model" in (await slash.run(session, "/modle x")).text
    assert await slash.run(session, "/usr/bin/env is odd") is None  # a path, not a command
    assert await slash.run(session, "plain words") is None
    init = await slash.run(session, "/init")
    assert "AGENTS.md" in init.prompt


def test_at_mentions_attach_files_and_folders_and_mark_them_read(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("x = 1\ny = 2\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2")
    ctx = ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))
    assert mentions('see @src/a.py, @"with space.txt" and mail@example.com') == ["src/a.py", "with space.txt"]
    message = attach("look at @src/a.py and @src and @blob.bin and @nothing", ctx)
    texts = [b.text for b in message.content]
    assert texts[0] == "look at @src/a.py and @src and @blob.bin and @nothing"
    assert '<attachment path="src/a.py">\n     1\tx = 1\n     2\ty = 2\n</attachment>' in texts
    assert any('kind="folder"' in t and "a.py" in t for t in texts)
    assert any("binary file" in t for t in texts)
    assert len(texts) == 4
    assert str((tmp_path / "src" / "a.py").resolve()) in ctx.state["read_files"]


def test_streamed_markdown_is_cut_into_finished_blocks():
    blocks = MarkdownBlocks()
    out = []
    for piece in ["Intro par", "agraph.\n", "\n```py", "thon\nx = 1\n\n", "y = 2\n``", "`\nTail"]:
        out += blocks.feed(piece)
    assert out == ["Intro paragraph.", "```python\nx = 1\n\ny = 2\n```"]  # a blank line inside code does not cut
    assert blocks.flush() == "Tail" and blocks.flush() == ""


def test_folding_never_cuts_silently_and_fuzzy_paths_prefer_file_names():
    assert fold("a\nb\nc\nd\ne\nf") == ["a", "b", "c", "d", "… +2 lines"]
    assert fold("") == ["(no output)"]
    files = ["docs/readme.md", "src/sous/ui/repl.py", "src/sous/ui/render.py", "tests/ui/test_repl.py"]
    ranked = sorted((s, f) for f in files if (s := fuzzy_score("repl", f)) is not None)
    assert [f for _, f in ranked][:2] == ["src/sous/ui/repl.py", "tests/ui/test_repl.py"]
    assert fuzzy_score("srp", "src/sous/ui/repl.py") is not None and fuzzy_score("zz", "src/a.py") is None


def test_slash_completion_offers_built_ins_custom_commands_and_skills(make_session, tmp_path):
    from prompt_toolkit.document import Document

    from sous.ui.complete import FileIndex, PromptCompleter

    commands = tmp_path / "project" / ".claude" / "commands" / "git"
    commands.mkdir(parents=True)
    (commands / "review.md").write_text("---\ndescription: Review the diff\n---\nReview $ARGUMENTS")
    skill = tmp_path / "project" / ".sous" / "skills" / "release"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: release\ndescription: Cut a release\n---\nSteps.")
    session = make_session([])
    completer = PromptCompleter(FileIndex(str(tmp_path / "project")), lambda: session.commands, slash.known_models)

    def offered(text):
        return {c.text: c.display_meta_text for c in completer.get_completions(Document(text), None)}

    assert set(offered("/co")) == {"/compact", "/context", "/cost"}
    assert offered("/rev")["/review"] == "Review the diff"  # a subfolder organises, the name is the file's
    assert offered("/rel")["/release"] == "Cut a release"
    assert "anthropic:claude-haiku-4-5" in offered("/model claude-hai")


def test_at_completion_offers_the_files_of_added_folders_as_absolute_paths(tmp_path):
    from sous.ui.complete import FileIndex

    project, shared = tmp_path / "project", tmp_path / "shared"
    for folder in (project, shared / "docs"):
        folder.mkdir(parents=True)
    (project / "main.py").write_text("x")
    (shared / "docs" / "guide.md").write_text("x")
    added: list[str] = []
    index = FileIndex(str(project), ttl=0, added=lambda: added)
    assert index.match("guide") == [] and index.match("main") == ["main.py"]
    added.append(str(shared))  # `/add-dir` later: the next listing has it
    assert index.match("guide") == [str(shared / "docs" / "guide.md")]


async def test_agents_lists_types_and_drafts_a_new_one(make_session, tmp_path):
    draft = (
        "---\nname: Security Reviewer\ndescription: Reviews changes for security problems\ntools: Read, Grep\n"
        "---\nYou review code for injection, secrets and unsafe defaults. Report findings with path:line."
    )
    session = make_session([{"text": draft}, {"text": "no frontmatter here"}])
    listing = (await slash.run(session, "/agents")).text
    assert "general-purpose" in listing and "Explore" in listing
    outcome = await slash.run(session, "/agents new reviews code for security problems")
    path = tmp_path / "project" / ".claude" / "agents" / "security-reviewer.md"
    assert outcome.edit == str(path) and outcome.then == "/agents" and path.read_text().startswith("---")
    assert path.read_text().startswith("---\nname: security-reviewer\n")
    assert "security-reviewer    Reviews changes" in (await slash.run(session, "/agents")).text
    agent_tool = session.tools.get("Agent")
    assert "security-reviewer: Reviews changes for security problems" in agent_tool.description
    bad = await slash.run(session, "/agents new something vague")
    assert bad.error and "no name, description or prompt" in bad.text
    assert (await slash.run(session, "/agents stop nope")).error


async def test_agents_refresh_keeps_denied_types_away(make_session):
    session = make_session([], settings=json.dumps({"permissions": {"deny": ["Agent(Explore)"]}}))
    listing = (await slash.run(session, "/agents")).text
    assert "Explore" not in listing and "general-purpose" in listing
    assert "Explore" not in session.subagents.types


async def test_resume_lists_past_a_fifo_or_a_link_in_the_sessions_folder_without_blocking(make_session, tmp_path):
    session = make_session([{"text": "first answer"}, {"text": "ok"}])
    await session.send("first question")
    first_path = session.transcript_path
    await slash.run(session, "/clear")
    os.mkfifo(first_path.with_name("pipe.jsonl"))  # opening it to read would wait for a writer forever
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(first_path.read_bytes())
    first_path.with_name("linked.jsonl").symlink_to(outside)
    listing = await asyncio.wait_for(slash.run(session, "/resume"), 10)
    assert listing.text.count("first question") == 1 and "pipe" not in listing.text
    assert (await slash.run(session, "/resume linked")).error
    assert outside.read_bytes() == first_path.read_bytes()


async def test_clear_where_no_session_file_can_be_made_goes_on_unsaved_and_says_so(make_session):
    session = make_session([{"text": "first answer"}, {"text": "unsaved answer"}])
    seen = []
    session.subscribe(seen.append)
    await session.send("first question")
    folder = session.transcript_path.parent
    folder.rename(folder.with_name("moved"))
    folder.write_text("a file where the sessions folder was")  # so no session file can be made there
    outcome = await slash.run(session, "/clear")
    assert "context cleared" in outcome.text and session.messages == ()
    warnings = [e.text for e in seen if getattr(e, "level", "") == "warning"]
    assert len(warnings) == 1 and "cannot write the session file" in warnings[0] and "not saved" in warnings[0]
    await session.send("go on")  # the session works on, unsaved
    assert session.transcript_path is None and session.messages[-1].text == "unsaved answer"
