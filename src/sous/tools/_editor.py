"""Files and commands through the editor that drives sous, when it offers them (`sous acp`).

A front end puts an `Editor` in the tools' state under "editor". Read, Write and Edit then read
and write text files through it, so the editor's unsaved buffers are what the model sees and its
undo covers sous's edits; Bash runs foreground commands in the editor's terminals. Everything
else stays as it is: permissions, hooks and checkpoints act on the call before and after the tool
runs, whatever the tool reads or writes through, and a session with a sandbox keeps Bash local.

This module is the editor's side of the seam (what a front end implements). The tools' side
(`EditorError`, `editor()`, `save()`) lives in `_files`, so that a session no editor drives never
imports this one.
"""

from __future__ import annotations

from typing import Literal, Protocol

from sous.records import record

from ._files import EditorError, editor, save

Capability = Literal["reads", "writes", "terminals"]


@record
class Finished:
    """A command the editor ran to its end (or stopped at the timeout)."""

    output: str
    """stdout and stderr as the terminal shows them, interleaved."""
    exit_code: int | None
    """The exit status; negative for a signal (as `asyncio` reports it); None when the editor gave neither."""
    truncated: bool = False
    timed_out: bool = False


class Editor(Protocol):
    """The editor's side. Each method raises `EditorError` for a failure or a request left
    unanswered past the front end's time limit; none waits forever."""

    def offers(self, capability: Capability) -> bool:
        """Whether the editor said it can do this (its capabilities from the handshake)."""

    async def read_text(self, path: str) -> str:
        """The file's text as the editor has it, unsaved changes included."""

    async def write_text(self, path: str, text: str) -> None:
        """Replace the file's text (creating it), as an edit the editor can undo."""

    async def run(self, argv: list[str], *, cwd: str, env: dict[str, str], timeout_s: float, limit: int) -> Finished:
        """Run `argv` in a terminal of the editor's and wait for it; past `timeout_s` the command is
        killed and what it printed returned with `timed_out`. Cancelling the task kills it too."""


__all__ = ["Capability", "Editor", "EditorError", "Finished", "editor", "save"]
