"""Request smuggling shapes and request targets: the upstream sees the proxy's request boundaries, and
nothing but the configured upstream is ever contacted.

Each ambiguous request is followed on the same connection by a second, "smuggled" GET. Either the
proxy refuses the first (400, nothing forwarded, connection closed) or it reads both as two requests
and the upstream receives exactly those two, re-framed with one Content-Length or chunked encoding;
the assertions are on the bytes the upstream received.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.conftest import ProxyFactory, wait_until
from tests.reliability.harness import TOKEN, FaultUpstream, header_of, raw_request, status_of

SMUGGLED = b"GET /v3.0/smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
POST = f"POST /v3.0/a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n".encode()
CHUNKED_HELLO = b"5\r\nhello\r\n0\r\n\r\n"

REFUSED = {
    "Content-Length and Transfer-Encoding": POST
    + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    + CHUNKED_HELLO,
    "Transfer-Encoding then Content-Length": POST
    + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
    + CHUNKED_HELLO,
    "HTTP/1.0 with both": POST.replace(b"1.1", b"1.0")
    + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
    + CHUNKED_HELLO,
    "two different Content-Lengths": POST + b"Content-Length: 4\r\nContent-Length: 5\r\n\r\nhello",
    "two equal Content-Lengths": POST + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    "Content-Length list": POST + b"Content-Length: 5, 5\r\n\r\nhello",
    "Content-Length in hex": POST + b"Content-Length: 0x5\r\n\r\nhello",
    "Content-Length with a sign": POST + b"Content-Length: +5\r\n\r\nhello",
    "negative Content-Length": POST + b"Content-Length: -1\r\n\r\nhello",
    "overflowing Content-Length": POST + b"Content-Length: 99999999999999999999999\r\n\r\nhello",
    "obsolete line folding": POST + b"X-A: one\r\n two\r\nContent-Length: 5\r\n\r\nhello",
    "folded Transfer-Encoding": POST + b"Transfer-Encoding: identity\r\n chunked\r\n\r\n" + CHUNKED_HELLO,
    "bare LF line ends": b"POST /v3.0/a HTTP/1.1\nHost: x\nContent-Length: 5\n\nhello",
    "one bare LF": POST + b"X-A: 1\nContent-Length: 5\r\n\r\nhello",
    "bare CR line ends": b"POST /v3.0/a HTTP/1.1\rHost: x\rContent-Length: 5\r\r\nhello",
    "chunked, identity": POST + b"Transfer-Encoding: chunked, identity\r\n\r\n" + CHUNKED_HELLO,
    "chunked twice in one header": POST + b"Transfer-Encoding: chunked, chunked\r\n\r\n" + CHUNKED_HELLO,
    "two Transfer-Encoding headers": POST
    + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    + CHUNKED_HELLO,
    "chunked then identity headers": POST
    + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n"
    + CHUNKED_HELLO,
    "xchunked": POST + b"Transfer-Encoding: xchunked\r\n\r\n" + CHUNKED_HELLO,
    "vertical tab before chunked": POST + b"Transfer-Encoding: \x0bchunked\r\n\r\n" + CHUNKED_HELLO,
    "space before colon": POST + b"Content-Length : 5\r\n\r\nhello",
    "space before colon in Transfer-Encoding": POST
    + b"Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello",
    "bare LF in chunk framing": POST + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
    "LF after chunk data": POST + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
    "chunk size with a sign": POST + b"Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
    "overflowing chunk size": POST
    + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
    "bare LF in a chunk extension": POST + b"Transfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n",
    "control character in a header value": POST + b"X-A: a\x01b\r\nContent-Length: 5\r\n\r\nhello",
    "lower-case method": b"post /v3.0/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "Content-Length in trailer fields": POST
    + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nContent-Length: 99\r\n\r\n",
}

# Read as two requests by the proxy: the upstream must see exactly these two, framed one way each.
NORMALISED = {
    "Chunked in capitals": POST + b"Transfer-Encoding: Chunked\r\n\r\n" + CHUNKED_HELLO,
    "tab before chunked": POST + b"Transfer-Encoding:\tchunked\r\n\r\n" + CHUNKED_HELLO,
    "space after chunked": POST + b"Transfer-Encoding: chunked \r\n\r\n" + CHUNKED_HELLO,
    "chunk extension": POST + b"Transfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\n\r\n",
    "trailer fields": POST
    + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\nAuthorization: x\r\n\r\n",
    "padded Content-Length": POST + b"Content-Length:  5  \r\n\r\nhello",
    "Expect: 100-continue": POST + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
}


# Parsed fine by aiohttp, but not forwardable as sent (aiohttp drops the extra coding; Go answers 501).
UNFORWARDABLE = {
    "identity, chunked": POST + b"Transfer-Encoding: identity, chunked\r\n\r\n" + CHUNKED_HELLO,
    "gzip, chunked": POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n" + CHUNKED_HELLO,
}


@pytest.mark.parametrize("name", sorted(UNFORWARDABLE))
async def test_transfer_codings_that_cannot_be_passed_on_are_refused(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, name: str
) -> None:
    proxy = await start_proxy(fault_upstream.url)
    reply = await raw_request(proxy.port, UNFORWARDABLE[name] + SMUGGLED)
    assert re.findall(rb"HTTP/1\.[01] (\d{3})", reply) == [b"501"], (name, reply[:300])
    assert header_of(reply, "X-Clever-Proxy") == "error; kind=bad_framing"
    assert fault_upstream.connections == 0


def _framing(head: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in head if k.lower() in ("content-length", "transfer-encoding")]


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_ambiguous_framing_is_refused_and_nothing_is_forwarded(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, name: str
) -> None:
    proxy = await start_proxy(fault_upstream.url)
    reply = await raw_request(proxy.port, REFUSED[name] + SMUGGLED)
    statuses = re.findall(rb"HTTP/1\.[01] (\d{3})", reply)
    assert statuses == [b"400"], (name, reply[:300])
    assert header_of(reply, "X-Clever-Proxy") == "error; kind=bad_request"
    assert TOKEN.encode() not in reply
    assert fault_upstream.connections == 0


@pytest.mark.parametrize("name", sorted(NORMALISED))
async def test_accepted_framing_reaches_the_upstream_with_the_same_boundaries(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory, name: str
) -> None:
    proxy = await start_proxy(fault_upstream.url)
    reply = await raw_request(proxy.port, NORMALISED[name] + SMUGGLED)
    assert re.findall(rb"HTTP/1\.[01] (\d{3})", reply) == [b"200", b"200"], name
    seen = [(r.method, r.target, r.body) for r in fault_upstream.handled()]
    assert seen == [("POST", "/v3.0/a", b"hello"), ("GET", "/v3.0/smuggled", b"")]
    first = fault_upstream.handled()[0]
    framing = _framing(first.headers)
    assert framing in ([("content-length", "5")], [("transfer-encoding", "chunked")]), framing
    assert first.header("Expect") == [] and first.header("X-T") == []
    assert first.header("Authorization") == [f"Bearer {TOKEN}"]  # not the trailer's
    # Everything the upstream received is exactly those two requests, nothing in between or after.
    raw = b"".join(bytes(v) for v in fault_upstream.raw.values())
    assert raw.count(b" HTTP/1.1\r\n") == 2


async def test_an_upgrade_request_is_forwarded_as_a_plain_request(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(fault_upstream.url, **{"server.client_idle_timeout_seconds": 1.0})
    h2c = POST + (
        b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
        b"Content-Length: 5\r\n\r\nhello"
    )
    reply = await raw_request(proxy.port, h2c + SMUGGLED)
    assert status_of(reply) == 200
    seen = fault_upstream.handled()
    assert [(r.method, r.body) for r in seen][:1] == [("POST", b"hello")]
    assert seen[0].header("Upgrade") == [] and seen[0].header("HTTP2-Settings") == []
    # What followed an upgrade request is never taken for the body of the first.
    assert all(r.body in (b"hello", b"") for r in seen)


# --- targets and hosts -------------------------------------------------------------------------


class _Elsewhere:
    """A listener standing for "anywhere else": it counts connections and never answers."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> _Elsewhere:
        async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self._server = await asyncio.start_server(count, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


async def test_targets_and_host_headers_never_reach_anything_but_the_upstream(
    fault_upstream: FaultUpstream, start_proxy: ProxyFactory
) -> None:
    other = await _Elsewhere().start()
    try:
        proxy = await start_proxy(fault_upstream.url)
        there = f"127.0.0.1:{other.port}"
        forwarded_targets = {
            f"http://{there}/steal?x=1": "/steal?x=1",
            f"https://{there}/steal": "/steal",
            f"http://{there}": "/",
            f"http://user:pw@{there}/steal": "/steal",
            f"http://{fault_upstream.url[7:]}@{there}/steal": "/steal",
            f"//{there}/steal": f"//{there}/steal",
            f"/\\{there}/steal": f"/\\{there}/steal",
            f"/@{there}/steal": f"/@{there}/steal",
            f"/%2F%2F{there}/steal": f"/%2F%2F{there}/steal",
            "*": "*",  # the asterisk-form, as sent: it names the server, not a path
        }
        for target, expected in forwarded_targets.items():
            before = len(fault_upstream.handled())
            method = "OPTIONS" if target == "*" else "GET"
            request = (
                f"{method} {target} HTTP/1.1\r\nHost: {there}\r\nX-Forwarded-Host: {there}\r\n"
                f"Forwarded: host={there}\r\nConnection: close\r\n\r\n"
            ).encode()
            reply = await raw_request(proxy.port, request)
            assert status_of(reply) == 200, target
            got = fault_upstream.handled()[before:]
            assert [r.target for r in got] == [expected], target
            assert got[0].header("Host") == [fault_upstream.url.removeprefix("http://")]
        # CONNECT is refused by the proxy itself: it is not a forward proxy.
        reply = await raw_request(proxy.port, f"CONNECT {there} HTTP/1.1\r\nHost: {there}\r\n\r\n".encode())
        assert status_of(reply) == 405
        assert header_of(reply, "X-Clever-Proxy") == "error; kind=not_proxied"
        # An authority-form target on anything else is not HTTP the parser accepts.
        reply = await raw_request(proxy.port, f"GET {there} HTTP/1.1\r\nHost: {there}\r\n\r\n".encode())
        assert status_of(reply) == 400
        await wait_until(lambda: proxy.state.in_flight == 0)
        assert all(r.method != "CONNECT" for r in fault_upstream.requests)
    finally:
        await other.close()
    assert other.connections == 0
