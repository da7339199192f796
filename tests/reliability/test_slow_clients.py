"""A thousand slow clients at once against the real command: bounded memory, others still served, and
every slow connection cut at its timeout (a head never finished: closed; a body never finished: 408)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp

from tests.reliability.conftest import SecretsWatch
from tests.reliability.harness import AUTH, GRADE, TOKEN, FaultUpstream, ProxyProcess, status_of

SLOW_CLIENTS = 1000
TIMEOUT = 3.0


async def _read_all(reader: asyncio.StreamReader) -> bytes:
    """Everything received until the proxy closed, even if it closed with a reset."""
    data = bytearray()
    with contextlib.suppress(ConnectionResetError):
        while chunk := await reader.read(65536):
            data.extend(chunk)
    return bytes(data)


async def test_a_thousand_slow_clients_are_bounded_and_cut(
    fault_upstream: FaultUpstream, secrets_watch: SecretsWatch
) -> None:
    proxy = await ProxyProcess.start(
        fault_upstream.url,
        server_client_idle_timeout_seconds=str(TIMEOUT),
        server_client_body_timeout_seconds=str(TIMEOUT),
    )
    writers: list[asyncio.StreamWriter] = []
    replies: list[asyncio.Task[bytes]] = []
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/warm", headers=AUTH) as resp:
                assert resp.status == 200
            rss_before = proxy.rss_kib()
            opened = time.monotonic()
            latencies: list[float] = []
            rss_peak = proxy.rss_kib()

            async def sample_others() -> None:
                # Other clients are served promptly, from the first slow client on: opening a thousand
                # connections can take most of the timeout on a busy machine.
                nonlocal rss_peak
                while time.monotonic() - opened < TIMEOUT - 0.5:
                    started = time.monotonic()
                    async with client.get(f"http://127.0.0.1:{proxy.port}/v3.0/ok", headers=AUTH) as resp:
                        assert resp.status == 200
                    latencies.append(time.monotonic() - started)
                    rss_peak = max(rss_peak, proxy.rss_kib())
                    await asyncio.sleep(0.05)

            sampling: asyncio.Task[None] | None = None
            for i in range(SLOW_CLIENTS):
                reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
                head = f"Host: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                if i % 2:  # a head that never ends
                    writer.write(f"GET /v3.0/me HTTP/1.1\r\n{head}X-Slow: ".encode())
                else:  # a body that never ends, on a validated route
                    writer.write(f"PATCH {GRADE} HTTP/1.1\r\n{head}Content-Length: 5000\r\n\r\n".encode())
                    writer.write(b'{"grade_comment": "')
                writers.append(writer)
                replies.append(asyncio.create_task(_read_all(reader)))
                if sampling is None:
                    sampling = asyncio.create_task(sample_others())

            async def drip() -> None:
                while True:
                    await asyncio.sleep(0.4)
                    for writer in writers:
                        if not writer.is_closing():
                            with contextlib.suppress(ConnectionError):
                                writer.write(b"a")

            dripping = asyncio.create_task(drip())
            rss_peak = max(rss_peak, proxy.rss_kib())  # all thousand open
            assert sampling is not None
            await sampling
            results = await asyncio.wait_for(asyncio.gather(*replies), TIMEOUT + 5)
            cut_after = time.monotonic() - opened
            dripping.cancel()
            await asyncio.gather(dripping, return_exceptions=True)
            in_flight = await (await client.get(f"http://127.0.0.1:{proxy.admin_port}/metrics")).text()
    finally:
        for writer in writers:
            writer.close()
        await proxy.kill()
    secrets_watch.extra.append(proxy.output())
    growth_mib = (rss_peak - rss_before) / 1024
    print(
        f"\n{SLOW_CLIENTS} slow clients: proxy RSS {rss_before / 1024:.0f} MiB -> "
        f"peak {rss_peak / 1024:.0f} MiB "
        f"(+{growth_mib:.0f} MiB); {len(latencies)} other requests, max {max(latencies) * 1000:.0f} ms; "
        f"all cut after {cut_after:.1f}s"
    )
    assert len(latencies) >= 10 and max(latencies) < 1.0
    assert growth_mib < 150
    heads, bodies = results[1::2], results[0::2]
    assert all(r == b"" for r in heads)  # closed at the idle timeout, nothing answered
    assert [status_of(r) for r in bodies] == [408] * len(bodies)  # type: ignore[arg-type]
    assert cut_after < TIMEOUT + 4
    assert "clever_proxy_in_flight_requests 0.0" in in_flight
    assert {r.path for r in fault_upstream.handled()} == {"/v3.0/warm", "/v3.0/ok"}
