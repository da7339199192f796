"""proxy.gocompat.timeparse against real Go: go1.19 time.Parse and go-openapi strfmt ParseDateTime.

Go is the oracle: tests/golden/timeparse.jsonl was written by tests/golden/gen/timeparse.go (see
make_go_golden.sh). The explicit cases below restate rows of that file that the research notes and
the contract quote, so that a reader sees them; they are not a second source of truth.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.gocompat.errors import GoError
from proxy.gocompat.timeparse import (
    RFC3339,
    STD_FRAC_SECOND0,
    STD_FRAC_SECOND9,
    STD_LONG_WEEK_DAY,
    STD_LONG_YEAR,
    STD_MONTH,
    STD_NUM_MONTH,
    STD_TZ,
    STD_WEEK_DAY,
    STD_ZERO_MONTH,
    STRFMT_LAYOUTS_V0_21_7,
    STRFMT_LAYOUTS_V0_21_8,
    DateTimeParser,
    GoTime,
    Layout,
    next_std_chunk,
    parse_in_utc,
    quote,
)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "timeparse.jsonl"
STRFMT_SRC = Path("/usr/share/gocode/src/github.com/go-openapi/strfmt/time.go")

V8 = DateTimeParser(STRFMT_LAYOUTS_V0_21_8)
V7 = DateTimeParser(STRFMT_LAYOUTS_V0_21_7)
PARSERS = {"strfmt_v0.21.8": V8, "strfmt_v0.21.7": V7}


def _load(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line]


def _expected(row: dict[str, Any]) -> tuple[str, Any]:
    if "ok" in row:
        return "ok", GoTime(row["ok"]["unix"], row["ok"]["nsec"])
    return "err", row["err"]


def _check_rows(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Every row through the exact path, strfmt rows also through parse() (fast path first)."""
    counts = {"rows": 0, "fast": 0, "ok": 0}
    failures: list[str] = []
    for row in rows:
        kind, want = _expected(row)
        counts["rows"] += 1
        counts["ok"] += kind == "ok"
        if row["mode"] == "layout":
            value: Any = bytes.fromhex(row.get("hex", ""))
            call = lambda v=value, lay=row["layout"]: parse_in_utc(lay, v)  # noqa: E731
        else:
            parser = PARSERS[row["mode"]]
            value = row.get("value", "")
            call = lambda v=value, p=parser: p.parse_go_time(v)  # noqa: E731
        try:
            got: tuple[str, Any] = ("ok", call())
        except GoError as exc:
            got = ("err", exc.message)
        if got != (kind, want):
            failures.append(f"{row}: got {got}")
            continue
        if row["mode"] != "layout":
            parser = PARSERS[row["mode"]]
            if parser.fast_path(value) is not None:
                counts["fast"] += 1
            try:
                dt = parser.parse(value)
            except GoError as exc:
                if kind != "err" or exc.message != want:
                    failures.append(f"{row}: parse() raised {exc.message!r}")
            else:
                if kind != "ok" or dt != want.to_datetime():
                    failures.append(f"{row}: parse() gave {dt!r}")
    assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} failures)"
    return counts


def test_golden_rows_match_go() -> None:
    rows = _load(GOLDEN.read_text(encoding="utf-8"))
    counts = _check_rows(rows)
    # The file really exercises both outcomes and the fast path (guards against a truncated file).
    assert counts["rows"] > 6000
    assert counts["ok"] > 1500
    assert counts["fast"] > 800
    modes = {r["mode"] for r in rows}
    assert modes == {"strfmt_v0.21.8", "strfmt_v0.21.7", "layout"}
    assert len({r["layout"] for r in rows if r["mode"] == "layout"}) >= 40


@pytest.mark.needs_go
@pytest.mark.skipif(
    shutil.which("go") is None, reason="Go toolchain not on PATH: golden data not regenerated"
)
@pytest.mark.skipif(not STRFMT_SRC.exists(), reason="Debian's golang-github-go-openapi-strfmt-dev is missing")
def test_regenerated_golden_matches_committed_and_python() -> None:
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "", "TZ": "UTC"}
    proc = subprocess.run(
        ["go", "run", "tests/golden/gen/timeparse.go"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert proc.stdout == GOLDEN.read_text(encoding="utf-8"), "golden file is stale: run make_go_golden.sh"
    _check_rows(_load(proc.stdout))


# research-notes §4.1 table: (value, strfmt <= v0.21.7, strfmt >= v0.21.8); None means accepted.
NOTES_TABLE = [
    (
        "2024-05-01",
        'parsing time "2024-05-01" as "2006-01-02 15:04:05": cannot parse "" as "15"',
        None,
    ),
    (
        "2024-02-30",
        'parsing time "2024-02-30" as "2006-01-02 15:04:05": cannot parse "" as "15"',
        'parsing time "2024-02-30": day out of range',
    ),
    (
        "2023-02-29",
        'parsing time "2023-02-29" as "2006-01-02 15:04:05": cannot parse "" as "15"',
        'parsing time "2023-02-29": day out of range',
    ),
    (
        "2024-01-32",
        'parsing time "2024-01-32" as "2006-01-02 15:04:05": cannot parse "" as "15"',
        'parsing time "2024-01-32": day out of range',
    ),
    (
        "not a date",
        'parsing time "not a date" as "2006-01-02 15:04:05": cannot parse "not a date" as "2006"',
        'parsing time "not a date" as "2006-01-02": cannot parse "not a date" as "2006"',
    ),
    (
        "2024-02-30T00:00:00Z",
        'parsing time "2024-02-30T00:00:00Z" as "2006-01-02 15:04:05": cannot parse "T00:00:00Z" as " "',
        'parsing time "2024-02-30T00:00:00Z": extra text: "T00:00:00Z"',
    ),
    (
        "2024-13-01T00:00:00Z",
        'parsing time "2024-13-01T00:00:00Z": month out of range',
        'parsing time "2024-13-01T00:00:00Z": month out of range',
    ),
    (
        "2024-01-01T25:00:00Z",
        'parsing time "2024-01-01T25:00:00Z" as "2006-01-02 15:04:05": cannot parse "T25:00:00Z" as " "',
        'parsing time "2024-01-01T25:00:00Z": extra text: "T25:00:00Z"',
    ),
    (
        "2024-05-01T10:00:00+0530",
        'parsing time "2024-05-01T10:00:00+0530" as "2006-01-02 15:04:05": '
        'cannot parse "T10:00:00+0530" as " "',
        'parsing time "2024-05-01T10:00:00+0530": extra text: "T10:00:00+0530"',
    ),
    ("2024-05-01 10:00:00", None, None),
]


def _outcome(parser: DateTimeParser, value: str) -> str | None:
    try:
        parser.parse(value)
    except GoError as exc:
        return exc.message
    return None


@pytest.mark.parametrize(("value", "old", "new"), NOTES_TABLE)
def test_research_notes_table(value: str, old: str | None, new: str | None) -> None:
    assert _outcome(V7, value) == old
    assert _outcome(V8, value) == new


def test_empty_string_is_the_epoch_without_error() -> None:
    assert V8.parse("") == datetime(1970, 1, 1, tzinfo=UTC)
    assert V8.parse_go_time("") == GoTime(0, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2030-05-01T17:00:00.000Z", datetime(2030, 5, 1, 17, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T10:00:00+05:30", datetime(2024, 5, 1, 4, 30, tzinfo=UTC)),
        ("2024-05-01T10:00:00-00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        # Go reads any two digits as offset hours/minutes, without a range check.
        ("2024-05-01T10:00:00+24:00", datetime(2024, 4, 30, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00+99:99", datetime(2024, 4, 27, 5, 21, tzinfo=UTC)),
        ("2024-05-01T10:00:00.123+0530", datetime(2024, 5, 1, 4, 30, 0, 123000, tzinfo=UTC)),
        ("2024-05-01T10:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00:00.5", datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2000-02-29", datetime(2000, 2, 29, tzinfo=UTC)),
        ("2030-05-01T17:00:00.123456789123Z", datetime(2030, 5, 1, 17, 0, 0, 123456, tzinfo=UTC)),
        # Go quirks: a missing seconds field before a fraction, and a signed 3-byte fraction.
        ("2030-05-01T17:00:.5Z", datetime(2030, 5, 1, 17, 0, 0, 500000, tzinfo=UTC)),
        ("2030-05-01T17:00:00.+12Z", datetime(2030, 5, 1, 17, 0, 0, 12000, tzinfo=UTC)),
    ],
)
def test_accepted_values(value: str, expected: datetime) -> None:
    assert V8.parse(value) == expected
    assert V8.parse_go_time(value).to_datetime() == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2023-02-29T12:00:00Z", 'parsing time "2023-02-29T12:00:00Z": extra text: "T12:00:00Z"'),
        ("1900-02-29", 'parsing time "1900-02-29": day out of range'),
        ("2024-00-01", 'parsing time "2024-00-01": month out of range'),
        ("2024-01-00", 'parsing time "2024-01-00": day out of range'),
        ("2024-01-01T24:00:00Z", 'parsing time "2024-01-01T24:00:00Z": extra text: "T24:00:00Z"'),
        ("2024-01-01 24:00:00", 'parsing time "2024-01-01 24:00:00": extra text: " 24:00:00"'),
        ("2024-01-01T23:60:00Z", 'parsing time "2024-01-01T23:60:00Z": extra text: "T23:60:00Z"'),
        ("2030-05-01T17:00:00z", 'parsing time "2030-05-01T17:00:00z": extra text: "T17:00:00z"'),
        ("2030-05-01T17:00:00.-12Z", 'parsing time "2030-05-01T17:00:00.-12Z": extra text: "T17:00:00.-12Z"'),
        # GNU date's default output and a Go time.Time.String(): neither is a strfmt layout.
        (
            "Wed May  1 10:00:00 UTC 2024",
            'parsing time "Wed May  1 10:00:00 UTC 2024" as "2006-01-02": '
            'cannot parse "Wed May  1 10:00:00 UTC 2024" as "2006"',
        ),
        (
            "2031-06-18 10:19:31.800140702+00:00",
            'parsing time "2031-06-18 10:19:31.800140702+00:00": extra text: " 10:19:31.800140702+00:00"',
        ),
        # time.quote: non-ASCII and control bytes as \xNN of the UTF-8 bytes; '"' and '\' backslashed.
        ("café", 'parsing time "caf\\xc3\\xa9" as "2006-01-02": cannot parse "caf\\xc3\\xa9" as "2006"'),
        ("2024-05-01\x01", 'parsing time "2024-05-01\\x01": extra text: "\\x01"'),
        ("2024-05-01\x7f", 'parsing time "2024-05-01\x7f": extra text: "\x7f"'),
        ('2024-05-01"\\', 'parsing time "2024-05-01\\"\\\\": extra text: "\\"\\\\"'),
        ("2024-05-01\u2028", 'parsing time "2024-05-01\\xe2\\x80\\xa8": extra text: "\\xe2\\x80\\xa8"'),
        (
            "\U0001f600",
            'parsing time "\\xf0\\x9f\\x98\\x80" as "2006-01-02": '
            'cannot parse "\\xf0\\x9f\\x98\\x80" as "2006"',
        ),
        # Go advances past a 4-byte year before atoi fails, so the rest is reported from byte 4.
        ("20a4-01-01", 'parsing time "20a4-01-01" as "2006-01-02": cannot parse "-01-01" as "2006"'),
    ],
)
def test_rejected_values(value: str, message: str) -> None:
    with pytest.raises(GoError) as info:
        V8.parse(value)
    assert info.value.message == message


def test_lone_surrogates_read_as_replacement_character() -> None:
    # Go's JSON decoder turns a lone surrogate escape into U+FFFD, whose bytes time.quote shows.
    expected = 'parsing time "\\xef\\xbf\\xbd" as "2006-01-02": cannot parse "\\xef\\xbf\\xbd" as "2006"'
    for value in ("\ud800", "\udcff", "\ufffd"):
        with pytest.raises(GoError) as info:
            V8.parse(value)
        assert info.value.message == expected
    # A surrogate pair left unjoined in the str still means its one character.
    with pytest.raises(GoError) as info:
        V8.parse("\ud83d\ude00")
    assert "\\xf0\\x9f\\x98\\x80" in info.value.message


def test_layout_list_is_data() -> None:
    # The same value, three lists: the answer is the last layout's error, or the first success.
    value = "2024-02-30"
    assert _outcome(DateTimeParser(["2006-01-02"]), value) == 'parsing time "2024-02-30": day out of range'
    assert _outcome(DateTimeParser(STRFMT_LAYOUTS_V0_21_7), value) == (
        'parsing time "2024-02-30" as "2006-01-02 15:04:05": cannot parse "" as "15"'
    )
    only_rfc = DateTimeParser([RFC3339])
    assert _outcome(only_rfc, "2024-05-01") == (
        'parsing time "2024-05-01" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "T"'
    )
    # A list with a layout outside the known family disables the fast path but still parses.
    custom = DateTimeParser(["02/01/2006", *STRFMT_LAYOUTS_V0_21_8])
    assert not custom.fast_enabled
    assert custom.parse("01/05/2024") == datetime(2024, 5, 1, tzinfo=UTC)
    assert custom.parse("2030-05-01T17:00:00.000Z") == datetime(2030, 5, 1, 17, tzinfo=UTC)


def test_constructor_refuses_empty_lists() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        DateTimeParser([])
    with pytest.raises(ValueError, match="non-empty"):
        DateTimeParser("2006-01-02")


def test_next_std_chunk_follows_go() -> None:
    assert next_std_chunk(b"2006-01-02") == (b"", STD_LONG_YEAR, b"-01-02")
    assert next_std_chunk(b"Monday") == (b"", STD_LONG_WEEK_DAY, b"")
    assert next_std_chunk(b"Mon Jan") == (b"", STD_WEEK_DAY, b" Jan")
    assert next_std_chunk(b"Month 1") == (b"Month ", STD_NUM_MONTH, b"")  # "Mon" + lower case is text
    assert next_std_chunk(b"Janet Jan") == (b"Janet ", STD_MONTH, b"")
    assert next_std_chunk(b"x_2006") == (b"x_", STD_LONG_YEAR, b"")
    assert next_std_chunk(b"MST") == (b"", STD_TZ, b"")
    prefix, std, suffix = next_std_chunk(b".000Z")
    assert (prefix, std & 0xFFFF, std >> 16, suffix) == (b"", STD_FRAC_SECOND0, 3, b"Z")
    prefix, std, suffix = next_std_chunk(b",999")
    assert (prefix, std & 0xFFFF, suffix) == (b"", STD_FRAC_SECOND9, b"")
    assert next_std_chunk(b".0001") == (b".00", STD_ZERO_MONTH, b"")  # a digit after the zeros: no fraction
    assert next_std_chunk(b"no chunks here") == (b"no chunks here", 0, b"")
    assert [c[1] for c in Layout("15:04:05").chunks][-1] == 0


def test_quote_is_time_quote() -> None:
    assert quote(b"caf\xc3\xa9") == '"caf\\xc3\\xa9"'
    assert quote(b'a"b\\c') == '"a\\"b\\\\c"'
    assert quote(b"\xff\x00\t") == '"\\xff\\x00\\x09"'
    assert quote(b"\x7f~ ") == '"\x7f~ "'


def test_parse_in_utc_takes_layout_or_compiled_layout() -> None:
    lay = Layout("Jan _2 15:04:05 MST 2006")
    # ParseInLocation(UTC): an unknown zone abbreviation reads the wall clock as UTC.
    assert parse_in_utc(lay, b"May  1 10:00:00 PDT 2024") == parse_in_utc(
        lay.text, "May  1 10:00:00 UTC 2024"
    )
    with pytest.raises(GoError) as info:
        parse_in_utc("3:04PM", "13:00PM")
    assert info.value.message == 'parsing time "13:00PM": hour out of range'


def test_out_of_range_instants_are_clamped_for_datetime_only() -> None:
    t0 = V8.parse_go_time("0000-01-01")
    assert t0 == GoTime(-62167219200, 0)
    assert V8.parse("0000-01-01") == datetime.min.replace(tzinfo=UTC)
    t1 = V8.parse_go_time("9999-12-31T23:59:59-01:00")
    assert t1 == GoTime(253402304399, 0)
    assert V8.parse("9999-12-31T23:59:59-01:00") == datetime.max.replace(tzinfo=UTC)
    assert V8.parse("0001-01-01T00:00:00+01:00") == datetime.min.replace(tzinfo=UTC)


COMMON_SHAPES = [
    "2030-05-01T17:00:00.000Z",
    "2030-05-01T17:00:00Z",
    "2030-05-01T17:00:00.123456789+05:30",
    "2030-05-01T17:00:00.000000-0800",
    "2030-05-01",
    "2030-05-01T17:00",
    "2030-05-01T17:00Z",
    "2030-05-01T17:00:00",
    "2030-05-01 17:00:00",
]


@pytest.mark.parametrize("value", COMMON_SHAPES)
def test_common_shapes_take_the_fast_path(value: str) -> None:
    fast = V8.fast_path(value)
    assert fast is not None
    assert fast == V8.parse_go_time(value).to_datetime()
    assert fast.tzinfo is UTC


def test_fast_path_needs_its_layout() -> None:
    # Without the date-only layout (strfmt <= v0.21.7) a date-only value must not be fast-accepted.
    assert V7.fast_path("2030-05-01") is None
    assert V7.fast_path("2030-05-01T17:00:00Z") is not None
    only_rfc = DateTimeParser([RFC3339])
    assert only_rfc.fast_path("2030-05-01T17:00") is None
    assert only_rfc.fast_path("2030-05-01T17:00:00.000+0530") is None


# Text near the fast shapes: digits, separators and zone pieces, so that both paths get exercised.
_pieces = st.sampled_from(
    ["0", "1", "2", "3", "5", "9", "12", "29", "30", "31", "60", "99", "2024", "0000", "-", ":", ".", ",",
     "T", "t", " ", "Z", "z", "+", "+05:30", "-0800", "+24:00", "é", "\x00", "\ud800", "000", "999999"]
)  # fmt: skip
_near_iso = st.builds(
    lambda y, mo, d, rest: f"{y:04d}-{mo:02d}-{d:02d}{rest}",
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.one_of(
        st.just(""),
        st.builds(
            lambda sep, h, mi, s, frac, zone: f"{sep}{h:02d}:{mi:02d}{s}{frac}{zone}",
            st.sampled_from(["T", " ", "t"]),
            st.integers(0, 25),
            st.integers(0, 61),
            st.one_of(st.just(""), st.integers(0, 61).map(lambda s: f":{s:02d}")),
            st.one_of(st.just(""), st.text("0123456789", min_size=0, max_size=12).map(lambda f: "." + f)),
            st.sampled_from(["", "Z", "z", "+05:30", "-00:00", "+23:59", "+24:00", "+0530", "-0800", "+05"]),
        ),
    ),
)
_values = st.one_of(_near_iso, st.lists(_pieces, max_size=12).map("".join), st.text(max_size=40))
_lists = st.sampled_from([STRFMT_LAYOUTS_V0_21_8, STRFMT_LAYOUTS_V0_21_7, (RFC3339,), ("2006-01-02",)])


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts=_lists, value=_values)
def test_fast_path_never_disagrees_with_exact_path(layouts: tuple[str, ...], value: str) -> None:
    parser = DateTimeParser(layouts)
    try:
        exact: datetime | str = parser.parse_go_time(value).to_datetime()
    except GoError as exc:
        exact = exc.message
    fast = parser.fast_path(value)
    if fast is not None:
        assert fast == exact
    try:
        result: datetime | str = parser.parse(value)
    except GoError as exc:
        result = exc.message
    assert result == exact
