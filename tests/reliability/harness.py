"""Tools for the reliability tests: a fault-injecting upstream, raw clients, leak and secret checks.

`FaultUpstream` is a raw asyncio server on loopback (aiohttp cannot misbehave enough): it parses each
request itself, keeps every byte it received per connection, and lets a test script, per path, what
happens next (answer, reset, stall, truncate). `SeenRequest.handled` tells whether the upstream's
application saw a request, which is what "sent twice" is counted on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import struct
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from proxy.server import RunningProxy

# Test credentials: every reliability test sends these, and nothing the proxy writes may contain them.
TOKEN = "sk-live-4c1f8e2a-reliability-bearer-0d93"
TOKEN_IN_QUERY = "qtok-77a3b91e55-in-a-query-string"
TOKEN_IN_BODY = "btok-1e0f5c2d9a-in-a-request-body"
SECRETS = (TOKEN, TOKEN_IN_QUERY, TOKEN_IN_BODY)
AUTH = {"Authorization": f"Bearer {TOKEN}"}

SECTION = "5f1b2c3d4e5f6a7b8c9d0e1f"
ASSIGNMENT = "6a1e9f3c-2b7d-4c8e-9f01-23456789abcd"
USER = "5f1b2c3d4e5f6a7b8c9d0e2a"
CREATE = f"/v3.1/sections/{SECTION}/assignments"
ONE = f"{CREATE}/{ASSIGNMENT}"
GRADE = f"{ONE}/submissions/{USER}"
GRADE_BODY = b'{"grade_points": 17.5, "grade_comment": "' + TOKEN_IN_BODY.encode() + b'"}'


@dataclass
class SeenRequest:
    """One request as the upstream parsed it off the wire."""

    conn: int
    index: int  # position on its connection, from 0
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    complete: bool  # the whole framed body arrived
    handled: bool = False  # the upstream's application got it (it may still have reset afterwards)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]


class Conn:
    """The upstream's side of one connection, as a behaviour sees it."""

    def __init__(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.number = number
        self.reader = reader
        self.writer = writer
        self.served = 0

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def close(self) -> None:
        self.writer.close()


# A behaviour answers one handled request; it returns True to keep the connection for another one.
Behaviour = Callable[[Conn, SeenRequest], Awaitable[bool]]


def response(status: int = 200, body: bytes = b'{"data":{}}', extra: Iterable[tuple[str, str]] = ()) -> bytes:
    reason = {200: "OK", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
    head = [f"HTTP/1.1 {status} {reason.get(status, 'Status')}", f"Content-Length: {len(body)}"]
    head += ["Content-Type: application/json", *(f"{k}: {v}" for k, v in extra)]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def answer(status: int = 200, body: bytes = b'{"data":{}}', *extra: tuple[str, str]) -> Behaviour:
    async def behaviour(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(response(status, body, extra))
        return True

    return behaviour


class FaultUpstream:
    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self.raw: dict[int, bytearray] = {}
        self.behaviours: dict[str, Behaviour] = {}
        self.default: Behaviour = answer()
        # Called on every accepted connection before anything is read; return False to drop it there.
        self.on_connect: Callable[[Conn], Awaitable[bool]] | None = None
        # Requests arriving on a reused connection (index > 0) are dropped unread when this is set.
        self.drop_reused = False
        self.connections = 0
        self.open = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handled(self, path: str | None = None) -> list[SeenRequest]:
        return [r for r in self.requests if r.handled and (path is None or r.path == path)]

    async def start(self) -> FaultUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=1 << 20)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self.open += 1
        conn = Conn(self.connections, reader, writer)
        raw = self.raw.setdefault(conn.number, bytearray())
        try:
            if self.on_connect is not None and not await self.on_connect(conn):
                return
            while True:
                req = await self._read_request(conn, raw)
                if req is None:
                    return
                self.requests.append(req)
                if self.drop_reused and req.index > 0:
                    conn.close()
                    return
                if not req.complete:  # the connection ended mid-body: no application sees this
                    return
                req.handled = True
                behaviour = self.behaviours.get(req.path, self.default)
                keep = await behaviour(conn, req)
                conn.served += 1
                if not keep:
                    conn.close()
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # close(): end quietly (asyncio's stream callback reads the result)
            pass
        finally:
            self.open -= 1
            self._tasks.discard(task)
            if not writer.transport.is_closing():
                writer.close()

    async def _read_request(self, conn: Conn, raw: bytearray) -> SeenRequest | None:
        try:
            head = await conn.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raw.extend(exc.partial)
            return None
        raw.extend(head)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
        names = {k.lower(): v for k, v in headers}
        body = bytearray()
        complete = True

        async def exactly(n: int) -> bytes:
            # Piece by piece, so that `raw` shows what arrived even if the rest never does.
            got = bytearray()
            while len(got) < n:
                piece = await conn.reader.read(min(n - len(got), 1 << 16))
                if not piece:
                    raise asyncio.IncompleteReadError(bytes(got), n)
                raw.extend(piece)
                got.extend(piece)
            return bytes(got)

        try:
            if "chunked" in names.get("transfer-encoding", "").lower():
                while True:
                    size_line = await conn.reader.readuntil(b"\r\n")
                    raw.extend(size_line)
                    size = int(size_line.split(b";")[0].strip(), 16)
                    data = await exactly(size + 2)
                    if size == 0:
                        break
                    body.extend(data[:-2])
            elif "content-length" in names:
                body.extend(await exactly(int(names["content-length"])))
        except asyncio.IncompleteReadError as exc:
            if exc.expected is None:  # from readuntil: its partial bytes were not recorded yet
                raw.extend(exc.partial)
            complete = False
        index = conn.served
        return SeenRequest(conn.number, index, method, target, headers, bytes(body), complete)


# --- ready-made behaviours ------------------------------------------------------------------------


async def reset_after_request(conn: Conn, req: SeenRequest) -> bool:
    conn.reset()
    return False


def reset_mid_response(body_size: int = 200_000, sent: int = 50_000) -> Behaviour:
    async def behaviour(conn: Conn, req: SeenRequest) -> bool:
        await conn.send(response(200, b"x" * body_size)[: -body_size + sent])
        await asyncio.sleep(0.05)
        conn.reset()
        return False

    return behaviour


def slow_first_byte(seconds: float) -> Behaviour:
    async def behaviour(conn: Conn, req: SeenRequest) -> bool:
        await asyncio.sleep(seconds)
        with contextlib.suppress(ConnectionError):
            await conn.send(response(200, b"late"))
        return False

    return behaviour


def slow_body(pieces: int, pause: float) -> Behaviour:
    async def behaviour(conn: Conn, req: SeenRequest) -> bool:
        body = b"y" * pieces
        await conn.send(response(200, body)[:-pieces])
        for i in range(pieces):
            await asyncio.sleep(pause)
            await conn.send(body[i : i + 1])
        return True

    return behaviour


def truncated(declared: int, sent: int) -> Behaviour:
    async def behaviour(conn: Conn, req: SeenRequest) -> bool:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\nContent-Type: application/json\r\n\r\n"
        await conn.send(head.encode() + b"z" * sent)
        return False

    return behaviour


def big_response(size: int, piece: int = 1 << 20) -> Behaviour:
    async def behaviour(conn: Conn, req: SeenRequest) -> bool:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nContent-Type: application/octet-stream\r\n\r\n"
        await conn.send(head.encode())
        block = bytes(range(256)) * (piece // 256)
        left = size
        while left:
            n = min(left, len(block))
            await conn.send(block[:n])
            left -= n
        return True

    return behaviour


# --- clients ---------------------------------------------------------------------------------------


async def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, half-close, read until the proxy closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def status_of(reply: bytes) -> int:
    match = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    return int(match.group(1)) if match else 0


def header_of(reply: bytes, name: str) -> str | None:
    head = reply.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def body_of(reply: bytes) -> bytes:
    return reply.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in reply else b""


# --- leak checks -----------------------------------------------------------------------------------


def pool_counts(proxy: RunningProxy) -> tuple[int, int]:
    """(connections lent out, idle pooled connections) of the proxy's upstream pool."""
    pool = proxy.state.forwarder.pool
    assert pool is not None
    return pool.counts()


def proxy_tasks(upstream: FaultUpstream | None = None) -> int:
    """Tasks of this loop, less the fault upstream's own per-connection tasks."""
    own = len(upstream._tasks) if upstream is not None else 0
    return len(asyncio.all_tasks()) - own


async def settle(
    proxy: RunningProxy, task_baseline: int, upstream: FaultUpstream | None = None, timeout: float = 5.0
) -> None:
    """Wait until nothing is in flight, no pooled connection is lent out and no task is left over;
    then the upstream must have no more connections open than the proxy keeps idle in its pool."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        tasks = proxy_tasks(upstream)
        acquired, idle = pool_counts(proxy)
        upstream_ok = upstream is None or upstream.open <= idle
        if proxy.state.in_flight == 0 and acquired == 0 and tasks <= task_baseline and upstream_ok:
            return
        if loop.time() > deadline:
            names = sorted(t.get_coro().__qualname__ for t in asyncio.all_tasks())  # type: ignore[union-attr]
            raise AssertionError(
                f"not settled: in_flight={proxy.state.in_flight} acquired={acquired} "
                f"tasks={tasks} (baseline {task_baseline}) upstream_open="
                f"{upstream.open if upstream else '-'} idle={idle}: {names}"
            )
        await asyncio.sleep(0.02)


@dataclass
class Probe:
    """A healthy path through the proxy, to show it still serves after a fault."""

    status: int = 0
    body: bytes = field(default=b"")


async def probe(proxy: RunningProxy, upstream: FaultUpstream) -> Probe:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{proxy.port}/v3.0/probe", headers=AUTH) as resp,
    ):
        return Probe(resp.status, await resp.read())


async def scrape_metrics(proxy: RunningProxy) -> str:
    async with (
        aiohttp.ClientSession() as client,
        client.get(f"http://127.0.0.1:{proxy.admin_port}/metrics") as resp,
    ):
        return await resp.text()


def metric(proxy: RunningProxy, name: str, **labels: str) -> float:
    value = proxy.state.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


# --- the real command, as a subprocess --------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on http://[^:]+:(\d+) \(admin http://[^:]+:(\d+)\)")


@dataclass
class ProxyProcess:
    """`python -m proxy` on free loopback ports, its output collected as it comes."""

    proc: asyncio.subprocess.Process
    port: int = 0
    admin_port: int = 0
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, upstream_url: str, *args: str, **settings: str) -> ProxyProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_PROXY_")}
        env.update({f"CLEVER_PROXY_{k.upper()}": v for k, v in settings.items()})
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "proxy",
            "--upstream",
            upstream_url,
            "--port",
            "0",
            "--admin-port",
            "0",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            cwd=ROOT,
            env=env,
        )
        running = cls(proc)
        assert proc.stderr is not None and proc.stdout is not None
        try:
            async with asyncio.timeout(20):
                while True:
                    line = await proc.stderr.readline()
                    if not line:
                        raise AssertionError(f"the proxy exited: {bytes(running.stderr).decode()}")
                    running.stderr.extend(line)
                    match = _LISTENING.search(line.decode(errors="replace"))
                    if match:
                        running.port, running.admin_port = int(match.group(1)), int(match.group(2))
                        break
        except BaseException:
            proc.kill()
            await proc.wait()
            raise
        running._readers = [
            asyncio.create_task(_drain(proc.stdout, running.stdout)),
            asyncio.create_task(_drain(proc.stderr, running.stderr)),
        ]
        return running

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    async def wait(self, timeout: float) -> int:
        async with asyncio.timeout(timeout):
            code = await self.proc.wait()
        await asyncio.gather(*self._readers)
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)

    def rss_kib(self, field_name: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field_name} for pid {self.proc.pid}")

    def output(self) -> str:
        return bytes(self.stdout).decode(errors="replace") + bytes(self.stderr).decode(errors="replace")


async def _drain(stream: asyncio.StreamReader, sink: bytearray) -> None:
    while chunk := await stream.read(65536):
        sink.extend(chunk)
