"""Rewinding a session, and `sous rewind` for scripts.

    sous rewind [--list] [--json]              this project's checkpoints, newest last
    sous rewind ID [--code | --conversation | --both] [--yes] [--json]
                                               restore checkpoint ID: the files (default), the
                                               conversation (its session file), or both; --yes
                                               overwrites changes made outside sous since then

Exit status: 0 done, 1 refused or failed (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from . import Checkpoint, CheckpointError, Checkpoints, Restored, RewindRefused, rewind_conversation

MODES = ("code", "conversation", "both")


def describe(entry: Checkpoint) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.time))
    state = "files changed" if entry.changed else ("no file changed" if entry.after else "did not finish")
    kind = "rewind point" if entry.kind == "rewind" else state
    return f"#{entry.id:<4} {when}  {kind:15}  {entry.prompt[:70]}"


def restored_line(done: Restored) -> str:
    parts = [f"{len(done.written)} file(s) written", f"{len(done.deleted)} deleted"]
    if done.skipped:
        parts.append(f"{len(done.skipped)} left alone (outside the snapshots now: {', '.join(done.skipped[:3])})")
    undo = f"; `/rewind {done.undo.id}` undoes this" if done.undo else ""
    return "files restored: " + ", ".join(parts) + undo


def _rewind_transcript(path: Any, message_id: str) -> None:
    """Append a rewind record to a session file, so that resuming it starts before `message_id`."""
    from sous.store import transcript

    loaded = _load(path)
    ids = [m.id for m in loaded.messages]
    if message_id not in ids:
        raise CheckpointError(
            "the prompt of that checkpoint is no longer in its session (compacted away); only the code can be restored"
        )
    index = ids.index(message_id)
    try:
        writer = transcript.TranscriptWriter(path, last_id=ids[index - 1] if index else None)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot write the session file ({e.strerror or e})") from e
    try:
        writer.write({"type": "rewind", "message_id": message_id})
    finally:
        writer.close()
    if writer.error is not None:
        raise CheckpointError(f"{path}: cannot write the session file ({writer.error.strerror or writer.error})")


def _load(path: Any) -> Any:
    """The session file at `path`; a damaged or unreadable one is a `CheckpointError` saying why."""
    from sous.store import transcript

    try:
        return transcript.load(path)
    except transcript.UnreadableSession as e:
        raise CheckpointError(f"{e}; only the code can be restored") from e
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read the session file ({e.strerror or e})") from e


async def rewind_session(session: Any, checkpoint_id: int, mode: str = "both", *, force: bool = False) -> str:
    """Rewind a live session to before checkpoint `checkpoint_id`'s turn; returns what was done,
    in one or two lines. Raises `CheckpointError` (nothing changed) when it cannot."""
    recorder = getattr(session, "checkpoints", None)
    if recorder is None:
        raise CheckpointError("checkpoints are off for this session (fileCheckpointingEnabled / SOUS_CHECKPOINTS)")
    await recorder.wait()
    store: Checkpoints = recorder.checkpoints
    entry = store.get(checkpoint_id)
    messages = None
    if mode in ("conversation", "both"):
        if entry.kind == "rewind":
            raise CheckpointError(f"#{entry.id} is a rewind point: it holds files only; use `code`")
        messages = rewind_conversation(session.convo.messages, entry)  # checked before any file changes
    lines = []
    if mode in ("code", "both"):
        lines.append(restored_line(await store.restore_code(entry, force=force)))
    if messages is not None:
        session.convo.messages = messages
        if session.writer is not None:
            session.writer.write({"type": "rewind", "message_id": entry.message_id})
            session.writer.last_id = messages[-1].id if messages else None
        lines.append(f"conversation rewound to before “{entry.prompt[:60]}” ({len(messages)} messages kept)")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sous rewind", description="List or restore this project's checkpoints.")
    p.add_argument("id", nargs="?", type=int, help="the checkpoint to restore (from --list)")
    p.add_argument("--list", action="store_true", help="list the checkpoints (the default without ID)")
    what = p.add_mutually_exclusive_group()
    for mode in MODES:
        what.add_argument(f"--{mode}", dest="mode", action="store_const", const=mode)
    p.add_argument("--yes", action="store_true", help="overwrite changes made outside sous since the checkpoint")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


async def _restore(store: Checkpoints, entry: Checkpoint, mode: str, force: bool, environ: Mapping[str, str]) -> dict:
    from sous.store import transcript

    path = None
    if mode in ("conversation", "both"):
        if entry.kind == "rewind":
            raise CheckpointError(f"#{entry.id} is a rewind point: it holds files only; use --code")
        path = transcript.find(entry.session_id, environ)
        if path is None:
            raise CheckpointError(f"the session of checkpoint #{entry.id} ({entry.session_id}) has no session file")
        loaded = _load(path)
        rewind_conversation(loaded.messages, entry)  # refuses before any file is touched
    out: dict[str, Any] = {"id": entry.id}
    if mode in ("code", "both"):
        done = await store.restore_code(entry, force=force)
        out.update(
            written=done.written,
            deleted=done.deleted,
            skipped=done.skipped,
            undo=done.undo.id if done.undo else None,
            text=restored_line(done).replace("`/rewind ", "`sous rewind "),
        )
    if path is not None:
        _rewind_transcript(path, entry.message_id)
        out["conversation"] = str(path)
    return out


def main(argv: list[str], environ: Mapping[str, str] = os.environ) -> int:
    args = _parser().parse_args(argv)
    store = Checkpoints(os.getcwd(), environ=environ)
    if args.id is None or args.list:
        entries = store.list()
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "id": e.id,
                            "session_id": e.session_id,
                            "prompt": e.prompt,
                            "time": e.time,
                            "kind": e.kind,
                            "changed": e.changed,
                        }
                        for e in entries
                    ]
                )
            )
        else:
            print("\n".join(describe(e) for e in entries) if entries else "no checkpoints in this project yet")
        return 0
    try:
        entry = store.get(args.id)
        out = asyncio.run(_restore(store, entry, args.mode or "code", args.yes, environ))
    except RewindRefused as e:
        print(f"sous rewind: {e} (--yes to restore anyway)", file=sys.stderr)
        return 1
    except CheckpointError as e:
        print(f"sous rewind: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out))
    else:
        if "text" in out:
            print(out["text"])
        if "conversation" in out:
            print(
                f"conversation rewound: resuming the session (sous -r {entry.session_id}) starts before "
                f"“{entry.prompt[:60]}”"
            )
    return 0
