"""Keep-alive HTTP/1.1 connections to the one upstream origin, and one exchange at a time on each.

A request goes out as bytes the caller built (its head, then its body in the same write when the
body is in memory); the answer is parsed by aiohttp's own client protocol (`ResponseHandler`, the
llhttp parser and flow-controlled body stream that aiohttp's `ClientSession` runs on), so framing,
chunked decoding and backpressure behave exactly as they did under a `ClientSession`. What this
module leaves out is the rest of that session, which a proxy has no use for and paid for on every
request: URL and header objects built per request, cookie jars, redirects, tracing, auto headers,
context-manager timers.

Rules: connections only ever go to the configured origin; at most `limit` are open at once (the rest
wait for one, at most the connect timeout); an idle connection is reused only while the upstream can
still be expected to keep it (`keepalive` seconds) and never after an answer that ended it; the whole
exchange, body included, is bounded by one deadline; a request is sent again only when the caller
allows it (a safe method with its body in memory) and only when a reused connection closed before
any answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import aiohappyeyeballs
from aiohttp.client_exceptions import ClientError, ClientOSError, ClientPayloadError, ServerDisconnectedError
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.streams import StreamReader
from multidict import CIMultiDictProxy
from yarl import URL

# How long an idle pooled connection is kept (aiohttp's connector default): load balancers in front of
# an API commonly close idle connections after a minute or so; reusing one they are about to drop is
# the keep-alive race that only a safe method survives.
KEEPALIVE_SECONDS = 15.0
# Name resolution results are kept this long (aiohttp's connector default), and the next address family
# is tried after this delay when the first does not connect (RFC 8305 happy eyeballs, as aiohttp does).
DNS_TTL_SECONDS = 60.0
HAPPY_EYEBALLS_DELAY = 0.25
# Interim answers (100 Continue, 103 Early Hints) precede the real one; 101 ends HTTP/1.1 itself.
_INTERIM = range(100, 200)
# Interim (1xx) answers skipped before the real one; more is a broken upstream (Go's Transport gives
# up past 5 as well).
MAX_INTERIM_ANSWERS = 5
# A body up to this size is copied after the head to go out in one write; larger ones are not copied.
_JOIN_BELOW = 64 * 1024


class UpstreamFailure(Exception):
    """The upstream could not be reached or did not answer in time; kind is connect/timeout/protocol,
    cause a short reason for the operator's log ("Connection refused", "TLS certificate: ...")."""

    def __init__(self, kind: str, status: int, cause: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = status
        self.cause = cause


def connect_failure(cause: str = "") -> UpstreamFailure:
    return UpstreamFailure("connect", 502, cause)


def timeout_failure(cause: str = "") -> UpstreamFailure:
    return UpstreamFailure("timeout", 504, cause)


def protocol_failure(cause: str = "") -> UpstreamFailure:
    return UpstreamFailure("protocol", 502, cause)


def cause_of(exc: OSError) -> str:
    """Why a connection failed, for the operator's log: the TLS verdict, a name-resolution error, or
    the system's reason for an errno. A connection error holds nothing of a request, only the
    upstream's addresses (connection racing over several addresses that failed differently gives
    "Multiple exceptions: ..." with each)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or type(exc).__name__}"
    if isinstance(exc, socket.gaierror):
        return f"name resolution: {exc.strerror}"
    if exc.errno:
        return os.strerror(exc.errno)
    return str(exc)[:300] or type(exc).__name__


class _Protocol(ResponseHandler):
    """aiohttp's client protocol, whose failures also end the body being read.

    A framing error in the middle of a body (a chunk size that is not hex, a chunk longer than it
    said) reaches only the protocol: llhttp's parser forgets the body stream before raising, and the
    protocol closes the transport, so nothing else would wake a reader of that body: the client would
    get the first chunks and then nothing until the exchange's deadline."""

    def set_exception(self, exc: BaseException, *cause: BaseException) -> None:
        payload = self._payload
        if payload is not None and not payload.is_eof() and payload.exception() is None:
            payload.set_exception(ClientPayloadError("the answer's body broke off"), exc)
        super().set_exception(exc, *cause)


class _Connection:
    """One pooled connection: aiohttp's protocol on a transport, and the timer of its current exchange."""

    __slots__ = ("content", "deadline_handle", "idle_since", "protocol", "reused", "upload")

    def __init__(self, protocol: ResponseHandler) -> None:
        self.protocol = protocol
        self.idle_since = 0.0
        self.reused = False
        self.deadline_handle: asyncio.TimerHandle | None = None
        self.upload: asyncio.Task[None] | None = None
        self.content: StreamReader | None = None  # the current answer's body, once its head arrived

    def usable(self, now: float) -> bool:
        protocol = self.protocol
        return (
            protocol.is_connected()
            and not protocol.should_close
            and protocol.exception() is None
            and now - self.idle_since < KEEPALIVE_SECONDS
        )

    def time_out(self) -> None:
        """The exchange's deadline passed: whoever waits (for the head or for body bytes) gets a
        TimeoutError, and the connection is dropped."""
        self.deadline_handle = None
        self.fail(TimeoutError("upstream exchange deadline"))

    def fail(self, error: BaseException) -> None:
        """End the exchange with `error`, raised to whoever waits for the head or for body bytes, and
        drop the connection. The body stream must get it here: once aborted, aiohttp's protocol no
        longer reaches that stream, and a body read until the close would look complete."""
        content = self.content
        if content is not None and not content.is_eof():
            content.set_exception(error)
        self.protocol.set_exception(error)
        self.protocol.abort()

    def close(self) -> None:
        if self.deadline_handle is not None:
            self.deadline_handle.cancel()
            self.deadline_handle = None
        if self.upload is not None and not self.upload.done():
            self.upload.cancel()
        self.upload = None
        self.content = None
        self.protocol.close()


class Answer:
    """The head of the upstream's answer and its body stream; `release` hands the connection back."""

    __slots__ = ("_connection", "_pool", "content", "headers", "raw_headers", "reason", "status")

    def __init__(self, pool: Pool, connection: _Connection, message: Any, content: StreamReader) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self.status: int = message.code
        self.reason: str = message.reason
        self.headers: CIMultiDictProxy[str] = message.headers
        self.raw_headers: tuple[tuple[bytes, bytes], ...] = message.raw_headers
        self.content = content

    def release(self) -> None:
        """Done with the answer: the connection goes back to the pool if the body was read to its end
        and nothing ended the connection, else it is closed."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        finished = self.content.is_eof() and self.content.exception() is None
        upload = connection.upload
        if finished and (upload is None or (upload.done() and not upload.cancelled())):
            self._pool.give_back(connection)
        else:
            self._pool.discard(connection)

    def close(self) -> None:
        """Drop the connection (a body that will not be read to its end)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.discard(connection)


class Pool:
    """Connections to one origin: `exchange` sends one request and returns the answer's head."""

    def __init__(self, url: str, *, limit: int, connect_timeout: float) -> None:
        parsed = URL(url)
        self.host: str = parsed.raw_host or ""
        self.port: int = parsed.port or (443 if parsed.scheme == "https" else 80)
        # The Host header the upstream expects: its authority, the port only when not the default.
        self.authority: str = parsed.raw_authority
        self._ssl: ssl.SSLContext | None = ssl.create_default_context() if parsed.scheme == "https" else None
        self._limit = limit
        self.connect_timeout = connect_timeout
        self._idle: deque[_Connection] = deque()
        self._lent: set[_Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._addresses: list[Any] = []
        self._resolved_at = -DNS_TTL_SECONDS
        self.closed = False

    def counts(self) -> tuple[int, int]:
        """(connections lent out, idle connections)."""
        return len(self._lent), len(self._idle)

    # --- borrowing and returning

    async def _borrow(self, deadline: float, fresh: bool) -> _Connection:
        loop = asyncio.get_running_loop()
        # Waiting for a free connection is bounded like opening one: a pool held by slow exchanges
        # answers 504 within the connect timeout instead of queueing requests up to the total one.
        wait_until: float | None = None
        while True:
            if self.closed:
                raise connect_failure("the upstream pool is closed")
            if not fresh:
                now = loop.time()
                while self._idle:
                    connection = self._idle.pop()  # the most recently used: the least likely to be dropped
                    if connection.usable(now):
                        connection.reused = True
                        self._lent.add(connection)
                        return connection
                    connection.close()
            if len(self._lent) + len(self._idle) + self._opening < self._limit:
                return await self._open(deadline)
            if self._idle:  # at the limit with idle connections: make room for a new one
                self._idle.popleft().close()
                continue
            if wait_until is None:
                wait_until = min(deadline, loop.time() + self.connect_timeout)
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(wait_until):
                    await waiter
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, but leaving (deadline, cancel): the next waiter gets the turn
                if isinstance(exc, TimeoutError):
                    raise timeout_failure("no free pooled connection in time") from None
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    async def _open(self, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        self._opening += 1
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + self.connect_timeout)):
                sock = await aiohappyeyeballs.start_connection(
                    await self._resolve(loop), happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY, loop=loop
                )
                _, protocol = await loop.create_connection(
                    lambda: _Protocol(loop),
                    sock=sock,
                    ssl=self._ssl,
                    server_hostname=self.host if self._ssl is not None else None,
                )
        except TimeoutError:
            raise timeout_failure("no connection within the connect timeout") from None
        except (OSError, ssl.SSLError) as exc:
            raise connect_failure(cause_of(exc)) from None
        finally:
            self._opening -= 1
            self._wake()
        connection = _Connection(protocol)
        if self.closed:
            connection.close()
            raise connect_failure("the upstream pool is closed")
        self._lent.add(connection)
        return connection

    async def _resolve(self, loop: asyncio.AbstractEventLoop) -> list[Any]:
        """The upstream's addresses, looked up again at most every DNS_TTL_SECONDS."""
        now = time.monotonic()
        if not self._addresses or now - self._resolved_at >= DNS_TTL_SECONDS:
            self._addresses = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            self._resolved_at = now
        return self._addresses

    def give_back(self, connection: _Connection) -> None:
        self._lent.discard(connection)
        if connection.deadline_handle is not None:
            connection.deadline_handle.cancel()
            connection.deadline_handle = None
        connection.upload = None
        connection.content = None
        protocol = connection.protocol
        if self.closed or not protocol.is_connected() or protocol.should_close:
            connection.close()
        else:
            loop = protocol._loop
            connection.idle_since = loop.time()
            self._idle.append(connection)
            if self._sweeper is None:
                self._sweeper = loop.call_later(KEEPALIVE_SECONDS, self._sweep)
        self._wake()

    def discard(self, connection: _Connection) -> None:
        self._lent.discard(connection)
        connection.close()
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        """Close idle connections past their keep-alive time (the upstream may already have)."""
        self._sweeper = None
        if not self._idle:
            return
        loop = self._idle[0].protocol._loop
        now = loop.time()
        kept: deque[_Connection] = deque()
        for connection in self._idle:
            if connection.usable(now):
                kept.append(connection)
            else:
                connection.close()
        self._idle = kept
        if kept:
            self._sweeper = loop.call_later(KEEPALIVE_SECONDS, self._sweep)

    async def close(self) -> None:
        self.closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        while self._idle:
            self._idle.pop().close()
        for connection in list(self._lent):
            connection.close()
        self._lent.clear()
        for waiter in self._waiters:  # every waiter finds the pool closed
            if not waiter.done():
                waiter.set_result(None)
        await asyncio.sleep(0)  # let the transports run their connection_lost

    # --- one exchange

    async def exchange(
        self,
        head: bytes,
        body: bytes | None,
        upload: AsyncIterator[bytes] | None,
        *,
        chunked: bool,
        head_only: bool,
        deadline: float,
        may_resend: bool,
    ) -> Answer:
        """Send `head` and the body (`body` in memory, or `upload` streamed, chunked or not) and wait
        for the answer's head, all before `deadline`. An exception from `upload` is the caller's: it
        propagates and the upstream connection is cut (the upstream never sees the body whole)."""
        fresh = False
        while True:
            connection = await self._borrow(deadline, fresh=fresh)
            try:
                return await self._exchange_on(connection, head, body, upload, chunked, head_only, deadline)
            except _Stale:
                if fresh or not may_resend:
                    raise protocol_failure("the connection closed before any answer") from None
            # The reused connection closed before any answer: the request is sent again, once, on a new one.
            fresh = True

    async def _exchange_on(
        self,
        connection: _Connection,
        head: bytes,
        body: bytes | None,
        upload: AsyncIterator[bytes] | None,
        chunked: bool,
        head_only: bool,
        deadline: float,
    ) -> Answer:
        protocol = connection.protocol
        transport = protocol.transport
        if transport is None:
            self.discard(connection)
            if connection.reused:
                raise _Stale
            raise protocol_failure("the connection closed before the request was sent")
        loop = protocol._loop
        connection.deadline_handle = loop.call_at(deadline, connection.time_out)
        protocol.set_response_params(read_until_eof=True, auto_decompress=False, skip_payload=head_only)
        if not body:
            transport.write(head)
        elif len(body) <= _JOIN_BELOW:
            transport.write(head + body)  # one segment, one syscall
        else:
            transport.writelines((head, body))
        if upload is not None:
            connection.upload = loop.create_task(_send_upload(protocol, upload, chunked))
            connection.upload.add_done_callback(_cut_on_failure(connection))
        try:
            message, content = await protocol.read()
            skipped = 0
            # Bounded: parsed answers come back without a turn of the loop, so a flood would hold it.
            while message.code in _INTERIM and message.code != 101 and skipped < MAX_INTERIM_ANSWERS:
                skipped += 1
                message, content = await protocol.read()
        except BaseException as exc:
            upload_error = _upload_error(connection)
            self.discard(connection)
            if upload_error is not None:
                raise upload_error from None
            if isinstance(exc, TimeoutError):
                raise timeout_failure("no answer within the total timeout") from None
            stale = isinstance(exc, ServerDisconnectedError | ClientOSError) and connection.reused
            if stale and upload is None:
                raise _Stale from None
            if isinstance(exc, OSError | ClientError | HttpProcessingError):
                raise protocol_failure(type(exc).__name__) from None
            raise
        if message.code in _INTERIM:
            # A 101: the proxy never forwards Upgrade, so this switches to a protocol no one asked for
            # (passed on, it would leave the client on a connection that speaks nothing). Any other:
            # one more interim answer than the bound.
            self.discard(connection)
            if message.code == 101:
                raise protocol_failure("an unrequested 101 Switching Protocols")
            raise protocol_failure(f"more than {MAX_INTERIM_ANSWERS} 1xx interim answers")
        connection.content = content
        if connection.upload is not None and connection.upload.done():
            _cut_on_failure(connection)(connection.upload)  # it failed as the head arrived
        return Answer(self, connection, message, content)


class _Stale(Exception):
    """A reused connection closed before any byte of the answer (the keep-alive race)."""


def _upload_error(connection: _Connection) -> BaseException | None:
    """The exception the request body's reader raised (the client's failure), if it did."""
    upload = connection.upload
    if upload is None or not upload.done() or upload.cancelled():
        return None
    error = upload.exception()
    return error if error is not None and not isinstance(error, OSError) else None


def _cut_on_failure(connection: _Connection) -> Any:
    """When the request body fails (the client's failure, or the upstream connection's), the exchange
    ends with that error wherever it is: before the answer's head or while its body is read."""

    def done(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()  # retrieved here, so never "never retrieved"
        if error is None:
            return
        if isinstance(error, OSError):
            error = ConnectionResetError("the upstream connection failed while the body was sent")
        connection.fail(error)

    return done


async def _send_upload(protocol: ResponseHandler, chunks: AsyncIterator[bytes], chunked: bool) -> None:
    """Write a streamed request body, chunk by chunk as it arrives, waiting while the upstream's
    socket buffer is full."""
    async for chunk in chunks:
        transport = protocol.transport
        if transport is None:
            raise ConnectionResetError("upstream connection lost while sending the body")
        if chunked:
            transport.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
        else:
            transport.write(chunk)
        await protocol._drain_helper()
    if chunked and protocol.transport is not None:
        protocol.transport.write(b"0\r\n\r\n")
