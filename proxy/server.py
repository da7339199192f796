"""The inbound side: one catch-all handler for the proxied API, and the admin listener.

Data flows one way: request -> `request.inspect` -> (body read when the operation validates it) ->
`pipeline.run` -> `respond` (local answer) or `forward` (upstream) -> metrics + access log. This module
does the I/O and the bookkeeping; it decides nothing itself.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from proxy import accesslog
from proxy.contract import Contract
from proxy.forward import Exchange, Forwarder, UpstreamFailure
from proxy.metrics import Metrics
from proxy.pipeline import Pipeline, Policy
from proxy.request import ParsedRequest, inspect, wants_body, with_body
from proxy.respond import Responder
from proxy.settings import Settings
from proxy.verdict import Reject

log = logging.getLogger("clever_proxy")

UPSTREAM_MESSAGES = {
    "connect": "clever-proxy could not reach Clever (connection failed)",
    "timeout": "clever-proxy could not reach Clever (no answer in time)",
    "protocol": "clever-proxy could not reach Clever (the connection failed mid-request)",
}


class BodyTooLarge(Exception):
    pass


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    """The whole body, refusing anything over `limit` bytes before reading past it."""
    length = request.content_length
    if length is not None and length > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
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
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _id_prefix: str = field(default_factory=lambda: f"{os.getpid():x}-{int(time.time()):x}")

    def next_request_id(self) -> str:
        return f"{self._id_prefix}-{next(self._ids):x}"


def build(settings: Settings, contract: Contract, registry: CollectorRegistry | None = None) -> ProxyState:
    registry = registry if registry is not None else CollectorRegistry()
    policy = Policy(settings.enabled_rules, timedelta(seconds=settings.due_date_skew_seconds))
    return ProxyState(
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
        ),
        metrics=Metrics(registry, contract.route_labels()),
    )


def make_handler(state: ProxyState):
    contract = state.contract
    pipeline = state.pipeline
    responder = state.responder
    metrics = state.metrics
    max_body = state.settings.max_body_bytes
    perf = time.perf_counter

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        started = perf()
        state.in_flight += 1
        metrics.in_flight.inc()
        request_id = state.next_request_id()
        parsed = inspect(request.method, request.raw_path, request.headers, request.content_length, contract)
        route = metrics.route_label(parsed.route.template if parsed.route is not None else None)
        exchange = Exchange()
        rule = ""
        try:
            if wants_body(parsed):
                try:
                    parsed = with_body(parsed, await read_body(request, max_body))
                except BodyTooLarge:
                    exchange.outcome = "proxy_error"
                    exchange.status = 413
                    return _too_large(state)
            verdict = pipeline.run(parsed, datetime.now(UTC))
            if type(verdict) is Reject:
                rule = verdict.rule
                exchange.outcome = "rejected"
                metrics.rejected(rule)
                response = responder.reject(verdict, parsed.accept_encoding, parsed.has_upgrade)
                exchange.status = response.status
                return response
            metrics.forwarded(verdict.reason, verdict.stage)
            if verdict.reason == "check_error":
                metrics.check_error(verdict.stage)
            return await _forward(state, request, parsed, exchange)
        finally:
            elapsed = perf() - started
            state.in_flight -= 1
            metrics.in_flight.dec()
            if exchange.upstream_seconds:
                metrics.upstream_done(route, exchange.upstream_seconds)
            if exchange.error_kind:
                metrics.upstream_error(exchange.error_kind)
            status = exchange.status or 500
            metrics.request_done(route, parsed.method, exchange.outcome, status, elapsed)
            accesslog.write(
                accesslog.AccessRecord(
                    request_id,
                    parsed.method,
                    route,
                    status,
                    exchange.outcome,
                    rule,
                    elapsed,
                    exchange.upstream_seconds,
                )
            )

    return handle


def _too_large(state: ProxyState) -> web.Response:
    limit = state.settings.max_body_bytes
    response = state.responder.proxy_error(
        413, "body_too_large", f"clever-proxy refused a request body larger than {limit} bytes"
    )
    # The rest of the body was not read: the connection cannot be reused.
    response.force_close()
    return response


async def _forward(
    state: ProxyState, request: web.BaseRequest, parsed: ParsedRequest, exchange: Exchange
) -> web.StreamResponse:
    try:
        return await state.forwarder.send(request, parsed, exchange)
    except UpstreamFailure as failure:
        exchange.outcome = "upstream_error"
        exchange.error_kind = failure.kind
        exchange.status = failure.status
        log.warning("upstream %s failure for %s %s", failure.kind, parsed.method, _route_of(parsed))
        return state.responder.proxy_error(failure.status, failure.kind, UPSTREAM_MESSAGES[failure.kind])


def _route_of(parsed: ParsedRequest) -> str:
    return parsed.route.template if parsed.route is not None else "(not a contract route)"


# --- admin listener ----------------------------------------------------------------------------


def make_admin_app(state: ProxyState) -> web.Application:
    registry = state.metrics.registry

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
        settings = self.state.settings
        await self.state.forwarder.start()
        server = web.Server(make_handler(self.state), access_log=None)
        self._proxy_runner = web.ServerRunner(
            server, shutdown_timeout=settings.shutdown_grace_seconds, handle_signals=False
        )
        await self._proxy_runner.setup()
        site = web.TCPSite(self._proxy_runner, settings.listen_host, settings.listen_port, reuse_address=True)
        await site.start()
        self.port = _bound_port(site)
        self._admin_runner = web.AppRunner(make_admin_app(self.state), access_log=None, handle_signals=False)
        await self._admin_runner.setup()
        admin = web.TCPSite(self._admin_runner, settings.admin_host, settings.admin_port, reuse_address=True)
        await admin.start()
        self.admin_port = _bound_port(admin)
        self.state.ready = True
        self.state.metrics.ready.set(1)

    async def stop(self) -> None:
        """Readiness first, then stop accepting and let in-flight requests finish within the grace period."""
        self.state.draining = True
        self.state.metrics.ready.set(0)
        if self._proxy_runner is not None:
            await self._proxy_runner.cleanup()
        await self.state.forwarder.close()
        if self._admin_runner is not None:
            await self._admin_runner.cleanup()


def _bound_port(site: web.TCPSite) -> int:
    server = site._server  # aiohttp keeps the asyncio server here; the port is needed when 0 was asked
    assert server is not None and server.sockets  # type: ignore[union-attr]
    return int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]


async def serve(state: ProxyState) -> None:
    """Run until SIGTERM/SIGINT; a second signal cancels the drain."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main_task = asyncio.current_task()
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
        for task in asyncio.all_tasks(loop):
            if task is not main_task:
                task.cancel()

    # Handlers go in before the listeners open, so that a signal is never the default (fatal) one.
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    running = RunningProxy(state)
    await running.start()
    log.info(
        "clever-proxy listening on http://%s:%d (admin http://%s:%d), upstream %s",
        settings.listen_host,
        running.port,
        settings.admin_host,
        running.admin_port,
        settings.upstream_url,
    )
    await stop.wait()
    await running.stop()
    log.info("clever-proxy stopped")
