"""Images attached to a prompt: `@shot.png`, and image paths dragged into the terminal."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image as PILImage

from sous.context.attachments import attach, dropped_images
from sous.core import Image, Text, ToolContext
from sous.models import anthropic, openai_chat
from sous.ui.slash import is_command_like


def png(path: Path, colour=(255, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (3, 3), colour).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def test_dragged_paths_are_recognised_as_terminals_paste_them():
    assert dropped_images("look at /tmp/a.png please") == ["/tmp/a.png"]
    assert dropped_images("'/home/me/My Shot.PNG' what is wrong") == ["/home/me/My Shot.PNG"]
    assert dropped_images("/home/me/my\\ shot.jpg, fix it") == ["/home/me/my shot.jpg"]
    assert dropped_images('"/a b/c.gif" and file:///tmp/x.webp') == ["/a b/c.gif", "/tmp/x.webp"]
    assert dropped_images("see ./rel.png, http://x.org/y.png, /tmp/notes.txt and /tmp/a.pngx") == []
    assert not is_command_like("/tmp/a.png what is this")


def test_an_image_mentioned_or_dragged_is_attached_as_an_image(tmp_path):
    ctx = ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))
    red = png(tmp_path / "red.png")
    blue = png(tmp_path / "my shot.png", (0, 0, 255))
    message = attach(f"compare @red.png with '{tmp_path / 'my shot.png'}' and /nope/missing.png", ctx)
    images = [b for b in message.content if isinstance(b, Image)]
    assert [base64.b64decode(i.data) for i in images] == [red, blue]
    assert all(i.media_type == "image/png" for i in images)
    assert isinstance(message.content[0], Text) and "missing.png" not in "".join(
        b.text for b in message.content[1:] if isinstance(b, Text)
    )
    wire = anthropic.to_wire((message,))
    assert [b["type"] for b in wire[0]["content"]].count("image") == 2
    chat = openai_chat.to_wire("", (message,))
    assert [p["type"] for p in chat[0]["content"]].count("image_url") == 2


def test_an_image_too_big_is_named_not_attached(tmp_path):
    ctx = ToolContext(cwd=str(tmp_path), project_dir=str(tmp_path))
    (tmp_path / "huge.png").write_bytes(b"\x89PNG" + b"\0" * (6 * 1024 * 1024))
    message = attach("@huge.png", ctx)
    assert not any(isinstance(b, Image) for b in message.content)
    assert "images up to 5 MB" in message.content[-1].text
