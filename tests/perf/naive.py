"""Target (b): the naive aiohttp pass-through clever-proxy must beat.

What someone writes in an afternoon: one shared ClientSession with default settings, the whole request
body read, the whole upstream answer read, headers copied minus the obvious hop-by-hop ones. No
checks, no metrics, no logging.

    python tests/perf/naive.py --upstream http://127.0.0.1:8081 --port 8090
    python tests/perf/naive.py --local --port 8091   # aiohttp answering fixed bytes (see below)
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
from aiohttp import web

_SKIP_REQUEST = frozenset(("host", "content-length", "transfer-encoding", "connection", "keep-alive"))
_SKIP_RESPONSE = frozenset(
    ("content-length", "transfer-encoding", "connection", "keep-alive", "server", "date")
)


def make_app(upstream: str) -> web.Application:
    base = upstream.rstrip("/")
    app = web.Application()

    async def start(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession()

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def handle(request: web.Request) -> web.Response:
        session: aiohttp.ClientSession = request.app["session"]
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP_REQUEST}
        async with session.request(
            request.method, base + request.raw_path, headers=headers, data=body or None
        ) as upstream_response:
            payload = await upstream_response.read()
            out = {k: v for k, v in upstream_response.headers.items() if k.lower() not in _SKIP_RESPONSE}
            return web.Response(status=upstream_response.status, body=payload, headers=out)

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


# The aiohttp fixed local answer (--local): what aiohttp's low-level server costs to answer a request with
# fixed bytes, nothing read, checked, counted or logged. "/" answers 200 (the readiness probe).
_LOCAL_BODY = b'{"message":"json: cannot unmarshal number into Go struct field .title of type string"}\n'


async def _answer_locally(request: web.BaseRequest) -> web.Response:
    if request.path == "/":
        return web.Response(body=b"ok")
    return web.Response(status=400, body=_LOCAL_BODY, content_type="application/json")


async def _serve_locally(host: str, port: int) -> None:
    runner = web.ServerRunner(web.Server(_answer_locally), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", help="where to forward (required unless --local)")
    parser.add_argument("--local", action="store_true", help="answer every request with a fixed 400")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if args.local:
        asyncio.run(_serve_locally(args.host, args.port))
        return
    if not args.upstream:
        parser.error("--upstream is required")
    web.run_app(make_app(args.upstream), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
