"""proxy.gocompat.strconv against real Go 1.19: strconv.ParseInt(s, 10, 64) and strconv.Quote.

Go is the oracle: tests/golden/strconv.jsonl comes from tests/golden/gen/strconv.go and
proxy/gocompat/_isprint_table.py from tests/golden/gen/isprint_table.go (see make_go_golden.sh).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.gocompat import _isprint_table
from proxy.gocompat.errors import GoError
from proxy.gocompat.strconv import go_quote, go_string_bytes, is_print, parse_int64

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "strconv.jsonl"
TABLE = ROOT / "proxy" / "gocompat" / "_isprint_table.py"
GO_ENV = {**os.environ, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "", "TZ": "UTC"}


def _go_run(program: str) -> str:
    proc = subprocess.run(
        ["go", "run", program], cwd=ROOT, env=GO_ENV, capture_output=True, text=True, timeout=300, check=True
    )
    return proc.stdout


def _check_rows(text: str) -> dict[str, int]:
    counts = {"ParseInt": 0, "Quote": 0}
    failures: list[str] = []
    for line in text.splitlines():
        row: dict[str, Any] = json.loads(line)
        raw = bytes.fromhex(row["hex"])
        counts[row["fn"]] += 1
        if row["fn"] == "ParseInt":
            want = ("ok", int(row["ok"])) if "ok" in row else ("err", row["err"])
            # Both as bytes and as the surrogateescape str that urlparse.query_first hands out.
            for arg in (raw, raw.decode("utf-8", "surrogateescape")):
                try:
                    got: tuple[str, Any] = ("ok", parse_int64(arg))
                except GoError as exc:
                    got = ("err", exc.message)
                if got != want:
                    failures.append(f"ParseInt {arg!r}: got {got}, Go {want}")
        else:
            got_q = go_quote(raw)
            if got_q != row["out"]:
                failures.append(f"Quote {raw!r}: got {got_q!r}, Go {row['out']!r}")
    assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} failures)"
    return counts


def test_golden_rows_match_go() -> None:
    counts = _check_rows(GOLDEN.read_text(encoding="utf-8"))
    assert counts["ParseInt"] > 1500
    assert counts["Quote"] > 2000


@pytest.mark.needs_go
@pytest.mark.skipif(
    shutil.which("go") is None, reason="Go toolchain not on PATH: golden data not regenerated"
)
def test_regenerated_golden_matches_committed_and_python() -> None:
    out = _go_run("tests/golden/gen/strconv.go")
    assert out == GOLDEN.read_text(encoding="utf-8"), "golden file is stale: run make_go_golden.sh"
    _check_rows(out)


@pytest.mark.needs_go
@pytest.mark.skipif(shutil.which("go") is None, reason="Go toolchain not on PATH: table not regenerated")
def test_isprint_table_is_what_go_generates() -> None:
    assert _go_run("tests/golden/gen/isprint_table.go") == TABLE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("", 'strconv.ParseInt: parsing "": invalid syntax'),
        ("+", 'strconv.ParseInt: parsing "+": invalid syntax'),
        ("1_000", 'strconv.ParseInt: parsing "1_000": invalid syntax'),
        (" 1", 'strconv.ParseInt: parsing " 1": invalid syntax'),
        ("99999999999999999999", 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
        ("9223372036854775808", 'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
        # Overflow is reported as soon as it happens, before a later bad byte is seen.
        (
            "99999999999999999999abc",
            'strconv.ParseInt: parsing "99999999999999999999abc": value out of range',
        ),
        ("1\udcff", 'strconv.ParseInt: parsing "1\\xff": invalid syntax'),
        ("é\n", 'strconv.ParseInt: parsing "é\\n": invalid syntax'),
    ],
)
def test_parse_int64_errors(text: str, message: str) -> None:
    with pytest.raises(GoError) as info:
        parse_int64(text)
    assert info.value.message == message


def test_parse_int64_values() -> None:
    assert parse_int64("-9223372036854775808") == -(2**63)
    assert parse_int64("+9223372036854775807") == 2**63 - 1
    assert parse_int64("007") == 7
    assert parse_int64("-0") == 0
    assert parse_int64("0" * 400 + "1") == 1


def test_go_quote_is_not_python_isprintable() -> None:
    # Go 1.19 has Unicode 13; U+061D (Unicode 14) is printable for Python 3.11 but escaped by Go.
    assert go_quote("\u061d".encode()) == '"\\u061d"'
    assert go_quote(b"\xc2\xad") == '"\\u00ad"'  # soft hyphen: Go's one Latin-1 exception
    assert go_quote("é\u2028\U0001f600\U000e0001".encode()) == '"é\\u2028😀\\U000e0001"'
    assert go_quote(b'\x07\x08\x0c\n\r\t\x0b\x00\x7f"\\') == '"\\a\\b\\f\\n\\r\\t\\v\\x00\\x7f\\"\\\\"'
    assert go_quote(b"\xed\xa0\x80\xff\xe2\x82") == '"\\xed\\xa0\\x80\\xff\\xe2\\x82"'
    assert go_quote("\udcff".encode("utf-8", "surrogateescape")) == '"\\xff"'


def test_is_print_table_header_names_go() -> None:
    assert _isprint_table.GO_VERSION.startswith("go1.19")
    assert _isprint_table.UNICODE_VERSION == "13.0.0"
    bounds = _isprint_table.PRINT_RANGES
    assert len(bounds) % 2 == 0
    assert all(a <= b for a, b in itertools.pairwise(bounds))
    assert is_print(0x20) and is_print(0x7E) and not is_print(0x7F) and not is_print(0xAD)


def test_go_string_bytes() -> None:
    assert go_string_bytes("a\udcffé") == b"a\xff\xc3\xa9"
    assert go_string_bytes("\ud800") == "\ufffd".encode()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=40))
def test_quote_never_fails_and_round_trips_printable_ascii(raw: bytes) -> None:
    out = go_quote(raw)
    assert out.startswith('"') and out.endswith('"')
    if all(0x20 <= b < 0x7F and b not in b'"\\' for b in raw):
        assert out == '"' + raw.decode() + '"'


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_parse_int64_agrees_with_int64_range(n: int) -> None:
    if -(2**63) <= n < 2**63:
        assert parse_int64(str(n)) == n
    else:
        with pytest.raises(GoError, match=r"value out of range$"):
            parse_int64(str(n))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789+-_ xé\udcff", max_size=25))
def test_parse_int64_raises_only_go_errors(text: str) -> None:
    try:
        value = parse_int64(text)
    except GoError as exc:
        assert exc.message.startswith("strconv.ParseInt: parsing ")
    else:
        assert -(2**63) <= value < 2**63
