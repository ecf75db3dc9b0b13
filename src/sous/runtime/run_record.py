"""What a run actually did: the files it changed, with lines added and removed, and the commands
it ran, with their exit codes. Front ends show it at the end of a run (the terminal), put it in
the result (`-p`'s `sous_changes`), or hand it to programs (the Python API), so that what sous
reports never rests on the model's own account of its work.

Where the facts come from:

- the file tools' results (Write, Edit, MultiEdit, NotebookEdit), the session's own and its
  sub-agents' alike (they edit the same files), counted from their diffs;
- Bash results, for the commands and their exit codes;
- edits made by commands (`sed -i`, a formatter, `git checkout`), which no tool result shows:
  when a run ran a command, the checkpoint snapshots sous takes anyway before and after each
  prompt are compared (one `git diff-tree` on the shadow repository, no extra walk of the tree).
  For a file in that comparison its net change over the run is what counts. Files the snapshots
  leave out (ignored by .gitignore, over their size cap) are not seen. Without checkpoints
  (turned off, or sous started in a home folder) such edits cannot be seen, and the record says so.

The record is also written to the transcript (a `"changes"` line before the run's `"result"`).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from sous.core import ToolEnd
from sous.core.loop import INTERRUPTED_TOOL
from sous.records import field, record

FILE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")

CommandStatus = Literal["exited", "interrupted", "timed_out", "background"]


@record
class FileChange:
    path: str
    """Relative to the project folder when inside it, else absolute."""
    added: int
    removed: int


@record
class CommandRun:
    command: str
    exit_code: int | None
    """None when the command did not finish: interrupted, or started in the background."""
    status: CommandStatus = "exited"


@record
class RunRecord:
    """The facts of one run (one prompt's turns)."""

    files: tuple[FileChange, ...] = ()
    commands: tuple[CommandRun, ...] = ()
    tool_calls: int = 0
    """Every tool call of the run (sub-agents' included), run or refused."""
    command_edits_checked: bool = True
    """False when commands ran but their edits could not be looked for (no checkpoints)."""

    @property
    def changed(self) -> bool:
        return bool(self.files)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `-p`'s `sous_changes` field."""
        return {
            "files": [{"path": f.path, "added": f.added, "removed": f.removed} for f in self.files],
            "commands": [{"command": c.command, "exit_code": c.exit_code, "status": c.status} for c in self.commands],
            "command_edits_checked": self.command_edits_checked,
        }


def edit_counts(result: Any) -> tuple[str, int, int] | None:
    """(file path, lines added, lines removed) from a successful file tool's result data (Write,
    Edit, MultiEdit, NotebookEdit), or None for anything else."""
    data = result.data
    if result.is_error or not isinstance(data, dict):
        return None
    path = data.get("filePath") or data.get("notebook_path")
    if not isinstance(path, str):
        return None
    if "edit_mode" in data:  # NotebookEdit: the cell's source before and after
        mode = data["edit_mode"]
        new = _line_count(data.get("new_source")) if mode != "delete" else 0
        return path, new, _line_count(data.get("old_source"))
    if data.get("type") == "create" and isinstance(data.get("content"), str):
        return path, len(data["content"].splitlines()), 0
    added = removed = 0
    for hunk in data.get("structuredPatch") or ():
        for line in hunk.get("lines", ()) if isinstance(hunk, dict) else ():
            if isinstance(line, str) and line[:1] == "+":
                added += 1
            elif isinstance(line, str) and line[:1] == "-":
                removed += 1
    return path, added, removed


def _rewrote_the_same(data: dict[str, Any]) -> bool:
    """A Write that replaced a file with the content it already had changed nothing (line counts
    cannot tell: a change of the last newline alone also counts no line)."""
    content, original = data.get("content"), data.get("originalFile")
    if data.get("type") != "update" or not isinstance(content, str) or not isinstance(original, str):
        return False
    return content.replace("\r\n", "\n") == original


def _line_count(text: Any) -> int:
    return len(text.splitlines()) if isinstance(text, str) else 0


def command_run(event: ToolEnd) -> CommandRun | None:
    """The command a Bash call ran and how it ended; None when it never ran (refused, invalid)."""
    command = event.call.arguments.get("command")
    if event.call.name != "Bash" or not isinstance(command, str):
        return None
    data = event.result.data
    if not isinstance(data, dict):
        interrupted = event.result.text.startswith(INTERRUPTED_TOOL)
        return CommandRun(command=command, exit_code=None, status="interrupted") if interrupted else None
    code = data.get("returnCode")
    code = code if isinstance(code, int) else None
    if data.get("backgroundTaskId"):
        return CommandRun(command=command, exit_code=None, status="background")
    if data.get("interrupted"):
        return CommandRun(command=command, exit_code=code, status="timed_out")
    return CommandRun(command=command, exit_code=code)


@record(frozen=False, kw_only=False)
class RunRecorder:
    """Collects a run's record from the tool results of the session and its sub-agents. The
    session calls `begin()` before a run and `finish()` after it (and after the checkpoint that
    closes it)."""

    project_dir: str
    files: dict[str, list[int]] = field(default_factory=dict)
    commands: list[CommandRun] = field(default_factory=list)
    tool_calls: int = 0

    def begin(self) -> None:
        self.files, self.commands, self.tool_calls = {}, [], 0

    def __call__(self, event: Any) -> None:
        """A session or sub-agent event; only `ToolEnd` counts."""
        if not isinstance(event, ToolEnd):
            return
        self.tool_calls += 1
        if event.call.name in FILE_TOOLS and (counts := edit_counts(event.result)) is not None:
            path, added, removed = counts
            if _rewrote_the_same(event.result.data):
                return
            total = self.files.setdefault(self._shown(path), [0, 0])
            total[0] += added
            total[1] += removed
        elif (command := command_run(event)) is not None:
            self.commands.append(command)

    def _shown(self, path: str) -> str:
        full = os.path.normpath(os.path.join(self.project_dir, path))
        relative = os.path.relpath(full, self.project_dir)
        return full if relative.startswith(os.pardir) else relative

    def finish(self, tree_changes: list[tuple[str, int, int]] | None) -> RunRecord:
        """The run's record. `tree_changes` is the checkpoints' comparison of the tree before and
        after the run ((path, added, removed), paths relative to the project), or None when
        there is none; it is used only when a command ran (otherwise the tools' diffs are the
        whole story, and a difference would be someone else's edit)."""
        files = {path: (added, removed) for path, (added, removed) in self.files.items()}
        checked = True
        if self.commands:
            if tree_changes is None:
                checked = False
            else:
                files.update({self._shown(path): (added, removed) for path, added, removed in tree_changes})
        return RunRecord(
            files=tuple(FileChange(path=p, added=a, removed=r) for p, (a, r) in sorted(files.items())),
            commands=tuple(self.commands),
            tool_calls=self.tool_calls,
            command_edits_checked=checked,
        )
