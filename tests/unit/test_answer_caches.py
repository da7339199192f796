"""The caches of rendered local answers (`Responder`) and of parsed dates (`DateTimeParser`) never keep
what a client can make large. A message may quote what the client sent: Go's time.ParseError quotes a
bad due_date twice, each '<' escaped to six bytes in JSON, so a 120 KB body renders a 1.4 MB answer
(about 2 KB gzipped, but its 240 KB message is part of the cache key). Kept, a thousand distinct ones
would hold gigabytes; they are rendered each time instead, and the short answers that repeat stay
cached."""

from __future__ import annotations

import gc
import re
import tracemalloc
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from proxy import settings as settings_mod
from proxy.contract import Contract
from proxy.gocompat.errors import GoError
from proxy.gocompat.timeparse import DateTimeParser
from proxy.server import ProxyState, build
from proxy.verdict import Reject
from tests.factories import parsed

CREATE = "/v3.1/sections/5f1b2c3d4e5f6a7b8c9d0e1f/assignments"
_DATE = re.compile(rb"\r\nDate: [^\r]*\r\n")


def _state(contract: Contract) -> ProxyState:
    return build(settings_mod.load(config=None, overrides={}, environ={}), contract, CollectorRegistry())


def _undated(answer: bytes | None) -> bytes:
    assert answer is not None
    return _DATE.sub(b"\r\nDate: -\r\n", answer)


def _reject(state: ProxyState, contract: Contract, body: bytes) -> Reject:
    verdict = state.pipeline.run(parsed(contract, "POST", CREATE, body), datetime.now(UTC))
    assert type(verdict) is Reject and verdict.rule == "json"
    return verdict


@pytest.mark.parametrize("accept_encoding", [None, "gzip"])
def test_large_distinct_answers_are_rendered_not_kept(
    contract: Contract, accept_encoding: str | None
) -> None:
    state = _state(contract)
    count = 6
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            # Distinct values in each run: nothing an earlier run parsed is shared.
            value = f"{accept_encoding}-{i}".encode() + b"<" * 120_000
            body = b'{"title":"a","description":"b","due_date":"' + value + b'"}'
            verdict = _reject(state, contract, body)
            whole = state.responder.reject_bytes(verdict, accept_encoding, False, (1, 1), False, True)
            if accept_encoding is None:
                assert whole is not None and len(whole) > 1_000_000
            again = state.responder.reject_bytes(verdict, accept_encoding, False, (1, 1), False, True)
            assert _undated(again) == _undated(whole)
            state.responder.reject(verdict, accept_encoding, False)
            del verdict, whole, again, body, value
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Kept, each would hold at least its 240 KB message (and without compression two 1.4 MB answers).
    assert kept < 500_000, f"{kept / 1e6:.1f} MB kept after {count} distinct answers"


def test_short_answers_and_dates_are_still_served_from_the_caches(contract: Contract) -> None:
    state = _state(contract)
    verdict = _reject(state, contract, b'{"title":"a","description":"b","due_date":"2023-02-29"}')
    for accept_encoding in (None, "gzip"):
        first = state.responder.reject_bytes(verdict, accept_encoding, False, (1, 1), False, True)
        assert state.responder.reject_bytes(verdict, accept_encoding, False, (1, 1), False, True) is first
    parser = DateTimeParser(contract.datetime_layouts)
    with pytest.raises(GoError, match="day out of range"):
        parser.parse_go_time("2023-02-29")
    assert list(parser._seen) == [b"2023-02-29"]
    with pytest.raises(GoError, match="cannot parse"):
        parser.parse_go_time("2023-02-2" + "<" * 1000)
    assert list(parser._seen) == [b"2023-02-29"]
