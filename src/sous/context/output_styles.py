"""Output styles: how the system prompt asks the model to talk, as Claude Code's `outputStyle`.

A style is a Markdown file with frontmatter `name`, `description` and `keep-coding-instructions`;
its body is added to the system prompt. The built-ins are `default` (sous's prompt as it is),
`explanatory` and `learning` (in `prompts/styles/`). Custom ones live in
`~/.claude/output-styles/*.md` and the project's `.claude/output-styles/*.md` (the project's
win over the user's of the same name, both over those of enabled plugins' `output-styles/`, and
all over the built-ins). A style whose
`keep-coding-instructions` is not true replaces sous's coding instructions (the "How to work"
part) and keeps the environment facts; one that keeps them is appended after them.

Names match case-insensitively (`"Explanatory"` in a settings file is the built-in
`explanatory`). The style is chosen with the `outputStyle` setting at session start, or with
`/output-style` for the rest of the session.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from sous.records import record

BUILTIN_DIR = Path(__file__).parent / "prompts" / "styles"
DEFAULT = "default"
MAX_BYTES = 256 * 1024
"""A style is a page of text; a larger file is skipped."""


@record
class OutputStyle:
    name: str
    description: str
    body: str
    """The text added to the system prompt ("" for the default style)."""
    keep_coding_instructions: bool = True
    source: str = "built-in"
    """"built-in", or the file it was read from."""


def discover(
    project_dir: str, environ: Mapping[str, str] = os.environ, plugin_folders: Sequence[Path] = ()
) -> tuple[dict[str, OutputStyle], list[str]]:
    """Every style by lower-cased name, and one line per style file that could not be used.
    `plugin_folders` are enabled plugins' `output-styles/` (over the built-ins, under your own)."""
    styles = {DEFAULT: OutputStyle(name="default", description="sous's own way of working and talking", body="")}
    problems: list[str] = []
    home = Path(environ.get("HOME") or Path.home())
    for folder, builtin in (
        (BUILTIN_DIR, True),
        *((folder, False) for folder in plugin_folders),
        (home / ".claude" / "output-styles", False),
        (Path(project_dir) / ".claude" / "output-styles", False),
    ):
        for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
            style, problem = _read(path, builtin)
            if style is not None:
                styles[style.name.lower()] = style
            elif problem:
                problems.append(problem)
    return styles, problems


def _read(path: Path, builtin: bool) -> tuple[OutputStyle | None, str]:
    from .commands import frontmatter

    try:
        if path.stat().st_size > MAX_BYTES:
            return None, f"{path}: larger than {MAX_BYTES // 1024} KB, not an output style; skipped"
        text = path.read_text("utf-8", errors="replace")
    except OSError as e:
        return None, f"{path}: cannot read the output style: {e.strerror or e}"
    meta, body = frontmatter(text)
    name = str(meta.get("name") or path.stem).strip()
    if not name or name.lower() == DEFAULT:
        return None, f"{path}: an output style cannot be named {name or 'nothing'!r}; skipped"
    keep = meta.get("keep-coding-instructions")
    return (
        OutputStyle(
            name=name,
            description=str(meta.get("description") or "").strip(),
            body=body.strip(),
            keep_coding_instructions=keep is True or str(keep).lower() in ("true", "yes", "on", "1"),
            source="built-in" if builtin else str(path),
        ),
        "",
    )


def apply(system: str, style: OutputStyle | None) -> str:
    """The system prompt `system` (sous's, from `system_prompt.build`) in this style."""
    if style is None or not style.body:
        return system
    if style.keep_coding_instructions:
        head, sep, environment = system.partition("\n# Environment")
        return f"{head.rstrip()}\n\n{style.body}\n{sep}{environment}" if sep else f"{system}\n\n{style.body}"
    _, sep, environment = system.partition("# Environment")
    intro = "You are sous, a coding agent working in the user's terminal."
    return f"{intro}\n\n{style.body}\n\n{sep}{environment}" if sep else f"{intro}\n\n{style.body}"
