"""The case generator itself: reproducible, spread over every family, calendar-independent."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.conformance.cases import FAMILY_NAMES, FUTURE_YEAR_MIN, PAST_YEAR_MAX, Case, generate
from tests.conformance.runner import DEFAULT_CASES

_DATE_YEAR = re.compile(rb'"([0-9]{4})-[0-9]{1,2}')


def test_same_seed_same_cases() -> None:
    assert generate(3, 2500) == generate(3, 2500)
    assert generate(3, 2500) != generate(4, 2500)


def test_count_and_families() -> None:
    assert DEFAULT_CASES >= 20_000
    for count in (15, 200, 3001):
        cases = generate(11, count)
        assert len(cases) == count
        assert len({c.id for c in cases}) == count
        assert {c.family for c in cases} == set(FAMILY_NAMES)


def test_dates_stay_far_from_today() -> None:
    now = datetime.now(UTC)
    assert now.year - 1 > PAST_YEAR_MAX
    assert now.year + 10 < FUTURE_YEAR_MIN
    for case in generate(5, 6000):
        if case.family == "field_cases" or case.body is None:
            continue  # real requests, verbatim
        for match in _DATE_YEAR.finditer(case.body):
            year = int(match.group(1))
            assert not PAST_YEAR_MAX < year < FUTURE_YEAR_MIN, (case.id, case.body[:200])


def test_bodies_small_but_a_few() -> None:
    cases = generate(5, 6000)
    large = [c for c in cases if len(c.body or b"") > 4096]
    assert len(large) < len(cases) // 100
    assert max(len(c.body or b"") for c in cases) <= 1024 * 1024


def test_json_round_trip() -> None:
    for case in generate(9, 600):
        assert Case.from_json(case.to_json()) == case
