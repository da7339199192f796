"""Microbenchmark of the check pipeline alone (no sockets, no event loop).

For each body kind (valid GET, valid 1 KiB create, valid grade PATCH, one rejection per rule class plus
extra JSON error kinds, two 100 KiB bodies) it times, call by call:

- `inspect`: building the ParsedRequest from method, target, headers and body (the server's share);
- `pipeline`: `Pipeline.run` on that ParsedRequest, the whole verdict;
- `json_fast` / `json_exact`: the orjson-based and the Go-exact JSON decoders alone on the body, so
  that the two paths are reported separately (`json_fast` "declines" = returns None and the pipeline
  falls back to the exact path).

Cases are measured in interleaved rounds; medians and p99 are in microseconds. Run alone:

    python tests/perf/micro.py [--quick] [--json PATH] [--cpu N]
"""

# The imports below the sys.path line are deliberate: `python tests/perf/micro.py` must find the repo.
# ruff: noqa: E402
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from multidict import CIMultiDict

from proxy import contract as contract_mod
from proxy.gocompat.json_decode import decode_exact, decode_fast
from proxy.pipeline import Pipeline, Policy
from proxy.request import ParsedRequest, inspect, wants_body, with_body
from proxy.verdict import Reject
from tests.perf import catalog

# The targets for the pipeline alone (median microseconds).
TARGET_VALID_CREATE_US = 25.0
TARGET_REJECTION_US = 50.0


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # valid, reject, big
    req: catalog.Req


def cases() -> list[Case]:
    c = catalog
    out = [
        Case("valid_get", "valid", c.FORWARD[0]),
        Case("valid_create_1k", "valid", c.FORWARD[1]),
        Case("valid_grade_patch", "valid", c.FORWARD[2]),
    ]
    out += [Case(f"reject_{r.name}", "reject", r) for r in c.REJECT]
    # The JSON rule has several kinds of failure; each takes a different route through the decoders.
    type_error_1k = c.CREATE_1K.replace(b'"max_attempts":3', b'"max_attempts":"3"')
    extra = (
        ("reject_json_syntax", "POST", c.CREATE, b'{"title":"Quiz 1" : "b","description":"d"}'),
        ("reject_json_eof", "POST", c.CREATE, b'{"title":"Quiz 1","description":"d"'),
        ("reject_json_date", "PATCH", c.ONE, b'{"title":"Quiz 1","due_date":"2023-02-29"}'),
        ("reject_json_type_1k", "POST", c.CREATE, type_error_1k),
    )
    for name, method, target, body in extra:
        req = c.Req(name, method, target, dict(c.JSON_HEADERS), body, 400, "json")
        out.append(Case(name, "reject", req))
    for name, body in (
        ("big_create_100k_text", c.CREATE_100K_TEXT),
        ("big_create_100k_ids", c.CREATE_100K_IDS),
    ):
        out.append(Case(name, "big", c.Req(name, "POST", c.CREATE, dict(c.JSON_HEADERS), body)))
    return out


def build(contract: contract_mod.Contract, req: catalog.Req) -> ParsedRequest:
    length = len(req.body) if req.body is not None else None
    parsed = inspect(req.method, req.target, CIMultiDict(req.headers), length, contract)
    if wants_body(parsed):
        parsed = with_body(parsed, req.body or b"")
    return parsed


@dataclass
class Series:
    samples_ns: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        s = sorted(self.samples_ns)
        n = len(s)
        if n == 0:
            return {"n": 0}
        return {
            "n": n,
            "median_us": round(s[n // 2] / 1000, 3),
            "p99_us": round(s[min(n - 1, int(n * 0.99))] / 1000, 3),
            "min_us": round(s[0] / 1000, 3),
        }


def _time_calls(fn: Callable[[], object], n: int, into: Series) -> None:
    clock = time.perf_counter_ns
    samples = into.samples_ns
    for _ in range(n):
        t0 = clock()
        fn()
        samples.append(clock() - t0)


def timer_overhead_ns() -> int:
    s = Series()
    _time_calls(lambda: None, 20000, s)
    return sorted(s.samples_ns)[len(s.samples_ns) // 2]


def run(iterations: int = 3000, rounds: int = 5, budget_s: float = 0.6) -> dict[str, Any]:
    """Measure every case; `iterations` calls per measure at most, fewer for slow ones (time budget)."""
    contract = contract_mod.load()
    pipeline = Pipeline(contract, Policy())
    now = datetime.now(UTC)
    parse_dt = contract.parse_datetime

    plans: list[tuple[str, str, Callable[[], object], Series]] = []
    info: dict[str, dict[str, Any]] = {}
    for case in cases():
        req = case.req
        parsed = build(contract, req)
        verdict = pipeline.run(parsed, now)
        headers = CIMultiDict(req.headers)
        length = len(req.body) if req.body is not None else None
        entry: dict[str, Any] = {
            "kind": case.kind,
            "method": req.method,
            "body_bytes": len(req.body) if req.body is not None else 0,
            "verdict": f"reject:{verdict.rule}" if type(verdict) is Reject else f"forward:{verdict.reason}",
            "json_path": None,
        }
        info[case.name] = entry

        def do_inspect(
            m: str = req.method,
            t: str = req.target,
            h: CIMultiDict[str] = headers,
            n: int | None = length,
            b: bytes | None = req.body,
        ) -> object:
            p = inspect(m, t, h, n, contract)
            return with_body(p, b or b"") if wants_body(p) else p

        plans.append((case.name, "inspect", do_inspect, Series()))
        plans.append((case.name, "pipeline", lambda p=parsed: pipeline.run(p, now), Series()))
        op = parsed.op
        if op is not None and op.body is not None and parsed.body:
            model = op.body.go
            body = parsed.body
            fast = decode_fast(body, model, parse_datetime=parse_dt)
            entry["json_path"] = "fast" if fast is not None else "exact"
            entry["json_fast_declines"] = fast is None
            plans.append(
                (
                    case.name,
                    "json_fast",
                    lambda b=body, m=model: decode_fast(b, m, parse_datetime=parse_dt),
                    Series(),
                )
            )
            plans.append(
                (
                    case.name,
                    "json_exact",
                    lambda b=body, m=model: decode_exact(b, m, parse_datetime=parse_dt),
                    Series(),
                )
            )

    # Warm-up, and the per-call estimate that sizes each measure to the time budget.
    counts: list[int] = []
    for _, _, fn, _ in plans:
        t0 = time.perf_counter()
        for _ in range(20):
            fn()
        per_call = max((time.perf_counter() - t0) / 20, 1e-7)
        counts.append(max(20, min(iterations, int(budget_s / per_call))))

    for r in range(rounds):
        for (_, _, fn, series), total in zip(plans, counts, strict=True):
            n = total // rounds + (1 if r < total % rounds else 0)
            gc.collect()
            _time_calls(fn, n, series)

    results: dict[str, Any] = {}
    for name, measure, _, series in plans:
        results.setdefault(name, dict(info[name]))[measure] = series.summary()

    create = results["valid_create_1k"]["pipeline"]["median_us"]
    reject_medians = {k: v["pipeline"]["median_us"] for k, v in results.items() if v["kind"] == "reject"}
    worst = max(reject_medians, key=lambda k: reject_medians[k])
    targets = [
        {
            "name": "pipeline median, valid 1 KiB create",
            "value_us": create,
            "limit_us": TARGET_VALID_CREATE_US,
            "met": create <= TARGET_VALID_CREATE_US,
        },
        {
            "name": f"pipeline median, slowest rejection ({worst})",
            "value_us": reject_medians[worst],
            "limit_us": TARGET_REJECTION_US,
            "met": reject_medians[worst] <= TARGET_REJECTION_US,
        },
    ]
    return {
        "meta": {
            "python": platform.python_version(),
            "iterations_max": iterations,
            "rounds": rounds,
            "timer_overhead_ns": timer_overhead_ns(),
            "cpu_affinity": sorted(os.sched_getaffinity(0)),
            "now": now.isoformat(),
        },
        "cases": results,
        "targets": targets,
    }


def _cell(summary: dict[str, float] | None) -> str:
    if not summary or not summary.get("n"):
        return "–"
    return f"{summary['median_us']:.1f} / {summary['p99_us']:.1f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| case | body | verdict | JSON path | pipeline µs (med / p99) | inspect µs | "
        "json fast µs | json exact µs |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for name, c in result["cases"].items():
        fast = _cell(c.get("json_fast"))
        if c.get("json_fast_declines"):
            fast += " (declines)"
        lines.append(
            f"| {name} | {c['body_bytes']} | {c['verdict']} | {c['json_path'] or '–'} | "
            f"{_cell(c['pipeline'])} | {_cell(c['inspect'])} | {fast} | {_cell(c.get('json_exact'))} |"
        )
    lines.append("")
    for t in result["targets"]:
        mark = "met" if t["met"] else "MISSED"
        lines.append(f"- {t['name']}: {t['value_us']:.1f} µs (target ≤ {t['limit_us']:.0f} µs): {mark}")
    lines.append(f"- timer overhead per sample: {result['meta']['timer_overhead_ns']} ns (not subtracted)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="clever-proxy check pipeline microbenchmark")
    parser.add_argument("--quick", action="store_true", help="a few hundred calls per case (seconds)")
    parser.add_argument("--iterations", type=int, help="calls per case and measure at most")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--cpu", type=int, help="pin this process to one CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    iterations = args.iterations or (200 if args.quick else 3000)
    budget = 0.05 if args.quick else 0.6
    result = run(iterations=iterations, rounds=2 if args.quick else 5, budget_s=budget)
    print(markdown(result))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
