"""Tab completion for the prompt: `/` commands, `/model` names and fuzzy `@` file paths.

File paths come from `rg --files` (so .gitignore is honoured) and are cached for a few seconds;
the added working folders' files (`--add-dir`, `/add-dir`) are offered too, as absolute paths;
a fuzzy query matches when its characters appear in order, best first: a match in the file name
over one spread across folders, then shorter paths.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence

from prompt_toolkit.completion import Completer, Completion

from . import slash

MAX_FILES = 50_000
SHOWN = 30


def fuzzy_score(query: str, candidate: str) -> float | None:
    """Lower is better; None when the characters of `query` do not appear in order."""
    q, c = query.lower(), candidate.lower()
    if not q:
        return len(c)
    name = c.rsplit("/", 1)[-1]
    if q in name:
        return (0 if name.startswith(q) else 1) * 1000 + len(c)
    if q in c:
        return 2000 + len(c)
    position, gaps = 0, 0
    for ch in q:
        found = c.find(ch, position)
        if found < 0:
            return None
        gaps += found - position
        position = found + 1
    return 3000 + gaps * 10 + len(c)


class FileIndex:
    """The project's files as `rg --files` lists them, refreshed when older than `ttl` seconds,
    then those of the folders `added` names at that moment (absolute)."""

    def __init__(self, root: str, ttl: float = 5.0, added: Callable[[], Sequence[str]] = tuple):
        self.root, self.ttl, self.added = root, ttl, added
        self._files: list[str] = []
        self._at = 0.0

    def files(self) -> list[str]:
        if time.monotonic() - self._at > self.ttl:
            self._files, self._at = self._list(), time.monotonic()
        return self._files

    def _list(self) -> list[str]:
        out: list[str] = []
        for root in (self.root, *self.added()):
            files = [f if root == self.root else os.path.join(root, f) for f in _rg_files(root)]
            folders = {os.path.dirname(f) + "/" for f in files if os.path.dirname(f)}
            out += files[: MAX_FILES - len(out)] + sorted(folders)
        return out

    def match(self, query: str) -> list[str]:
        scored = [(s, f) for f in self.files() if (s := fuzzy_score(query, f)) is not None]
        return [f for _, f in sorted(scored)[:SHOWN]]


def _rg_files(root: str) -> list[str]:
    from sous.tools._rg import rg_path

    rg = rg_path()
    if rg is None:
        return []
    try:
        out = subprocess.run(
            [rg, "--files", "--hidden", "--glob", "!.git"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return out.splitlines()[:MAX_FILES]


class PromptCompleter(Completer):
    def __init__(
        self,
        files: FileIndex,
        custom_commands: Callable[[], dict],
        models: Callable[[], list[str]],
        *,
        mcp_prompts: Callable[[], list[tuple[str, str]]] = list,
        mcp_resources: Callable[[], list[tuple[str, str]]] = list,
    ):
        self.files = files
        self.custom_commands = custom_commands
        self.models = models
        self.mcp_prompts = mcp_prompts
        self.mcp_resources = mcp_resources

    def get_completions(self, document, complete_event) -> Iterable[Completion]:
        before = document.text_before_cursor
        word = before.split(" ")[-1] if before else ""
        if before.startswith("/") and " " not in before:
            yield from self._commands(before)
        elif before.startswith("/model ") and before.count(" ") == 1:
            for name in self.models():
                if name.startswith(word) or word in name:
                    yield Completion(name, start_position=-len(word))
        elif word.startswith("@"):
            for mention, label in self.mcp_resources():
                if fuzzy_score(word[1:], mention) is not None:
                    yield Completion(f"@{mention}", start_position=-len(word), display=mention, display_meta=label)
            for path in self.files.match(word[1:]):
                text = f'@"{path}"' if " " in path else f"@{path}"
                yield Completion(text, start_position=-len(word), display=path)

    def _commands(self, typed: str) -> Iterable[Completion]:
        entries = [(usage.split()[0], what) for usage, what in slash.BUILTINS.items()]
        entries += [
            (f"/{c.name}", c.description) for c in self.custom_commands().values() if getattr(c, "user_invocable", True)
        ]
        entries += [(f"/{name}", what) for name, what in self.mcp_prompts()]
        for name, what in entries:
            if name.startswith(typed):
                yield Completion(name, start_position=-len(typed), display_meta=what[:60])
