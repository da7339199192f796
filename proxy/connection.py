"""The inbound connection: aiohttp's server protocol, with the proxy's answers to what it cannot parse,
and local answers written as soon as the request is in.

aiohttp hands every request to a new task, which builds a request object, runs the handler and
writes the response through a stream writer; for a request the checks refuse, that machinery costs
more than the checks and the answer together. So when a connection is idle (no request being
handled, none queued) and the bytes just received hold whole requests, each is offered to
`answer_now` right here, in order: it either returns the answer's bytes, which are written at once,
or declines, and that request and everything after it go to aiohttp's task as before. What it
declines it has judged already; the handler picks that verdict up instead of judging twice
(`server.make_answer_now`).

Only the quiet path is taken here: not while the client's pipelined requests are held back (aiohttp
paused reading for its queue), nor while the client is not reading answers (the transport's buffer
is full), nor for an upgrade or a parse error. Those keep aiohttp's own flow control.

At shutdown (`Server.drain`) a connection answers the requests that got in, whose request line and
headers had arrived: the one being handled, its body still arriving or not, and whole requests
queued behind it; the last answer says Connection: close and the connection closes after it. aiohttp's
own `close` would drop every byte received from then on (a body still arriving never ends) and the
queued requests with it. A request that starts after the drain began is not read.

These additions read aiohttp's private connection state (`INTERNALS`). pyproject bounds aiohttp to the
releases this is tested with; an aiohttp without that state (installed past the bounds) still serves
every request, through the handler alone, with a warning at start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import __version__ as aiohttp_version
from aiohttp import web
from aiohttp.http_parser import HttpRequestParser, RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler, RequestPayloadError, _ErrInfo
from aiohttp.web_request import BaseRequest

from proxy.pipeline import report_bug
from proxy.respond import Responder

log = logging.getLogger("clever_proxy")

# (connection, request head, its body stream) -> the whole answer's bytes, or None to leave the request
# to the handler.
AnswerNow = Callable[["Connection", RawRequestMessage, StreamReader], "bytes | None"]

# The private parts of aiohttp's connection protocol that `Connection` reads or sets.
INTERNALS = (
    "_waiter",
    "_messages",
    "_upgraded",
    "_payload_parser",
    "_buffer_paused",
    "_reading_paused",
    "_paused",
    "_parser",
    "_manager",
    "_loop",
    "_keepalive_timeout",
    "_keepalive_handle",
    "_next_keepalive_close_time",
    "_process_keepalive",
    "_current_request",
    "_request_in_progress",
    "_close",
    "_force_close",
)


def missing_internals(
    protocol: type = RequestHandler, parser: type = HttpRequestParser, request: type = BaseRequest
) -> list[str]:
    """What `Connection` needs of aiohttp and this aiohttp lacks (empty when all is there)."""
    missing = [name for name in INTERNALS if not hasattr(protocol, name)]
    if "_message" not in getattr(request, "ATTRS", ()):  # the instance attribute aiohttp declares there
        missing.append("BaseRequest._message")
    if not hasattr(parser, "message_consumed"):
        missing.append("HttpRequestParser.message_consumed")
    return missing


MISSING_INTERNALS = missing_internals()


class Connection(RequestHandler):
    """aiohttp's per-connection protocol, answering the errors it handles itself (a request it cannot
    parse, over a size limit, or a handler that raised) the proxy's way: a marked JSON answer that
    never quotes the request. aiohttp's own answer echoes the offending header line."""

    responder_of: Callable[[], Responder]
    answer_now: AnswerNow | None = None
    # Counts and logs a request refused before any handler saw it (its status), as the handler would.
    on_refused: Callable[[int], None] | None = None
    # What `answer_now` learned of the request it declined (the next one the handler gets).
    judged: Any = None
    # Shutdown (`drain`): None while serving; True while the requests that got in may still need bytes
    # (a body arriving); False once a request after them began, when nothing more is read.
    _draining: bool | None = None

    def data_received(self, data: bytes) -> None:
        if MISSING_INTERNALS:
            super().data_received(data)
            return
        waiter = self._waiter  # set while aiohttp's task waits for the next request
        if (
            self.answer_now is None
            or waiter is None
            or waiter.done()
            or self._messages
            or self._upgraded
            or self._payload_parser is not None
        ):
            self._received(data)
            return
        # Keep aiohttp's task asleep while the new requests are parsed: it wakes only for what is left.
        self._waiter = None
        try:
            super().data_received(data)
        finally:
            self._waiter = waiter
        messages = self._messages
        while messages and not (self._buffer_paused or self._reading_paused or self._paused):
            message, payload = messages[0]
            transport = self.transport
            if isinstance(message, _ErrInfo) or transport is None or transport.is_closing():
                break
            try:
                answer = self.answer_now(self, message, payload)
            except Exception as exc:  # a bug in judging must not cost the request: the handler takes it
                report_bug("answering a request at once", exc, "handing it on")
                self.judged = None
                break
            if answer is None:
                break
            messages.popleft()
            self._parser.message_consumed()  # type: ignore[union-attr]
            self._manager.requests_count += 1  # type: ignore[union-attr]
            transport.write(answer)
            if message.should_close:
                # As aiohttp ends a connection after a non-keep-alive answer: what follows is not read.
                messages.clear()
                self.close()
                transport.close()
                return
            # The idle timer counts from the last answer, as aiohttp's loop restarts it.
            loop = self._loop
            close_time = loop.time() + self._keepalive_timeout
            self._next_keepalive_close_time = close_time
            if self._keepalive_handle is None:
                self._keepalive_handle = loop.call_at(close_time, self._process_keepalive)
        # The rest is aiohttp's task's, unless a failed write is closing the connection: its teardown
        # (already scheduled) ends the task, which must not wake up to a connection half torn down.
        transport = self.transport
        if messages and not waiter.done() and transport is not None and not transport.is_closing():
            waiter.set_result(None)

    def _received(self, data: bytes) -> None:
        if self._draining is not None:
            self._drain_received(data)
            return
        queued = len(self._messages)
        super().data_received(data)
        if len(self._messages) == queued:
            return
        # A framing error in a body still arriving (broken chunked encoding) is queued by aiohttp as the
        # next request's parse error, and the body being read would only end at its timeout: it is
        # the body's error, so the reader gets it now (and answers 400 bad_body at once).
        current = self._current_request
        if isinstance(self._messages[-1][0], _ErrInfo) and current is not None:
            content = current.content
            if not content.is_eof():
                content.set_exception(RequestPayloadError("malformed body framing"))

    def drain(self) -> bool:
        """Shutdown: answer the requests that got in, the last with Connection: close, then close;
        read no new request. An idle connection closes now. Returns whether any request is left to
        answer (the connection closes on its own after it)."""
        if MISSING_INTERNALS or self._force_close or self._close or self.transport is None:
            self.close()
            return False
        messages = self._messages
        if not messages and not self._request_in_progress:
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                # Idle: no request got in, and the one it waits for would not be read.
                self.force_close()
            else:
                # Between requests (the rest of an answered request's body being read and dropped, or
                # a task not started yet): aiohttp's close ends it when that is done.
                self.close()
            return False
        if messages:
            # The loop carries on through the queue; the last queued request's answer ends it.
            message, payload = messages[-1]
            if isinstance(message, RawRequestMessage) and not message.should_close:
                messages[-1] = (message._replace(should_close=True), payload)
        else:
            current = self._current_request
            if current is not None:  # not yet returned: its answer may still say close
                message = current._message
                if not message.should_close:
                    current._message = message._replace(should_close=True)
            self._close = True  # the loop ends after this request, whatever its answer said
        self._draining = True
        return True

    def _drain_received(self, data: bytes) -> None:
        """Bytes received after `drain`: parsed while they belong to the requests that got in (a body
        still arriving); the first request after them is dropped, and nothing more is read."""
        if not self._draining:
            return
        messages = self._messages
        queued = len(messages)
        # aiohttp drops bytes once `_close` is set; and its task must not wake for a request dropped
        # below (it waits for none after `drain`, but a wake-up to an empty queue would fail).
        closing, waiter = self._close, self._waiter
        self._close, self._waiter = False, None
        try:
            super().data_received(data)
        finally:
            self._close, self._waiter = closing, waiter
        if len(messages) == queued:
            return
        if isinstance(messages[queued][0], _ErrInfo):
            # A framing error in the body being read, as in `_received`: that body's error.
            if queued:
                body: StreamReader | None = messages[queued - 1][1]
            else:
                current = self._current_request
                body = current.content if current is not None else None
            if body is not None and not body.is_eof():
                body.set_exception(RequestPayloadError("malformed body framing"))
        while len(messages) > queued:
            messages.pop()
        self._draining = False

    def drop_queued(self) -> list[RawRequestMessage | None]:
        """The end of the grace period: the requests still queued (None for one aiohttp could not
        parse) are taken out of the queue, never to be handled; nothing more is read."""
        dropped = [m if isinstance(m, RawRequestMessage) else None for m, _ in self._messages]
        self._messages.clear()
        if self._draining is not None:
            self._draining = False
        return dropped

    # Called once when the client's connection is lost while it is set: a forwarded request's upstream
    # exchange stops then, instead of holding an upstream connection for no one (`forward.Forwarder`).
    on_lost: Callable[[], None] | None = None

    def connection_lost(self, exc: BaseException | None) -> None:
        super().connection_lost(exc)
        on_lost = self.on_lost
        if on_lost is not None:
            self.on_lost = None
            on_lost()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc, None)  # logs; raises if a response already began
        if status < 500:  # a request aiohttp could not parse (a handler that fails is a 500 or 504)
            kind, text = "bad_request", "clever-proxy could not parse the request (malformed HTTP)"
            if self.on_refused is not None:
                self.on_refused(status)
        else:
            kind, text = "internal", "clever-proxy failed to handle the request"
        response = self.responder_of().proxy_error(status, kind, text)
        response.force_close()
        return response


class Server(web.Server):
    """web.Server whose connections are `Connection`s."""

    def __init__(
        self,
        handler: Any,
        responder_of: Callable[[], Responder],
        answer_now: AnswerNow | None = None,
        on_refused: Callable[[int], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self._responder_of = responder_of
        self._answer_now = answer_now
        self._on_refused = on_refused
        if MISSING_INTERNALS:
            log.warning(
                "aiohttp %s lacks what clever-proxy's quick local answers use (%s): every request goes "
                "through aiohttp's request handler (slower); install the aiohttp version pyproject names",
                aiohttp_version,
                ", ".join(MISSING_INTERNALS),
            )

        # Every client connection until its socket is closed: at shutdown, aiohttp forgets a connection
        # as soon as it asked to close it, while answers may still wait in its buffer for a slow reader.
        self._open: dict[RequestHandler, asyncio.Transport] = {}
        # At shutdown: the connections still answering requests that got in, and a future done once
        # every one of them has closed.
        self._busy: set[Connection] = set()
        self.drained: asyncio.Future[None] = self._loop.create_future()

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._open[handler] = transport

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        super().connection_lost(handler, exc)
        self._open.pop(handler, None)
        if self._busy:
            self._busy.discard(handler)  # type: ignore[arg-type]
            if not self._busy and not self.drained.done():
                self.drained.set_result(None)

    def drain(self) -> None:
        """Shutdown, once the listener is closed: idle connections close now; each busy one answers the
        requests that got in and then closes (`Connection.drain`). `drained` is done once all have."""
        for handler in list(self._connections):
            if not isinstance(handler, Connection):
                handler.close()
            elif handler.drain():
                self._busy.add(handler)
        if not self._busy and not self.drained.done():
            self.drained.set_result(None)

    def cut(self) -> list[RawRequestMessage | None]:
        """The end of the grace period: the requests still queued on draining connections will not be
        handled. Returns them (None for one aiohttp could not parse), to be recorded."""
        dropped: list[RawRequestMessage | None] = []
        for handler in self._busy:
            dropped += handler.drop_queued()
        return dropped

    async def written_out(self, deadline: float, cancel: asyncio.Event | None = None) -> int:
        """Wait until every client connection is closed, its buffered answers written out, at most until
        `deadline` (loop time) or until `cancel` is set; then cut the rest. Returns how many were cut."""
        loop = asyncio.get_running_loop()
        while self._open and loop.time() < deadline and not (cancel is not None and cancel.is_set()):
            await asyncio.sleep(0.05)
        left = list(self._open.values())
        self._open.clear()
        for transport in left:
            transport.abort()
        return len(left)

    def __call__(self) -> RequestHandler:
        connection = Connection(self, loop=self._loop, **self._kwargs)
        connection.responder_of = self._responder_of
        connection.answer_now = self._answer_now
        connection.on_refused = self._on_refused
        return connection
