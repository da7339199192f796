"""Forwarding: a request's head rebuilt for Clever, sent through the upstream pool, the answer streamed back.

Rules: only the configured upstream origin is ever contacted (the request target contributes its path
and query, never a host); bytes are passed through untouched (the client's header lines byte for byte,
no decompression, no re-encoding of the path); hop-by-hop headers are dropped both ways; the proxy
adds no header the client did not send except Host, X-Forwarded-* and the body's framing. The pool
(`proxy.upstream`) turns connection failures into the proxy's 502/504. A request that may have reached
the upstream is never sent again: only a safe method, with no streamed body, is resent, and only when
a reused connection closed before any answer. A client that leaves ends its upstream exchange at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.client_exceptions import ClientError
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.connection import Connection
from proxy.request import ParsedRequest
from proxy.respond import ExactStreamResponse, RenderedResponse
from proxy.upstream import Answer, Pool, UpstreamFailure

log = logging.getLogger("clever_proxy")

# RFC 9110 §7.6.1 connection-specific fields, plus the de-facto Proxy-Connection and Keep-Alive.
HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade")
)
# Request fields aiohttp's server already acted on, or that the proxy writes itself (Host, the framing).
_DROP_REQUEST = HOP_BY_HOP | {"host", "content-length", "expect"}
_DROP_RESPONSE = HOP_BY_HOP
# Methods that RFC 9110 calls safe: a stale pooled connection may be retried for them.
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))
_DROP_REQUEST_RAW = frozenset(name.encode("ascii") for name in _DROP_REQUEST)
_DROP_RESPONSE_RAW = frozenset(name.encode("ascii") for name in _DROP_RESPONSE)
_CHUNKED = b"Transfer-Encoding: chunked\r\n"
_NO_BODY = b"Content-Length: 0\r\n"


@dataclass(slots=True)
class Exchange:
    """What the server needs to know about one upstream exchange for metrics and the access log."""

    status: int = 0
    outcome: str = "forwarded"  # or upstream_error
    error_kind: str = ""
    upstream_seconds: float = 0.0
    capture: bool = False  # keep a 4xx answer's body (shadow comparison, missed rejections)
    captured: bytes | None = None
    content_encoding: str | None = None


class ClientFailure(Exception):
    """The client, not the upstream, ended the exchange: kind is body_too_large (413), client_timeout
    (408), bad_body (400, malformed chunked framing), bad_target (400, a raw "#" in the target),
    client_gone (499: no one is left to answer) or not_proxied (405, CONNECT). A request body cut
    short this way never reaches the upstream whole."""

    def __init__(self, kind: str, status: int, limit: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.limit = limit  # the size limit a body_too_large exceeded


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def invite_body(request: web.BaseRequest) -> None:
    """A client that sent `Expect: 100-continue` waits for a 100 before its body; it gets one when the
    body is about to be read, as Go's server sends it (never when the answer needs no body: a 401
    goes out instead, and the body is not sent at all). The proxy's own 100 replaces the client's
    Expect, which is not forwarded."""
    if not request.content.is_eof() and expects_continue(request) and request.transport is not None:
        request.transport.write(_CONTINUE)


def expects_continue(request: web.BaseRequest) -> bool:
    """An HTTP/1.1 request that waits for a 100 before sending its body."""
    if request.version != (1, 1):
        return False
    expect = request.headers.get("Expect")
    return expect is not None and expect.lower() == "100-continue"


class _Upload:
    """A request body on its way upstream, read from the client under a deadline and a size limit.

    An exception here stops the upload before the body's end (no last chunk, fewer bytes than
    Content-Length) and the upstream connection is closed, so the upstream never sees the request
    whole; `failure` tells the caller it was the client's doing."""

    __slots__ = ("_content", "_deadline", "_limit", "failure")

    def __init__(self, content: web.StreamReader, limit: int, deadline: float) -> None:
        self._content = content
        self._limit = limit
        self._deadline = deadline
        self.failure: ClientFailure | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        size = 0
        while True:
            try:
                async with asyncio.timeout_at(self._deadline):
                    chunk = await self._content.readany()
            except TimeoutError:
                self.failure = ClientFailure("client_timeout", 408)
                raise self.failure from None
            except OSError:  # the client connection was lost mid-body
                self.failure = ClientFailure("client_gone", 499)
                raise self.failure from None
            except Exception:  # aiohttp's RequestPayloadError: broken chunked framing
                self.failure = ClientFailure("bad_body", 400)
                raise self.failure from None
            if not chunk:
                return
            size += len(chunk)
            if size > self._limit:
                self.failure = ClientFailure("body_too_large", 413, self._limit)
                raise self.failure
            yield chunk


class _ClientWatch:
    """While a request is forwarded, the client's connection lost cancels the handler's task (as a
    timeout does), so the upstream exchange stops wherever it waits: for a free pooled connection, the
    connect, the answer's head or its body. The pool then closes that upstream connection (never
    pooled, nothing sent again). Otherwise a client that left would hold an upstream connection and
    an in-flight slot until the total timeout, and enough of them would hold the whole pool.

    It costs one small object per forwarded request: no task, no future."""

    __slots__ = ("_cancelling", "_connection", "_task", "fired", "taken")

    def __init__(self, connection: Connection, task: asyncio.Task[Any]) -> None:
        self._connection = connection
        self._task = task
        self._cancelling = task.cancelling()
        self.fired = False
        self.taken = False
        connection.on_lost = self

    def __call__(self) -> None:
        self.fired = True
        self._task.cancel()

    def left(self) -> bool:
        """Whether the CancelledError being handled is the client's leaving and no one else's (a
        shutdown's cancel stays a cancel); if so the cancellation is taken back."""
        if not self.fired or self.taken:
            return False
        self.taken = True
        return self._task.uncancel() <= self._cancelling

    def close(self) -> None:
        if self._connection.on_lost is self:
            self._connection.on_lost = None
        if self.fired and not self.taken:
            # Its CancelledError became another error on the way (the request body's own failure, as
            # the client left mid-upload): the cancellation is taken back all the same.
            self.taken = True
            self._task.uncancel()


def _watch_client(request: web.BaseRequest) -> _ClientWatch | None:
    connection = request.protocol
    task = asyncio.current_task()
    if not isinstance(connection, Connection) or task is None:
        return None
    return _ClientWatch(connection, task)


def connection_tokens(values: list[str] | tuple[str, ...]) -> frozenset[bytes]:
    """Header names listed in Connection are hop-by-hop too (RFC 9110 §7.6.1): those of every
    Connection header, as raw lower-case bytes. Usually there is none, or one saying keep-alive or
    close: those few values are remembered."""
    if not values:
        return _NO_TOKENS
    single = values[0] if len(values) == 1 else None
    if single is not None:
        known = _KNOWN_TOKENS.get(single)
        if known is not None:
            return known
    tokens = (t.strip().lower() for value in values for t in value.split(","))
    found = frozenset(t.encode("utf-8", "surrogateescape") for t in tokens if t)
    if single is not None and len(_KNOWN_TOKENS) < 64:
        _KNOWN_TOKENS[single] = found
    return found


_NO_TOKENS: frozenset[bytes] = frozenset()
_KNOWN_TOKENS: dict[str, frozenset[bytes]] = {}


def _hop_by_hop(lower: bytes, drop: frozenset[bytes], named: frozenset[bytes]) -> bool:
    """Whether a header (its lower-case raw name) stays on this hop: never passed on either way."""
    return lower in drop or lower.startswith(b"proxy-") or (bool(named) and lower in named)


def filter_headers(headers: CIMultiDictProxy[str], drop: frozenset[bytes]) -> CIMultiDict[str]:
    named = connection_tokens(headers.getall("Connection", ()))
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if not _hop_by_hop(name.lower().encode("utf-8", "surrogateescape"), drop, named):
            out.add(name, value)
    return out


class Forwarder:
    def __init__(
        self,
        upstream_url: str,
        *,
        connect_timeout: float,
        total_timeout: float,
        pool_size: int,
        x_forwarded: bool,
        max_streamed_body: int = 64 * 1024 * 1024,
        body_timeout: float = 30.0,
    ) -> None:
        self._url = upstream_url
        self._max_streamed_body = max_streamed_body
        self._body_timeout = body_timeout
        self._connect_timeout = connect_timeout
        self._total_timeout = total_timeout
        self._pool_size = pool_size
        self._x_forwarded = x_forwarded
        self.pool: Pool | None = None
        self._host_line = b""

    def reconfigure(
        self, connect_timeout: float, total_timeout: float, max_streamed_body: int, body_timeout: float
    ) -> None:
        """New timeouts and limits for the requests that start from now on (a configuration reload)."""
        self._connect_timeout, self._total_timeout = connect_timeout, total_timeout
        self._max_streamed_body, self._body_timeout = max_streamed_body, body_timeout
        if self.pool is not None:
            self.pool.connect_timeout = connect_timeout

    @property
    def is_open(self) -> bool:
        return self.pool is not None and not self.pool.closed

    async def start(self) -> None:
        self.pool = Pool(self._url, limit=self._pool_size, connect_timeout=self._connect_timeout)
        self._host_line = b"\r\nHost: " + self.pool.authority.encode("ascii") + b"\r\n"

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    def _head(self, request: web.BaseRequest, method: str, target: str, framing: bytes) -> bytes:
        """The request head as the upstream gets it: the client's header lines byte for byte, less the
        hop-by-hop ones and those the proxy frames itself, plus Host, X-Forwarded-* and the framing."""
        named = connection_tokens(request.headers.getall("Connection", ()))
        x_forwarded = self._x_forwarded
        lines = [method.encode("ascii"), b" ", target.encode("utf-8", "surrogateescape"), b" HTTP/1.1"]
        lines.append(self._host_line)
        prior: list[bytes] = []
        has_proto = False
        for name, value in request.raw_headers:
            lower = name.lower()
            if _hop_by_hop(lower, _DROP_REQUEST_RAW, named):
                continue
            if x_forwarded:
                if lower == b"x-forwarded-for":
                    prior.append(value)
                    continue
                has_proto = has_proto or lower == b"x-forwarded-proto"
            lines.append(name + b": " + value + b"\r\n")
        if x_forwarded:
            prior.append((request.remote or "").encode("ascii", "replace"))
            lines.append(b"X-Forwarded-For: " + b", ".join(prior) + b"\r\n")
            if not has_proto:
                lines.append(b"X-Forwarded-Proto: " + request.scheme.encode("ascii") + b"\r\n")
        lines.append(framing)
        lines.append(b"\r\n")
        return b"".join(lines)

    async def send(
        self, request: web.BaseRequest, parsed: ParsedRequest, exchange: Exchange
    ) -> web.StreamResponse:
        """Forward and stream the answer; raises UpstreamFailure or ClientFailure before any byte went
        to the client."""
        pool = self.pool
        assert pool is not None
        if parsed.method == "CONNECT":
            # Its target is an authority, not a path on Clever: nothing the client asked for can be
            # forwarded faithfully, and this is not a forward proxy.
            raise ClientFailure("not_proxied", 405)
        upload: _Upload | None = None
        body = parsed.body
        if body is not None:
            framing = b"Content-Length: %d\r\n" % len(body)
        elif parsed.has_body:
            length = request.content_length
            if length is not None and length > self._max_streamed_body:
                raise ClientFailure("body_too_large", 413, self._max_streamed_body)
            loop = asyncio.get_running_loop()
            upload = _Upload(request.content, self._max_streamed_body, loop.time() + self._body_timeout)
            invite_body(request)
            framing = b"Content-Length: %d\r\n" % length if length is not None else _CHUNKED
        else:
            # No body: a client's "Content-Length: 0" is passed on as sent, nothing is added otherwise.
            framing = _NO_BODY if "Content-Length" in request.headers else b""
        head = self._head(request, parsed.method, parsed.target, framing)
        if request.transport is None:
            # The client left before its request could be handled: nothing is sent for no one.
            raise ClientFailure("client_gone", 499)
        watch = _watch_client(request)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            try:
                upstream = await pool.exchange(
                    head,
                    body,
                    upload.chunks() if upload is not None else None,
                    chunked=framing is _CHUNKED,
                    head_only=parsed.method == "HEAD",
                    deadline=loop.time() + self._total_timeout,
                    may_resend=upload is None and parsed.method in SAFE_METHODS,
                )
            except UpstreamFailure:
                if upload is not None and upload.failure is not None:
                    raise upload.failure from None
                raise
            except asyncio.CancelledError:
                if watch is None or not watch.left():
                    raise
                raise ClientFailure("client_gone", 499) from None
            exchange.upstream_seconds = time.perf_counter() - started
            exchange.status = upstream.status
            try:
                return await self._stream_back(request, upstream, exchange, watch)
            finally:
                upstream.release()
        finally:
            if watch is not None:
                watch.close()

    async def _stream_back(
        self, request: web.BaseRequest, upstream: Answer, exchange: Exchange, watch: _ClientWatch | None
    ) -> web.StreamResponse:
        whole = _arrived_whole(upstream)
        if whole is not None:
            return await _send_whole(request, upstream, whole, exchange, watch)
        headers = filter_headers(upstream.headers, _DROP_RESPONSE_RAW)
        response = ExactStreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
        kept: list[bytes] | None = None
        if exchange.capture and 400 <= upstream.status < 500:
            kept = []
            exchange.content_encoding = upstream.headers.get("Content-Encoding")
        if upstream.headers.get("Content-Length") is None:
            response.headers.popall("Content-Length", None)
        if request.version < (1, 1) and "Content-Length" not in response.headers:
            # No chunked encoding for HTTP/1.0: only the connection's close can end this body.
            response.force_close()
        try:
            await response.prepare(request)
            while True:
                try:
                    chunk = await upstream.content.readany()
                except (
                    TimeoutError,
                    ClientError,
                    asyncio.IncompleteReadError,
                    OSError,
                    ClientFailure,
                ) as exc:
                    # Headers are out: the only honest signal left is to cut the client's connection
                    # (a clean end, such as a last chunk, would pass a truncated answer off as whole).
                    if isinstance(exc, ClientFailure):  # the request body failed as the answer came
                        exchange.outcome = "proxy_error"
                        exchange.error_kind = "client_gone" if exc.kind == "client_gone" else ""
                    else:
                        exchange.outcome = "upstream_error"
                        exchange.error_kind = "timeout" if isinstance(exc, TimeoutError) else "protocol"
                    upstream.close()
                    if request.transport is not None:
                        request.transport.close()
                    return response
                if not chunk:
                    break
                if kept is not None:
                    kept.append(chunk)
                    if len(kept) > 64:  # a large 4xx body is not one of Clever's error answers
                        kept = None
                await response.write(chunk)
            await response.write_eof()
            if kept is not None:
                exchange.captured = b"".join(kept)
        except ConnectionError:  # the client went away (aiohttp's ClientConnectionResetError included)
            exchange.outcome = "upstream_error"
            exchange.error_kind = "client_gone"
            upstream.close()
        except asyncio.CancelledError:
            if watch is None or not watch.left():
                raise
            # The client left while its answer was on the way (see _ClientWatch).
            exchange.outcome = "upstream_error"
            exchange.error_kind = "client_gone"
            upstream.close()
        return response


def _arrived_whole(upstream: Answer) -> bytes | None:
    """The answer's body when all of it, exactly its declared Content-Length and not yet read, is
    already buffered (the common small answer, which arrives with its head): it then goes out in one
    write. Anything else (HEAD, 204 and 304 have no body; a body still arriving) is streamed."""
    declared = upstream.headers.get("Content-Length")
    content = upstream.content
    if declared is None or not declared.isdigit() or "Transfer-Encoding" in upstream.headers:
        return None
    if not content.is_eof() or content.exception() is not None:
        return None
    size = int(declared)
    if size == 0 or content.total_bytes != size:
        return None
    body = content.read_nowait()
    return body if len(body) == size else None


def _answer_lines(upstream: Answer) -> tuple[bytes, bool, bool]:
    """The upstream's header lines byte for byte, less the hop-by-hop ones; and whether Content-Length
    and Date are among those kept (Connection may name either)."""
    named = connection_tokens(upstream.headers.getall("Connection", ()))
    lines = []
    has_length = has_date = False
    for name, value in upstream.raw_headers:
        lower = name.lower()
        if _hop_by_hop(lower, _DROP_RESPONSE_RAW, named):
            continue
        if lower == b"content-length":
            has_length = True
        elif lower == b"date":
            has_date = True
        lines.append(name + b": " + value + b"\r\n")
    return b"".join(lines), has_length, has_date


async def _send_whole(
    request: web.BaseRequest, upstream: Answer, body: bytes, exchange: Exchange, watch: _ClientWatch | None
) -> web.StreamResponse:
    lines, has_length, has_date = _answer_lines(upstream)
    response = RenderedResponse(
        upstream.status, lines, body, reason=upstream.reason, has_length=has_length, has_date=has_date
    )
    if exchange.capture and 400 <= upstream.status < 500:
        exchange.content_encoding = upstream.headers.get("Content-Encoding")
        exchange.captured = body
    try:
        await response.prepare(request)
    except ConnectionError:  # the client went away
        exchange.outcome = "upstream_error"
        exchange.error_kind = "client_gone"
        exchange.captured = None
    except asyncio.CancelledError:
        if watch is None or not watch.left():
            raise
        exchange.outcome = "upstream_error"  # the client left as its answer was written
        exchange.error_kind = "client_gone"
        exchange.captured = None
    return response
