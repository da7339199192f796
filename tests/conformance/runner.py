"""Differential runner: every case once straight to the Go reference, once through the proxy in front of it.

Each case is classified from the proxy's answer:

- local: the proxy answered itself (`X-Clever-Proxy: local...`). A 2xx or uncertain direct answer
  makes it a false rejection; otherwise status, decoded body, Content-Type and
  X-Content-Type-Options must equal the direct answer's (else: mismatch).
- forwarded: the answer carries the reference's marker. The same four things must equal the direct
  answer's (else: mismatch); a certain direct rejection (400/401/405 without
  X-Reference-Uncertain) answered this way is a miss.
- proxy error: any other answer (the proxy's own 5xx/413, an unmarked answer), a connection error
  or a timeout.

Coverage is certain rejections answered locally / certain rejections. `python -m
tests.conformance.runner` builds and starts the reference and a proxy itself; the pytest module
uses the fixtures instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.conformance.cases import FAMILY_NAMES, Case, generate
from tests.conformance.http1 import Connection, ProtocolError, Response

MARKER = "X-Clever-Proxy"
REFERENCE_MARKER = "X-Clever-Reference"
UNCERTAIN = "X-Reference-Uncertain"
CERTAIN_STATUSES = frozenset((400, 401, 405))
COMPARED = ("status", "body", "content-type", "x-content-type-options")
OUT_DIR = Path(__file__).resolve().parent / "out"
DEFAULT_SEED = 20240611
DEFAULT_CASES = 20000


@dataclass(frozen=True, slots=True)
class Answer:
    """One side's answer, reduced to what the comparison needs (or the error that replaced it)."""

    status: int = 0
    body: bytes = b""
    content_type: tuple[str, ...] = ()
    nosniff: tuple[str, ...] = ()
    marker: str | None = None
    reference: bool = False
    uncertain: str | None = None
    content_encoding: str | None = None
    vary: tuple[str, ...] = ()
    error: str | None = None

    @classmethod
    def of(cls, response: Response) -> Answer:
        try:
            body = response.decoded_body()
        except Exception as exc:
            body = f"<undecodable body: {type(exc).__name__}: {exc}>".encode()
        return cls(
            status=response.status,
            body=body,
            content_type=tuple(response.header_all("Content-Type")),
            nosniff=tuple(response.header_all("X-Content-Type-Options")),
            marker=response.header(MARKER),
            reference=response.header(REFERENCE_MARKER) is not None,
            uncertain=response.header(UNCERTAIN),
            content_encoding=response.header("Content-Encoding"),
            vary=tuple(response.header_all("Vary")),
        )

    @property
    def certain_rejection(self) -> bool:
        return (
            self.error is None
            and self.reference
            and self.status in CERTAIN_STATUSES
            and self.uncertain is None
        )

    @property
    def verdict(self) -> str:
        """The reference's verdict class: pass, uncertain:<stage>, reject:<status>, other:<status>, error."""
        if self.error is not None:
            return "error"
        if self.uncertain is not None:
            return f"uncertain:{self.uncertain}"
        if 200 <= self.status < 300:
            return "pass"
        if self.status in CERTAIN_STATUSES:
            return f"reject:{self.status}"
        return f"other:{self.status}"

    def key(self) -> tuple[object, ...]:
        return (self.status, self.body, self.content_type, self.nosniff)

    def differences(self, other: Answer) -> list[str]:
        return [name for name, a, b in zip(COMPARED, self.key(), other.key(), strict=True) if a != b]

    def to_json(self, limit: int = 600) -> dict[str, object]:
        body = self.body.decode("utf-8", "backslashreplace")
        return {
            "status": self.status,
            "body": body if len(body) <= limit else body[:limit] + f"...({len(body)} chars)",
            "content_type": list(self.content_type),
            "nosniff": list(self.nosniff),
            "content_encoding": self.content_encoding,
            "marker": self.marker,
            "uncertain": self.uncertain,
            "reference": self.reference,
            "error": self.error,
        }


@dataclass(slots=True)
class Outcome:
    case: Case
    direct: Answer
    proxied: Answer
    kind: str  # local | forwarded | parser_refused | proxy_error | reference_error
    problems: tuple[str, ...]  # false_rejection, mismatch, miss, proxy_error, reference_error
    differences: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # soft differences (Vary, Content-Encoding) of local answers


# aiohttp's HTTP/1.1 parser (llhttp) is stricter than Go's: it refuses, with its own 400 and before
# the proxy sees the request, method tokens outside its table (FOO, lower-case get), raw bytes >= 0x80
# in the target, and a repeated Content-Type/Content-Length/Host. These are counted apart, only for
# requests of exactly those shapes, and documented in the README as a known limit.
_LLHTTP_METHODS = frozenset(
    (
        "DELETE",
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "CONNECT",
        "OPTIONS",
        "TRACE",
        "COPY",
        "LOCK",
        "MKCOL",
        "MOVE",
        "PROPFIND",
        "PROPPATCH",
        "SEARCH",
        "UNLOCK",
        "BIND",
        "REBIND",
        "UNBIND",
        "ACL",
        "REPORT",
        "MKACTIVITY",
        "CHECKOUT",
        "MERGE",
        "M-SEARCH",
        "NOTIFY",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "PATCH",
        "PURGE",
        "MKCALENDAR",
        "LINK",
        "UNLINK",
        "SOURCE",
        "QUERY",
    )
)
_SINGLETON_HEADERS = ("content-type", "content-length", "host")


def parser_refuses(case: Case) -> bool:
    if case.method not in _LLHTTP_METHODS:
        return True
    if any(ord(ch) >= 0x80 for ch in case.target):
        return True
    if "#" in case.target:  # refused by the proxy itself: forwarding would cut the target at "#"
        return True
    names = [name.lower() for name, _ in case.headers]
    return any(names.count(h) > 1 for h in _SINGLETON_HEADERS)


def classify(case: Case, direct: Answer, proxied: Answer) -> Outcome:
    if direct.error is not None or not direct.reference:
        return Outcome(case, direct, proxied, "reference_error", ("reference_error",))
    if (
        proxied.error is None
        and proxied.status == 400
        and proxied.marker in (None, "error; kind=bad_request", "error; kind=bad_target")
        and not proxied.reference
        and parser_refuses(case)
    ):
        return Outcome(case, direct, proxied, "parser_refused", ())
    marker = proxied.marker or ""
    if proxied.error is None and marker.startswith("local"):
        if 200 <= direct.status < 300 or direct.uncertain is not None:
            return Outcome(case, direct, proxied, "local", ("false_rejection",))
        diffs = tuple(direct.differences(proxied))
        notes = []
        if direct.vary != proxied.vary:
            notes.append("vary")
        if (direct.content_encoding or "") != (proxied.content_encoding or ""):
            notes.append("content-encoding")
        return Outcome(case, direct, proxied, "local", ("mismatch",) if diffs else (), diffs, tuple(notes))
    if proxied.error is None and proxied.reference and not marker.startswith("error"):
        diffs = tuple(direct.differences(proxied))
        if diffs and direct.uncertain is not None and proxied.uncertain is not None:
            # Both reached an uncertain stage; only the reference's free-text reason may differ
            # (a raw "#" arrives as "%23", which the reference explains differently).
            diffs = tuple(d for d in diffs if d != "body")
        problems = []
        if diffs:
            problems.append("mismatch")
        if direct.certain_rejection:
            problems.append("miss")
        return Outcome(case, direct, proxied, "forwarded", tuple(problems), diffs)
    return Outcome(case, direct, proxied, "proxy_error", ("proxy_error",))


# --- sending --------------------------------------------------------------------------------------


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "localhost", "::1"), f"loopback only: {url}"
    assert parts.port is not None
    return parts.hostname, parts.port


async def _send(conn: Connection, case: Case) -> Answer:
    try:
        response = await conn.request(case.method, case.target, list(case.headers), case.body)
    except TimeoutError:
        await conn.close()
        return Answer(error="timeout")
    except (ProtocolError, ConnectionError, OSError) as exc:
        await conn.close()
        return Answer(error=f"{type(exc).__name__}: {exc}")
    return Answer.of(response)


async def run_cases(
    cases: Sequence[Case],
    reference_url: str,
    proxy_url: str,
    *,
    concurrency: int = 12,
    timeout: float = 20.0,
    deadline: float | None = None,
) -> list[Outcome]:
    """Send every case to both sides with `concurrency` workers, each on its own keep-alive connections."""
    ref_host, ref_port = _host_port(reference_url)
    proxy_host, proxy_port = _host_port(proxy_url)
    outcomes: list[Outcome | None] = [None] * len(cases)
    next_index = iter(range(len(cases)))
    stop_at = None if deadline is None else time.monotonic() + deadline

    async def worker() -> None:
        ref = Connection(ref_host, ref_port, timeout)
        proxy = Connection(proxy_host, proxy_port, timeout)
        try:
            for i in next_index:
                if stop_at is not None and time.monotonic() > stop_at:
                    return
                case = cases[i]
                direct = await _send(ref, case)
                proxied = await _send(proxy, case)
                outcomes[i] = classify(case, direct, proxied)
        finally:
            await ref.close()
            await proxy.close()

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    done = [o for o in outcomes if o is not None]
    if len(done) != len(cases):
        raise TimeoutError(f"only {len(done)} of {len(cases)} cases ran within {deadline}s")
    return done


# --- report ---------------------------------------------------------------------------------------

COUNTERS = (
    "cases",
    "local",
    "forwarded",
    "false_rejections",
    "mismatches",
    "misses",
    "proxy_errors",
    "reference_errors",
    "parser_refused",
    "certain",
    "certain_local",
)


def _tally(outcomes: Iterable[Outcome]) -> dict[str, object]:
    c: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    for o in outcomes:
        c["cases"] += 1
        if o.kind in ("local", "forwarded"):
            c[o.kind] += 1
        c["false_rejections"] += "false_rejection" in o.problems
        c["mismatches"] += "mismatch" in o.problems
        c["misses"] += "miss" in o.problems
        c["proxy_errors"] += o.kind == "proxy_error"
        c["reference_errors"] += o.kind == "reference_error"
        c["parser_refused"] += o.kind == "parser_refused"
        if o.direct.certain_rejection and o.kind != "parser_refused":
            c["certain"] += 1
            c["certain_local"] += o.kind == "local"
        verdicts[o.direct.verdict] += 1
        notes.update(o.notes)
    out: dict[str, object] = {k: c[k] for k in COUNTERS}
    out["coverage"] = round(c["certain_local"] / c["certain"], 6) if c["certain"] else 1.0
    out["reference_verdicts"] = dict(sorted(verdicts.items()))
    out["header_notes"] = dict(sorted(notes.items()))
    return out


def offending(outcomes: Iterable[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.problems]


def build_report(
    outcomes: Sequence[Outcome], *, seed: int, seconds: float, show: int = 5000
) -> dict[str, object]:
    families = sorted({o.case.family for o in outcomes}, key=lambda f: (*FAMILY_NAMES, f).index(f))
    bad = [describe(o) for o in offending(outcomes)]
    return {
        "seed": seed,
        "seconds": round(seconds, 2),
        "overall": _tally(outcomes),
        "families": {f: _tally(o for o in outcomes if o.case.family == f) for f in families},
        "offending_kinds": dict(Counter(signature(i) for i in bad).most_common()),
        "offending": bad[:show],
        "offending_total": len(bad),
    }


def _shown(text: str) -> str:
    """A wire string for display: raw bytes >= 0x80 that are not UTF-8 as \\xNN."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def describe(o: Outcome) -> dict[str, object]:
    body = o.case.body
    return {
        "id": o.case.id,
        "problems": list(o.problems),
        "differences": list(o.differences),
        "note": _shown(o.case.note),
        "request": {
            "method": o.case.method,
            "target": _shown(o.case.target),
            "headers": [[_shown(k), _shown(v)] for k, v in o.case.headers],
            "body": None
            if body is None
            else body[:600].decode("utf-8", "backslashreplace") + ("..." if len(body) > 600 else ""),
        },
        "reference": o.direct.to_json(),
        "proxy": o.proxied.to_json(),
    }


def table(report: dict[str, object]) -> str:
    cols = (
        "cases",
        "local",
        "forwarded",
        "parser_refused",
        "proxy_errors",
        "reference_errors",
        "false_rejections",
        "mismatches",
        "misses",
        "coverage",
    )
    # cases = local + fwd + refused + proxy-err + ref-err: every case lands in exactly one of them.
    heads = (
        "family",
        "cases",
        "local",
        "fwd",
        "refused",
        "proxy-err",
        "ref-err",
        "false-rej",
        "mismatch",
        "miss",
        "coverage",
    )
    rows = []
    families = report["families"]
    assert isinstance(families, dict)
    for name, t in [*families.items(), ("TOTAL", report["overall"])]:
        assert isinstance(t, dict)
        cells = [name] + [f"{100 * t[c]:.2f}%" if c == "coverage" else str(t[c]) for c in cols]
        rows.append(cells)
    widths = [max(len(r[i]) for r in [list(heads), *rows]) for i in range(len(heads))]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(heads, widths, strict=True))
        )
    ]
    for r in rows:
        if r[0] == "TOTAL":
            lines.append("-" * len(lines[0]))
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    overall = report["overall"]
    assert isinstance(overall, dict)
    lines.append(f"reference verdicts: {overall['reference_verdicts']}")
    if overall["header_notes"]:
        lines.append(f"header notes (not compared): {overall['header_notes']}")
    lines.append(f"seed {report['seed']}, {report['seconds']} s")
    return "\n".join(lines)


def signature(item: dict[str, object]) -> str:
    """What kind of discrepancy an offending case shows (problems, fields, both sides' verdicts)."""
    ref, prx = item["reference"], item["proxy"]
    assert isinstance(ref, dict) and isinstance(prx, dict)
    ref_side = f"reference {ref['status']}" + (f" uncertain:{ref['uncertain']}" if ref["uncertain"] else "")
    if prx["error"]:
        prx_side = f"proxy {str(prx['error']).split(':')[0]}"
    elif prx["marker"]:
        prx_side = f"proxy {prx['status']} {prx['marker']}"
    elif prx["reference"]:
        prx_side = f"proxy {prx['status']} forwarded"
    else:
        prx_side = (
            f"proxy {prx['status']} unmarked: {str(prx['body']).splitlines()[0][:50] if prx['body'] else ''}"
        )
    diffs = f" [{', '.join(map(str, item['differences']))}]" if item["differences"] else ""
    problems = item["problems"]
    assert isinstance(problems, list)
    return f"{'+'.join(problems)}{diffs}: {ref_side} / {prx_side}"


def _answer_line(a: dict[str, object]) -> str:
    return (
        f"{a['status']} uncertain={a['uncertain']} marker={a['marker']} content-type={a['content_type']} "
        f"nosniff={a['nosniff']} encoding={a['content_encoding']} error={a['error']} body={a['body']!r}"
    )


def format_case(item: dict[str, object]) -> str:
    req = item["request"]
    ref, prx = item["reference"], item["proxy"]
    assert isinstance(req, dict) and isinstance(ref, dict) and isinstance(prx, dict)
    body = req["body"]
    return "\n".join(
        (
            f"[{item['id']}] {signature(item)}  ({item['note']})",
            f"  request  : {req['method']} {req['target']}",
            f"  headers  : {req['headers']}",
            f"  body     : {body[:300] + '...' if isinstance(body, str) and len(body) > 300 else body!r}",
            f"  reference: {_answer_line(ref)}",
            f"  proxy    : {_answer_line(prx)}",
        )
    )


def format_offending(report: dict[str, object], limit: int = 20) -> str:
    """Counts per kind of discrepancy, then up to `limit` cases: one of each kind first, then in order."""
    items = report["offending"]
    kinds = report["offending_kinds"]
    assert isinstance(items, list) and isinstance(kinds, dict)
    lines = [f"{n:6}  {sig}" for sig, n in kinds.items()]
    firsts, seen = [], set()
    for item in items:
        sig = signature(item)
        if sig not in seen:
            seen.add(sig)
            firsts.append(item)
    chosen = firsts[:limit]
    chosen += [i for i in items if i not in chosen][: max(0, limit - len(chosen))]
    return "\n".join(lines) + "\n\n" + "\n\n".join(format_case(i) for i in chosen)


def write_report(report: dict[str, object], path: Path | None = None) -> Path:
    path = path or OUT_DIR / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


# --- standalone -----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def local_proxy(upstream_url: str, **overrides: object) -> AsyncIterator[str]:
    """A proxy in this process in front of `upstream_url` (the same construction as the test fixture)."""
    from prometheus_client import CollectorRegistry

    from proxy import accesslog
    from proxy import contract as contract_mod
    from proxy import settings as settings_mod
    from proxy.server import RunningProxy, build

    values = {"listen.port": 0, "admin.port": 0, "upstream.url": upstream_url, **overrides}
    settings = settings_mod.load(config=None, overrides=values, environ={})
    running = RunningProxy(build(settings, contract_mod.load(), CollectorRegistry()))
    logging_was = accesslog.access.enabled
    accesslog.access.enabled = settings.access_log  # the command applies this setting at start-up
    await running.start()
    try:
        yield f"http://127.0.0.1:{running.port}"
    finally:
        await running.stop()
        accesslog.access.enabled = logging_was


def proxy_overrides(skew_seconds: float) -> dict[str, object]:
    return {
        "checks.due_date_skew_seconds": skew_seconds,
        "limits.max_body_bytes": 4 * 1024 * 1024,
        "logging.access_log": False,
    }


async def _main_async(args: argparse.Namespace) -> int:
    from tests.reference.fixture import run_reference

    families = args.families.split(",") if args.families else None
    cases = generate(args.seed, args.cases, families)
    if args.only:
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c.id in wanted]
    with run_reference() as ref:
        async with local_proxy(ref.url, **proxy_overrides(ref.skew_seconds)) as proxy_url:
            started = time.monotonic()
            outcomes = await run_cases(cases, ref.url, proxy_url, concurrency=args.concurrency)
            seconds = time.monotonic() - started
    report = build_report(outcomes, seed=args.seed, seconds=seconds, show=args.show)
    path = write_report(report, Path(args.out) if args.out else None)
    print(table(report))
    if report["offending_total"]:
        print(f"\n{report['offending_total']} offending cases; first {min(args.print, args.show)}:")
        print(format_offending(report, args.print))
    print(f"\nreport: {path}")
    return 1 if report["offending_total"] else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Run the differential conformance cases against the Go reference."
    )
    parser.add_argument("--seed", type=int, default=int(os.environ.get("CONFORMANCE_SEED", DEFAULT_SEED)))
    parser.add_argument("--cases", type=int, default=int(os.environ.get("CONFORMANCE_CASES", DEFAULT_CASES)))
    parser.add_argument("--families", default="", help="comma-separated family names (default: all)")
    parser.add_argument("--only", default="", help="comma-separated case ids")
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--show", type=int, default=200, help="offending cases kept in the report")
    parser.add_argument("--print", type=int, default=20, help="offending cases printed")
    parser.add_argument("--out", default="")
    sys.exit(asyncio.run(_main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
