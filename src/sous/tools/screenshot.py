"""Screenshot: open a local page in headless Chromium and see it, to check one's own work.

The page is a file (a path, or a `file://` URL) or a local server (`http://localhost:…`,
`127.0.0.1`, `[::1]`, `*.localhost`); other hosts are refused (WebFetch reads the web). After the
page's `load` event (and `wait_for`, a CSS selector, when given) the optional `actions` run in
order: click, type (fill), press a key, or wait. The result is a PNG image block (JPEG past 5 MB), plus the
console errors, uncaught exceptions and failed requests seen on the way.

Chromium comes from `SOUS_CHROMIUM` or PATH (`chromium`, `chromium-browser`, `google-chrome`),
driven through Playwright for Python (imported on first use; `playwright install` is never
needed: sous launches the system's browser). Without both the tool is not offered, and /status
says how to enable it. With the sandbox on and its network limited to allowed domains, the page's
requests to other hosts are blocked and listed.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any
from urllib.parse import urlsplit

from sous.core import Image, Text, ToolContext, ToolResult

from ._files import resolve
from .offered import SCREENSHOT, chromium_path
from .offered import screenshot_unavailable as unavailable

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
MAX_SIDE = 4000
MAX_FULL_PAGE_HEIGHT = 8000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
TIMEOUT_MS = 15_000
MAX_LISTED = 20


def is_local(host: str) -> bool:
    host = host.lower().strip("[]")
    return host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost") or host.startswith("127.")


def page_url(target: str, ctx: ToolContext) -> str:
    """The URL to open; raises ValueError when it is not a local page."""
    parts = urlsplit(target)
    if parts.scheme in ("http", "https"):
        if not is_local(parts.hostname or ""):
            raise ValueError(
                f"Screenshot opens local pages only (a file or http://localhost), not {parts.hostname}; "
                "use WebFetch to read a web page"
            )
        return target
    if parts.scheme == "file":
        path = parts.path
    elif parts.scheme and len(parts.scheme) > 1:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r}: give a file path or an http://localhost URL")
    else:
        path = str(resolve(target, ctx))
    if not os.path.isfile(path):
        raise ValueError(f"no such file: {path}")
    return "file://" + os.path.abspath(path)


def _clamp(value: Any, default: int, high: int) -> int:
    return max(100, min(int(value or default), high))


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    if reason := unavailable(ctx.environ or os.environ):
        return ToolResult(content=reason, is_error=True)
    try:
        url = page_url(args["url"], ctx)
    except ValueError as e:
        return ToolResult(content=str(e), is_error=True)
    done = await ctx.cancel.race(_shoot(url, args, ctx))
    if done is None:
        raise asyncio.CancelledError
    return done.result()


async def _shoot(url: str, args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import ViewportSize, async_playwright

    viewport: ViewportSize = {
        "width": _clamp(args.get("width"), 1280, MAX_SIDE),
        "height": _clamp(args.get("height"), 800, MAX_SIDE),
    }
    problems: list[str] = []
    blocked: list[str] = []
    sandbox = ctx.state.get("sandbox")
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=chromium_path(ctx.environ or os.environ), args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        try:
            page = await browser.new_page(viewport=viewport)
            page.on(
                "console",
                lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
            page.on(
                "requestfailed",
                lambda r: (
                    problems.append(f"request failed: {r.method} {r.url} ({r.failure or 'failed'})")
                    if r.url not in blocked
                    else None
                ),
            )
            page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
            if sandbox is not None and not sandbox.network:
                await page.route("**/*", lambda route: _filter(route, sandbox.allowed_domains, blocked))
            step = "opening the page"
            try:
                await page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
                if selector := args.get("wait_for"):
                    step = f"waiting for {selector!r}"
                    await page.wait_for_selector(selector, timeout=TIMEOUT_MS)
                for number, action in enumerate(args.get("actions") or [], 1):
                    step = f"action {number} ({action.get('action')} {action.get('selector') or ''})".strip()
                    await _act(page, action)
                step = "taking the screenshot"
                shot, media_type = await _capture(page, bool(args.get("full_page")))
            except (PlaywrightError, ValueError) as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                return ToolResult(
                    content=f"Screenshot failed while {step}: {first}" + _listing(problems, blocked), is_error=True
                )
            title = await page.title()
        finally:
            await browser.close()
    summary = f"Screenshot of {url} ({viewport['width']}x{viewport['height']}), title {title!r}."
    summary += _listing(problems, blocked) or "\nNo console errors or failed requests."
    data = {"url": url, "viewport": viewport, "problems": problems, "blocked": blocked, "bytes": len(shot)}
    return ToolResult(
        content=(Text(text=summary), Image(media_type=media_type, data=base64.b64encode(shot).decode())), data=data
    )


async def _act(page: Any, action: dict[str, Any]) -> None:
    kind, selector = action.get("action"), action.get("selector")
    if kind == "wait":
        await page.wait_for_timeout(min(int(action.get("ms") or 500), 10_000))
    elif not selector:
        raise ValueError(f"{kind} needs a selector")
    elif kind == "click":
        await page.click(selector, timeout=TIMEOUT_MS)
    elif kind == "type":
        await page.fill(selector, action.get("text") or "", timeout=TIMEOUT_MS)
    elif kind == "press":
        await page.press(selector, action.get("text") or "Enter", timeout=TIMEOUT_MS)
    else:
        raise ValueError(f"unknown action {kind!r}")


async def _capture(page: Any, full_page: bool) -> tuple[bytes, str]:
    """The shot as PNG, or as JPEG when the PNG would pass the image size cap."""
    options: dict[str, Any] = {}
    if full_page:
        height = await page.evaluate("document.documentElement.scrollHeight")
        options = {
            "full_page": True,
            "clip": {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": min(height, MAX_FULL_PAGE_HEIGHT)},
        }
    png = await page.screenshot(type="png", **options)
    if len(png) <= MAX_IMAGE_BYTES:
        return png, "image/png"
    return await page.screenshot(type="jpeg", quality=70, **options), "image/jpeg"


async def _filter(route: Any, allowed: tuple[str, ...], blocked: list[str]) -> None:
    from ._netproxy import domain_allowed

    url = route.request.url
    parts = urlsplit(url)
    if (
        parts.scheme in ("http", "https", "ws", "wss")
        and not is_local(parts.hostname or "")
        and not domain_allowed(parts.hostname or "", allowed)
    ):
        blocked.append(url)
        await route.abort("blockedbyclient")
    else:
        await route.continue_()


def _listing(problems: list[str], blocked: list[str]) -> str:
    out = ""
    if problems:
        out += "\nConsole errors and failed requests:\n" + "\n".join(f"- {p}" for p in problems[:MAX_LISTED])
        if len(problems) > MAX_LISTED:
            out += f"\n- ... and {len(problems) - MAX_LISTED} more"
    if blocked:
        out += "\nBlocked by the sandbox (not in sandbox.network.allowedDomains): " + ", ".join(blocked[:MAX_LISTED])
    return out


TOOL = SCREENSHOT  # the prompt's side of the tool, in `offered`: this module is imported by its first call
