"""Local answers written as a request arrives (`proxy.connection`) against the handler's own.

An idle connection answers a whole request the checks refuse at once, without the request task
aiohttp starts per request; anything else goes to the handler. The two must be indistinguishable on
the wire. Which path a request took is observed from the outside: aiohttp starts one task per
request it hands to the handler (`RequestHandler._handle_request`), and the test counts them.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import socket
import struct
from typing import Any

import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from proxy import accesslog
from proxy import connection as connection_mod
from proxy.connection import Connection
from tests.conformance.http1 import encode_request
from tests.conformance.runner import parser_refuses
from tests.conformance.test_golden import load_rows
from tests.conftest import ProxyFactory, Upstream, exchange_raw

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
ONE = f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"
CREATE = f"/v3.1/sections/{SECTION}/assignments"
AUTH = "Authorization: Bearer district-token-0123456789abcdef\r\n"
SLOW_PATH = f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT}"  # the upstream answers it late

NO_AUTH_GET = f"GET {ONE} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
SLOW_GET = f"GET {SLOW_PATH} HTTP/1.1\r\nHost: x\r\n{AUTH}\r\n".encode()
BAD_JSON_BODY = b'{"title":"Quiz 1","points_possible":"20"}'
BAD_JSON_POST = (
    f"POST {CREATE} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/json\r\n"
    f"Content-Length: {len(BAD_JSON_BODY)}\r\n\r\n"
).encode() + BAD_JSON_BODY
GOOD_BODY = (
    b'{"title":"Quiz 1","description":"Chapter 3","points_possible":20,"grading_type":"points",'
    b'"due_date":"2099-05-01T17:00:00Z"}'
)
GOOD_POST = (
    f"POST {CREATE} HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Type: application/json\r\n"
    f"Content-Length: {len(GOOD_BODY)}\r\n\r\n"
).encode() + GOOD_BODY

_DATE = re.compile(rb"\r\nDate: [^\r]*\r\n")


class HandlerTasks:
    """Counts the requests aiohttp hands to the handler on the proxy's connections (not the test
    upstream's): each goes through `RequestHandler._handle_request`, run as its own task. Counted where
    that coroutine is made, not with a task factory: on Python 3.12+ aiohttp builds the task with
    `asyncio.Task(..., eager_start=True)` itself, which a loop's task factory never sees."""

    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def handler_tasks(monkeypatch: pytest.MonkeyPatch) -> HandlerTasks:
    tasks = HandlerTasks()
    original = RequestHandler._handle_request

    def counting(self: RequestHandler, *args: Any, **kwargs: Any) -> Any:
        if isinstance(self, Connection):
            tasks.count += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RequestHandler, "_handle_request", counting)
    return tasks


async def read_answer(reader: asyncio.StreamReader, timeout: float = 5.0) -> bytes:
    """One whole answer framed by Content-Length (every local answer and the test upstream's are)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    length = re.search(rb"\r\nContent-Length: (\d+)\r\n", head, re.IGNORECASE)
    size = int(length.group(1)) if length else 0
    return head + await asyncio.wait_for(reader.readexactly(size), timeout)


def without_date(answer: bytes) -> bytes:
    return _DATE.sub(b"\r\nDate: -\r\n", answer)


async def slow_upstream(upstream: Upstream, seconds: float = 0.02) -> None:
    async def late(request: web.BaseRequest, body: bytes) -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return web.Response(status=200, body=b'{"data":{}}', headers={"Content-Type": "application/json"})

    upstream.behaviours[SLOW_PATH] = late


def local_rows(step: int = 10) -> list[Any]:
    """Every `step`th certain rejection of the golden corpus that reaches the checks (a deterministic
    sample across all families)."""
    rows = [r for r in load_rows() if r.expect["certain"] and not parser_refuses(r.case)]
    return rows[::step]


async def test_answers_at_once_are_the_handlers_bytes(
    upstream: Upstream, start_proxy: ProxyFactory, handler_tasks: HandlerTasks
) -> None:
    """Each sampled rejection goes once alone on an idle connection (answered at once) and once
    pipelined behind a request the upstream answers late (the connection is busy, so the handler
    answers it): the two answers are the same bytes, Date aside."""
    await slow_upstream(upstream)
    proxy = await start_proxy(upstream.url)
    rows = local_rows()
    assert len(rows) > 100
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    try:
        for row in rows:
            case = row.case
            request = encode_request(case.method, case.target, "x", list(case.headers), case.body)
            before = handler_tasks.count
            writer.write(request)
            at_once = await read_answer(reader)
            assert handler_tasks.count == before, f"{case.id}: not answered at once"
            writer.write(SLOW_GET + request)
            assert (await read_answer(reader)).startswith(b"HTTP/1.1 200 ")
            by_handler = await read_answer(reader)
            assert handler_tasks.count == before + 2, f"{case.id}: the handler did not answer"
            assert without_date(at_once) == without_date(by_handler), case.id
            assert b"X-Clever-Proxy: local; rule=" in at_once, case.id
    finally:
        writer.close()
    assert len(upstream.received) == len(rows)  # only the slow requests went upstream


@pytest.mark.parametrize(
    ("version", "connection", "closes", "connection_line"),
    [
        ("HTTP/1.1", "", False, None),
        ("HTTP/1.1", "Connection: close\r\n", True, b"Connection: close"),
        ("HTTP/1.0", "", True, None),
        ("HTTP/1.0", "Connection: keep-alive\r\n", False, b"Connection: keep-alive"),
    ],
)
async def test_keep_alive_and_version_as_the_handler_frames_them(
    upstream: Upstream,
    start_proxy: ProxyFactory,
    handler_tasks: HandlerTasks,
    version: str,
    connection: str,
    closes: bool,
    connection_line: bytes | None,
) -> None:
    await slow_upstream(upstream)
    proxy = await start_proxy(upstream.url)
    request = f"GET {ONE} {version}\r\nHost: x\r\n{connection}\r\n".encode()
    answers = []
    for lead in (b"", SLOW_GET):
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(lead + request)
        if lead:
            await read_answer(reader)
        answer = await read_answer(reader)
        answers.append(answer)
        assert answer.startswith(f"{version} 401 Unauthorized\r\n".encode())
        lines = answer.split(b"\r\n\r\n")[0].split(b"\r\n")
        assert [line for line in lines if line.startswith(b"Connection:")] == (
            [connection_line] if connection_line else []
        )
        if closes:
            assert await asyncio.wait_for(reader.read(), 2) == b""
        else:  # still open: a second request on it is answered
            writer.write(request)
            assert (await read_answer(reader)).startswith(f"{version} 401".encode())
        writer.close()
    assert without_date(answers[0]) == without_date(answers[1])
    # The slow GET and the request behind it; a later request on an idle connection is answered at once.
    assert handler_tasks.count == 2


async def test_pipelined_requests_are_answered_in_order(
    upstream: Upstream, start_proxy: ProxyFactory, access_lines: list[str]
) -> None:
    """Rejections, forwards and a late upstream answer in one segment: answers come back in request
    order, and every forwarded body reaches the upstream whole."""
    await slow_upstream(upstream)
    proxy = await start_proxy(upstream.url)
    sequence = [NO_AUTH_GET, GOOD_POST, BAD_JSON_POST, SLOW_GET, NO_AUTH_GET, GOOD_POST, BAD_JSON_POST]
    expected = [b"401", b"200", b"400", b"200", b"401", b"200", b"400"]
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"".join(sequence))
    statuses = [(await read_answer(reader)).split(b" ")[1] for _ in sequence]
    writer.close()
    assert statuses == expected
    assert [r.method for r in upstream.received] == ["POST", "GET", "POST"]
    assert [r.body for r in upstream.received if r.method == "POST"] == [GOOD_BODY, GOOD_BODY]
    accesslog.access.flush()
    outcomes = [line.split('"outcome":"')[1].split('"')[0] for line in access_lines]
    assert sorted(outcomes) == sorted(["rejected"] * 4 + ["forwarded"] * 3)


async def test_a_forward_judged_on_arrival_keeps_its_verdict_and_body(
    upstream: Upstream, start_proxy: ProxyFactory, handler_tasks: HandlerTasks
) -> None:
    """A valid create arriving whole on an idle connection is judged there and handed to the handler,
    which forwards it without judging again: the body arrives unchanged and counts once."""
    proxy = await start_proxy(upstream.url)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(GOOD_POST)
    assert (await read_answer(reader)).startswith(b"HTTP/1.1 200 ")
    writer.close()
    assert handler_tasks.count == 1
    assert upstream.last.body == GOOD_BODY
    forwards = proxy.state.metrics.registry.get_sample_value(
        "clever_proxy_forwards_total", {"reason": "passed", "stage": ""}
    )
    assert forwards == 1


async def test_the_idle_timeout_counts_from_the_last_answer(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    """Requests answered at once keep a connection alive: the idle timeout restarts with each answer
    (aiohttp's timer, armed when the connection opened, would otherwise cut a busy connection), and
    an idle connection still closes when it runs out."""
    proxy = await start_proxy(upstream.url, **{"server.client_idle_timeout_seconds": 0.4})
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    for _ in range(8):  # 8 x 0.15 s: three times the timeout, never idle for as long as it
        writer.write(NO_AUTH_GET)
        assert (await read_answer(reader)).startswith(b"HTTP/1.1 401 ")
        await asyncio.sleep(0.15)
    assert await asyncio.wait_for(reader.read(), 2) == b""  # then idle: closed by the timeout
    writer.close()


async def test_a_client_that_does_not_read_gets_every_answer_in_order(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    """Thousands of pipelined rejections sent without reading, to a small receive buffer: once the
    transport's buffer passes its high-water mark, answers wait for the client (the proxy holds no
    more than that), and nothing is lost or reordered when it reads."""
    proxy = await start_proxy(upstream.url, **{"logging.access_log": False})
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", proxy.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(NO_AUTH_GET)
    await read_answer(reader)
    runner = proxy._proxy_runner
    assert runner is not None and runner.server is not None
    (connection,) = runner.server.connections
    # Small kernel buffers on both ends, so that the answers back up into the proxy's transport.
    connection.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    count = 2000
    requests = [NO_AUTH_GET if i % 2 else BAD_JSON_POST for i in range(count)]
    # A few at a time, each batch read on its own (a segment of 32 or more goes to aiohttp's queue).
    for start in range(0, count, 5):
        writer.write(b"".join(requests[start : start + 5]))  # no drain: the proxy stops reading
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.3)
    held = connection.transport.get_write_buffer_size()
    # asyncio's high-water mark (64 KiB) and a batch past it: the rest waits unread in the kernel.
    assert 0 < held < 80 * 1024, held
    statuses = [(await read_answer(reader)).split(b" ")[1] for _ in range(count)]
    writer.close()
    assert statuses == [b"401" if i % 2 else b"400" for i in range(count)]
    assert upstream.received == []


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_a_client_that_resets_after_pipelining_leaves_no_failed_task(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    """The first of two pipelined requests is answered at once to a client that has already reset the
    connection: the write fails, and aiohttp's connection task must not be woken for the second
    request after the connection is gone (it would fail on a torn-down connection)."""
    proxy = await start_proxy(upstream.url, **{"logging.access_log": False})
    records = _Records()
    logging.getLogger("asyncio").addHandler(records)
    try:
        for _ in range(5):
            sock = socket.create_connection(("127.0.0.1", proxy.port))  # blocking: the loop waits here
            await asyncio.sleep(0.05)  # accepted; the connection is idle
            sock.sendall(NO_AUTH_GET + NO_AUTH_GET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # a reset, before the proxy read the requests
            await asyncio.sleep(0.1)
        gc.collect()  # a failed task's exception is reported when the task is collected
        await asyncio.sleep(0.05)
    finally:
        logging.getLogger("asyncio").removeHandler(records)
    assert records.messages == []
    answered = proxy.state.metrics.registry.get_sample_value(
        "clever_proxy_local_rejections_total", {"rule": "auth"}
    )
    assert answered  # the quick path did answer (the write is what failed)


@pytest.mark.parametrize("version", ["HTTP/2.0", "HTTP/0.9"])
async def test_a_request_line_in_another_http_version_is_left_to_clever(
    upstream: Upstream, start_proxy: ProxyFactory, version: str
) -> None:
    """Go's server answers a request line in HTTP/2.0 or 0.9 with a 505: a local answer (in the
    request's version, as aiohttp frames it) would not be Clever's. Forwarded; the answer goes out
    on this HTTP/1 connection as HTTP/1.1 (aiohttp would write "HTTP/2.0 200" on HTTP/1 framing)."""
    proxy = await start_proxy(upstream.url)
    answer = await exchange_raw(
        proxy.port, f"GET {ONE} {version}\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"X-Clever-Proxy: local" not in answer
    assert [r.raw_path for r in upstream.received] == [ONE]
    forwards = proxy.state.metrics.registry.get_sample_value(
        "clever_proxy_forwards_total", {"reason": "uncertain", "stage": "http_version"}
    )
    assert forwards == 1


def test_the_installed_aiohttp_has_what_the_quick_path_reads() -> None:
    """The quick path is on with the aiohttp this project installs; a protocol class without that
    state is reported by name (the names are what the start-up warning lists)."""
    assert connection_mod.missing_internals() == []

    class Bare:
        pass

    missing = connection_mod.missing_internals(Bare, Bare)
    assert missing[: len(connection_mod.INTERNALS)] == list(connection_mod.INTERNALS)
    assert missing[-1] == "HttpRequestParser.message_consumed"


async def test_without_aiohttp_internals_every_request_goes_to_the_handler(
    upstream: Upstream,
    start_proxy: ProxyFactory,
    handler_tasks: HandlerTasks,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An aiohttp past the tested bounds (its private connection state gone) costs only speed: the
    start-up says so, and rejections and forwards are answered as before, by the handler."""
    monkeypatch.setattr(connection_mod, "MISSING_INTERNALS", ["_waiter"])
    with caplog.at_level(logging.WARNING, logger="clever_proxy"):
        proxy = await start_proxy(upstream.url)
    assert any("_waiter" in r.getMessage() and "slower" in r.getMessage() for r in caplog.records)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(NO_AUTH_GET + GOOD_POST + BAD_JSON_POST)
    statuses = [(await read_answer(reader)).split(b" ")[1] for _ in range(3)]
    writer.close()
    assert statuses == [b"401", b"200", b"400"]
    assert handler_tasks.count == 3
    assert [r.body for r in upstream.received] == [GOOD_BODY]
