"""`--workers N`: a supervisor process and N worker processes serving the same ports.

Rule: the supervisor serves nothing and holds no configuration of its own. It starts fresh
interpreters (`python -m proxy serve ... --worker-link FD`), each a whole proxy with its own event loop
and upstream pool, binding the listen and admin ports with SO_REUSEPORT so that the kernel spreads
connections across them. It then only relays: signals to every worker, reload requests and results,
and one line of its own for what the user must see once (where the proxy listens, or why it could not
start). A worker that dies unexpectedly stops them all (exit status 1): the service manager restarts
the whole proxy, so the process set stays the one that was started.

Metrics: each worker writes its values to files in a private directory (prometheus_client's
multiprocess mode, switched on by PROMETHEUS_MULTIPROC_DIR in the workers' environment, before they
import prometheus_client) and answers /metrics for all workers together. The supervisor creates the
directory, forgets the live gauges of a worker that exited, and removes the directory at exit.

The link between the supervisor and a worker is a Unix stream socket, one text line per message:
worker -> supervisor `ready PORT ADMIN_PORT`, `failed MESSAGE`, `reload` (POST /-/reload), `reloaded 1|0`
(after each reload); supervisor -> worker `reload-result RELOADED REFUSED WORKERS`. A worker reads end of
file when the supervisor is gone (even killed) and drains as on SIGTERM.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proxy import eventloop
from proxy.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from proxy.contract import Contract

log = logging.getLogger("clever_proxy.workers")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
EXIT_USAGE = 2
EXIT_WORKER_DIED = 1
# A worker that has not reported its listeners open by then failed to start (an interpreter start, the
# contract load and two binds take about a second).
STARTUP_SECONDS = 60.0
# After the grace period a worker still cancels what is left and closes its listeners and pool, each
# bounded by about a second; past this margin it is killed.
STOP_MARGIN_SECONDS = 5.0
# How long a reload round waits for every worker's result (a reload reads two small files).
RELOAD_SECONDS = 10.0


class StartupError(Exception):
    """The workers could not start; the text is the one line the user sees."""


@dataclass(frozen=True)
class ReloadOutcome:
    """What a reload round did across the workers, as POST /-/reload answers it."""

    workers: int  # workers signalled; 0 when the supervisor did not answer
    reloaded: int
    refused: int

    @property
    def status(self) -> int:
        if self.workers and self.reloaded == self.workers:
            return 200
        if self.refused:
            return 422  # the settings or the contract are invalid: every worker kept its configuration
        return 504  # some worker (or the supervisor) did not answer in time

    def body(self) -> dict[str, Any]:
        return {
            "reloaded": self.status == 200,
            "workers": self.workers,
            "workers_reloaded": self.reloaded,
            "workers_refused": self.refused,
        }


# --- supervisor -------------------------------------------------------------------------------


def supervise(settings: Settings, flags: list[str]) -> int:
    """Run `settings.workers` workers with the command-line `flags` until a signal or a worker's death;
    the exit status. StartupError if they could not start."""
    if not sys.platform.startswith("linux"):
        # Elsewhere SO_REUSEPORT lets several sockets bind a port without spreading connections.
        raise StartupError("server.workers: more than one worker needs Linux (SO_REUSEPORT balancing)")
    try:
        metrics_dir = tempfile.mkdtemp(prefix="clever-proxy-metrics-")
    except OSError as exc:
        raise StartupError(
            f"server.workers: cannot create a directory for the workers' metrics in the temporary "
            f"directory ({exc.strerror or exc}); point TMPDIR at a writable one"
        ) from None
    try:
        return asyncio.run(_Supervisor(settings, flags, metrics_dir).run())
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


@dataclass(eq=False)
class _Worker:
    number: int
    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    # ("ready", port, admin_port) or ("failed", message): a value, never an exception, so that a worker
    # nobody waits for any more leaves no "exception never retrieved" behind.
    started: asyncio.Future[tuple[Any, ...]]
    exited: asyncio.Task[None] | None = None
    reloads: asyncio.Queue[bool] = field(default_factory=asyncio.Queue)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    @property
    def pid(self) -> int:
        return self.process.pid


class _Supervisor:
    def __init__(self, settings: Settings, flags: list[str], metrics_dir: str) -> None:
        self.settings = settings
        self.flags = flags
        self.metrics_dir = metrics_dir
        self.workers: list[_Worker] = []
        self.stop = asyncio.Event()
        self.running = asyncio.Event()  # every worker reported ready
        self.reload_lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[Any]] = set()
        env = {k: v for k, v in os.environ.items() if k.lower() != MULTIPROC_ENV.lower()}
        self.env = {**env, MULTIPROC_ENV: metrics_dir}

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        # Handlers go in before any worker starts, so that a signal is never the default (fatal) one.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        try:
            return await self._run()
        finally:
            for task in self.tasks:
                task.cancel()
            for worker in self.workers:
                worker.writer.close()

    async def _run(self) -> int:
        start = asyncio.ensure_future(self._start())
        stopped = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({start, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not start.done():  # a signal during start-up: stop what started
            start.cancel()
            with contextlib.suppress(asyncio.CancelledError, StartupError):
                await start
            await self._stop_all()
            return 0
        try:
            port, admin_port = start.result()
        except StartupError:
            stopped.cancel()
            await self._abort_start()
            raise
        self.running.set()
        s = self.settings
        log.info(
            "clever-proxy listening on http://%s:%d (admin http://%s:%d), upstream %s, event loop %s, "
            "%d workers (pids %s)",
            s.listen_host,
            port,
            s.admin_host,
            admin_port,
            s.upstream_url,
            eventloop.chosen(s.event_loop),  # the workers' (the supervisor runs on asyncio's)
            len(self.workers),
            ", ".join(str(w.pid) for w in self.workers),
        )
        deaths = asyncio.ensure_future(
            asyncio.wait([w.exited for w in self.workers if w.exited], return_when=asyncio.FIRST_COMPLETED)
        )
        await asyncio.wait({deaths, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not self.stop.is_set():
            stopped.cancel()
            self.stop.set()
            dead = next(w for w in self.workers if not w.alive)
            log.error(
                "worker %d (pid %d) %s; stopping the other workers",
                dead.number,
                dead.pid,
                _describe(dead.process.returncode),
            )
            await self._stop_all()
            log.info("clever-proxy stopped (exit status %d: a worker died)", EXIT_WORKER_DIED)
            return EXIT_WORKER_DIED
        deaths.cancel()
        clean = await self._stop_all()
        log.info("clever-proxy stopped")
        return 0 if clean else EXIT_WORKER_DIED

    # -- start-up

    async def _start(self) -> tuple[int, int]:
        """Start every worker; their common (port, admin port). A port of 0 is chosen by the first
        worker (every worker would get a port of its own otherwise), the others are given it."""
        s = self.settings
        first = await self._spawn(1, [])
        extra: list[str] = []
        if s.listen_port == 0 or s.admin_port == 0:
            port, admin_port = await self._wait_started([first])
            extra = ["--port", str(port), "--admin-port", str(admin_port)]
        rest = [await self._spawn(n, extra) for n in range(2, s.workers + 1)]
        return await self._wait_started([first, *rest])

    async def _spawn(self, number: int, extra: list[str]) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "proxy",
                "serve",
                *self.flags,
                *extra,
                "--worker-link",
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                # Its own session: a Ctrl-C on the terminal reaches the supervisor only, which relays it
                # once (a worker that got it twice would cancel its drain).
                start_new_session=True,
            )
        finally:
            theirs.close()  # the worker's copy is the only one left: its exit is our end of file
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        worker = _Worker(number, process, reader, writer, asyncio.get_running_loop().create_future())
        self.workers.append(worker)
        worker.exited = self._background(self._exited(worker))
        self._background(self._listen(worker))
        return worker

    async def _wait_started(self, workers: list[_Worker]) -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_SECONDS
        pending = {w.started for w in workers}
        ports: tuple[int, int] = (0, 0)
        while pending:
            done, pending = await asyncio.wait(
                pending, timeout=max(0.0, deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED
            )
            if not done:
                raise StartupError(
                    f"cannot start: a worker did not open its listeners in {STARTUP_SECONDS:g} s"
                )
            for future in done:
                kind, *rest = future.result()
                if kind == "failed":
                    raise StartupError(rest[0])
                ports = (rest[0], rest[1])
        return ports

    async def _abort_start(self) -> None:
        """After a failed start: workers that opened their listeners drain, the others serve nobody yet
        and are killed (quietly: the one line is the failure's)."""
        for worker in self.workers:
            ready = worker.started.done() and worker.started.result()[0] == "ready"
            _send_signal(worker, signal.SIGTERM if ready else signal.SIGKILL)
        await self._wait_exited(self.settings.shutdown_grace_seconds + STOP_MARGIN_SECONDS)

    # -- the link

    async def _listen(self, worker: _Worker) -> None:
        while True:
            try:
                line = await worker.reader.readline()
            except ConnectionError:
                line = b""
            if not line:
                break
            kind, _, rest = line.decode(errors="replace").rstrip("\n").partition(" ")
            if kind == "ready" and not worker.started.done():
                port, admin_port = rest.split()
                worker.started.set_result(("ready", int(port), int(admin_port)))
            elif kind == "failed" and not worker.started.done():
                worker.started.set_result(("failed", rest))
            elif kind == "reload":
                self._background(self._reload_round(worker))
            elif kind == "reloaded":
                worker.reloads.put_nowait(rest == "1")
        if not worker.started.done():
            code = await worker.process.wait()
            worker.started.set_result(("failed", f"cannot start: a worker {_describe(code)} while starting"))

    async def _exited(self, worker: _Worker) -> None:
        from prometheus_client.multiprocess import mark_process_dead

        await worker.process.wait()
        # Its live gauges (in flight, ready, configuration) stop counting; its counters stay in the sums.
        mark_process_dead(worker.pid, self.metrics_dir)

    # -- signals

    def _on_stop_signal(self, signum: int) -> None:
        if not self.stop.is_set():
            log.info(
                "received %s: stopping %d workers (grace %.1fs)",
                signal.Signals(signum).name,
                len(self.workers),
                self.settings.shutdown_grace_seconds,
            )
            self.stop.set()
            return
        # Relayed as each worker's second signal: it cancels what it still has in flight.
        log.warning("received a second signal: the workers cancel their in-flight requests")
        for worker in self.workers:
            _send_signal(worker, signal.SIGTERM)

    def _on_hup(self) -> None:
        self._background(self._reload_round(None))

    async def _reload_round(self, requester: _Worker | None) -> None:
        """SIGHUP to every worker, then wait for each one's result; tell the worker that asked (POST
        /-/reload), if one did. Rounds run one at a time, so results never mix."""
        await self.running.wait()  # a worker still starting reads the configuration anyway
        async with self.reload_lock:
            workers = [w for w in self.workers if w.alive]
            for worker in workers:
                while not worker.reloads.empty():  # a late result of an earlier round
                    worker.reloads.get_nowait()
                _send_signal(worker, signal.SIGHUP)
            results = await asyncio.gather(*(_reload_result(w) for w in workers))
            outcome = ReloadOutcome(len(workers), results.count(True), results.count(False))
            if outcome.status == 200:
                log.info("configuration reloaded by all %d workers", outcome.workers)
            else:
                log.warning(
                    "configuration reload: %d of %d workers reloaded, %d refused, %d did not answer",
                    outcome.reloaded,
                    outcome.workers,
                    outcome.refused,
                    outcome.workers - outcome.reloaded - outcome.refused,
                )
            if requester is not None and requester.alive:
                requester.writer.write(
                    f"reload-result {outcome.reloaded} {outcome.refused} {outcome.workers}\n".encode()
                )

    # -- shutdown

    async def _stop_all(self) -> bool:
        """SIGTERM to every worker, then wait for all of them through their grace period plus a margin,
        killing those still running after it. True if each one exited cleanly."""
        for worker in self.workers:
            _send_signal(worker, signal.SIGTERM)
        await self._wait_exited(self.settings.shutdown_grace_seconds + STOP_MARGIN_SECONDS)
        return all(w.process.returncode in (0, -signal.SIGTERM) for w in self.workers)

    async def _wait_exited(self, timeout: float) -> None:
        exits = [w.exited for w in self.workers if w.exited is not None]
        if not exits:
            return
        _, late = await asyncio.wait(exits, timeout=timeout)
        if late:
            log.warning("%d worker(s) did not stop in time: killing them", len(late))
            for worker in self.workers:
                _send_signal(worker, signal.SIGKILL)
            await asyncio.wait(exits)

    def _background(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


async def _reload_result(worker: _Worker) -> bool | None:
    try:
        return await asyncio.wait_for(worker.reloads.get(), RELOAD_SECONDS)
    except TimeoutError:
        return None


def _send_signal(worker: _Worker, signum: int) -> None:
    if worker.alive:
        with contextlib.suppress(ProcessLookupError):
            worker.process.send_signal(signum)


def _describe(code: int | None) -> str:
    if code is not None and code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


# --- worker -----------------------------------------------------------------------------------


def run_worker(
    settings: Settings, contract: Contract, config: str | None, overrides: dict[str, Any], fd: int
) -> int:
    """One worker: the proxy of `proxy.server`, told to share its ports and to report over link `fd`."""
    if not os.environ.get(MULTIPROC_ENV):
        report_failure(fd, f"a worker needs {MULTIPROC_ENV}, which its supervisor sets")
        return EXIT_USAGE
    from proxy.server import build, serve

    link = WorkerLink(fd, os.environ[MULTIPROC_ENV])
    state = build(settings, contract)
    state.config_path, state.overrides = config, overrides
    state.worker = link
    try:
        eventloop.run(lambda: serve(state), settings.event_loop)
    except OSError as exc:
        if link.is_started:
            raise
        link.send(f"failed cannot listen: {exc.strerror or exc}")
        return EXIT_USAGE
    return 0


def report_failure(fd: int, message: str) -> None:
    """Tell the supervisor why this worker cannot start (it prints the line, once)."""
    with socket.socket(fileno=fd) as link, contextlib.suppress(OSError):
        link.sendall(f"failed {' '.join(message.split())}\n".encode())


class WorkerLink:
    """A worker's end of its link with the supervisor."""

    def __init__(self, fd: int, metrics_dir: str) -> None:
        self._sock = socket.socket(fileno=fd)
        # Never blocks the event loop: messages are a few bytes, and the supervisor reads continuously.
        self._sock.setblocking(False)
        self._buffer = b""
        self._results: collections.deque[asyncio.Future[ReloadOutcome]] = collections.deque()
        self._registry: CollectorRegistry | None = None
        self.metrics_dir = metrics_dir
        self.is_started = False

    def scrape_registry(self) -> CollectorRegistry:
        """A registry that reads every worker's metric files: /metrics answers for all workers."""
        if self._registry is None:
            from prometheus_client import CollectorRegistry
            from prometheus_client.multiprocess import MultiProcessCollector

            self._registry = CollectorRegistry()
            MultiProcessCollector(self._registry, path=self.metrics_dir)
        return self._registry

    def watch(self, stop: asyncio.Event) -> None:
        """Read the supervisor's answers; its end of file (it is gone) sets `stop`."""
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable, stop)

    def started(self, port: int, admin_port: int) -> None:
        self.is_started = True
        self.send(f"ready {port} {admin_port}")

    def reloaded(self, ok: bool) -> None:
        self.send(f"reloaded {int(ok)}")

    async def reload_all(self) -> ReloadOutcome:
        """Ask the supervisor to reload every worker (this one included) and wait for the outcome."""
        future: asyncio.Future[ReloadOutcome] = asyncio.get_running_loop().create_future()
        self._results.append(future)  # answers come in the order asked
        self.send("reload")
        try:
            return await asyncio.wait_for(asyncio.shield(future), RELOAD_SECONDS + STOP_MARGIN_SECONDS)
        except TimeoutError:
            return ReloadOutcome(0, 0, 0)

    def send(self, line: str) -> None:
        try:
            self._sock.sendall(line.encode() + b"\n")
        except OSError as exc:  # the supervisor is gone: its end of file stops this worker
            log.debug("cannot tell the supervisor %r: %s", line, exc)

    def _readable(self, stop: asyncio.Event) -> None:
        try:
            data = self._sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            for future in self._results:
                if not future.done():
                    future.set_result(ReloadOutcome(0, 0, 0))
            if not stop.is_set():
                log.warning("the supervisor is gone: draining")
                stop.set()
            return
        self._buffer += data
        while b"\n" in self._buffer:
            line, _, self._buffer = self._buffer.partition(b"\n")
            kind, *numbers = line.decode(errors="replace").split()
            if kind == "reload-result" and self._results and len(numbers) == 3:
                future = self._results.popleft()
                if not future.done():
                    reloaded, refused, workers = (int(n) for n in numbers)
                    future.set_result(ReloadOutcome(workers, reloaded, refused))
