"""clever-proxy benchmark suite: every target side by side in one run, a Markdown table and a JSON file.

    python tests/perf/run.py            # full run, about 9 minutes on an idle 2-core machine
    python tests/perf/run.py --quick    # smoke run, about 1 minute
    python tests/perf/run.py --profile /tmp/prof   # also py-spy profiles of (c) and (d) under load

Targets, all on loopback, each server pinned to the server CPU and wrk to the load CPU (taskset):

  (a) the upstream stand-in directly: nginx answering a fixed JSON body (nginx.conf from
      nginx/upstream.conf.template; a second nginx instance, pinned to the load CPU, is the upstream
      of (b)-(e));
  (b) naive.py, a plain aiohttp pass-through, in front of the upstream;
  (c) clever-proxy forwarding valid requests (GET assignment, POST create with a 1 KiB body, PATCH
      grade), with checks, metrics and the access log on (its stdout goes to /dev/null);
  (d) clever-proxy answering invalid requests locally, one request per rule class;
  (e) clever-proxy with 2 workers, when it has a --workers flag ("not available" otherwise).

Each headline target is measured in interleaved rounds (the order rotates every round) at fixed
concurrency and at one connection, after a discarded warm-up; medians are reported. Breakdown targets
(each request kind and each rule alone, the access log off, asyncio's loop instead of uvloop, no
compression) get fewer rounds. CPU per request is the server process tree's utime+stime delta
(/proc/PID/stat) over the measured interval divided by the completed requests; RSS is VmRSS. A fresh
proxy is then driven to fixed request counts to see whether its RSS stays flat. micro.py times the
check pipeline alone, first, before any server starts. Results go to tests/perf/results/latest.json
(and a timestamped copy).

Needs wrk, nginx and taskset (Debian: `apt-get install -y wrk nginx-light`; `--install-missing` does
it). Every process started here is in its own process group and is killed at the end, even on error.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.perf import catalog  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
UPSTREAM_BODY = (
    '{"data":{"id":"6a1e9f3c-2b7d-4c8e-9f01-23456789abcd","section_id":"5f1b2c3d4e5f6a7b8c9d0e1f",'
    '"title":"Photosynthesis lab report","state":"open","points_possible":20,"grading_type":"points",'
    '"due_date":"2099-05-01T17:00:00Z","created":"2026-12-01T09:00:00Z"}}'
)
LUA_SCRIPT = HERE / "wrk" / "requests.lua"
NGINX_TEMPLATE = HERE / "nginx" / "upstream.conf.template"
RESULTS = HERE / "results"

# The targets.
TARGET_C_OVER_B = 1.0
TARGET_D_OVER_C = 3.0
TARGET_P99_SLACK_MS = 1.0
TARGET_RSS_GROWTH_PCT = 5.0
# A sample during which CPU outside the measured processes exceeded this share of a core (another
# program on the machine, typically) is measured again, up to RETRIES_WHEN_DISTURBED times.
DISTURBED_OTHER_CPU_PCT = 20.0
RETRIES_WHEN_DISTURBED = 2
# ... as long as the re-measurements stay under this share of the planned runs (bounded duration).
RETRY_BUDGET_SHARE = 0.15


@dataclass(frozen=True)
class Mode:
    rounds: int
    duration_s: int  # one wrk run at load (wrk takes whole seconds)
    c1_duration_s: int  # one wrk run at one connection
    warmup_s: int
    breakdown_rounds: int
    breakdown_duration_s: int
    rss_checkpoints: tuple[int, ...]
    micro_args: tuple[str, ...]
    per_rule: bool


MODES = {
    "full": Mode(5, 5, 2, 2, 3, 2, (10_000, 25_000, 50_000, 100_000), (), True),
    "quick": Mode(2, 2, 1, 1, 1, 1, (2_000, 6_000), ("--quick",), False),
    "smoke": Mode(1, 1, 1, 1, 1, 1, (200, 600), ("--iterations", "20"), False),
}


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Server:
    """A server process under our control: its own process group, killed by `Fleet.stop_all`."""

    name: str
    popen: subprocess.Popen[bytes]
    port: int
    admin_port: int = 0
    cpus: str = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Fleet:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers: list[Server] = []
        self.started: set[int] = set()  # every pid seen in a server's process tree, for the record

    def start(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        cpus: str,
        *,
        env: dict[str, str] | None = None,
        admin_port: int = 0,
    ) -> Server:
        """Start argv pinned to `cpus`, in its own process group; stdout is discarded (the access log)."""
        log = (self.tmp / f"{name}.stderr").open("wb")
        popen = subprocess.Popen(
            ["taskset", "-c", cpus, *argv],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        server = Server(name, popen, port, admin_port, cpus)
        self.servers.append(server)
        return server

    def stop(self, server: Server) -> None:
        if server.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.pid, signal.SIGKILL)
                server.popen.wait(timeout=5)
        # Anything left in its process group (nginx workers, proxy workers) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        if server in self.servers:
            self.servers.remove(server)

    def stop_all(self) -> None:
        for server in list(reversed(self.servers)):
            with contextlib.suppress(Exception):
                self.stop(server)

    def stderr_tail(self, name: str, lines: int = 5) -> str:
        path = self.tmp / f"{name}.stderr"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(port: int, path: str, timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def wait_ready(fleet: Fleet, server: Server, path: str, port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.popen.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.popen.returncode}: {fleet.stderr_tail(server.name)}"
            )
        with contextlib.suppress(OSError, http.client.HTTPException):
            if http_get(port, path) == 200:
                fleet.started.update(tree_pids(server.pid))
                return
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} not ready after {timeout}s: {fleet.stderr_tail(server.name)}")


def tree_pids(root: int) -> list[int]:
    """root and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def cpu_ticks(pids: Sequence[int]) -> int:
    """utime + stime of these processes (all their threads), in clock ticks."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return total


def rss_kib(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            statm = Path(f"/proc/{pid}/statm").read_text().split()
        except OSError:
            continue
        total += int(statm[1]) * PAGE_KIB
    return total


def machine_ticks() -> tuple[int, int, int, int]:
    """(process, irq, steal, total) jiffies of all CPUs from /proc/stat.

    process = user + nice + system (what processes are charged); irq = irq + softirq (loopback
    networking mostly, charged to no process); steal = time the hypervisor gave to someone else.
    """
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    f += [0] * (8 - len(f))
    return f[0] + f[1] + f[2], f[5] + f[6], f[7], sum(f[:8])  # guest time is already inside user


# --- wrk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    name: str
    label: str
    server: str  # Fleet server name
    requests: str  # key of the request files
    expect: str  # "ok": every answer 2xx-3xx; "reject": every answer 4xx


@dataclass
class Sample:
    rps: float
    requests: int
    p50_ms: float
    p99_ms: float
    cpu_us_per_req: float | None
    server_cpu_pct: float
    loadgen_cpu_pct: float
    upstream_cpu_pct: float
    other_cpu_pct: float  # CPU that processes other than server, upstream and wrk were charged
    irq_cpu_pct: float  # interrupt and softirq time (loopback networking), charged to no process
    steal_pct: float
    errors: dict[str, int] = field(default_factory=dict)
    attempts: int = 1


def wrk_seconds(duration_s: float) -> int:
    """wrk takes whole seconds only."""
    return max(1, math.ceil(duration_s - 1e-9))


def run_wrk(
    url: str,
    requests_file: Path,
    connections: int,
    duration_s: float,
    load_cpu: str,
    limit: int = 0,
) -> dict[str, Any]:
    argv = ["taskset", "-c", load_cpu, "wrk", "-t1", f"-c{connections}", f"-d{wrk_seconds(duration_s)}s"]
    argv += ["--timeout", "5s", "-s", str(LUA_SCRIPT), url, "--", str(requests_file)]
    if limit:
        argv.append(str(limit))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()} {done.stdout[-500:]}")
    result: dict[str, Any] = json.loads(line[len("WRK_JSON ") :])
    loadgen = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["loadgen_cpu_s"] = loadgen
    result["wall_s"] = wall
    return result


def measure(
    fleet: Fleet,
    server: Server,
    upstream: Server | None,
    url: str,
    requests_file: Path,
    connections: int,
    duration_s: float,
    load_cpu: str,
    limit: int = 0,
) -> Sample:
    pids = tree_pids(server.pid)
    up_pids = tree_pids(upstream.pid) if upstream is not None else []
    c0, u0, (b0, i0, s0, t0) = cpu_ticks(pids), cpu_ticks(up_pids), machine_ticks()
    w0 = time.perf_counter()
    r = run_wrk(url, requests_file, connections, duration_s, load_cpu, limit)
    time.sleep(0.05)  # let the server finish the requests wrk abandoned when it stopped
    wall = time.perf_counter() - w0
    c1, u1, (b1, i1, s1, t1) = cpu_ticks(pids), cpu_ticks(up_pids), machine_ticks()
    if server.popen.poll() is not None:
        raise RuntimeError(f"{server.name} died during a run: {fleet.stderr_tail(server.name)}")
    n = int(r["requests"])
    cpu_s = (c1 - c0) / CLK_TCK
    up_s = (u1 - u0) / CLK_TCK
    other_s = (b1 - b0) / CLK_TCK - cpu_s - up_s - r["loadgen_cpu_s"]
    errors = {k[len("errors_") :]: int(v) for k, v in r.items() if k.startswith("errors_") and v}
    return Sample(
        rps=n / (r["duration_us"] / 1e6) if r["duration_us"] else 0.0,
        requests=n,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        cpu_us_per_req=cpu_s * 1e6 / n if n else None,
        server_cpu_pct=100 * cpu_s / wall,
        loadgen_cpu_pct=100 * r["loadgen_cpu_s"] / wall,
        upstream_cpu_pct=100 * up_s / wall,
        other_cpu_pct=max(0.0, 100 * other_s / wall),
        irq_cpu_pct=100 * (i1 - i0) / CLK_TCK / wall,
        steal_pct=100 * (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0,
        errors=errors,
    )


# --- the suite ---------------------------------------------------------------------------------


def _median(values: Sequence[float | None]) -> float | None:
    real = [v for v in values if v is not None]
    return statistics.median(real) if real else None


def summarize(samples: Sequence[Sample]) -> dict[str, Any]:
    rps = [s.rps for s in samples]
    med = _median(rps) or 0.0
    return {
        "rounds": len(samples),
        "rps": med,
        "rps_spread_pct": 100 * (max(rps) - min(rps)) / med if med else None,
        "p50_ms": _median([s.p50_ms for s in samples]),
        "p99_ms": _median([s.p99_ms for s in samples]),
        "cpu_us_per_req": _median([s.cpu_us_per_req for s in samples]),
        # Requests per CPU-second of the server: the throughput one dedicated core would give, which
        # stays meaningful when other programs take CPU time from the server during a run.
        "capacity_rps": _median([1e6 / s.cpu_us_per_req for s in samples if s.cpu_us_per_req]),
        "server_cpu_pct": _median([s.server_cpu_pct for s in samples]),
        "loadgen_cpu_pct": _median([s.loadgen_cpu_pct for s in samples]),
        "upstream_cpu_pct": _median([s.upstream_cpu_pct for s in samples]),
        "other_cpu_pct_max": max(s.other_cpu_pct for s in samples),
        "irq_cpu_pct": _median([s.irq_cpu_pct for s in samples]),
        "steal_pct_max": max(s.steal_pct for s in samples),
        "requests_total": sum(s.requests for s in samples),
        "remeasured": sum(s.attempts - 1 for s in samples),
        "samples": [s.__dict__ for s in samples],
    }


class Suite:
    def __init__(self, args: argparse.Namespace, mode: Mode, tmp: Path) -> None:
        self.args = args
        self.mode = mode
        self.tmp = tmp
        self.fleet = Fleet(tmp)
        self.server_cpu: str = args.server_cpu
        self.load_cpu: str = args.load_cpu
        self.warnings: list[str] = []
        self.files: dict[str, Path] = {}
        self.reqsets: dict[str, tuple[catalog.Req, ...]] = {}
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith("CLEVER_PROXY_")}
        self.workers_flag = False
        self.uvloop = False
        self.retry_budget = 0  # set once the number of planned runs is known
        self.invalid: set[str] = set()  # benches whose answers were not the expected ones

    # ---- set-up

    def write_requests(self) -> None:
        sets: dict[str, tuple[catalog.Req, ...]] = {
            "forward": catalog.FORWARD,
            "reject": catalog.REJECT,
            "reject_noenc": catalog.without_encoding(catalog.REJECT),
        }
        for r in catalog.FORWARD:
            sets[f"forward_{r.name}"] = (r,)
        for r in catalog.REJECT:
            sets[f"reject_{r.name}"] = (r,)
        for key, reqs in sets.items():
            path = self.tmp / f"req_{key}.lua"
            path.write_text(catalog.to_lua(reqs))
            self.files[key] = path
            self.reqsets[key] = reqs

    def start_nginx(self, name: str, cpus: str) -> Server:
        prefix = self.tmp / name
        prefix.mkdir()
        port = free_port()
        conf = (
            NGINX_TEMPLATE.read_text()
            .replace("@PREFIX@", str(prefix))
            .replace("@PORT@", str(port))
            .replace("@BODY@", UPSTREAM_BODY)
        )
        (prefix / "nginx.conf").write_text(conf)
        argv = ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
        server = self.fleet.start(name, argv, port, cpus)
        wait_ready(self.fleet, server, "/", port)
        return server

    def start_proxy(
        self,
        name: str,
        upstream: Server,
        *,
        access_log: bool,
        cpus: str,
        workers: int = 0,
        event_loop: str = "auto",
    ) -> Server:
        port, admin = free_port(), free_port()
        env = dict(self.base_env)
        env["CLEVER_PROXY_LOGGING_ACCESS_LOG"] = "true" if access_log else "false"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        args = ["serve", "--upstream", upstream.url, "--port", str(port), "--admin-port", str(admin)]
        if workers:
            args += ["--workers", str(workers)]
        env["CLEVER_PROXY_SERVER_EVENT_LOOP"] = event_loop
        argv = [sys.executable, "-m", "proxy", *args]
        server = self.fleet.start(name, argv, port, cpus, env=env, admin_port=admin)
        wait_ready(self.fleet, server, "/readyz", admin)
        return server

    def start_all(self) -> None:
        s, load = self.server_cpu, self.load_cpu
        self.upstream = self.start_nginx("upstream", load)
        self.start_nginx("nginx_direct", s)
        port = free_port()
        naive = self.fleet.start(
            "naive",
            [sys.executable, str(HERE / "naive.py"), "--upstream", self.upstream.url, "--port", str(port)],
            port,
            s,
            env=self.base_env,
        )
        wait_ready(self.fleet, naive, "/", port)
        self.start_proxy("proxy", self.upstream, access_log=True, cpus=s)
        self.start_proxy("proxy_nolog", self.upstream, access_log=False, cpus=s)
        argv = [sys.executable, "-m", "proxy", "serve", "--help"]
        help_text = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False).stdout
        self.workers_flag = "--workers" in help_text
        if self.workers_flag:
            # Two workers cannot scale on one pinned CPU: they get every CPU, the load CPU included.
            every = ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))
            self.start_proxy("proxy_workers", self.upstream, access_log=True, cpus=every, workers=2)
        probe = subprocess.run([sys.executable, "-c", "import uvloop"], capture_output=True, check=False)
        self.uvloop = probe.returncode == 0
        if self.uvloop:
            # The proxy runs on uvloop by default: this one shows what asyncio's own loop costs.
            self.start_proxy("proxy_asyncio", self.upstream, access_log=True, cpus=s, event_loop="asyncio")
        # The aiohttp fixed local answer: an aiohttp handler answering every request with a fixed 400.
        port = free_port()
        floor = self.fleet.start(
            "floor",
            [sys.executable, str(HERE / "naive.py"), "--local", "--port", str(port)],
            port,
            s,
            env=self.base_env,
        )
        wait_ready(self.fleet, floor, "/", port)

    def server(self, name: str) -> Server:
        return next(x for x in self.fleet.servers if x.name == name)

    # ---- checks that the targets answer what they should before anything is timed

    def sanity(self) -> list[str]:
        problems: list[str] = []
        plan = [("nginx_direct", "forward"), ("naive", "forward"), ("proxy", "forward"), ("proxy", "reject")]
        if self.workers_flag:
            plan.append(("proxy_workers", "forward"))
        for name, key in plan:
            server = self.server(name)
            for r in self.reqsets[key]:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
                try:
                    conn.putrequest(r.method, r.target, skip_host=False, skip_accept_encoding=True)
                    for k, v in r.headers.items():
                        conn.putheader(k, v)
                    if r.body is not None:
                        conn.putheader("Content-Length", str(len(r.body)))
                    conn.endheaders(r.body)
                    resp = conn.getresponse()
                    resp.read()
                    marker = resp.getheader("X-Clever-Proxy") or ""
                finally:
                    conn.close()
                if r.expect_rule:
                    ok = resp.status == r.expect_status and marker == f"local; rule={r.expect_rule}"
                else:
                    ok = resp.status == 200 and not marker
                if not ok:
                    wanted = f"local rule {r.expect_rule}" if r.expect_rule else "forwarded"
                    problems.append(
                        f"{name} {r.method} {r.target} ({r.name}): got {resp.status} marker {marker!r}, "
                        f"expected {r.expect_status} {wanted}"
                    )
        return problems

    # ---- measurement

    def benches(self) -> tuple[list[Bench], list[Bench]]:
        headline = [
            Bench("a", "(a) upstream direct (nginx)", "nginx_direct", "forward", "ok"),
            Bench("b", "(b) naive aiohttp pass-through", "naive", "forward", "ok"),
            Bench("c", "(c) clever-proxy forwarding", "proxy", "forward", "ok"),
            Bench("d", "(d) clever-proxy local answers", "proxy", "reject", "reject"),
        ]
        if self.workers_flag:
            headline.append(Bench("e", "(e) clever-proxy, 2 workers", "proxy_workers", "forward", "ok"))
        breakdown: list[Bench] = []
        for r in catalog.FORWARD:
            breakdown.append(Bench(f"b_{r.name}", f"(b) {r.method} only", "naive", f"forward_{r.name}", "ok"))
        for r in catalog.FORWARD:
            breakdown.append(Bench(f"c_{r.name}", f"(c) {r.method} only", "proxy", f"forward_{r.name}", "ok"))
        breakdown.append(Bench("c_nolog", "(c) access log off", "proxy_nolog", "forward", "ok"))
        if self.uvloop:
            breakdown.append(Bench("c_asyncio", "(c) on asyncio's loop", "proxy_asyncio", "forward", "ok"))
        breakdown.append(Bench("floor", "aiohttp fixed local answer", "floor", "reject", "reject"))
        breakdown.append(Bench("d_noenc", "(d) no Accept-Encoding", "proxy", "reject_noenc", "reject"))
        if self.mode.per_rule:
            for r in catalog.REJECT:
                breakdown.append(
                    Bench(f"d_{r.name}", f"(d) rule {r.name}", "proxy", f"reject_{r.name}", "reject")
                )
        return headline, breakdown

    def check_sample(self, bench: Bench, sample: Sample) -> None:
        """A target that did not answer as expected is marked invalid: its figures measure something else."""
        errs = dict(sample.errors)
        status = errs.pop("status", 0)
        problem = ""
        if errs:
            self.warn(f"{bench.name}: wrk socket errors {errs}")
        if bench.expect == "ok" and status:
            problem = f"{status} of {sample.requests} answers had a status >= 400 (expected none)"
        if bench.expect == "reject" and status < sample.requests:
            problem = f"only {status} of {sample.requests} answers were rejections (expected all)"
        if problem:
            self.invalid.add(bench.name)
            self.warn(f"{bench.name} is INVALID: {problem}")

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def measure_on(
        self, server: Server, requests: str, connections: int, duration: float, limit: int = 0
    ) -> Sample:
        """One wrk run against `server` with the request set `requests`."""
        upstream = None if server.name == "nginx_direct" else self.upstream
        file = self.files[requests]
        return measure(
            self.fleet, server, upstream, server.url, file, connections, duration, self.load_cpu, limit
        )

    def one(self, bench: Bench, connections: int, duration: float) -> Sample:
        """One sample; measured again (twice at most) when other processes were busy, the calmest kept."""
        best: Sample | None = None
        for attempt in range(1 + RETRIES_WHEN_DISTURBED):
            sample = self.measure_on(self.server(bench.server), bench.requests, connections, duration)
            sample.attempts = attempt + 1
            if best is None or sample.other_cpu_pct < best.other_cpu_pct:
                best = sample
            if sample.other_cpu_pct <= DISTURBED_OTHER_CPU_PCT or self.retry_budget <= 0:
                break
            self.retry_budget -= 1
        assert best is not None
        self.check_sample(bench, best)
        return best

    def interleaved(
        self, benches: list[Bench], rounds: int, duration: float, connections: int, tag: str
    ) -> dict[str, list[Sample]]:
        out: dict[str, list[Sample]] = {b.name: [] for b in benches}
        for r in range(rounds):
            order = benches[r % len(benches) :] + benches[: r % len(benches)]
            for bench in order:
                sample = self.one(bench, connections, duration)
                out[bench.name].append(sample)
                progress(
                    f"  {tag} round {r + 1}/{rounds} {bench.name:<18} {sample.rps:9.0f} req/s  "
                    f"p99 {sample.p99_ms:6.2f} ms  cpu {fmt(sample.cpu_us_per_req, 0)} µs/req"
                )
        return out

    def rss_growth(self, requests: str) -> dict[str, Any]:
        """A fresh proxy (access log on) driven to fixed request counts with one request set."""
        proxy = self.start_proxy(
            f"proxy_rss_{requests}", self.upstream, access_log=True, cpus=self.server_cpu
        )
        try:
            pids = tree_pids(proxy.pid)
            points = [{"requests": 0, "rss_kib": rss_kib(pids)}]
            done = 0
            rate = 2000.0
            for target in self.mode.rss_checkpoints:
                while done < target:
                    need = target - done
                    duration = min(120.0, need / rate * 1.25 + 0.3)
                    sample = self.measure_on(proxy, requests, self.args.connections, duration, need)
                    if sample.requests == 0:
                        raise RuntimeError("the RSS run made no progress")
                    done += sample.requests
                    rate = max(rate, sample.rps)
                points.append({"requests": done, "rss_kib": rss_kib(pids)})
                progress(f"  {requests}: rss after {done} requests: {points[-1]['rss_kib']} KiB")
        finally:
            self.fleet.stop(proxy)
        first, last = points[1]["rss_kib"], points[-1]["rss_kib"]
        growth = 100 * (last - first) / first if first else None
        return {
            "points": points,
            "from_requests": points[1]["requests"],
            "to_requests": points[-1]["requests"],
            "growth_pct": growth,
        }

    def micro(self) -> dict[str, Any] | None:
        out = self.tmp / "micro.json"
        argv = ["taskset", "-c", self.server_cpu, sys.executable, str(HERE / "micro.py")]
        argv += ["--json", str(out), *self.mode.micro_args]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            self.warnings.append(f"micro.py failed: {done.stderr.strip()[-500:]}")
            return None
        result: dict[str, Any] = json.loads(out.read_text())
        return result

    def profile(self, where: Path, seconds: float) -> dict[str, Any]:
        """py-spy (pinned to the load CPU) records the proxy while wrk loads it with (c), then (d)."""
        where.mkdir(parents=True, exist_ok=True)
        proxy = self.server("proxy")
        out: dict[str, Any] = {}
        for key in ("forward", "reject"):
            raw = where / f"proxy-{key}.txt"
            spy_argv = ["taskset", "-c", self.load_cpu, "py-spy", "record", "--pid", str(proxy.pid)]
            # Blocking sampling (py-spy pauses the process for each sample): slower, but whole stacks.
            spy_argv += ["--duration", str(int(seconds)), "--rate", "100"]
            spy_argv += ["--format", "raw", "--output", str(raw)]
            spy = subprocess.Popen(
                spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
            try:
                time.sleep(0.5)
                sample = self.measure_on(proxy, key, self.args.connections, seconds + 1)
                spy.wait(timeout=30)
            finally:
                if spy.poll() is None:
                    os.killpg(spy.pid, signal.SIGKILL)
                    spy.wait()
            out[key] = {"file": str(raw), "rps_while_profiled": sample.rps}
            if raw.exists():
                out[key]["summary"] = summarize_profile(raw)
            else:
                self.warnings.append(f"py-spy produced nothing for {key}: {spy.stderr.read()[-300:]!r}")
        return out


def summarize_profile(path: Path, top: int = 30) -> dict[str, Any]:
    """Sample shares from py-spy's collapsed stacks: self and inclusive by function, self by package.

    Frames look like `func (pkg/module.py:123)`; line numbers are dropped so that a function's lines
    add up. Packages are the first path component (`asyncio`, `aiohttp`, ...), with the proxy's own
    code split by module (`proxy/forward.py`).
    """
    selfs: dict[str, int] = {}
    incl: dict[str, int] = {}
    packages: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_function(f) for f in stack.split(";")]
        leaf = frames[-1]
        selfs[leaf] = selfs.get(leaf, 0) + count
        pkg = _package(leaf)
        packages[pkg] = packages.get(pkg, 0) + count
        for frame in set(frames):
            incl[frame] = incl.get(frame, 0) + count

    def share(d: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(d.items(), key=lambda kv: -kv[1])[:top]
        return [(k, round(100 * v / total, 2)) for k, v in ranked] if total else []

    return {
        "samples": total,
        "self": share(selfs),
        "inclusive": share(incl),
        "self_by_package": share(packages),
    }


def _function(frame: str) -> str:
    """`func (file.py:12)` -> `func (file.py)`."""
    if frame.endswith(")") and "(" in frame:
        head, _, location = frame[:-1].rpartition("(")
        return f"{head}({location.rsplit(':', 1)[0]})"
    return frame


def _package(frame: str) -> str:
    location = frame[frame.rfind("(") + 1 : -1] if frame.endswith(")") else frame
    parts = location.split("/")
    if parts[0] == "proxy" and len(parts) > 1:
        return "/".join(parts[:2])
    if len(parts) > 1:
        return parts[0]
    return location.removesuffix(".py")


# --- report ------------------------------------------------------------------------------------


def interference(targets: dict[str, Any]) -> list[str]:
    """What may have disturbed the measurement: steal, other busy processes, a saturated load CPU."""
    out = []
    measured = {name: t["load"] for name, t in targets.items() if "load" in t}
    steal = max((m["steal_pct_max"] for m in measured.values()), default=0.0)
    if steal > 2:
        out.append(f"the hypervisor took up to {steal:.1f}% of the machine's CPU time (steal) during a run")
    other = {
        name: m["other_cpu_pct_max"]
        for name, m in measured.items()
        if m["other_cpu_pct_max"] > DISTURBED_OTHER_CPU_PCT
    }
    if other:
        worst = max(other, key=lambda k: other[k])
        out.append(
            f"other processes on the machine used up to {other[worst]:.0f}% of a core during {worst} "
            f"({len(other)} targets above {DISTURBED_OTHER_CPU_PCT:.0f}% even after re-measuring)"
        )
    for name, m in measured.items():
        # (a) is nginx itself: wrk saturating its CPU there is expected (its req/s is wrk's limit).
        if name != "a" and (m["loadgen_cpu_pct"] or 0) + (m["upstream_cpu_pct"] or 0) > 90:
            out.append(f"{name}: the load CPU was nearly saturated (wrk + upstream > 90%)")
    return out


def fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ratios(
    targets: dict[str, Any], rss: dict[str, Any] | None, micro: dict[str, Any] | None
) -> dict[str, Any]:
    def get(name: str, key: str, which: str = "load") -> float | None:
        t = targets.get(name)
        if t is None or t.get(which) is None or t.get("valid") is False:
            return None  # no ratio from a target that answered something else than it should
        return t[which][key]

    def ratio(x: float | None, y: float | None) -> float | None:
        return x / y if x is not None and y else None

    r: dict[str, Any] = {
        "c_over_b_throughput": ratio(get("c", "rps"), get("b", "rps")),
        "c_over_b_cpu_efficiency": ratio(get("b", "cpu_us_per_req"), get("c", "cpu_us_per_req")),
        "d_over_c_throughput": ratio(get("d", "rps"), get("c", "rps")),
        "d_over_c_cpu_efficiency": ratio(get("c", "cpu_us_per_req"), get("d", "cpu_us_per_req")),
        "e_over_c_throughput": (
            ratio(get("e", "rps"), get("c", "rps")) if "load" in targets.get("e", {}) else "not available"
        ),
        "c_over_a_throughput": ratio(get("c", "rps"), get("a", "rps")),
        # (d) against an aiohttp handler answering fixed bytes (a request task, object and writer per
        # request, which the proxy's quick path does without), and the (d)/(c) such a handler reaches.
        "d_over_floor_cpu": ratio(get("d", "cpu_us_per_req"), get("floor", "cpu_us_per_req")),
        "c_over_floor_cpu": ratio(get("c", "cpu_us_per_req"), get("floor", "cpu_us_per_req")),
    }
    checks: list[dict[str, Any]] = []

    def check(name: str, value: float | None, limit: float, higher_is_better: bool, unit: str = "") -> None:
        met = None if value is None else (value >= limit if higher_is_better else value <= limit)
        checks.append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "comparison": ">=" if higher_is_better else "<=",
                "unit": unit,
                "met": met,
            }
        )

    check("(c)/(b) throughput", r["c_over_b_throughput"], TARGET_C_OVER_B, True, "x")
    check("(c)/(b) CPU per request (b_cpu / c_cpu)", r["c_over_b_cpu_efficiency"], TARGET_C_OVER_B, True, "x")
    check("(d)/(c) throughput", r["d_over_c_throughput"], TARGET_D_OVER_C, True, "x")
    check("(d)/(c) CPU per request (c_cpu / d_cpu)", r["d_over_c_cpu_efficiency"], TARGET_D_OVER_C, True, "x")
    p99_c, p99_b = get("c", "p99_ms", "c1"), get("b", "p99_ms", "c1")
    check(
        "p99 at one connection: (c) <= (b) + 1 ms",
        p99_c,
        (p99_b + TARGET_P99_SLACK_MS) if p99_b is not None else float("nan"),
        False,
        "ms",
    )
    for key, growth in (rss or {}).items():
        if growth.get("growth_pct") is None:
            continue
        checks.append(
            {
                "target": f"RSS flat ({key}), {growth['from_requests']} to {growth['to_requests']} requests",
                "value": growth["growth_pct"],
                "limit": TARGET_RSS_GROWTH_PCT,
                "comparison": "|x| <=",
                "unit": "%",
                "met": abs(growth["growth_pct"]) <= TARGET_RSS_GROWTH_PCT,
            }
        )
    if micro is not None:
        for t in micro["targets"]:
            check(t["name"], t["value_us"], t["limit_us"], False, "µs")
    r["checks"] = checks
    return r


def markdown(result: dict[str, Any]) -> str:
    meta = result["meta"]
    lines = [
        f"## clever-proxy benchmarks ({meta['mode']}, {meta['started']})",
        "",
        f"{meta['cpus']} CPUs, servers on CPU {meta['server_cpu']}, wrk on CPU {meta['load_cpu']} "
        f"(-t1 -c{meta['connections']}); {meta['rounds']} interleaved rounds of {meta['duration_s']} s "
        f"at load and {meta['c1_duration_s']} s at one connection; medians. Python {meta['python']}, "
        f"aiohttp {meta['aiohttp']}, {meta['nginx']}, {meta['wrk']}.",
        "",
        *(
            []
            if result.get("valid", True)
            else [
                "**Some targets did not answer as expected: their figures are not valid (see warnings).**",
                "",
            ]
        ),
        "| target | req/s | ±% | req/CPU-s | p50 ms | p99 ms | p50 ms (1 conn) | p99 ms (1 conn) | "
        "CPU µs/req | server CPU % | RSS MiB | wrk CPU % | upstream CPU % | other CPU % (max) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in result["targets"].values():
        if t.get("status") == "not available":
            lines.append(f"| {t['label']} | not available | | | | | | | | | | | | |")
            continue
        load, c1 = t["load"], t.get("c1") or {}
        label = t["label"] if t.get("valid", True) else f"{t['label']} (INVALID: see warnings)"
        lines.append(
            f"| {label} | {fmt(load['rps'], 0)} | {fmt(load['rps_spread_pct'], 0)} | "
            f"{fmt(load['capacity_rps'], 0)} | "
            f"{fmt(load['p50_ms'], 2)} | {fmt(load['p99_ms'], 2)} | {fmt(c1.get('p50_ms'), 3)} | "
            f"{fmt(c1.get('p99_ms'), 3)} | {fmt(load['cpu_us_per_req'], 0)} | "
            f"{fmt(load['server_cpu_pct'], 0)} | "
            f"{fmt(t['rss_kib'] / 1024 if t.get('rss_kib') else None, 1)} | "
            f"{fmt(load['loadgen_cpu_pct'], 0)} | {fmt(load['upstream_cpu_pct'], 0)} | "
            f"{fmt(load['other_cpu_pct_max'], 0)} |"
        )
    lines += [
        "",
        "req/CPU-s: requests per second of server CPU time (1e6 / CPU µs per request), the throughput of "
        "one dedicated core, which holds when other programs take CPU from the server; ±%: spread of "
        "req/s over the rounds ((max - min) / median); other CPU %: CPU used by processes outside the "
        "benchmark during a run (max over rounds).",
    ]
    r = result["ratios"]
    e = r["e_over_c_throughput"]
    e_over_c = e if isinstance(e, str) else fmt(e, 2)
    lines += [
        "",
        "| ratio | value |",
        "|---|---:|",
        f"| (c)/(b) throughput | {fmt(r['c_over_b_throughput'], 2)} |",
        f"| (c)/(b) CPU efficiency (b µs/req ÷ c µs/req) | {fmt(r['c_over_b_cpu_efficiency'], 2)} |",
        f"| (d)/(c) throughput | {fmt(r['d_over_c_throughput'], 2)} |",
        f"| (d)/(c) CPU efficiency (c µs/req ÷ d µs/req) | {fmt(r['d_over_c_cpu_efficiency'], 2)} |",
        f"| (e)/(c) throughput | {e_over_c} |",
        f"| (c)/(a) throughput | {fmt(r['c_over_a_throughput'], 3)} |",
        f"| (d) CPU µs/req ÷ aiohttp fixed local answer CPU µs/req | {fmt(r.get('d_over_floor_cpu'), 2)} |",
        f"| (d)/(c) of an aiohttp handler answering fixed bytes (c µs/req ÷ its µs/req) "
        f"| {fmt(r.get('c_over_floor_cpu'), 2)} |",
        "",
        "| target | value | limit | met |",
        "|---|---:|---:|---|",
    ]
    for c in r["checks"]:
        met = {True: "yes", False: "**NO**", None: "–"}[c["met"]]
        value, limit = f"{fmt(c['value'], 2)} {c['unit']}", f"{c['comparison']} {fmt(c['limit'], 2)}"
        lines.append(f"| {c['target']} | {value} | {limit} | {met} |")
    for key, growth in (result.get("rss_growth") or {}).items():
        pts = ", ".join(f"{p['requests']}: {p['rss_kib'] / 1024:.1f}" for p in growth["points"])
        lines += ["", f"RSS of a fresh proxy fed the {key} set, MiB after N requests: {pts}"]
    if result.get("micro"):
        from tests.perf import micro as micro_mod

        lines += ["", "### Check pipeline alone (micro.py)", "", micro_mod.markdown(result["micro"])]
    for key, p in (result.get("profile") or {}).items():
        summary = p.get("summary")
        if not summary:
            continue
        top = ", ".join(f"{name} {share:.1f}%" for name, share in summary["self_by_package"][:8])
        lines += [
            "",
            f"py-spy, {key} ({summary['samples']} samples, {p['file']}): self time by package: {top}",
        ]
    if result["warnings"]:
        lines += ["", "### Warnings", ""] + [f"- {w}" for w in result["warnings"]]
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------


def tool_versions() -> dict[str, str]:
    def first_line(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except OSError:
            return "missing"
        text = (done.stdout + done.stderr).strip().splitlines()
        return text[0] if text else "unknown"

    import aiohttp

    return {
        "nginx": first_line(["nginx", "-v"]).replace("nginx version: ", ""),
        "wrk": " ".join(first_line(["wrk", "--version"]).split()[:2]),
        "aiohttp": aiohttp.__version__,
        "python": platform.python_version(),
    }


def ensure_tools(install: bool) -> list[str]:
    packages = {"wrk": "wrk", "nginx": "nginx-light", "taskset": "util-linux"}
    missing = [tool for tool in packages if shutil.which(tool) is None]
    if missing and install:
        names = sorted({packages[t] for t in missing})
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", *names], env=env, check=False).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", *names], env=env, check=False)
        missing = [tool for tool in packages if shutil.which(tool) is None]
    return missing


def git_describe() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "proxy"], cwd=ROOT, capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def wait_quiet(limit_s: float, busy_pct: float = 15.0) -> float:
    """Wait (up to limit_s) until the machine's processes use under busy_pct of one core; returns it."""
    deadline = time.monotonic() + limit_s
    while True:
        b0, _, _, _ = machine_ticks()
        time.sleep(2)
        b1, _, _, _ = machine_ticks()
        busy = 100 * (b1 - b0) / CLK_TCK / 2
        if busy < busy_pct or time.monotonic() >= deadline:
            return busy
        progress(f"waiting for a quiet machine: other processes use {busy:.0f}% of a core")


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """SIGTERM/SIGHUP end the run like Ctrl-C, so that the cleanup in `finally` always runs."""

    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {s: signal.signal(s, raise_interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="clever-proxy benchmark suite (see the module docstring)")
    p.add_argument("--quick", action="store_const", dest="mode", const="quick", help="about one minute")
    p.add_argument("--smoke", action="store_const", dest="mode", const="smoke", help="seconds; for the test")
    p.add_argument("--connections", type=int, default=32, help="wrk connections at load (default 32)")
    p.add_argument("--server-cpu", default="0", help="CPU list for the servers under test (default 0)")
    p.add_argument("--load-cpu", default="1", help="CPU list for wrk and the upstream (default 1)")
    p.add_argument("--out", type=Path, default=RESULTS / "latest.json", help="JSON result file")
    p.add_argument("--profile", type=Path, metavar="DIR", help="also record py-spy profiles of (c) and (d)")
    p.add_argument("--profile-seconds", type=float, default=15.0)
    p.add_argument("--no-micro", action="store_true", help="skip the pipeline microbenchmark")
    p.add_argument(
        "--install-missing", action="store_true", help="apt-get install wrk/nginx-light if missing"
    )
    p.add_argument(
        "--wait-quiet", type=float, default=0, metavar="S", help="first wait up to S s for an idle machine"
    )
    p.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory (logs, configs)")
    p.set_defaults(mode="full")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    mode = MODES[args.mode]
    missing = ensure_tools(args.install_missing)
    if missing:
        print(
            f"missing: {', '.join(missing)}; install with `apt-get install -y wrk nginx-light` "
            "or rerun with --install-missing",
            file=sys.stderr,
        )
        return 3
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        progress("warning: one CPU only: server and load generator will share it")
        args.server_cpu = args.load_cpu = str(cpus[0])
    busy_before = wait_quiet(args.wait_quiet) if args.wait_quiet > 0 else None
    tmp = Path(tempfile.mkdtemp(prefix="clever-proxy-perf-"))
    suite = Suite(args, mode, tmp)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    t_start = time.monotonic()
    result: dict[str, Any] = {}
    try:
        with signals_raise():
            micro = None
            if not args.no_micro:
                # First, while no server of the suite runs yet: in-process timings of a few
                # microseconds suffer most from anything else on the CPU.
                progress("pipeline microbenchmark")
                micro = suite.micro()
            suite.write_requests()
            progress(f"starting servers (temp dir {tmp})")
            suite.start_all()
            problems = suite.sanity()
            if problems:
                for p in problems:
                    progress("SANITY: " + p)
                suite.warnings += [f"sanity: {p}" for p in problems]
            headline, breakdown = suite.benches()
            planned = 2 * mode.rounds * len(headline) + mode.breakdown_rounds * len(breakdown)
            suite.retry_budget = math.ceil(RETRY_BUDGET_SHARE * planned)
            progress("warm-up (discarded)")
            warm = {
                (b.server, b.requests) for b in headline + breakdown if b.requests in ("forward", "reject")
            }
            for server_name, key in sorted(warm):
                suite.measure_on(suite.server(server_name), key, args.connections, mode.warmup_s)
            progress(f"headline at {args.connections} connections")
            load = suite.interleaved(headline, mode.rounds, mode.duration_s, args.connections, "load")
            progress("headline at one connection")
            c1 = suite.interleaved(headline, mode.rounds, mode.c1_duration_s, 1, "1conn")
            targets: dict[str, Any] = {}
            for b in headline:
                targets[b.name] = {
                    "label": b.label,
                    "valid": b.name not in suite.invalid,
                    "server": b.server,
                    "requests": [r.name for r in suite.reqsets[b.requests]],
                    "load": summarize(load[b.name]),
                    "c1": summarize(c1[b.name]),
                    "rss_kib": rss_kib(tree_pids(suite.server(b.server).pid)),
                }
            if not suite.workers_flag:
                targets["e"] = {"label": "(e) clever-proxy, 2 workers", "status": "not available"}
            progress("breakdown")
            bd = suite.interleaved(
                breakdown, mode.breakdown_rounds, mode.breakdown_duration_s, args.connections, "breakdown"
            )
            for b in breakdown:
                targets[b.name] = {
                    "label": b.label,
                    "valid": b.name not in suite.invalid,
                    "server": b.server,
                    "requests": [r.name for r in suite.reqsets[b.requests]],
                    "load": summarize(bd[b.name]),
                    "rss_kib": rss_kib(tree_pids(suite.server(b.server).pid)),
                }
            progress("RSS growth of a fresh proxy, valid requests then invalid ones")
            rss = {key: suite.rss_growth(key) for key in ("forward", "reject")}
            profile = None
            if args.profile is not None:
                progress(f"profiling (c) and (d) with py-spy into {args.profile}")
                if shutil.which("py-spy") is None:
                    suite.warnings.append("py-spy not found (pip install py-spy): no profile")
                else:
                    profile = suite.profile(args.profile, args.profile_seconds)
            suite.warnings += interference(targets)
            versions = tool_versions()
            result = {
                "meta": {
                    "mode": args.mode,
                    "started": started,
                    "elapsed_s": round(time.monotonic() - t_start, 1),
                    "git": git_describe(),
                    "cpus": len(cpus),
                    "cpu_model": _cpu_model(),
                    "kernel": platform.release(),
                    "server_cpu": args.server_cpu,
                    "load_cpu": args.load_cpu,
                    "connections": args.connections,
                    "rounds": mode.rounds,
                    "duration_s": mode.duration_s,
                    "c1_duration_s": mode.c1_duration_s,
                    "warmup_s": mode.warmup_s,
                    "breakdown_rounds": mode.breakdown_rounds,
                    "breakdown_duration_s": mode.breakdown_duration_s,
                    "workers_flag": suite.workers_flag,
                    "uvloop_importable": suite.uvloop,
                    "access_log": "on for (c), (d), (e); stdout to /dev/null",
                    "upstream_body_bytes": len(UPSTREAM_BODY),
                    "pids": sorted(suite.fleet.started),
                    "machine_busy_pct_before": busy_before,
                    **versions,
                },
                "targets": targets,
                "ratios": ratios(targets, rss, micro),
                "rss_growth": rss,
                "micro": micro,
                "profile": profile,
                "valid": not problems and not suite.invalid,
                "warnings": suite.warnings,
            }
    except KeyboardInterrupt:
        progress("interrupted: stopping every process")
        return 130
    finally:
        suite.fleet.stop_all()
        if args.keep_tmp:
            progress(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=str) + "\n"
    args.out.write_text(text)
    if args.out == RESULTS / "latest.json":
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"run-{stamp}.json").write_text(text)
    table = markdown(result)
    args.out.with_suffix(".md").write_text(table + "\n")
    print(table)
    progress(f"results: {args.out}")
    return 0


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


if __name__ == "__main__":
    raise SystemExit(main())
