"""A small HTTP/1.1 client on asyncio streams, for the providers' one kind of traffic: a POST whose
answer streams back, on a pooled keep-alive connection.

Why not httpx everywhere: importing httpx, httpcore, anyio, h11 and their helpers costs about a
third of sous's start-up (some 40 ms of 150 on a quiet machine), for features a model request
never uses. httpx still serves every request that goes through a proxy (`HTTPS_PROXY`,
`ALL_PROXY`...: tunnels, SOCKS and proxy authentication are its job; `proxy_for` reads the
variables), through the same interface (`_http.ProxiedClient`), and the web tools.

What this client does: HTTP and HTTPS (certificates from `SSL_CERT_FILE`/`SSL_CERT_DIR` when
set, else certifi's bundle when installed, else the system's), `Content-Length`, chunked and
read-to-close bodies, keep-alive connections reused per origin (a reused connection the server
closed meanwhile is retried once on a fresh one, before any byte of the answer was read), a
connect timeout, an idle timeout between reads, and no redirects. Failures are `TransportError`s.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json as jsonlib
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 15.0
WRITE_TIMEOUT_S = 60.0
MAX_HEADER_BYTES = 64 * 1024


class TransportError(Exception):
    """The request failed on the way: no connection, a timeout, a broken or cut answer."""


class ConnectFailed(TransportError):
    pass


class ReadTimeout(TransportError):
    pass


class RemoteProtocolError(TransportError):
    pass


class RequestRefused(TransportError):
    """The request cannot be sent as asked (a header value with a line break): not worth a retry."""


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy URL the environment names for `url` (`HTTPS_PROXY`/`HTTP_PROXY` by scheme, else
    `ALL_PROXY`, lower-case names first as curl reads them), or None, also when `NO_PROXY` lists
    its host: `*`, the host itself, or a domain it is under (`example.com` or `.example.com`)."""
    parts = urlsplit(url)

    def variable(name: str) -> str:
        return (environ.get(name) or environ.get(name.upper()) or "").strip()

    proxy = variable(f"{parts.scheme}_proxy") or variable("all_proxy")
    host = (parts.hostname or "").lower()
    for entry in variable("no_proxy").split(","):
        entry = entry.strip().lower().lstrip(".")
        entry = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry  # "host:port" matches by host
        if entry and (entry == "*" or host == entry or host.endswith("." + entry)):
            return None
    return proxy or None


class Headers(dict[str, str]):
    """Response headers by lower-cased name (a repeated header keeps its last value)."""


class Response:
    """One answer: its status and headers at once, its body as it arrives."""

    def __init__(self, status_code: int, reason_phrase: str, headers: Headers, body: _Body):
        self.status_code = status_code
        self.reason_phrase = reason_phrase
        self.headers = headers
        self._body = body
        self._read: bytes | None = None

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        async for piece in self._body.pieces():
            yield piece

    async def aiter_text(self) -> AsyncIterator[str]:
        charset = self.headers.get("content-type", "").partition("charset=")[2].split(";")[0].strip(' "') or "utf-8"
        try:
            decoder = codecs.getincrementaldecoder(charset)(errors="replace")
        except LookupError:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        async for piece in self.aiter_bytes():
            if text := decoder.decode(piece):
                yield text
        if tail := decoder.decode(b"", final=True):
            yield tail

    async def aread(self) -> bytes:
        if self._read is None:
            self._read = b"".join([piece async for piece in self.aiter_bytes()])
        return self._read

    def json(self) -> Any:
        if self._read is None:
            raise RuntimeError("the body has not been read")
        return jsonlib.loads(self._read)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reused: bool = False):
        self.reader, self.writer, self.reused = reader, writer, reused

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class _Body:
    """The body of one answer, read from its connection as asked for."""

    def __init__(self, conn: _Connection, headers: Headers, read_timeout: float, *, empty: bool, http11: bool):
        self.conn, self.read_timeout = conn, read_timeout
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self.remaining: int | None = 0 if empty else (None if self.chunked or length is None else int(length))
        persistent = headers.get("connection", "").lower() != "close" if http11 else False
        self.keep_alive = persistent and (empty or self.chunked or length is not None)
        self.done = False

    async def _io(self, awaitable: Any) -> Any:
        try:
            async with asyncio.timeout(self.read_timeout):
                return await awaitable
        except TimeoutError as e:
            raise ReadTimeout(f"no data for {self.read_timeout:g}s") from e
        except asyncio.IncompleteReadError as e:
            raise RemoteProtocolError("the server closed the connection before the answer ended") from e
        except (ConnectionError, OSError, ValueError) as e:  # ValueError: a line over the reader's limit
            raise RemoteProtocolError(f"the connection broke: {e}") from e

    async def pieces(self) -> AsyncIterator[bytes]:
        reader = self.conn.reader
        while not self.done:
            if self.chunked:
                size_line = await self._io(reader.readline())
                try:
                    size = int(size_line.split(b";")[0].strip() or b"x", 16)
                except ValueError:
                    raise RemoteProtocolError(f"bad chunk size line {size_line[:40]!r}") from None
                if size == 0:
                    while (await self._io(reader.readline())).strip():  # trailers, then the blank line
                        pass
                    self.done = True
                    return
                data = await self._io(reader.readexactly(size))
                await self._io(reader.readexactly(2))  # the chunk's CRLF
                yield data
            elif self.remaining is not None:
                if self.remaining == 0:
                    self.done = True
                    return
                data = await self._io(reader.read(min(self.remaining, 65536)))
                if not data:
                    raise RemoteProtocolError("the server closed the connection before the answer ended")
                self.remaining -= len(data)
                yield data
            else:
                data = await self._io(reader.read(65536))
                if not data:
                    self.done = True
                    return
                yield data


def tls_context() -> Any:
    import ssl

    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if not cafile and not capath:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:
            pass
    return ssl.create_default_context(cafile=cafile or None, capath=capath or None)


class Client:
    """Connections pooled per origin; `stream` sends one request and yields its `Response`."""

    def __init__(self, *, read_timeout: float, verify: bool = True, user_agent: str = "sous"):
        self.read_timeout = read_timeout
        self.verify = verify
        self.user_agent = user_agent
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._tls: Any = None

    async def _connect(self, scheme: str, host: str, port: int, limit_s: float) -> _Connection:
        pool = self._idle.get((scheme, host, port), [])
        while pool:
            conn = pool.pop()
            if not conn.reader.at_eof() and not conn.writer.is_closing():
                conn.reused = True
                return conn
            conn.close()
        tls: Any = None
        if scheme == "https":
            if self._tls is None:
                self._tls = tls_context()
                if not self.verify:
                    import ssl

                    self._tls.check_hostname, self._tls.verify_mode = False, ssl.CERT_NONE
            tls = self._tls
        try:
            async with asyncio.timeout(limit_s):
                reader, writer = await asyncio.open_connection(host, port, ssl=tls, limit=MAX_HEADER_BYTES)
        except TimeoutError as e:
            raise ConnectFailed(f"connecting to {host}:{port} took over {limit_s:g}s") from e
        except OSError as e:  # refused, unreachable, no such host, a certificate that does not verify
            raise ConnectFailed(f"cannot connect to {host}:{port}: {e}") from e
        return _Connection(reader, writer)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[Response]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectFailed(f"not an http(s) URL: {url}")
        host, scheme = parts.hostname, parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = b"" if json is None else jsonlib.dumps(json).encode()
        default_port = port == (443 if scheme == "https" else 80)
        lines = [f"{method} {target} HTTP/1.1", f"host: {host if default_port else f'{host}:{port}'}"]
        given = {k.lower(): str(v).strip() for k, v in (headers or {}).items()}
        given.setdefault("user-agent", self.user_agent)
        given.setdefault("accept-encoding", "identity")
        if json is not None:
            given.setdefault("content-type", "application/json")
        if body or method in ("POST", "PUT", "PATCH"):
            given["content-length"] = str(len(body))
        for name, value in given.items():
            if any(c in f"{name}{value}" for c in "\r\n\0"):  # would split the request: never sent
                raise RequestRefused(f"the {name} header holds a line break (check the value it is set from)")
            lines.append(f"{name}: {value}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace") + body
        read_timeout = self.read_timeout if timeout is None else timeout
        for attempt in (1, 2):
            conn = await self._connect(scheme, host, port, min(CONNECT_TIMEOUT_S, read_timeout))
            try:
                response = await self._send(conn, request, read_timeout, empty=method == "HEAD")
            except TransportError:
                conn.close()
                if conn.reused and attempt == 1:  # the server dropped an idle connection: once more, fresh
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            break
        finished = False
        try:
            yield response
            finished = response._body.done
        finally:
            if finished and response._body.keep_alive:
                conn.reused = False
                self._idle.setdefault((scheme, host, port), []).append(conn)
            else:
                conn.close()

    async def _send(self, conn: _Connection, request: bytes, read_timeout: float, *, empty: bool) -> Response:
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                conn.writer.write(request)
                await conn.writer.drain()
            async with asyncio.timeout(read_timeout):
                status_line = await conn.reader.readline()
                if not status_line:
                    raise RemoteProtocolError("the server closed the connection without answering")
                head: list[bytes] = []
                while (line := await conn.reader.readline()) not in (b"\r\n", b"\n", b""):
                    head.append(line)
        except TimeoutError as e:
            raise ReadTimeout(f"no answer for {read_timeout:g}s") from e
        except (ConnectionError, OSError, ValueError) as e:  # ValueError: a header line over the limit
            raise RemoteProtocolError(f"the connection broke: {e}") from e
        version, _, rest = status_line.decode("latin-1").strip().partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/") or not code.isdigit():
            raise RemoteProtocolError(f"not an HTTP answer: {status_line[:60]!r}")
        headers = Headers()
        for raw in head:
            name, sep, value = raw.decode("latin-1").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if not headers.get("content-length", "0").isdigit():
            raise RemoteProtocolError(f"bad content-length {headers['content-length'][:40]!r}")
        status = int(code)
        no_body = empty or status in (204, 304) or 100 <= status < 200
        body = _Body(conn, headers, read_timeout, empty=no_body, http11=version == "HTTP/1.1")
        return Response(status, reason, headers, body)

    async def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, timeout: float | None = None
    ) -> Response:
        async with self.stream("GET", url, headers=headers, timeout=timeout) as response:
            await response.aread()
        return response

    async def aclose(self) -> None:
        for pool in self._idle.values():
            for conn in pool:
                conn.close()
        self._idle.clear()
