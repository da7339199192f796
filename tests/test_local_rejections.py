"""Each certain row of the contract is answered locally with Clever's exact bytes (contract §8).

The expected texts are the ones Clever documents (research notes §5, §2.2) or that the contract
derives from Go's libraries; the Go reference checks the same rows independently.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from yarl import URL

from tests.conftest import ProxyFactory, Upstream

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
CREATE = f"/v3.1/sections/{SECTION}/assignments"
ONE = f"{CREATE}/{ASSIGNMENT}"
SUBS = f"{ONE}/submissions"
AUTH = {"Authorization": "Bearer district-token"}
WAG_HEADERS = {
    "Content-Type": "text/plain; charset=utf-8",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept-Encoding",
}
FUTURE = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")


def wag(message: str) -> bytes:
    return b'{"message":' + message.encode() + b"}\n"


ROWS = [
    ("POST", CREATE, b"", wag('"request body is required, but was empty"'), "body_required"),
    (
        "POST",
        CREATE,
        b'{"assignee_mode": ,}',
        wag("\"invalid character ',' looking for beginning of value\""),
        "json",
    ),
    (
        "POST",
        CREATE,
        b'{"title":"a" : "b"}',
        wag("\"invalid character ':' after object key:value pair\""),
        "json",
    ),
    (
        "POST",
        CREATE,
        b'{"description":"Solve $x\\ +\\ 2 = 5$"}',
        wag("\"invalid character ' ' in string escape code\""),
        "json",
    ),
    ("POST", CREATE, b"{", wag('"unexpected EOF"'), "json"),
    ("POST", CREATE, b"   ", wag('"EOF"'), "json"),
    (
        "POST",
        CREATE,
        b"<html>",
        wag("\"invalid character '\\u003c' looking for beginning of value\""),
        "json",
    ),
    (
        "POST",
        CREATE,
        b'{"title":"Essay","description":"d","due_date":"'
        + FUTURE.encode()
        + b'","submission_types":["essay"]}',
        wag(
            '"validation failure list:\\n'
            'submission_types.0 in body should be one of [link file text discussion]"'
        ),
        "schema",
    ),
    (
        "POST",
        CREATE,
        b'{"points_possible":10}',
        wag('"missing required field(s): title, description, due_date"'),
        "required_fields",
    ),
    (
        "POST",
        CREATE,
        b'{"title":"Quiz","description":"Unit 1","due_date":"2020-01-01T00:00:00Z"}',
        wag('"due_date must be in the future"'),
        "due_date",
    ),
    (
        "PATCH",
        ONE,
        b'{"due_date":"2023-02-29"}',
        wag('"parsing time \\"2023-02-29\\": day out of range"'),
        "json",
    ),
    ("GET", f"{CREATE}/quiz-1", b"", wag('"INVALID_ID"'), "assignment_id"),
    (
        "GET",
        f"/v3.1/sections/abc/assignments/{ASSIGNMENT}",
        b"",
        wag('"section_id in path must be of type mongo-id: \\"abc\\""'),
        "path_format",
    ),
    (
        "GET",
        f"{SUBS}/student-7",
        b"",
        wag('"user_id in path must be of type mongo-id: \\"student-7\\""'),
        "path_format",
    ),
    ("GET", f"{SUBS}?limit=500", b"", wag('"limit in query should be less than or equal to 100"'), "query"),
    ("GET", f"{SUBS}?limit=0", b"", wag('"limit in query should be greater than or equal to 1"'), "query"),
    ("GET", f"{SUBS}?limit=abc", b"", wag('"strconv.ParseInt: parsing \\"abc\\": invalid syntax"'), "query"),
    (
        "PATCH",
        "/v3.1/sections/%3Cmongo-id%3E/assignments/%3Cstring%3E",
        b'{"title":"<string>"}',
        wag('"section_id in path must be of type mongo-id: \\"\\u003cmongo-id\\u003e\\""'),
        "path_format",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "expected", "rule"), ROWS, ids=[r[4] + ":" + r[1][-20:] for r in ROWS]
)
async def test_wag_400_rows_are_answered_locally_with_exact_bytes(
    upstream: Upstream,
    start_proxy: ProxyFactory,
    method: str,
    path: str,
    body: bytes,
    expected: bytes,
    rule: str,
) -> None:
    proxy = await start_proxy(upstream.url)
    async with aiohttp.ClientSession(auto_decompress=False) as client:
        url = URL(f"http://127.0.0.1:{proxy.port}{path}", encoded=True)
        async with client.request(
            method, url, data=body or None, headers=AUTH, skip_auto_headers=["Accept-Encoding"]
        ) as resp:
            raw = await resp.read()
            assert resp.status == 400
            for name, value in WAG_HEADERS.items():
                assert resp.headers.getall(name) == [value]
            assert resp.headers["X-Clever-Proxy"] == f"local; rule={rule}"
            assert "Content-Encoding" not in resp.headers
    assert raw == expected
    assert upstream.received == []


async def test_no_authorization_is_a_401_with_the_documented_bytes(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url)
    async with aiohttp.ClientSession(auto_decompress=False) as client:
        async with client.post(f"http://127.0.0.1:{proxy.port}{CREATE}", data=b'{"title":"x"}') as resp:
            assert resp.status == 401
            assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
            assert await resp.read() == b'{"message": "No authorization provided"}'
            assert "Vary" not in resp.headers
    assert upstream.received == []


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_unsupported_method_is_an_empty_405(
    upstream: Upstream, start_proxy: ProxyFactory, method: str
) -> None:
    proxy = await start_proxy(upstream.url)
    async with aiohttp.ClientSession(auto_decompress=False) as client:
        async with client.request(
            method, f"http://127.0.0.1:{proxy.port}{ONE}", headers=AUTH, skip_auto_headers=["Accept-Encoding"]
        ) as resp:
            assert resp.status == 405
            assert await resp.read() == b""
            assert resp.headers["Content-Length"] == "0"
            assert "Content-Type" not in resp.headers
            assert resp.headers["Vary"] == "Accept-Encoding"
    assert upstream.received == []


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("gzip", "gzip"),
        ("deflate, gzip", "deflate"),
        ("br, gzip;q=1.0, gzip", "gzip"),
        ("gzip;q=0", None),
        ("br", None),
    ],
)
async def test_local_answers_are_compressed_as_gorilla_would(
    upstream: Upstream, start_proxy: ProxyFactory, accept: str, encoding: str | None
) -> None:
    proxy = await start_proxy(upstream.url)
    async with (
        aiohttp.ClientSession(auto_decompress=False) as client,
        client.post(
            f"http://127.0.0.1:{proxy.port}{CREATE}", data=b"{", headers={**AUTH, "Accept-Encoding": accept}
        ) as resp,
    ):
        raw = await resp.read()
        assert resp.headers.get("Content-Encoding") == encoding
    if encoding == "gzip":
        raw = gzip.decompress(raw)
    elif encoding == "deflate":
        raw = zlib.decompress(raw, -zlib.MAX_WBITS)
    assert raw == wag('"unexpected EOF"')


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("GET", ONE, b"", {"Authorization": "Bearer<token>"}),  # malformed but present: Clever judges it
        ("PATCH", ONE, b"", {"Authorization": "Bearer"}),  # what follows a malformed header is uncertain too
        ("GET", "/v3.1/sections/abc/assignments/x", b"", {"Authorization": "bearer abc"}),
        ("HEAD", ONE, b"", AUTH),
        ("TRACE", ONE, b"", AUTH),  # an edge in front of Clever may answer extension methods itself
        ("GET", f"/v3.1/%73ections/{SECTION}/assignments/{ASSIGNMENT}", b"", AUTH),
        ("GET", f"/v3.1/sections/{SECTION}/assignments/%2E%2E", b"", AUTH),  # mux: 301 to the cleaned path
        ("GET", f"/v3.1/sections/{SECTION}/assignments/a%2Fb", b"", AUTH),
        ("OPTIONS", ONE, b"", {}),
        ("GET", f"/v3.1/sections/{SECTION}/assignments/", b"", AUTH),  # trailing slash
        ("GET", f"/v3.1/sections/{SECTION}//assignments/{ASSIGNMENT}", b"", AUTH),
        ("GET", f"/v3.1/sections/{SECTION}/assignments/{ASSIGNMENT.upper()}", b"", AUTH),
        ("GET", "/lms/v1/sections/x/assignments/y", b"", {}),
        ("POST", CREATE, b'{"title":"","description":"d","due_date":"' + FUTURE.encode() + b'"}', AUTH),
        (
            "POST",
            CREATE,
            b'{"title":"t","description":"d","due_date":"' + FUTURE.encode() + b'","assignee_mode":""}',
            AUTH,
        ),
        (
            "PATCH",
            f"{SUBS}/5f1b2c3d4e5f6a7b8c9d0e2a",
            b'{"attachments":[{"type":"link","url":"https://x"}]}',
            AUTH,
        ),
        ("PATCH", ONE, b'{"due_date":"2020-01-01T00:00:00Z"}', AUTH),  # past dates on PATCH: Clever decides
        ("GET", ONE, b'{"unexpected":"body"}', AUTH),  # a body on a route that takes none
    ],
)
async def test_uncertain_requests_are_forwarded(
    upstream: Upstream,
    start_proxy: ProxyFactory,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
) -> None:
    proxy = await start_proxy(upstream.url)
    async with aiohttp.ClientSession() as client:
        url = URL(f"http://127.0.0.1:{proxy.port}{path}", encoded=True)
        async with client.request(method, url, data=body or None, headers=headers) as resp:
            assert resp.headers.get("X-Upstream") == "recorder"
    assert len(upstream.received) == 1
    assert upstream.last.body == body


async def test_due_date_inside_the_skew_margin_is_forwarded(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    recent = (datetime.now(UTC) - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    older = (datetime.now(UTC) - timedelta(seconds=600)).strftime("%Y-%m-%dT%H:%M:%SZ")
    proxy = await start_proxy(upstream.url, **{"checks.due_date_skew_seconds": 300})
    async with aiohttp.ClientSession() as client:
        for due, local in ((recent, False), (older, True)):
            body = b'{"title":"t","description":"d","due_date":"' + due.encode() + b'"}'
            async with client.post(f"http://127.0.0.1:{proxy.port}{CREATE}", data=body, headers=AUTH) as resp:
                assert (resp.headers.get("X-Clever-Proxy") == "local; rule=due_date") is local
    assert len(upstream.received) == 1


async def test_a_rule_switched_off_forwards_what_it_would_reject(
    upstream: Upstream, start_proxy: ProxyFactory
) -> None:
    proxy = await start_proxy(upstream.url, **{"rules.json": False})
    async with aiohttp.ClientSession() as client:
        # A bad body and a bad section id: with json off, the path check must not answer either.
        async with client.post(
            f"http://127.0.0.1:{proxy.port}/v3.1/sections/abc/assignments", data=b"{", headers=AUTH
        ) as resp:
            assert resp.headers.get("X-Upstream") == "recorder"
    assert upstream.last.body == b"{"
    forwards = proxy.state.metrics.registry.get_sample_value(
        "clever_proxy_forwards_total", {"reason": "rule_off", "stage": "json"}
    )
    assert forwards == 1


@pytest.mark.parametrize(
    ("connection", "local"),
    [
        ("keep-alive", True),
        ("close", True),
        ("Keep-Alive, TE", True),
        ("Authorization", False),
        ("close, accept-encoding", False),
        ("X-Whatever", False),
    ],
)
async def test_a_connection_header_naming_other_fields_is_forwarded(
    upstream: Upstream, start_proxy: ProxyFactory, connection: str, local: bool
) -> None:
    """Fields named in Connection are hop-by-hop: an intermediary in front of Clever removes them (as
    the proxy does when it forwards), or may not. Whether Clever sees the token or the Accept-Encoding
    the checks read is then unknown, so the request is Clever's to answer."""
    proxy = await start_proxy(upstream.url)
    request = (
        f"POST {CREATE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer district-token\r\n"
        f"Accept-Encoding: gzip\r\nConnection: {connection}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    writer.close()
    assert (b"X-Clever-Proxy: local; rule=body_required" in head) is local, head
    assert len(upstream.received) == (0 if local else 1)
    if not local:
        forwards = proxy.state.metrics.registry.get_sample_value(
            "clever_proxy_forwards_total", {"reason": "uncertain", "stage": "connection"}
        )
        assert forwards == 1
