"""Where a local answer's CPU goes: target (d) rebuilt step by step, each step measured side by side.

    .venv/bin/python tests/perf/breakdown.py            # about 2 minutes
    .venv/bin/python tests/perf/breakdown.py --rounds 1 --seconds 2

The proxy runs with its real listeners, connection and settings, but its quick path (`answer_now`,
proxy/server.py) does only the first N steps of a local answer and then writes fixed bytes:

    connection  nothing: aiohttp's parser, the event loop, the socket (the floor of any local answer)
    inspect     + request.inspect (route match, headers) and the body taken from the stream
    checks      + the check pipeline (the verdict)
    render      + the answer's bytes from the responder (what actually goes out from here on)
    metrics     + the two metric updates of a local answer
    access_log  + the access line: the whole of a real local answer, as in target (d)

Every step serves wrk (pinned to the load CPU) the same rejection set as target (d), pinned to the
server CPU; steps are measured in interleaved rounds and the median CPU µs per request is reported
with each step's increment. Output: a Markdown table, and tests/perf/results/breakdown.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.perf import catalog  # noqa: E402
from tests.perf.run import CLK_TCK, LUA_SCRIPT, RESULTS, free_port, http_get, run_wrk  # noqa: E402

STEPS = ("connection", "inspect", "checks", "render", "metrics", "access_log")
_FIXED_BODY = b'{"message":""}'
_FIXED = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
    b"Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n%s" % (len(_FIXED_BODY), _FIXED_BODY)
)


def serve(step: str, port: int, admin_port: int) -> None:
    """The proxy, with its quick path cut after `step` (see the module docstring)."""
    from proxy import accesslog, eventloop, server
    from proxy import contract as contract_mod
    from proxy import settings as settings_mod
    from proxy.request import inspect, wants_body, with_body
    from proxy.verdict import Reject

    depth = STEPS.index(step)
    real = server.make_answer_now

    def make_answer_now(state: server.ProxyState) -> Any:
        if depth == len(STEPS) - 1:
            return real(state)
        metrics = state.metrics

        def answer_now(connection: Any, message: Any, payload: Any) -> bytes | None:
            if depth == 0:
                return _FIXED
            headers = message.headers
            length = headers.get("Content-Length")
            length = int(length) if length is not None else None
            parsed = inspect(message.method, message.path, headers, length, state.contract)
            if wants_body(parsed):
                parsed = with_body(parsed, server._unread_body(payload))
            if depth < 2:
                return _FIXED
            verdict = server._judge(state.pipeline, parsed, message.version)
            if depth < 3 or type(verdict) is not Reject:
                return _FIXED
            head_only, keep_alive = message.method == "HEAD", not message.should_close
            answer = state.responder.reject_bytes(
                verdict, parsed.accept_encoding, parsed.has_upgrade, message.version, head_only, keep_alive
            )
            if depth >= 4:
                metrics.rejected(verdict.rule)
                metrics.request_done("other", parsed.method, "rejected", 400, 0.0001)
            return answer or _FIXED

        return answer_now

    server.make_answer_now = make_answer_now  # type: ignore[assignment]
    values = {"upstream.url": "http://127.0.0.1:9", "listen.port": port, "admin.port": admin_port}
    settings = settings_mod.load(None, values)
    accesslog.configure(settings.log_level, settings.access_log)

    async def main() -> None:
        state = server.build(settings, contract_mod.load(settings.contract_path))
        running = server.RunningProxy(state)
        await running.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await running.stop()

    eventloop.run(main, settings.event_loop)


def _wait_ready(popen: subprocess.Popen[bytes], admin_port: int, step: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise RuntimeError(f"step {step}: the proxy exited with {popen.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if http_get(admin_port, "/readyz") == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"step {step}: the proxy was not ready after {timeout} s")


def _ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def measure(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="clever-proxy-breakdown-"))
    requests_file = tmp / "reject.lua"
    requests_file.write_text(catalog.to_lua(catalog.REJECT))
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    samples: dict[str, list[float]] = {step: [] for step in STEPS}
    try:
        for step in STEPS:
            port, admin = free_port(), free_port()
            argv = ["taskset", "-c", args.server_cpu, sys.executable, __file__, "--serve", step]
            argv += ["--port", str(port), "--admin-port", str(admin)]
            # Access lines go to stdout, as in target (d): to /dev/null.
            popen = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT
            )
            servers[step] = (popen, port)
            _wait_ready(popen, admin, step)
            run_wrk(f"http://127.0.0.1:{port}", requests_file, args.connections, 1, args.load_cpu)  # warm-up
        for round_no in range(args.rounds):
            order = STEPS[round_no % len(STEPS) :] + STEPS[: round_no % len(STEPS)]
            for step in order:
                popen, port = servers[step]
                before = _ticks(popen.pid)
                result = run_wrk(
                    f"http://127.0.0.1:{port}", requests_file, args.connections, args.seconds, args.load_cpu
                )
                used = (_ticks(popen.pid) - before) / CLK_TCK
                samples[step].append(used * 1e6 / max(result["requests"], 1))
                print(f"  round {round_no + 1} {step:<11} {samples[step][-1]:6.1f} µs/req", file=sys.stderr)
    finally:
        for popen, _ in servers.values():
            with_signal(popen, signal.SIGTERM)
    medians = {step: statistics.median(values) for step, values in samples.items()}
    return {"steps": medians, "samples": samples, "rounds": args.rounds, "seconds": args.seconds}


def with_signal(popen: subprocess.Popen[bytes], sig: int) -> None:
    if popen.poll() is None:
        os.killpg(popen.pid, sig)
        try:
            popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


def markdown(result: dict[str, Any]) -> str:
    steps = result["steps"]
    lines = [
        f"Local answers, step by step ({result['rounds']} interleaved rounds of {result['seconds']} s,"
        " medians)",
        "",
        "| step | CPU µs/req | added by the step | share of (d) |",
        "|---|---:|---:|---:|",
    ]
    total = steps[STEPS[-1]]
    previous = 0.0
    for step in STEPS:
        value = steps[step]
        added = value - previous
        lines.append(f"| {step} | {value:.1f} | {added:+.1f} | {100 * added / total:.0f} % |")
        previous = value
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=4, help="one wrk run (whole seconds)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--load-cpu", default="1")
    parser.add_argument("--out", type=Path, default=RESULTS / "breakdown.json")
    parser.add_argument("--serve", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--admin-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.admin_port)
        return 0
    if args.rounds < 1 or args.seconds < 1:
        parser.error("--rounds and --seconds must be at least 1")
    started = time.time()
    result = measure(args)
    result["when"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    print(f"\n(written to {args.out}; wrk script {LUA_SCRIPT.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
