"""One JSON line per request, and the proxy's own log set-up.

Rule: an access line holds only what is listed in `AccessRecord`: never a header, a token, a body or
a raw path (the route template stands for the path, so ids and typos in URLs stay out of logs too).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass

import orjson

access_log = logging.getLogger("clever_proxy.access")


@dataclass(slots=True)
class AccessRecord:
    request_id: str
    method: str
    route: str
    status: int
    outcome: str
    rule: str
    duration_seconds: float
    upstream_seconds: float


def write(record: AccessRecord) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    line = orjson.dumps(
        {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
            "request_id": record.request_id,
            "method": record.method,
            "route": record.route,
            "status": record.status,
            "outcome": record.outcome,
            "rule": record.rule or None,
            "duration_ms": round(record.duration_seconds * 1000, 3),
            "upstream_ms": round(record.upstream_seconds * 1000, 3) if record.upstream_seconds else None,
        }
    )
    access_log.info(line.decode())


def configure(level: str, access: bool) -> None:
    """Proxy log on stderr at `level`; access lines on stdout (or nowhere when `access` is off)."""
    # The logging docs' own optimisations: no caller lookup, thread or process names per record
    # (none of them is printed), which is most of a record's cost on the per-request path.
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
    access_log.propagate = False
    access_log.setLevel(logging.INFO if access else logging.CRITICAL + 1)
    if not any(getattr(h, "_clever_proxy", False) for h in access_log.handlers):
        out = logging.StreamHandler(sys.stdout)
        out.setFormatter(logging.Formatter("%(message)s"))
        out._clever_proxy = True  # type: ignore[attr-defined]
        access_log.addHandler(out)
    # aiohttp's own access log would print the raw request line (paths with ids); ours replaces it.
    logging.getLogger("aiohttp.access").disabled = True
