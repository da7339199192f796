"""One JSON line per request, and the proxy's own log set-up.

Rule: an access line holds only what `AccessLog.record` takes: never a header, a token, a body or a
raw path (the route template stands for the path, so ids and typos in URLs stay out of logs too).

Access lines bypass `logging`: a log record costs more than the rest of a local answer. Lines are
buffered and written to stdout in writes of at most PIPE_BUF bytes (atomic on a pipe, so lines from
several workers never interleave mid-line), at the latest FLUSH_SECONDS after they were recorded, and
at shutdown.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import select
import sys
import time
from collections.abc import Callable

import orjson

log = logging.getLogger("clever_proxy")

# The largest write that POSIX keeps whole on a pipe shared by several writers.
FLUSH_BYTES = getattr(select, "PIPE_BUF", 512)
FLUSH_SECONDS = 0.2


def _stdout(data: bytes) -> None:
    fd = sys.stdout.fileno()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _ms(seconds: float) -> float:
    """Milliseconds to the microsecond (round(x, 3) would take a correctly rounded decimal conversion)."""
    return int(seconds * 1_000_000 + 0.5) / 1000


class AccessLog:
    """Buffered access lines; `sink` receives whole lines, at most FLUSH_BYTES at a time (unless one
    line alone is longer)."""

    __slots__ = ("_buffer", "_flush_handle", "_second", "_stamp", "enabled", "sink")

    def __init__(self, sink: Callable[[bytes], object] = _stdout, enabled: bool = True) -> None:
        self.sink = sink
        self.enabled = enabled
        self._buffer = bytearray()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._second = -1
        self._stamp = ""

    def record(
        self,
        request_id: str,
        method: str,
        route: str,
        status: int,
        outcome: str,
        rule: str,
        duration_seconds: float,
        upstream_seconds: float,
    ) -> None:
        if not self.enabled:
            return
        now = int(time.time())
        if now != self._second:  # one strftime a second, not one a request
            self._second = now
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        line = orjson.dumps(
            {
                "time": self._stamp,
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "outcome": outcome,
                "rule": rule or None,
                "duration_ms": _ms(duration_seconds),
                "upstream_ms": _ms(upstream_seconds) if upstream_seconds else None,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
        if len(self._buffer) + len(line) > FLUSH_BYTES:
            self.flush()
        self._buffer += line
        if self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # recorded outside a loop: nothing would flush it later
                self.flush()
                return
            self._flush_handle = loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._buffer:
            return
        data = bytes(self._buffer)
        self._buffer.clear()
        try:
            self.sink(data)
        except (OSError, ValueError) as exc:  # stdout closed or gone: the proxy keeps serving
            self.enabled = False
            log.error("access log disabled: stdout cannot be written (%s)", type(exc).__name__)


access = AccessLog()
atexit.register(access.flush)


def configure(level: str, access_lines: bool) -> None:
    """Proxy log on stderr at `level`; access lines on stdout (or nowhere when `access_lines` is off)."""
    # The logging docs' own optimisations: no caller lookup, thread or process names per record.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    app = logging.getLogger("clever_proxy")
    app.setLevel(level.upper())
    if not any(getattr(h, "_clever_proxy", False) for h in app.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._clever_proxy = True  # type: ignore[attr-defined]
        app.addHandler(handler)
    app.propagate = False
    access.flush()
    access.enabled = access_lines
    # aiohttp's own access log would print the raw request line (paths with ids); ours replaces it.
    logging.getLogger("aiohttp.access").disabled = True
