"""Record the golden corpus: a deterministic subset of the cases and the Go reference's answer to each.

    python -m tests.conformance.make_golden            # writes tests/conformance/golden.jsonl

One JSON line per case: the request (as `Case.to_json`) and `expect`: status, decoded body (base64),
Content-Type and X-Content-Type-Options values, whether the answer is a certain rejection, and the
uncertain stage if any. The corpus must not depend on the day it is replayed: cases whose body holds a
date in the years between the generator's past and future windows are left out (a due date that is
in the future today may be in the past when the corpus is replayed), as are bodies over
MAX_BODY_BYTES (to keep the file small).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tests.conformance.cases import FUTURE_YEAR_MIN, PAST_YEAR_MAX, Case, generate
from tests.conformance.http1 import Connection
from tests.conformance.runner import Answer, _send

GOLDEN_PATH = Path(__file__).resolve().parent / "golden.jsonl"
GOLDEN_SEED = 7
GOLDEN_CASES = 3050  # before the filters below; about 3,000 remain
MAX_BODY_BYTES = 16 * 1024
_YEAR = re.compile(rb"(?<![0-9])([0-9]{4})-[0-9]{1,2}")


def date_sensitive(case: Case) -> bool:
    """A body with a date-like year between the windows: its verdict may change with the calendar."""
    if case.body is None:
        return False
    return any(PAST_YEAR_MAX < int(m.group(1)) < FUTURE_YEAR_MIN for m in _YEAR.finditer(case.body))


def golden_cases() -> list[Case]:
    cases = generate(GOLDEN_SEED, GOLDEN_CASES)
    return [c for c in cases if not date_sensitive(c) and len(c.body or b"") <= MAX_BODY_BYTES]


def expectation(answer: Answer) -> dict[str, object]:
    return {
        "status": answer.status,
        "body_b64": base64.b64encode(answer.body).decode(),
        "content_type": list(answer.content_type),
        "nosniff": list(answer.nosniff),
        "certain": answer.certain_rejection,
        "uncertain": answer.uncertain,
    }


async def record(cases: list[Case], reference_url: str, concurrency: int = 8) -> list[dict[str, object]]:
    parts = urlsplit(reference_url)
    assert parts.hostname == "127.0.0.1" and parts.port is not None
    rows: list[dict[str, object] | None] = [None] * len(cases)
    todo = iter(range(len(cases)))

    async def worker() -> None:
        conn = Connection(parts.hostname or "127.0.0.1", parts.port or 0, 20.0)
        try:
            for i in todo:
                answer = await _send(conn, cases[i])
                if answer.error is not None or not answer.reference:
                    raise RuntimeError(f"{cases[i].id}: no reference answer ({answer.error})")
                rows[i] = {**cases[i].to_json(), "expect": expectation(answer)}
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [r for r in rows if r is not None]


def main() -> None:
    parser = argparse.ArgumentParser(description="Record the golden corpus from the Go reference.")
    parser.add_argument("--out", default=str(GOLDEN_PATH))
    args = parser.parse_args()
    from tests.reference.fixture import run_reference

    cases = golden_cases()
    with run_reference() as ref:
        rows = asyncio.run(record(cases, ref.url))
    with open(args.out, "w", encoding="ascii") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=True, separators=(",", ":")) + "\n")
    certain = sum(1 for r in rows if isinstance(r["expect"], dict) and r["expect"]["certain"])
    families = sorted({str(r["family"]) for r in rows})
    print(
        f"{len(rows)} cases ({certain} certain rejections, {len(families)} families) -> {args.out}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
