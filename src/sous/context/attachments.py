"""`@path` in a prompt attaches that file (or lists that folder) for the model.

The prompt keeps its words; each mentioned file that exists is added after it as its own text
block, numbered like the Read tool's output and capped like it, and counts as read, so the model
may edit it straight away. Mentions of things that do not exist stay plain text (`@decorator`).
An image (`@shot.png`, or an image file's path dragged or pasted into the terminal, which
arrives as a plain, quoted or backslash-escaped absolute path) is attached as an image.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sous.core import Image, Text, ToolContext, UserMessage, new_id

MENTION = re.compile(r"(?:^|(?<=\s))@(\"[^\"]+\"|[^\s\"]+)")
MAX_LINES = 2000
MAX_CHARS = 100_000
MAX_LISTED = 200
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
MAX_IMAGE_BYTES = 5 * 1024 * 1024
_EXT = r"\.(?:png|jpe?g|gif|webp)"
DROPPED = re.compile(
    rf"""'((?:/|~/|file://)[^']+?{_EXT})'|"((?:/|~/|file://)[^"]+?{_EXT})"|"""
    rf"(?:^|(?<=\s))((?:/|~/|file://)(?:\\ |[^\s'\"])+?{_EXT})(?=$|[\s,.;:!?)])",
    re.I,
)


def mentions(prompt: str) -> list[str]:
    return [m.group(1).strip('"').rstrip(".,;:!?)") for m in MENTION.finditer(prompt)]


def dropped_images(prompt: str) -> list[str]:
    """Absolute image paths in `prompt` as terminals paste a dragged file: plain, quoted,
    backslash-escaped or as a file:// URL."""
    out = []
    for m in DROPPED.finditer(prompt):
        path = next(g for g in m.groups() if g)
        out.append(path.removeprefix("file://").replace("\\ ", " "))
    return out


def attach(prompt: str, ctx: ToolContext) -> UserMessage:
    """The user message for `prompt`, with every `@file` mentioned in it attached, and every
    image file dragged into it."""
    blocks: list[Text | Image] = [Text(text=prompt)]
    seen: set[Path] = set()
    for mention in [*mentions(prompt), *dropped_images(prompt)]:
        path = Path(os.path.expanduser(mention))
        path = path if path.is_absolute() else Path(ctx.cwd) / path
        path = path.resolve()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        if path.is_dir():
            blocks.append(Text(text=_listing(path, mention)))
        elif path.suffix.lower() in IMAGE_TYPES:
            blocks += _image(path, mention)
        elif (block := _file(path, mention, ctx)) is not None:
            blocks.append(Text(text=block))
    return UserMessage(content=tuple(blocks), id=new_id())


async def attach_resources(message: UserMessage, prompt: str, mcp) -> UserMessage:
    """Add the MCP resources mentioned as `@server:scheme://path` to `message`."""
    from sous.mcp.client import McpError

    blocks = list(message.content)
    for mention in mentions(prompt):
        server, sep, uri = mention.partition(":")
        if not sep or server not in mcp.servers or "://" not in uri:
            continue
        try:
            text = await mcp.read_resource(server, uri)
        except McpError as e:
            blocks.append(Text(text=f'<attachment resource="{mention}">could not be read: {e}</attachment>'))
            continue
        if len(text) > MAX_CHARS:
            text = text[:MAX_CHARS] + f"\n[cut at {MAX_CHARS:,} of {len(text):,} characters]"
        blocks.append(Text(text=f'<attachment resource="{mention}">\n{text}\n</attachment>'))
    return UserMessage(content=tuple(blocks), id=message.id)


def _file(path: Path, mention: str, ctx: ToolContext) -> str | None:
    from sous.tools._files import record_read

    try:
        raw = path.read_bytes()
    except OSError as e:
        return f'<attachment path="{mention}">could not be read: {e.strerror}</attachment>'
    if b"\0" in raw[:8192]:
        return f'<attachment path="{mention}">a binary file of {len(raw):,} bytes; not shown</attachment>'
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    shown, note = lines[:MAX_LINES], ""
    body = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(shown, 1))
    if len(body) > MAX_CHARS:
        body = body[:MAX_CHARS]
        note = f"\n[cut at {MAX_CHARS:,} characters; use Read with offset/limit for the rest]"
    elif len(lines) > MAX_LINES:
        note = f"\n[showing {MAX_LINES} of {len(lines)} lines; use Read with offset/limit for the rest]"
    else:
        record_read(ctx, path)  # the whole file was seen: it may be edited without a Read first
    return f'<attachment path="{mention}">\n{body}{note}\n</attachment>'


def _image(path: Path, mention: str) -> list[Text | Image]:
    import base64

    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            return [
                Text(
                    text=f'<attachment path="{mention}">an image of {size / 1e6:.1f} MB; images up to '
                    f"{MAX_IMAGE_BYTES // 2**20} MB can be attached</attachment>"
                )
            ]
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as e:
        return [Text(text=f'<attachment path="{mention}">could not be read: {e.strerror}</attachment>')]
    return [
        Text(text=f'<attachment path="{mention}" kind="image"/>'),
        Image(media_type=IMAGE_TYPES[path.suffix.lower()], data=data),
    ]


def _listing(path: Path, mention: str) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir() if not p.name.startswith("."))
    more = f"\n… and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return f'<attachment path="{mention}" kind="folder">\n' + "\n".join(names[:MAX_LISTED]) + more + "\n</attachment>"
