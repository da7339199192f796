"""The inbound side: one catch-all handler for the proxied API, and the admin listener.

Data flows one way: request -> `request.inspect` -> (body read when the operation validates it) ->
`pipeline.run` -> `respond` (local answer) or `forward` (upstream) -> metrics + access log. This module
does the I/O and the bookkeeping; it decides nothing itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http import HttpVersion11
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_parser import RawRequestMessage
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestPayloadError
from multidict import CIMultiDictProxy
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from proxy import accesslog, eventloop, shadow
from proxy import contract as contract_mod
from proxy import settings as settings_mod
from proxy.connection import AnswerNow, Connection, Server
from proxy.contract import Contract
from proxy.forward import ClientFailure, Exchange, Forwarder, UpstreamFailure, expects_continue, invite_body
from proxy.metrics import OTHER, Metrics
from proxy.pipeline import Pipeline, Policy, report_bug
from proxy.request import ParsedRequest, inspect, wants_body, with_body
from proxy.respond import Responder
from proxy.settings import Settings
from proxy.verdict import Forward, Reject, Verdict

if TYPE_CHECKING:
    from proxy.workers import WorkerLink

log = logging.getLogger("clever_proxy")


class _WithoutRequestBytes(logging.Filter):
    """aiohttp logs the exception of a request it could not parse or handle, and a parse error's text
    quotes the raw request bytes (header lines, tokens included). Keep the exception's type and, for
    the proxy's own failures, where it was raised; never its text. A malformed request is the
    client's mistake: it is logged at info, not as an error of the proxy."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None:
            return True
        message = record.getMessage()
        if isinstance(exc, HttpProcessingError):
            if not logging.getLogger(record.name).isEnabledFor(logging.INFO):
                return False
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "%s: malformed request refused (%s)", (message, type(exc).__name__)
        else:
            where = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
            record.msg, record.args = "%s (%s)\n%s", (message, type(exc).__name__, where)
        record.exc_info = None
        record.exc_text = None
        return True


# aiohttp's connection-level log (parse errors, handler failures), kept free of request bytes.
_http_log = logging.getLogger("clever_proxy.http")
_http_log.addFilter(_WithoutRequestBytes())

UPSTREAM_MESSAGES = {
    "connect": "clever-proxy could not reach Clever (connection failed)",
    "timeout": "clever-proxy could not reach Clever (no answer in time)",
    "protocol": "clever-proxy could not reach Clever (the connection broke off or did not answer in HTTP)",
}


# After a 413, how long the rest of the refused body is read and dropped before the connection closes.
DISCARD_SECONDS = 5.0
# At shutdown, once the grace period is over: how long cancelled requests and idle connections get.
CLOSE_SECONDS = 1.0

CLIENT_MESSAGES = {
    "body_too_large": "clever-proxy refused a request body larger than {limit} bytes",
    "client_timeout": "clever-proxy did not receive the whole request body in time",
    "bad_body": "clever-proxy could not read the request body (broken chunked encoding)",
    "client_gone": "the client closed the connection before the request ended",
    "not_proxied": "clever-proxy forwards requests to Clever; it does not open tunnels (CONNECT)",
    "bad_target": "clever-proxy refused a request target with a '#' (HTTP allows none; send it as %23)",
    "bad_framing": "clever-proxy forwards only chunked or Content-Length bodies (HTTP/1.1 transfer-coding)",
}


async def read_body(request: web.BaseRequest, limit: int, timeout: float) -> bytes:
    """The whole body within `timeout` seconds, refusing anything over `limit` bytes before reading
    past it; ClientFailure says why not."""
    length = request.content_length
    if length is not None and length > limit:
        raise ClientFailure("body_too_large", 413, limit)
    content = request.content
    invite_body(request)
    if content.is_eof() and content.exception() is None:
        # The whole body came with the head (most bodies do): no waiting, no deadline to arm.
        body = content.read_nowait()
        if len(body) > limit:
            raise ClientFailure("body_too_large", 413, limit)
        return body
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raise ClientFailure("body_too_large", 413, limit)
                chunks.append(chunk)
    except TimeoutError:
        raise ClientFailure("client_timeout", 408) from None
    except OSError:  # the connection was lost mid-body
        raise ClientFailure("client_gone", 499) from None
    except RequestPayloadError:  # broken chunked framing
        raise ClientFailure("bad_body", 400) from None
    return b"".join(chunks)


@dataclass
class ProxyState:
    """Everything one running proxy holds; built by `build`, shared by both listeners."""

    settings: Settings
    contract: Contract
    pipeline: Pipeline
    responder: Responder
    forwarder: Forwarder
    metrics: Metrics
    ready: bool = False
    draining: bool = False
    in_flight: int = 0
    handlers: set[asyncio.Task[Any]] = field(default_factory=set)  # one task per request in flight
    # How to read the configuration again on SIGHUP: the --config path and the command-line values.
    config_path: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    disagreements: shadow.DisagreementLog = field(
        default_factory=lambda: shadow.DisagreementLog(logging.getLogger("clever_proxy.shadow"))
    )
    # Set when this process is one of several workers (`proxy.workers`): shared ports, its supervisor.
    worker: WorkerLink | None = None
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _id_prefix: str = field(default_factory=lambda: f"{os.getpid():x}-{int(time.time()):x}")

    def next_request_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids):x}"


def policy_of(settings: Settings) -> Policy:
    return Policy(
        settings.rule_modes, timedelta(seconds=settings.due_date_skew_seconds), settings.max_judged_body_bytes
    )


def build(settings: Settings, contract: Contract, registry: CollectorRegistry | None = None) -> ProxyState:
    registry = registry if registry is not None else CollectorRegistry()
    policy = policy_of(settings)
    state = ProxyState(
        settings=settings,
        contract=contract,
        pipeline=Pipeline(contract, policy),
        responder=Responder(contract, settings.marker_header),
        forwarder=Forwarder(
            settings.upstream_url,
            connect_timeout=settings.connect_timeout,
            total_timeout=settings.total_timeout,
            pool_size=settings.pool_size,
            x_forwarded=settings.x_forwarded,
            max_streamed_body=settings.max_streamed_body_bytes,
            body_timeout=settings.client_body_timeout,
        ),
        metrics=Metrics(registry, contract.route_labels()),
    )
    state.metrics.follow_in_flight(lambda: state.in_flight)
    return state


@dataclass(slots=True)
class Judged:
    """A request judged as it arrived (`make_answer_now`) and left to the handler: one to forward, or a
    local answer only aiohttp's framing renders."""

    message: RawRequestMessage
    started: float
    parsed: ParsedRequest
    verdict: Verdict


def make_handler(state: ProxyState):
    # Settings, contract, pipeline and responder are read per request: a reload swaps them on `state`.
    metrics = state.metrics
    in_flight_gauge = None if metrics.in_flight_followed else metrics.in_flight
    access = accesslog.access
    perf = time.perf_counter

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        started = perf()
        state.in_flight += 1
        if in_flight_gauge is not None:
            in_flight_gauge.inc()
        task = asyncio.current_task()
        if task is not None:
            state.handlers.add(task)
        request_id = state.next_request_id()
        verdict: Verdict | None = None
        connection = request.protocol
        judged = getattr(connection, "judged", None)
        if judged is not None:
            connection.judged = None  # type: ignore[attr-defined]
            if judged.message is request._message:
                started, parsed, verdict = judged.started, judged.parsed, judged.verdict
        if verdict is None:
            parsed = inspect(
                request.method, request.raw_path, request.headers, request.content_length, state.contract
            )
        route = metrics.route_label(parsed.route.template if parsed.route is not None else None)
        version = request.version
        if version not in KNOWN_VERSIONS:
            # llhttp takes "HTTP/2.0" and "HTTP/0.9" request lines; whatever answers this one goes
            # out on HTTP/1.1 framing, so its status line says so (not "HTTP/2.0 200" on HTTP/1).
            request._version = HttpVersion11
            request._cache.pop("version", None)  # aiohttp's reify cache of it
        exchange = Exchange()
        rule = ""
        try:
            if verdict is None:
                if "#" in request.raw_path:
                    # HTTP allows no "#" in a request target, and yarl would cut it off as a fragment:
                    # the request cannot be forwarded as sent.
                    return await _client_failure(state, request, ClientFailure("bad_target", 400), exchange)
                framing = _unforwardable_framing(request.headers, version)
                if framing is not None:
                    return await _client_failure(state, request, ClientFailure(framing, 501), exchange)
                if wants_body(parsed):
                    try:
                        settings = state.settings
                        body = await read_body(request, settings.max_body_bytes, settings.client_body_timeout)
                        parsed = with_body(parsed, body)
                    except ClientFailure as failure:
                        return await _client_failure(state, request, failure, exchange)
                verdict = _judge(state.pipeline, parsed, version)
            if type(verdict) is Reject:
                rule = verdict.rule
                exchange.outcome = "rejected"
                metrics.rejected(rule)
                response = state.responder.reject(verdict, parsed.accept_encoding, parsed.has_upgrade)
                if not request.content.is_eof() and expects_continue(request):
                    # No 100 was sent, so the body may never come: the connection cannot carry another
                    # request (Go's server closes it too, with Connection: close).
                    response.force_close()
                exchange.status = response.status
                return response
            if verdict.reason == "check_error":
                metrics.check_error(verdict.stage)
            elif verdict.predicted is not None:
                rule = verdict.predicted.rule  # shadow mode: the access line names the rule that predicted
            # 4xx bodies are kept to compare shadow predictions and to spot rejections no rule predicted.
            exchange.capture = verdict.predicted is not None or (
                verdict.reason == "passed" and parsed.op is not None
            )
            response = await _forward(state, request, parsed, exchange)
            if exchange.upstream_seconds:  # it did go upstream (not refused on the way)
                metrics.forwarded(verdict.reason, verdict.stage)
            if exchange.capture:
                _compare_with_clever(state, verdict, exchange, request_id)
            return response
        except asyncio.CancelledError:
            # Cut by the end of the shutdown grace period (or a second signal): no answer is sent.
            exchange.outcome = "proxy_error"
            exchange.status = exchange.status or 503
            raise
        finally:
            elapsed = perf() - started
            state.in_flight -= 1
            if in_flight_gauge is not None:
                in_flight_gauge.dec()
            state.handlers.discard(task)  # type: ignore[arg-type]
            if exchange.upstream_seconds:
                metrics.upstream_done(route, exchange.upstream_seconds)
            if exchange.error_kind:
                metrics.upstream_error(exchange.error_kind)
            status = exchange.status or 500
            metrics.request_done(route, parsed.method, exchange.outcome, status, elapsed)
            access.record(
                request_id,
                parsed.method,
                route,
                status,
                exchange.outcome,
                rule,
                elapsed,
                exchange.upstream_seconds,
            )

    return handle


def make_answer_now(state: ProxyState) -> AnswerNow:
    """The connection's quick path (`proxy.connection`): a whole request that the checks refuse is
    answered with the bytes the handler would have sent, counted and logged the same way; any other
    request is left to the handler, with its verdict when it got that far."""
    metrics = state.metrics
    access = accesslog.access
    perf = time.perf_counter

    def answer_now(connection: Connection, message: RawRequestMessage, payload: StreamReader) -> bytes | None:
        # What the handler refuses before judging (a "#" target, an unforwardable framing, a body over
        # the limit) and bodies still arriving stay with the handler.
        if not payload.is_eof() or payload.exception() is not None or message.upgrade or "#" in message.path:
            return None
        headers = message.headers
        version = message.version
        if _unforwardable_framing(headers, version) is not None:
            return None
        started = perf()
        length = headers.get("Content-Length")
        parsed = inspect(
            message.method, message.path, headers, int(length) if length is not None else None, state.contract
        )
        if wants_body(parsed):
            body = _unread_body(payload)
            if len(body) > state.settings.max_body_bytes:
                return None
            parsed = with_body(parsed, body)
        verdict = _judge(state.pipeline, parsed, version)
        if type(verdict) is Reject:
            answer = state.responder.reject_bytes(
                verdict,
                parsed.accept_encoding,
                parsed.has_upgrade,
                version,
                message.method == "HEAD",
                not message.should_close,
            )
            if answer is not None:
                rule = verdict.rule
                metrics.rejected(rule)
                status = state.contract.responses[verdict.response].status
                route = metrics.route_label(parsed.route.template if parsed.route is not None else None)
                elapsed = perf() - started
                metrics.request_done(route, parsed.method, "rejected", status, elapsed)
                access.record(
                    state.next_request_id(), parsed.method, route, status, "rejected", rule, elapsed, 0.0
                )
                return answer
        connection.judged = Judged(message, started, parsed, verdict)
        return None

    return answer_now


def make_on_refused(state: ProxyState) -> Callable[[int], None]:
    """A request aiohttp could not parse is answered by the connection (`Connection.handle_error`),
    never by the handler: it is counted and logged here, with its method and route unknown."""

    def refused(status: int) -> None:
        _record_proxy_error(state, OTHER, OTHER, status)

    return refused


def _record_proxy_error(state: ProxyState, method: str, route: str, status: int) -> None:
    """A request no handler saw through (refused by the parser, or cut at shutdown while queued):
    counted and logged as the proxy's own error, with no time spent on it."""
    state.metrics.request_done(route, method, "proxy_error", status, 0.0)
    accesslog.access.record(state.next_request_id(), method, route, status, "proxy_error", "", 0.0, 0.0)


def _record_unanswered(state: ProxyState, message: RawRequestMessage | None) -> None:
    """A request still queued on its connection when the shutdown grace period ended, which no handler
    got (None: one aiohttp could not parse): recorded as a request cut in flight is, 503 proxy_error.
    Its client gets no answer."""
    method = route = OTHER
    if message is not None:
        length = message.headers.get("Content-Length")
        size = int(length) if length is not None and length.isdigit() else None
        parsed = inspect(message.method, message.path, message.headers, size, state.contract)
        method = parsed.method
        route = state.metrics.route_label(parsed.route.template if parsed.route is not None else None)
    _record_proxy_error(state, method, route, 503)


def _unread_body(payload: StreamReader) -> bytes:
    """A complete body, left in its stream: should the handler take the request after all, it reads
    the same bytes again."""
    buffer = getattr(payload, "_buffer", None)  # aiohttp's empty payload has none
    return b"".join(buffer) if buffer else b""


async def _client_failure(
    state: ProxyState, request: web.BaseRequest, failure: ClientFailure, exchange: Exchange
) -> web.StreamResponse:
    exchange.outcome = "proxy_error"
    exchange.status = failure.status
    message = CLIENT_MESSAGES[failure.kind].format(limit=failure.limit)
    response = state.responder.proxy_error(failure.status, failure.kind, message)
    # The rest of the body was not read: the connection cannot be reused. The answer goes out now, then
    # what the client still sends is read and dropped for a while (closing on unread bytes resets the
    # connection, which can destroy the answer before the client reads it): a few seconds after a 413,
    # a second for a client that is too slow or sent broken framing, nothing for one that is gone.
    response.force_close()
    with contextlib.suppress(ConnectionError):
        await response.prepare(request)
        await response.write_eof()
    linger = DISCARD_SECONDS if failure.kind == "body_too_large" else CLOSE_SECONDS
    with contextlib.suppress(TimeoutError, OSError, RequestPayloadError):
        async with asyncio.timeout(linger):
            while await request.content.readany():
                pass
    request.protocol.force_close()
    return response


async def _forward(
    state: ProxyState, request: web.BaseRequest, parsed: ParsedRequest, exchange: Exchange
) -> web.StreamResponse:
    try:
        return await state.forwarder.send(request, parsed, exchange)
    except ClientFailure as failure:
        if failure.kind == "client_gone":
            exchange.error_kind = "client_gone"
        return await _client_failure(state, request, failure, exchange)
    except UpstreamFailure as failure:
        exchange.outcome = "upstream_error"
        exchange.error_kind = failure.kind
        exchange.status = failure.status
        log.warning(
            "upstream %s failure for %s %s (%s)",
            failure.kind,
            parsed.method,
            _route_of(parsed),
            failure.cause or "no detail",
        )
        return state.responder.proxy_error(failure.status, failure.kind, UPSTREAM_MESSAGES[failure.kind])


def _unforwardable_framing(headers: CIMultiDictProxy[str], version: tuple[int, int]) -> str | None:
    """Body framings the proxy cannot pass on as sent: aiohttp would decode a transfer-coding other than
    chunked without saying so, and Go ignores Transfer-Encoding on HTTP/1.0 (it answers differently)."""
    codings = headers.getall("Transfer-Encoding", ())
    if not codings:
        return None
    if version < (1, 1):
        return "bad_framing"
    if any(c.strip().lower() != "chunked" for value in codings for c in value.split(",")):
        return "bad_framing"
    return None


# HTTP versions Clever's answers are known for. aiohttp's parser also takes HTTP/2.0 and HTTP/0.9 on
# the request line, which Go's server refuses with a 505: those are Clever's to answer.
KNOWN_VERSIONS = frozenset(((1, 0), (1, 1)))
OTHER_VERSION = Forward("uncertain", "http_version")
NAMED_FIELDS = Forward("uncertain", "connection")


def _judge(pipeline: Pipeline, parsed: ParsedRequest, version: tuple[int, int]) -> Verdict:
    """The pipeline's verdict. The pipeline forwards when a stage raises; should it raise itself (a bug
    outside any stage), the request is forwarded the same way rather than answered with a 500."""
    if version not in KNOWN_VERSIONS:
        return OTHER_VERSION
    if parsed.connection_names_fields and parsed.route is not None:
        return NAMED_FIELDS
    try:
        return pipeline.run(parsed, datetime.now(UTC))
    except Exception as exc:
        report_bug("the check pipeline", exc, "forwarding the request")
        return Forward("check_error", "pipeline")


# Settings that shape listeners and the connection pool (key -> Settings field): a reload keeps the
# running values and says so.
RESTART_ONLY = {
    "listen.host": "listen_host",
    "listen.port": "listen_port",
    "admin.host": "admin_host",
    "admin.port": "admin_port",
    "admin.reload_endpoint": "reload_endpoint",
    "upstream.url": "upstream_url",
    "upstream.pool_size": "pool_size",
    "upstream.x_forwarded": "x_forwarded",
    "server.workers": "workers",
    # aiohttp's parser limits and idle timeout are set per connection when it opens, from the
    # listener's; the event loop is chosen at start.
    "limits.max_request_line_bytes": "max_request_line_bytes",
    "limits.max_header_bytes": "max_header_bytes",
    "limits.max_headers": "max_headers",
    "server.client_idle_timeout_seconds": "client_idle_timeout",
    # The supervisor of --workers times its workers' drain with the value it started with.
    "server.shutdown_grace_seconds": "shutdown_grace_seconds",
    "server.event_loop": "event_loop",
}


def reload(state: ProxyState) -> bool:
    """Read the settings file and the contract again; swap them in only if both are valid. Requests in
    flight finish with the configuration they started with."""
    who = f"worker {os.getpid()}: " if state.worker is not None else ""  # each worker logs its own
    try:
        settings = settings_mod.load(state.config_path, state.overrides)
        contract = contract_mod.load(settings.contract_path)
        pipeline = Pipeline(contract, policy_of(settings))
        responder = Responder(contract, settings.marker_header)
    except (settings_mod.SettingsError, contract_mod.ContractError) as exc:
        log.error("%sconfiguration reload refused, the running configuration stays: %s", who, exc)
        state.metrics.reloaded(False)
        return False
    except Exception as exc:  # a bug, not a bad file: still nothing is swapped in, and it shows as refused
        report_bug(f"{who}configuration reload", exc, "the running configuration stays")
        state.metrics.reloaded(False)
        return False
    fixed = [k for k in RESTART_ONLY if settings.values.get(k) != state.settings.values.get(k)]
    if fixed:
        log.warning(
            "%sconfiguration reload: %s change only with a restart; running values kept",
            who,
            ", ".join(fixed),
        )
        kept = {RESTART_ONLY[k]: getattr(state.settings, RESTART_ONLY[k]) for k in fixed}
        values = {**settings.values, **{k: state.settings.values[k] for k in fixed}}
        settings = replace(settings, values=values, **kept)
    state.pipeline = pipeline
    state.responder = responder
    state.contract = contract
    state.settings = settings
    state.forwarder.reconfigure(
        settings.connect_timeout,
        settings.total_timeout,
        settings.max_streamed_body_bytes,
        settings.client_body_timeout,
    )
    accesslog.configure(settings.log_level, settings.access_log)
    state.metrics.reloaded(True)
    log.info(
        "%sconfiguration reloaded (generation %d)", who, int(state.metrics.config_generation._value.get())
    )
    return True


def _compare_with_clever(state: ProxyState, verdict: Forward, exchange: Exchange, request_id: str) -> None:
    """Shadow mode: did Clever answer what the rule predicted? Otherwise: did Clever reject a request
    the checks passed (a rule the contract does not know yet)?"""
    if exchange.outcome != "forwarded":
        return
    body = None
    if exchange.captured is not None:
        body = shadow.decoded(exchange.captured, exchange.content_encoding)
    predicted = verdict.predicted
    if predicted is not None:
        agree = body is not None and shadow.agrees(
            state.responder, state.contract, predicted, exchange.status, body
        )
        state.metrics.shadow_result(predicted.rule, agree)
        if not agree:
            predicted_status = state.contract.responses[predicted.response].status
            message = shadow.message_of(body) if body is not None else None
            actual_class = shadow.message_class(state.contract, message) if message is not None else None
            state.disagreements.record(request_id, predicted, predicted_status, exchange.status, actual_class)
    elif exchange.status == 400:
        message = shadow.message_of(body) if body is not None else None
        state.metrics.missed_rejection(shadow.message_class(state.contract, message))


def _route_of(parsed: ParsedRequest) -> str:
    return parsed.route.template if parsed.route is not None else "(not a contract route)"


# --- admin listener ----------------------------------------------------------------------------


def make_admin_app(state: ProxyState) -> web.Application:
    # A worker answers for all workers together (their metric files); a single process for itself.
    registry = state.metrics.registry if state.worker is None else state.worker.scrape_registry()

    async def metrics_view(request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(request: web.Request) -> web.Response:
        if state.ready and not state.draining and state.forwarder.is_open:
            return web.json_response({"status": "ready"})
        reason = "draining" if state.draining else "starting"
        return web.json_response({"status": reason}, status=503)

    app = web.Application()
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    if state.settings.reload_endpoint:

        async def reload_view(request: web.Request) -> web.Response:
            if state.worker is not None:
                # Every worker reloads (the supervisor signals them all); the answer counts them.
                outcome = await state.worker.reload_all()
                return web.json_response(outcome.body(), status=outcome.status)
            ok = reload(state)
            return web.json_response({"reloaded": ok}, status=200 if ok else 422)

        app.router.add_post("/-/reload", reload_view)
    return app


# --- lifecycle ---------------------------------------------------------------------------------


class RunningProxy:
    """Both listeners started on their sockets; `stop` drains and closes in the right order."""

    def __init__(self, state: ProxyState) -> None:
        self.state = state
        self._proxy_runner: web.ServerRunner | None = None
        self._admin_runner: web.AppRunner | None = None
        self.port = 0
        self.admin_port = 0

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            # A listener that cannot bind (port in use, bad host) must not leave the pool open behind it.
            await self.state.forwarder.close()
            for runner in (self._proxy_runner, self._admin_runner):
                if runner is not None:
                    await runner.cleanup()
            raise

    async def _start(self) -> None:
        settings = self.state.settings
        await self.state.forwarder.start()
        # Request bodies pass through as sent: a Content-Encoding is Clever's to judge, not ours to undo.
        state = self.state
        server = Server(
            make_handler(state),
            lambda: state.responder,  # the current one: a reload replaces it
            make_answer_now(state),
            make_on_refused(state),
            access_log=None,
            auto_decompress=False,
            logger=_http_log,
            keepalive_timeout=settings.client_idle_timeout,
            max_line_size=settings.max_request_line_bytes,
            max_field_size=settings.max_header_bytes,
            max_headers=settings.max_headers,
        )
        # `stop` drains within the grace period itself; aiohttp's own shutdown then only closes what is
        # left (it would wait up to twice its timeout: once for handlers, once more after cancelling).
        self._proxy_runner = web.ServerRunner(server, shutdown_timeout=CLOSE_SECONDS, handle_signals=False)
        await self._proxy_runner.setup()
        # Workers share both ports: the kernel spreads new connections across them (SO_REUSEPORT).
        shared = self.state.worker is not None
        self.port = await _listen(
            self._proxy_runner, settings.listen_host, settings.listen_port, shared, "listen"
        )
        self._admin_runner = web.AppRunner(make_admin_app(self.state), access_log=None, handle_signals=False)
        await self._admin_runner.setup()
        self.admin_port = await _listen(
            self._admin_runner, settings.admin_host, settings.admin_port, shared, "admin"
        )
        self.state.ready = True
        self.state.metrics.ready.set(1)

    async def stop(self, cancel: asyncio.Event | None = None) -> None:
        """Readiness off first; then stop accepting, answer the requests that got in within the grace
        period (or until `cancel` is set), cancel what is left, and close both listeners and the pool."""
        state = self.state
        state.draining = True
        state.metrics.ready.set(0)
        runner = self._proxy_runner
        if runner is not None:
            for site in list(runner.sites):
                await site.stop()
            server = runner.server
            if isinstance(server, Server):
                # Idle connections close; busy ones answer what got in (a body still arriving, whole
                # requests queued behind the one being handled), the last with Connection: close.
                server.drain()
            elif server is not None:
                server.pre_shutdown()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + state.settings.shutdown_grace_seconds
            await self._wait_for_requests(server, deadline, cancel)
            # Queued requests first, so that no handler starts on one while those in flight are cancelled.
            queued = server.cut() if isinstance(server, Server) else []
            if queued:
                log.warning("dropping %d queued request(s) not yet handled", len(queued))
                for message in queued:
                    _record_unanswered(state, message)
            left = set(state.handlers)
            if left:
                log.warning("cancelling %d request(s) still in flight", len(left))
                for task in left:
                    task.cancel()
                await asyncio.wait(left, timeout=CLOSE_SECONDS)
            await runner.cleanup()
            # Answers already given may still be on their way to clients that read slowly.
            if isinstance(server, Server):
                cut = await server.written_out(deadline, cancel)
                if cut:
                    log.warning("cut %d client connection(s) whose answers were not yet read", cut)
        await state.forwarder.close()
        if self._admin_runner is not None:
            await self._admin_runner.cleanup()
        accesslog.access.flush()

    async def _wait_for_requests(
        self, server: web.Server | None, deadline: float, cancel: asyncio.Event | None
    ) -> None:
        """Until no handler runs and every draining connection has closed (a handler may be done while
        its connection still holds a queued request), the deadline passes, or `cancel` is set."""
        loop = asyncio.get_running_loop()
        drained = server.drained if isinstance(server, Server) else None
        cancelled = asyncio.ensure_future((cancel or asyncio.Event()).wait())
        try:
            while not cancelled.done():
                waiting: set[asyncio.Future[Any]] = set(self.state.handlers)
                if drained is not None and not drained.done():
                    waiting.add(drained)
                remaining = deadline - loop.time()
                if not waiting or remaining <= 0:
                    return
                await asyncio.wait(
                    {*waiting, cancelled}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            cancelled.cancel()


async def _listen(runner: web.BaseRunner, host: str, port: int, shared: bool, section: str) -> int:
    """Open a listener; the port it got (port 0 asks for any free one). A failure names the settings
    (`section` is "listen" or "admin"): both listeners fail alike."""
    site = web.TCPSite(runner, host, port, reuse_address=True, reuse_port=shared)
    try:
        await site.start()
    except OSError as exc:
        if isinstance(exc, socket.gaierror):  # its errno is getaddrinfo's, which os.strerror does not know
            reason = f"not an address of this machine, nor a name that resolves ({exc.strerror})"
        else:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise OSError(exc.errno, f"{host}:{port} ({section}.host, {section}.port): {reason}") from None
    return _bound_port(site)


def _bound_port(site: web.TCPSite) -> int:
    server = site._server  # aiohttp keeps the asyncio server here; the port is needed when 0 was asked
    assert server is not None and server.sockets  # type: ignore[union-attr]
    return int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


async def serve(state: ProxyState) -> None:
    """Run until SIGTERM/SIGINT; a second signal cancels the drain. A worker also tells its supervisor
    when it listens and how each reload went, and drains when the supervisor is gone."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    cancel = asyncio.Event()
    signals = 0
    settings = state.settings

    def on_signal(signum: int) -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            name = signal.Signals(signum).name
            log.info("received %s: draining (grace %.1fs)", name, settings.shutdown_grace_seconds)
            stop.set()
            return
        log.warning("received a second signal: cancelling in-flight requests")
        cancel.set()

    # Handlers go in before the listeners open, so that a signal is never the default (fatal) one.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    worker = state.worker
    if worker is None:
        loop.add_signal_handler(signal.SIGHUP, reload, state)
    else:
        loop.add_signal_handler(signal.SIGHUP, lambda: worker.reloaded(reload(state)))
        worker.watch(stop)
    running = RunningProxy(state)
    await running.start()
    if worker is not None:
        worker.started(running.port, running.admin_port)  # the supervisor says where it listens, once
    else:
        log.info(
            "clever-proxy listening on http://%s:%d (admin http://%s:%d), upstream %s, event loop %s",
            settings.listen_host,
            running.port,
            settings.admin_host,
            running.admin_port,
            settings.upstream_url,
            eventloop.name_of(loop),
        )
    await stop.wait()
    await running.stop(cancel)
    log.info("clever-proxy stopped")
