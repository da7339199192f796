"""Shared fixtures: the real contract, a recording upstream on loopback, and a running proxy factory.

Nothing here mocks the proxy's own modules: the upstream is a real aiohttp server on 127.0.0.1 that
records exactly what reached it, and the proxy runs with its real listeners.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from proxy import accesslog
from proxy import contract as contract_mod
from proxy import settings as settings_mod
from proxy.contract import Contract
from proxy.server import ProxyState, RunningProxy, build

pytest_plugins = ["tests.reference.fixture"]


@pytest.fixture(scope="session")
def contract() -> Contract:
    return contract_mod.load()


@dataclass
class Received:
    method: str
    raw_path: str
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> list[str]:
        lname = name.lower().encode()
        return [v.decode("latin-1") for k, v in self.raw_headers if k.lower() == lname]

    def header_names(self) -> list[str]:
        return [k.decode("latin-1") for k, _ in self.raw_headers]


Behaviour = Callable[[web.BaseRequest, bytes], Awaitable[web.StreamResponse]]


@dataclass
class Upstream:
    url: str
    received: list[Received] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)

    @property
    def last(self) -> Received:
        return self.received[-1]


async def _default_answer(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
    return web.Response(
        status=200,
        body=b'{"data":{"echo":' + str(len(body)).encode() + b"}}",
        headers={"Content-Type": "application/json", "X-Upstream": "recorder"},
    )


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    """A real HTTP server on loopback recording every request; `behaviours[path]` overrides the answer."""
    state = Upstream(url="")

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        body = await request.content.read()  # unbounded, unlike request.read()
        state.received.append(Received(request.method, request.raw_path, list(request.raw_headers), body))
        behaviour = state.behaviours.get(request.path, _default_answer)
        return await behaviour(request, body)

    server = web.Server(handler, auto_decompress=False)  # record bodies exactly as they arrive
    runner = web.ServerRunner(server, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


ProxyFactory = Callable[..., Awaitable[RunningProxy]]


@pytest.fixture
async def start_proxy(contract: Contract) -> AsyncIterator[ProxyFactory]:
    """Start a real proxy (both listeners on free ports) against `upstream_url`; stopped at teardown."""
    running: list[RunningProxy] = []

    async def factory(upstream_url: str, contract_: Contract | None = None, **overrides: Any) -> RunningProxy:
        values = {"listen.port": 0, "admin.port": 0, "upstream.url": upstream_url, **overrides}
        settings = settings_mod.load(config=None, overrides=values, environ={})
        state: ProxyState = build(settings, contract_ or contract, CollectorRegistry())
        proxy = RunningProxy(state)
        await proxy.start()
        running.append(proxy)
        return proxy

    yield factory
    for proxy in running:
        if not proxy.state.draining:
            await proxy.stop()


@pytest.fixture
def access_lines() -> Iterator[list[str]]:
    """The access lines the proxies of this test write (flushed on every read of the list's owner)."""
    lines: list[str] = []
    saved = accesslog.access.sink
    accesslog.access.flush()
    accesslog.access.sink = lambda data: lines.extend(data.decode().splitlines())
    try:
        yield lines
    finally:
        accesslog.access.flush()
        accesslog.access.sink = saved


def gunzip(data: bytes) -> bytes:
    return gzip.decompress(data)


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def exchange_raw(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send `data` on a fresh connection to 127.0.0.1:port and read until the other side closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
