"""Per-domain network access for the Bash sandbox.

A sandboxed command has no network of its own (`bwrap --unshare-net`). When
`sandbox.network.allowedDomains` lists domains, sous runs this HTTP proxy on a Unix socket in a
folder the sandbox sees read-only (`_sandbox.sealed_dir`); inside the sandbox `_netbridge.py` relays a loopback
port to that socket and points `HTTP_PROXY`/`HTTPS_PROXY` at it. The proxy opens connections only
to allowed hosts (CONNECT for HTTPS, absolute-URI requests for plain HTTP) and answers 403 to the
rest, remembering what it refused so the Bash result can say so.

A domain entry matches itself; `*.example.com` matches its subdomains (not example.com itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from urllib.parse import urlsplit

REFUSAL = b"sous sandbox: network access to %s is not allowed (sandbox.network.allowedDomains)\n"


def domain_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if entry.startswith("*.") and host.endswith(entry[1:]) and host != entry[2:]:
            return True
        if host == entry:
            return True
    return False


def _is_hop(header: bytes) -> bool:
    """Whether the header is one the proxy sets itself (Host, Connection, Keep-Alive)."""
    name, colon, _ = header.partition(b":")
    return bool(colon) and name.strip().lower() in (b"host", b"connection", b"keep-alive")


class DomainProxy:
    def __init__(self, allowed: tuple[str, ...], socket_path: str):
        self.allowed = allowed
        self.socket_path = socket_path
        self.refused: list[str] = []
        """Hosts refused so far, in order (the Bash tool reports the new ones after each command)."""
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        self._server = await asyncio.start_unix_server(self._serve, path=self.socket_path)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request_line, _, rest = head.partition(b"\r\n")
        try:
            method, target, version = request_line.decode("latin-1").split(" ", 2)
        except ValueError:
            return await self._answer(writer, 400, b"bad request\n")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            forward = b""
        else:
            url = urlsplit(target)
            host, port = url.hostname or "", str(url.port or 80)
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            # The Host header is the URL's: a server hosting many sites (a CDN) would otherwise
            # serve whichever one the command names there, allowed or not. Folded lines go too, and
            # the connection carries this one request: a next one would be piped along unread.
            headers = [
                h
                for h in rest.split(b"\r\n")
                if h and h[:1] not in b" \t" and not h.lower().startswith(b"proxy-") and not _is_hop(h)
            ]
            headers[:0] = [b"Host: " + url.netloc.rpartition("@")[2].encode("latin-1"), b"Connection: close"]
            forward = f"{method} {path} {version}\r\n".encode("latin-1") + b"\r\n".join(headers) + b"\r\n\r\n"
        host = host.strip("[]")
        if not host or not domain_allowed(host, self.allowed):
            self.refused.append(host or target)
            return await self._answer(writer, 403, REFUSAL % (host or target).encode())
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 15)
        except (TimeoutError, OSError, ValueError) as e:
            return await self._answer(writer, 502, f"sous sandbox proxy: cannot reach {host}: {e}\n".encode())
        if method != "CONNECT":
            up_writer.write(forward)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        down = asyncio.ensure_future(_pipe(up_reader, writer))  # a server may speak first (ssh)
        try:
            first = await _first_record(reader)
            name = _server_name(first) if first[:1] == b"\x16" else None
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            name = ""
        if name is not None and not (name and domain_allowed(name, self.allowed)):
            # TLS asking the server for a site not allowed (domain fronting through an allowed one)
            self.refused.append(name or f"{host} (an unreadable TLS hello)")
            down.cancel()
            up_writer.close()
            writer.close()
            return
        up_writer.write(first)
        await asyncio.gather(_pipe(reader, up_writer), down)

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
        reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n".encode()
            + body
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


async def _first_record(reader: asyncio.StreamReader) -> bytes:
    """What the client sends first: a whole TLS record when it starts like one, else what came."""
    first = await reader.read(5)
    if first[:1] != b"\x16":
        return first
    first += await reader.readexactly(5 - len(first))
    return first + await reader.readexactly(int.from_bytes(first[3:5], "big"))


def _server_name(record: bytes) -> str | None:
    """The server name a TLS ClientHello record asks for (None: it names none). Raises ValueError
    for anything else, a hello split over records included (its name could be in the next one)."""
    try:
        if record[5] != 1 or int.from_bytes(record[6:9], "big") > len(record) - 9:
            raise ValueError("not a whole ClientHello")
        hello = record[9:]
        at = 2 + 32  # version, random
        at += 1 + hello[at]  # session id
        at += 2 + int.from_bytes(hello[at : at + 2], "big")  # cipher suites
        at += 1 + hello[at]  # compression methods
        if at >= len(hello):
            return None
        end, at = at + 2 + int.from_bytes(hello[at : at + 2], "big"), at + 2
        while at + 4 <= end:
            kind, size = int.from_bytes(hello[at : at + 2], "big"), int.from_bytes(hello[at + 2 : at + 4], "big")
            data = hello[at + 4 : at + 4 + size]
            if kind == 0:  # server_name: list length, name type (0: host name), name length, name
                if len(data) < 5 or data[2] != 0:
                    raise ValueError("unreadable server name")
                return data[5 : 5 + int.from_bytes(data[3:5], "big")].decode("ascii")
            at += 4 + size
        return None
    except (IndexError, UnicodeDecodeError) as e:
        raise ValueError("unreadable ClientHello") from e


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def proxy_for(state: dict, allowed: tuple[str, ...], folder: str) -> DomainProxy:
    """The session's proxy (kept in the tools' state), started on first use, its socket in
    `folder` (one the sandbox sees read-only)."""
    proxy = state.get("sandbox_proxy")
    if proxy is None or proxy.allowed != allowed:
        proxy = DomainProxy(allowed, os.path.join(folder, "net.sock"))
        await proxy.start()
        state["sandbox_proxy"] = proxy
    return proxy
