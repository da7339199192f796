"""proxy.gocompat.urlparse against real Go 1.19 net/url: path unescaping and URL.Query().

Go is the oracle: tests/golden/urlparse.jsonl comes from tests/golden/gen/urlparse.go (see
make_go_golden.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.gocompat.errors import GoError
from proxy.gocompat.strconv import parse_int64
from proxy.gocompat.urlparse import (
    has_semicolon,
    parse_query,
    path_unescape,
    query_first,
    query_unescape,
    unescape,
)

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "urlparse.jsonl"


def _check_rows(text: str) -> dict[str, int]:
    counts = {"PathUnescape": 0, "ParseQuery": 0, "query_first": 0}
    failures: list[str] = []
    for line in text.splitlines():
        row: dict[str, Any] = json.loads(line)
        raw = bytes.fromhex(row["hex"])
        as_str = raw.decode("utf-8", "surrogateescape")
        counts[row["fn"]] += 1
        if row["fn"] == "PathUnescape":
            want = bytes.fromhex(row["ok"]) if "ok" in row else None
            got = path_unescape(as_str)
            if got != want:
                failures.append(f"path {raw!r}: got {got!r}, Go {want!r}")
            if "err" in row and unescape(raw, False) != row["err"]:
                failures.append(f"path {raw!r}: error {unescape(raw, False)!r}, Go {row['err']!r}")
            if "req_path" in row and (got is None or b"/" + got != bytes.fromhex(row["req_path"])):
                failures.append(f"path {raw!r}: ParseRequestURI gave {row['req_path']}")
            continue
        want_values = {
            bytes.fromhex(k): [bytes.fromhex(v) for v in vs] for k, vs in row.get("values", {}).items()
        }
        values, err = parse_query(as_str)
        if values != want_values or err != row.get("err"):
            failures.append(f"query {raw!r}: got {values!r} {err!r}, Go {want_values!r} {row.get('err')!r}")
        # r.URL.Query()[key][0] for every key Go saw, and for keys it did not.
        for key in [*want_values, b"limit", b"cursor", b"LIMIT"]:
            counts["query_first"] += 1
            key_str = key.decode("utf-8", "surrogateescape")
            vs = want_values.get(key)
            expected = vs[0].decode("utf-8", "surrogateescape") if vs else None
            if query_first(as_str, key_str) != expected:
                failures.append(f"query_first({raw!r}, {key!r}) != {expected!r}")
    assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} failures)"
    return counts


def test_golden_rows_match_go() -> None:
    counts = _check_rows(GOLDEN.read_text(encoding="utf-8"))
    assert counts["PathUnescape"] > 700
    assert counts["ParseQuery"] > 1200


@pytest.mark.needs_go
@pytest.mark.skipif(
    shutil.which("go") is None, reason="Go toolchain not on PATH: golden data not regenerated"
)
def test_regenerated_golden_matches_committed_and_python() -> None:
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "", "TZ": "UTC"}
    proc = subprocess.run(
        ["go", "run", "tests/golden/gen/urlparse.go"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert proc.stdout == GOLDEN.read_text(encoding="utf-8"), "golden file is stale: run make_go_golden.sh"
    _check_rows(proc.stdout)


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("/v3.1/sections/abc/assignments", b"/v3.1/sections/abc/assignments"),
        ("/sections/a%2Fb", b"/sections/a/b"),
        ("/a+b%2B", b"/a+b+"),  # '+' is not a space in a path
        ("/%3Cb%3E", b"/<b>"),
        ("/%ff%C3%a9", b"/\xff\xc3\xa9"),
        ("/%zz", None),
        ("/a%", None),
        ("/a%4", None),
    ],
)
def test_path_unescape(raw: str, decoded: bytes | None) -> None:
    assert path_unescape(raw) == decoded


def test_escape_error_text_is_go_quoted() -> None:
    assert unescape(b"/a%zzz", False) == 'invalid URL escape "%zz"'
    assert unescape(b"%\xff1", True) == 'invalid URL escape "%\\xff1"'
    assert unescape(b"ab%", True) == 'invalid URL escape "%"'


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("limit=5", "5"),
        ("limit=5&limit=7", "5"),
        ("limit=", ""),
        ("limit", ""),
        ("x=1", None),
        ("", None),
        ("LIMIT=5", None),  # keys compare exactly
        ("li%6Dit=6", "6"),
        ("limit=%zz&limit=4", "4"),  # the pair with a bad escape is dropped
        ("limit=1+2", "1 2"),
        ("limit=%2B5", "+5"),
        ("limit=5;x=1", None),  # Go >= 1.17 drops a pair holding ';'
        ("x=1;y=2&limit=5", "5"),
        ("limit==5", "=5"),
        ("limit=%ff", "\udcff"),
    ],
)
def test_query_first(query: str, value: str | None) -> None:
    assert query_first(query, "limit") == value


def test_has_semicolon() -> None:
    assert has_semicolon("limit=5;x=1")
    assert has_semicolon("x=1;y")
    assert not has_semicolon("limit=5&x=%3B")
    assert parse_query("limit=5;x=1") == ({}, "invalid semicolon separator in query")


def test_limit_errors_read_as_wag_reports_them() -> None:
    # listSubmissions: wag runs strconv.ParseInt on Query()["limit"][0].
    for query, message in [
        ("limit=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("limit=", 'strconv.ParseInt: parsing "": invalid syntax'),
        (
            "limit=99999999999999999999",
            'strconv.ParseInt: parsing "99999999999999999999": value out of range',
        ),
        ("limit=%ff", 'strconv.ParseInt: parsing "\\xff": invalid syntax'),
        ("limit=1+2", 'strconv.ParseInt: parsing "1 2": invalid syntax'),
    ]:
        raw = query_first(query, "limit")
        assert raw is not None
        with pytest.raises(GoError) as info:
            parse_int64(raw)
        assert info.value.message == message


def test_query_unescape() -> None:
    assert query_unescape(b"a+b%21") == b"a b!"
    assert query_unescape(b"%g0") is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab=&;%2Fz+ é", max_size=30))
def test_query_first_is_first_of_parse_query(query: str) -> None:
    values, _ = parse_query(query)
    first = query_first(query, "a")
    assert first == (values[b"a"][0].decode("utf-8", "surrogateescape") if b"a" in values else None)
