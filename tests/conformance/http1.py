"""A minimal HTTP/1.1 client over asyncio streams: exactly the request line, headers and body given.

No header is added except `Host` (first) and the body framing (`Content-Length`, or chunked when the
caller's headers ask for `Transfer-Encoding: chunked`). Responses are read raw (Content-Length,
chunked, or until close), and content decoding is left to `decoded_body`, which undoes gzip and the
raw DEFLATE that gorilla/handlers sends as "deflate".
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import zlib
from dataclasses import dataclass

# A target or header value may carry raw bytes >= 0x80 as lone surrogates (surrogateescape).
WIRE_ENCODING = "utf-8"
WIRE_ERRORS = "surrogateescape"

_MAX_HEAD = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not an HTTP/1.1 response, or closed too early."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    raw_body: bytes
    version: str = "HTTP/1.1"

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def decoded_body(self) -> bytes:
        """The body after undoing Content-Encoding (gzip, or gorilla's raw-DEFLATE 'deflate')."""
        body = self.raw_body
        for coding in reversed(
            [c.strip().lower() for v in self.header_all("Content-Encoding") for c in v.split(",")]
        ):
            if coding == "gzip":
                body = gzip.decompress(body)
            elif coding == "deflate":
                try:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
                except zlib.error:
                    body = zlib.decompress(body)  # zlib-wrapped, as some servers send
            elif coding not in ("", "identity"):
                raise ValueError(f"unknown content coding {coding!r}")
        return body


def encode_request(
    method: str, target: str, host: str, headers: list[tuple[str, str]], body: bytes | None
) -> bytes:
    """The request bytes: line, Host, the caller's headers in order, framing, body."""
    chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{k}: {v}" for k, v in headers)
    if body is not None and not chunked:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode(WIRE_ENCODING, WIRE_ERRORS)
    if body is None:
        return head
    if not chunked:
        return head + body
    # Two chunks when possible, so that a reader that expects one write is caught too.
    parts = [body[: len(body) // 2], body[len(body) // 2 :]] if len(body) > 1 else [body]
    out = bytearray(head)
    for part in parts:
        if part:
            out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


class Connection:
    """One keep-alive connection to a loopback server; reopened transparently when the server closed it."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = False

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._used = False

    async def request(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> Response:
        data = encode_request(method, target, f"{self.host}:{self.port}", headers, body)
        return await asyncio.wait_for(self._exchange(method, data), self.timeout)

    async def _exchange(self, method: str, data: bytes) -> Response:
        for attempt in range(2):
            if self._writer is None:
                await self._open()
            reused = self._used
            assert self._reader is not None and self._writer is not None
            try:
                self._writer.write(data)
                await self._writer.drain()
                first = await self._reader.read(1)
            except (ConnectionError, OSError):
                first = b""
            if not first:
                await self.close()
                if reused and attempt == 0:
                    continue  # a kept-alive connection the server had closed: the request never ran
                raise ProtocolError("connection closed before any response byte")
            try:
                response = await self._read_response(first, method)
            except BaseException:
                await self.close()
                raise
            self._used = True
            # After HEAD a server may still have sent a body (net/http does for its own 400s): never
            # read the next answer from such a connection.
            if method == "HEAD" or _must_close(response):
                await self.close()
            return response
        raise AssertionError("unreachable")

    async def _read_response(self, first: bytes, method: str) -> Response:
        reader = self._reader
        assert reader is not None
        while True:
            try:
                head = first + await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                raise ProtocolError(f"incomplete response head: {exc.partial[:200]!r}") from None
            except asyncio.LimitOverrunError:
                raise ProtocolError("response head too large") from None
            first = b""
            if len(head) > _MAX_HEAD:
                raise ProtocolError("response head too large")
            version, status, reason, headers = _parse_head(head)
            if 100 <= status < 200 and status != 101:
                first = await reader.read(1)
                if not first:
                    raise ProtocolError("connection closed after an interim response")
                continue
            break
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return Response(status, reason, headers, b"", version)
        lowered = {k.lower(): v for k, v in headers}
        try:
            if "chunked" in lowered.get("transfer-encoding", "").lower():
                body = await _read_chunked(reader)
            elif "content-length" in lowered:
                body = await reader.readexactly(int(lowered["content-length"].strip()))
            else:
                body = await reader.read(-1)
                await self.close()
        except asyncio.IncompleteReadError as exc:
            raise ProtocolError(f"incomplete response body ({len(exc.partial)} bytes)") from None
        except ValueError as exc:
            raise ProtocolError(f"bad framing: {exc}") from None
        return Response(status, reason, headers, body, version)


def _parse_head(head: bytes) -> tuple[str, int, str, tuple[tuple[str, str], ...]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {lines[0][:200]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line[:200]!r}")
        headers.append((name.strip(), value.strip(" \t")))
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", tuple(headers)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return bytes(out)
        out += await reader.readexactly(size)
        if len(out) > _MAX_BODY:
            raise ProtocolError("response body too large")
        if await reader.readexactly(2) != b"\r\n":
            raise ProtocolError("chunk not followed by CRLF")


def _must_close(response: Response) -> bool:
    tokens = {t.strip().lower() for v in response.header_all("Connection") for t in v.split(",")}
    if response.version == "HTTP/1.0":
        return "keep-alive" not in tokens
    return "close" in tokens
