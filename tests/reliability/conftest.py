"""Fixtures of the reliability tests: the fault-injecting upstream, and a secrets watch on everything.

`secrets_watch` is autouse: for every test here, each log record of the proxy, aiohttp and asyncio is
formatted at DEBUG level (message, arguments and traceback), and the metrics of every proxy the test
started are rendered; none of it may contain a test token.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from prometheus_client.exposition import generate_latest

from proxy import accesslog
from proxy.server import RunningProxy
from tests.conftest import ProxyFactory
from tests.reliability.harness import SECRETS, FaultUpstream

WATCHED_LOGGERS = ("", "clever_proxy", "aiohttp", "asyncio")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class SecretsWatch:
    handler: _Collect
    proxies: list[RunningProxy] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # output of subprocesses, client-visible errors

    def text(self) -> str:
        metrics = [generate_latest(p.state.metrics.registry).decode() for p in self.proxies]
        return "\n".join([*self.handler.lines, *metrics, *self.extra])

    def assert_clean(self) -> None:
        text = self.text()
        for secret in SECRETS:
            if secret in text:
                line = next(x for x in text.splitlines() if secret in x)
                raise AssertionError(f"a test token was written by the proxy: {line[:300]!r}")


@pytest.fixture(autouse=True)
def secrets_watch() -> Iterator[SecretsWatch]:
    handler = _Collect()
    saved: list[tuple[logging.Logger, int]] = []
    for name in WATCHED_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.addHandler(handler)
        if name:
            logger.setLevel(logging.DEBUG)
    watch = SecretsWatch(handler)
    # Access lines do not go through logging: they join the watched text as they are flushed.
    saved_sink = accesslog.access.sink
    accesslog.access.flush()
    accesslog.access.sink = lambda data: handler.lines.extend(data.decode(errors="replace").splitlines())
    try:
        yield watch
    finally:
        accesslog.access.flush()
        accesslog.access.sink = saved_sink
        for logger, level in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
    watch.assert_clean()


@pytest.fixture
def start_proxy(start_proxy: ProxyFactory, secrets_watch: SecretsWatch) -> ProxyFactory:
    """The shared factory, with each proxy's metrics added to the secrets watch."""

    async def factory(*args: Any, **kwargs: Any) -> RunningProxy:
        proxy = await start_proxy(*args, **kwargs)
        secrets_watch.proxies.append(proxy)
        return proxy

    return factory


@pytest.fixture
async def fault_upstream() -> AsyncIterator[FaultUpstream]:
    upstream = await FaultUpstream().start()
    try:
        yield upstream
    finally:
        await upstream.close()
