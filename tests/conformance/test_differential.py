"""Differential conformance: the proxy in front of the Go reference answers exactly as the reference does.

Every generated case goes once straight to the reference and once through the proxy (runner.py has
the classification). Required: no false rejection, no mismatch, no proxy error, no miss (every
certain rejection answered locally: coverage 100 %). `CONFORMANCE_CASES` (default 20,000) and
`CONFORMANCE_SEED` choose the run; the report goes to tests/conformance/out/report.json.
"""

from __future__ import annotations

import logging
import os
import time

import pytest

from tests.conformance.cases import FAMILY_NAMES, generate
from tests.conformance.runner import (
    DEFAULT_CASES,
    DEFAULT_SEED,
    build_report,
    format_offending,
    proxy_overrides,
    run_cases,
    table,
    write_report,
)
from tests.conftest import ProxyFactory
from tests.reference.fixture import CleverReference

pytestmark = pytest.mark.needs_go

RUN_DEADLINE_SECONDS = 600.0


async def test_proxy_matches_reference(
    clever_reference: CleverReference, start_proxy: ProxyFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # Requests aiohttp's parser refuses are logged with a traceback each; they are counted below.
    caplog.set_level(logging.CRITICAL, logger="aiohttp.server")
    count = int(os.environ.get("CONFORMANCE_CASES", DEFAULT_CASES))
    seed = int(os.environ.get("CONFORMANCE_SEED", DEFAULT_SEED))
    cases = generate(seed, count)
    assert len(cases) == count
    if count >= 1000:
        assert {c.family for c in cases} == set(FAMILY_NAMES)

    proxy = await start_proxy(clever_reference.url, **proxy_overrides(clever_reference.skew_seconds))
    started = time.monotonic()
    outcomes = await run_cases(
        cases, clever_reference.url, f"http://127.0.0.1:{proxy.port}", deadline=RUN_DEADLINE_SECONDS
    )
    report = build_report(outcomes, seed=seed, seconds=time.monotonic() - started)
    path = write_report(report)
    summary = table(report)
    print(summary)

    overall = report["overall"]
    assert isinstance(overall, dict)
    failed = {
        name: overall[name]
        for name in ("false_rejections", "mismatches", "misses", "proxy_errors", "reference_errors")
        if overall[name]
    }
    assert not failed, (
        f"{failed} (seed {seed}, {count} cases; full report {path})\n{summary}\n"
        f"first offending cases:\n{format_offending(report, 20)}"
    )
    assert overall["coverage"] == 1.0
    # The table's columns account for every case: each lands in exactly one kind.
    kinds = ("local", "forwarded", "parser_refused", "proxy_errors", "reference_errors")
    assert sum(overall[k] for k in kinds) == overall["cases"], summary
