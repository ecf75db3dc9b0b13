"""WebFetch: a web page as Markdown, with a prompt applied to it.

The contract, as Claude Code's:
- `http://` is upgraded to `https://`, except for loopback hosts (a local dev server);
- a redirect to the same host (give or take `www.`) is followed; one to another host is not:
  the result names the new URL, and the model fetches it again (which asks permission for that
  host, as `WebFetch(domain:...)` rules see only the URL they are asked about);
- with the sandbox on and its network limited to `sandbox.network.allowedDomains`, other hosts
  are refused here too, so WebFetch is no way around the sandbox;
- at most `MAX_BYTES` of body are read and `timeout` seconds spent (`SOUS_WEB_FETCH_TIMEOUT`),
  and the result says when either cut the page short;
- HTML becomes Markdown (markdownify, imported on first use); pages are cached for 15 minutes;
- the prompt is answered by a small fast model where the provider has one (see `_side_model`);
  otherwise the parts of the page that share most words with the prompt are returned as they are.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from sous.core import ModelRequest, ProviderError, ToolContext, ToolResult, user
from sous.records import record, replace

from .offered import WEB_FETCH

MAX_BYTES = 10 * 1024 * 1024
MAX_MARKDOWN_CHARS = 100_000
"""What the side model is given of a page (about 25,000 tokens)."""
DIRECT_CHARS = 20_000
"""Without a side model: a page up to this size comes back whole, else its best-matching parts."""
MAX_HTML_CHARS = 1_000_000
"""Markup past this is not converted (after scripts and styles are dropped)."""
DEFAULT_TIMEOUT = 30.0
MAX_REDIRECTS = 10
CACHE_SECONDS = 15 * 60
CACHE_ENTRIES = 64
USER_AGENT = "sous-User (WebFetch; +https://github.com/sous)"
LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


SIDE_SYSTEM = (
    "You answer a question about one web page, from its content alone. Be concise; quote exactly "
    "where the wording matters (code, commands, numbers). Say so when the page does not answer."
)


@record
class Page:
    url: str
    status: int
    reason: str
    content_type: str
    markdown: str
    size: int
    """Bytes read from the body."""
    notes: tuple[str, ...] = ()
    """Why the page may be incomplete (size or time cap)."""
    timed_out: bool = False
    """Cut by the time cap: worth fetching again, so not cached."""
    body: bytes = b""
    """The raw body until it is converted (then dropped, so the cache holds Markdown only)."""
    encoding: str | None = None


@record
class Redirect:
    url: str
    location: str
    status: int


_cache: dict[str, tuple[float, Page]] = {}
_INVISIBLE = re.compile(r"<(script|style|svg|noscript)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)


def _error(text: str) -> ToolResult:
    return ToolResult(content=text, is_error=True)


def normalise(url: str) -> str:
    """The URL to fetch; raises ValueError with a one-line reason when it is not a web URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if parts.username or parts.password:
        raise ValueError("URLs with a user name or password are refused")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        parts = parts._replace(scheme="https")
    return urlunsplit(parts._replace(fragment=""))


def same_site(a: str, b: str) -> bool:
    """Same host, give or take a leading `www.`."""
    return _site(a) == _site(b)


def _site(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def sandbox_refusal(url: str, ctx: ToolContext) -> str | None:
    """Why the sandbox forbids this host, or None."""
    sandbox = ctx.state.get("sandbox")
    if sandbox is None or sandbox.network:
        return None
    from ._netproxy import domain_allowed

    host = urlsplit(url).hostname or ""
    if domain_allowed(host, sandbox.allowed_domains):
        return None
    return (
        f"The sandbox does not allow network access to {host}: it is not in sandbox.network.allowedDomains "
        f"({', '.join(sandbox.allowed_domains) or 'empty'})."
    )


async def fetch(url: str, *, timeout: float, max_bytes: int = MAX_BYTES) -> Page | Redirect:
    """GET `url`, following same-site redirects; a cross-site one is returned, not followed.
    The page comes back unconverted (`body`, no `markdown`). Raises `httpx.HTTPError` (or
    ValueError) on failure; the time cap covers the whole fetch."""
    import httpx

    deadline = time.monotonic() + timeout
    headers = {"user-agent": USER_AGENT, "accept": "text/markdown, text/html;q=0.9, */*;q=0.5"}
    limits = httpx.Timeout(timeout)
    async with httpx.AsyncClient(follow_redirects=False, timeout=limits, headers=headers) as client:
        for _ in range(MAX_REDIRECTS + 1):
            async with client.stream("GET", url) as response:
                if response.is_redirect:
                    location = urljoin(url, response.headers.get("location", ""))
                    if not same_site(url, location):
                        return Redirect(url=url, location=location, status=response.status_code)
                    url = normalise(location)
                    continue
                body, notes, timed_out = await _read(response, deadline, max_bytes)
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                return Page(
                    url=url,
                    status=response.status_code,
                    reason=response.reason_phrase,
                    content_type=content_type,
                    markdown="",
                    size=len(body),
                    notes=notes,
                    timed_out=timed_out,
                    body=body,
                    encoding=response.encoding,
                )
    raise ValueError(f"more than {MAX_REDIRECTS} redirects")


async def _read(response: Any, deadline: float, max_bytes: int) -> tuple[bytes, tuple[str, ...], bool]:
    """The body up to the caps, notes on what was cut, and whether the time cap cut it."""
    chunks: list[bytes] = []
    size = 0
    stream = response.aiter_bytes().__aiter__()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return (
                b"".join(chunks),
                (f"the page took longer than the time cap; only the first {size:,} bytes arrived in time",),
                True,
            )
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), left)
        except StopAsyncIteration:
            return b"".join(chunks), (), False
        except TimeoutError:
            continue  # the loop notices the deadline
        chunks.append(chunk)
        size += len(chunk)
        if size >= max_bytes:
            return (
                b"".join(chunks)[:max_bytes],
                (f"the page is larger than {max_bytes // 2**20} MB; only its first {max_bytes // 2**20} MB were read",),
                False,
            )


def to_markdown(body: bytes, encoding: str | None, content_type: str) -> tuple[str, tuple[str, ...]]:
    """The page as Markdown (HTML converted, a PDF's text extracted, other text as it is), and
    notes on what was cut or not shown. Slow on big pages (about a second per 300 KB of markup):
    run it off the event loop."""
    if content_type == "application/pdf":
        return _pdf_text(body)
    if content_type and not _textual(content_type):
        return "", (f"the URL holds {content_type} content, which WebFetch does not show",)
    text = body.decode(encoding or "utf-8", errors="replace")
    if not content_type and "\0" in text[:8192]:
        return "", ("the URL holds binary content, which WebFetch does not show",)
    if content_type not in ("text/html", "application/xhtml+xml") and (
        content_type or "<html" not in text[:2000].lower()
    ):
        return text, ()
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    notes: tuple[str, ...] = ()
    text = _INVISIBLE.sub("", text)  # scripts and styles are most of many pages: drop them before parsing
    if len(text) > MAX_HTML_CHARS:
        notes = (f"the page's markup is {len(text):,} characters; only the first {MAX_HTML_CHARS:,} were converted",)
        text = text[:MAX_HTML_CHARS]
    soup = BeautifulSoup(text, "html.parser")
    for node in soup(["script", "style", "noscript", "svg", "template", "iframe", "head"]):
        node.decompose()  # their text is no part of what a reader sees
    text = MarkdownConverter(heading_style="ATX").convert_soup(soup)
    return re.sub(r"\n{3,}", "\n\n", text).strip(), notes


def _textual(content_type: str) -> bool:
    return (
        content_type.startswith("text/")
        or content_type.endswith(("json", "xml", "javascript", "yaml", "toml"))
        or content_type in ("application/x-sh", "application/x-python")
    )


def _pdf_text(body: bytes) -> tuple[str, tuple[str, ...]]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = PdfReader(io.BytesIO(body)).pages
        return "\n\n".join(f"--- Page {n} ---\n{(p.extract_text() or '').strip()}" for n, p in enumerate(pages, 1)), ()
    except (PdfReadError, ValueError, OSError) as e:
        return "", (f"the PDF could not be read: {e}",)


def relevant_part(markdown: str, prompt: str, budget: int = DIRECT_CHARS) -> str:
    """Without a model: the page if it fits, else its paragraphs sharing most words with the
    prompt, in page order, within `budget` characters, with a note saying so."""
    if len(markdown) <= budget:
        return markdown
    terms = {w for w in re.findall(r"[a-z0-9_]{3,}", prompt.lower())}
    blocks = [b for b in re.split(r"\n\s*\n", markdown) if b.strip()]
    scored = sorted(range(len(blocks)), key=lambda i: (-sum(blocks[i].lower().count(t) for t in terms), i))
    keep, used = set(), 0
    for i in scored:
        if used + len(blocks[i]) > budget:
            continue
        keep.add(i)
        used += len(blocks[i]) + 2
    shown = "\n\n".join(blocks[i] for i in sorted(keep))
    return (
        f"[The page has {len(markdown):,} characters; these are its {len(keep)} of {len(blocks)} parts that best "
        f"match the prompt, in page order. No model was used to answer it.]\n\n{shown}"
    )


async def apply_prompt(page: Page, prompt: str, ctx: ToolContext) -> tuple[str, str | None]:
    """The answer to `prompt` from `page`, and the side model's name when one answered."""
    from ._side_model import small_fast_model

    model = small_fast_model(ctx)
    if model is None:
        return relevant_part(page.markdown, prompt), None
    content = page.markdown
    if len(content) > MAX_MARKDOWN_CHARS:
        content = content[:MAX_MARKDOWN_CHARS] + "\n[... the rest of the page was cut ...]"
    request = ModelRequest(
        system=SIDE_SYSTEM,
        messages=(user(f"Web page content:\n---\n{content}\n---\n\n{prompt}"),),
        tools=(),
        max_tokens=4096,
    )
    try:
        done = await ctx.cancel.race(model.complete(request, lambda event: None, ctx.cancel))
    except ProviderError as e:
        return f"[The small model failed ({e}); the page's relevant part follows.]\n\n" + relevant_part(
            page.markdown, prompt
        ), None
    if done is None:
        raise asyncio.CancelledError
    reply = done.result()
    return reply.text or "(the small model gave no answer)", model.name


async def run(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    started = time.monotonic()
    try:
        url = normalise(args["url"])
    except ValueError as e:
        return _error(f"Invalid URL: {e}")
    if refusal := sandbox_refusal(url, ctx):
        return _error(refusal)
    page = _cached(url)
    if page is None:
        timeout = float(ctx.environ.get("SOUS_WEB_FETCH_TIMEOUT") or DEFAULT_TIMEOUT)
        import httpx

        try:
            # The body's own cap is `timeout`; this bounds the connection and headers too.
            got = await asyncio.wait_for(fetch(url, timeout=timeout), timeout + 5)
        except (TimeoutError, httpx.TimeoutException):
            return _error(f"Fetching {url} timed out after {timeout:g} s.")
        except (httpx.HTTPError, ValueError) as e:
            return _error(f"Fetching {url} failed: {e or type(e).__name__}")
        if isinstance(got, Redirect):
            return ToolResult(
                content=(
                    f"REDIRECT DETECTED: the URL redirects to a different host.\n\nOriginal URL: {got.url}\n"
                    f"Redirect URL: {got.location}\nStatus: {got.status}\n\nTo fetch the content, call WebFetch again "
                    f'with url="{got.location}".'
                ),
                data={"url": got.url, "code": got.status, "redirect": got.location},
            )
        # Converting can take seconds on a big page: off the event loop, and outside the time cap.
        markdown, cut = await asyncio.to_thread(to_markdown, got.body, got.encoding, got.content_type)
        page = replace(got, markdown=markdown, notes=got.notes + cut, body=b"")
        if page.status < 400 and not page.timed_out:
            _store(url, page)
    if page.status >= 400:
        return _error(f"{url} answered {page.status} {page.reason}.\n\n{page.markdown[:2000]}")
    if not page.markdown.strip():
        return _error(f"Nothing to read at {page.url}: " + ("; ".join(page.notes) or "the page is empty") + ".")
    answer, side_model = await apply_prompt(page, args["prompt"], ctx)
    notes = "".join(f"\n\n[Note: {n}.]" for n in page.notes)
    data = {
        "url": page.url,
        "code": page.status,
        "codeText": page.reason,
        "bytes": page.size,
        "contentType": page.content_type,
        "result": answer,
        "model": side_model,
        "durationMs": int((time.monotonic() - started) * 1000),
    }
    return ToolResult(content=answer + notes, data=data)


def _cached(url: str) -> Page | None:
    hit = _cache.get(url)
    if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
        _cache.pop(url, None)
        return None
    return hit[1]


def _store(url: str, page: Page) -> None:
    if len(_cache) >= CACHE_ENTRIES:
        del _cache[min(_cache, key=lambda k: _cache[k][0])]
    _cache[url] = (time.monotonic(), page)


TOOL = WEB_FETCH  # the prompt's side of the tool, in `offered`: this module is imported by its first call
