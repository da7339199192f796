"""RenderedResponse writes what aiohttp's own serialisation of the same answer writes, byte for byte.

Two real aiohttp servers on loopback answer the same requests: one with ExactResponse (headers in a
multidict, serialised by aiohttp), one with RenderedResponse (header lines given as bytes). Their raw
answers must be identical, Date's value aside (it is checked for form instead).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from multidict import CIMultiDict

from proxy.respond import ExactResponse, RenderedResponse

DATE = re.compile(rb"\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n")

ANSWERS: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {
    "json_400": (
        400,
        [
            ("Content-Type", "application/json"),
            ("X-Content-Type-Options", "nosniff"),
            ("Vary", "Accept-Encoding"),
        ],
        b'{"message":"json: cannot unmarshal number into Go struct field .title of type string"}\n',
    ),
    "gzip_401_marked": (
        401,
        [
            ("Content-Type", "text/plain"),
            ("Content-Encoding", "gzip"),
            ("X-Clever-Proxy", "local; rule=auth"),
        ],
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\x0b\xcd\x4b\x2c\x2d\xc9\xc8\x2f\xca\xac\x4a\x4d\x01\x00",
    ),
    "empty_405": (405, [("Allow", "GET, PATCH")], b""),
    "upstream_dated": (
        200,
        [
            ("Content-Type", "application/json"),
            ("Date", "Fri, 04 Dec 2026 09:00:00 GMT"),
            ("Content-Length", "11"),
        ],
        b'{"data":{}}',
    ),
}

REQUESTS = {
    "keep_alive": b"%s /v3.0/x HTTP/1.1\r\nHost: a\r\n\r\n",
    "close": b"%s /v3.0/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "http10": b"%s /v3.0/x HTTP/1.0\r\nHost: a\r\n\r\n",
    "http10_keep_alive": b"%s /v3.0/x HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
}


def exact(name: str) -> web.StreamResponse:
    status, pairs, body = ANSWERS[name]
    return ExactResponse(status=status, headers=CIMultiDict(pairs), body=body or None)


def rendered(name: str) -> web.StreamResponse:
    status, pairs, body = ANSWERS[name]
    names = {k.lower() for k, _ in pairs}
    lines = b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs)
    return RenderedResponse(
        status, lines, body, has_length="content-length" in names, has_date="date" in names
    )


async def serve(make: Callable[[str], web.StreamResponse]) -> tuple[web.ServerRunner, int]:
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        return make(request.headers["X-Answer"])

    runner = web.ServerRunner(web.Server(handler), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


@pytest.fixture
async def servers() -> AsyncIterator[tuple[int, int]]:
    exact_runner, exact_port = await serve(exact)
    rendered_runner, rendered_port = await serve(rendered)
    yield exact_port, rendered_port
    await exact_runner.cleanup()
    await rendered_runner.cleanup()


async def raw(port: int, request: bytes, answers: int) -> tuple[bytes, bool]:
    """What the server writes for `answers` requests sent at once (until it closes or goes quiet for
    0.3 s), and whether it closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request * answers)
    data = b""
    closed = False
    while True:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), 0.3)
        except TimeoutError:
            break
        if not chunk:
            closed = True
            break
        data += chunk
    writer.close()
    return data, closed


@pytest.mark.parametrize("answer", sorted(ANSWERS))
@pytest.mark.parametrize("request_kind", sorted(REQUESTS))
@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
async def test_same_bytes_as_aiohttps_serialisation(
    servers: tuple[int, int], answer: str, request_kind: str, method: bytes
) -> None:
    exact_port, rendered_port = servers
    request = REQUESTS[request_kind] % method
    request = request.replace(b"\r\n\r\n", b"\r\nX-Answer: " + answer.encode() + b"\r\n\r\n")
    keeps_alive = request_kind in ("keep_alive", "http10_keep_alive")
    count = 2 if keeps_alive else 1  # two pipelined answers on one connection where it stays open
    want, want_closed = await raw(exact_port, request, count)
    got, got_closed = await raw(rendered_port, request, count)
    assert want.count(b"HTTP/1.") == count
    assert DATE.search(got) is not None or b"Date: Fri, 04 Dec 2026" in got
    assert DATE.sub(b"\r\nDate: -\r\n", got) == DATE.sub(b"\r\nDate: -\r\n", want)
    assert got_closed == want_closed == (not keeps_alive)
