"""The golden corpus (recorded from the Go reference by make_golden.py), replayed without Go.

Each recorded request goes through a real proxy whose upstream is a recording loopback server:
every certain rejection must be answered locally with the recorded bytes (status, decoded body,
Content-Type, X-Content-Type-Options); every pass or uncertain answer must not be answered locally,
and must reach the upstream with its method, target and body bytes unchanged.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conformance.cases import FAMILY_NAMES, Case
from tests.conformance.http1 import Connection
from tests.conformance.runner import Answer, _send, parser_refuses, proxy_overrides
from tests.conftest import ProxyFactory, Received, Upstream
from tests.reference.fixture import DEFAULT_SKEW_SECONDS

GOLDEN_PATH = Path(__file__).resolve().parent / "golden.jsonl"


@dataclass(frozen=True)
class Row:
    case: Case
    expect: dict[str, object]

    @property
    def body(self) -> bytes:
        return base64.b64decode(str(self.expect["body_b64"]))


def load_rows() -> list[Row]:
    rows = []
    for line in GOLDEN_PATH.read_text(encoding="ascii").splitlines():
        if line.strip():
            data = json.loads(line)
            rows.append(Row(Case.from_json(data), data["expect"]))
    return rows


def judge(row: Row, answer: Answer, arrived: list[Received]) -> str | None:
    """What is wrong with the proxy's answer to one recorded request, or None."""
    if answer.error is not None:
        return f"no answer: {answer.error}"
    if (
        answer.status == 400
        and not arrived
        and parser_refuses(row.case)
        and (answer.marker or "").startswith("error")
    ):
        return None  # refused as malformed HTTP before the checks (README: known limits)
    local = (answer.marker or "").startswith("local")
    expect = row.expect
    if expect["certain"]:
        if not local:
            return "certain rejection not answered locally"
        got = (answer.status, answer.body, list(answer.content_type), list(answer.nosniff))
        want = (expect["status"], row.body, expect["content_type"], expect["nosniff"])
        if got != want:
            return f"local answer differs: got {got!r}, recorded {want!r}"
        return None
    if local:
        verdict = expect["uncertain"] or "pass"
        return f"answered locally ({answer.marker}); the reference answered {expect['status']} ({verdict})"
    if len(arrived) != 1:
        return f"not forwarded: proxy answered {answer.status} {answer.body[:200]!r}"
    got_request = arrived[0]
    case = row.case
    if got_request.method != case.method or got_request.raw_path != case.target:
        return f"forwarded as {got_request.method} {got_request.raw_path!r}"
    if got_request.body != (case.body or b""):
        return f"body changed on the way: {got_request.body[:100]!r}"
    return None


def test_corpus_shape() -> None:
    rows = load_rows()
    assert len(rows) >= 2500
    assert {r.case.family for r in rows} == set(FAMILY_NAMES)
    certain = sum(1 for r in rows if r.expect["certain"])
    assert certain > 1000
    assert len(rows) - certain > 500
    assert len({r.case.id for r in rows}) == len(rows)


async def test_golden_corpus(upstream: Upstream, start_proxy: ProxyFactory) -> None:
    rows = load_rows()
    proxy = await start_proxy(upstream.url, **proxy_overrides(DEFAULT_SKEW_SECONDS))
    conn = Connection("127.0.0.1", proxy.port, 20.0)
    failures: list[tuple[str, str]] = []  # (kind, line)
    try:
        for row in rows:
            before = len(upstream.received)
            answer = await _send(conn, row.case)
            problem = judge(row, answer, upstream.received[before:])
            if problem is not None:
                line = f"{row.case.id} {row.case.method} {row.case.target!r} ({row.case.note}): {problem}"
                failures.append((problem.split(":")[0][:60], line))
    finally:
        await conn.close()
    if failures:
        kinds = Counter(kind for kind, _ in failures)
        firsts: dict[str, str] = {}
        for kind, line in failures:
            firsts.setdefault(kind, line)
        rest = [line for _, line in failures if line not in firsts.values()]
        shown = "\n".join([*firsts.values(), *rest][:20])
        summary = "\n".join(f"{n:5}  {kind}" for kind, n in kinds.most_common())
        pytest.fail(f"{len(failures)} of {len(rows)} golden cases differ:\n{summary}\n\n{shown}")
