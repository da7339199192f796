"""proxy.gocompat.json_scan against real Go 1.19: scanner.go errors, quoteChar, Decoder.readValue.

The golden records (tests/golden/json_decode.jsonl, see test_json_decode.py) hold Go's verdict on
every body; here the scanner alone is held to the part of it that is syntax: a body Go rejects with
a syntax error, "EOF" or "unexpected EOF" must raise exactly that, every other body must read.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxy.gocompat.errors import GoError
from proxy.gocompat.json_scan import (
    MAX_NESTING_DEPTH,
    JSONNumber,
    JSONObject,
    _read_value_go,
    go_utf8_decode,
    quote_char,
    read_value,
    syntax_error,
    unquote,
)
from tests.unit.test_json_decode import decode_records, mutate

# Every context string of go1.19 scanner.go a Decoder can report ("after top-level value" cannot
# happen: readValue stops at the end of the first value).
CONTEXTS = [
    "looking for beginning of value",
    "looking for beginning of object key string",
    "after object key",
    "after object key:value pair",
    "after array element",
    "in string literal",
    "in string escape code",
    "in \\u hexadecimal character escape",
    "in numeric literal",
    "after decimal point in numeric literal",
    "in exponent of numeric literal",
    "in literal true (expecting 'r')",
    "in literal true (expecting 'u')",
    "in literal true (expecting 'e')",
    "in literal false (expecting 'a')",
    "in literal false (expecting 'l')",
    "in literal false (expecting 's')",
    "in literal false (expecting 'e')",
    "in literal null (expecting 'u')",
    "in literal null (expecting 'l')",
    "exceeded max depth",
]


def _is_syntax(error: str | None) -> bool:
    return error is not None and (
        error in ("EOF", "unexpected EOF") or error.startswith("invalid character ")
    )


def _read(body: bytes) -> str | None:
    try:
        read_value(body)
    except GoError as e:
        return e.message
    return None


def test_every_scanner_context_is_in_the_golden_data() -> None:
    errors = [r["error"] for r in decode_records() if _is_syntax(r["error"])]
    for context in CONTEXTS:
        assert any(e.endswith(" " + context) for e in errors), context
    assert "EOF" in errors and "unexpected EOF" in errors


def test_syntax_verdicts_match_go() -> None:
    failures = []
    for r in decode_records():
        expected = r["error"] if _is_syntax(r["error"]) else None
        got = _read(r["body"])
        if got != expected:
            failures.append(f"{r['name']} {r['body'][:80]!r}: go {expected!r}, python {got!r}")
    assert not failures, "\n".join(failures[:20])


def same_tree(a: object, b: object) -> bool:
    """== for read_value trees, iteratively (trees nest 10000 deep) and type-exact (str vs JSONNumber)."""
    todo = [(a, b)]
    while todo:
        x, y = todo.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, list):
            assert isinstance(y, list)
            if len(x) != len(y):
                return False
            if type(x) is JSONObject:
                if [k for k, _ in x] != [k for k, _ in y]:
                    return False
                todo.extend((v, w) for (_, v), (_, w) in zip(x, y, strict=True))
            else:
                todo.extend(zip(x, y, strict=True))
        elif x != y:
            return False
    return True


def test_byte_exact_reader_matches_go_alone() -> None:
    # read_value lets Python's json module read well-formed bodies; the byte-exact reader it falls
    # back to must match Go on its own too (on every body, not only those the fast reader refuses).
    failures = []
    for r in decode_records():
        expected = r["error"] if _is_syntax(r["error"]) else None
        try:
            tree = _read_value_go(r["body"])
            got = None
        except GoError as e:
            got, tree = e.message, None
        if got != expected:
            failures.append(f"{r['name']}: go {expected!r}, python {got!r}")
        elif got is None and not same_tree(tree, read_value(r["body"])):
            failures.append(f"{r['name']}: the two readers built different trees")
    assert not failures, "\n".join(failures[:20])


def test_quote_char_of_every_byte_matches_go() -> None:
    # "quote/top XX" bodies start with byte XX; wherever Go could not begin a value there, its
    # message shows the byte through quoteChar.
    seen = 0
    for r in decode_records():
        if (
            r["name"].startswith("quote/top ")
            and r["error"]
            and r["error"].endswith(" looking for beginning of value")
        ):
            byte = int(r["name"].rsplit(" ", 1)[1], 16)
            assert r["error"] == f"invalid character {quote_char(byte)} looking for beginning of value"
            seen += 1
    assert seen > 230


@pytest.mark.parametrize(
    ("byte", "shown"),
    [
        (0x27, "'\\''"),
        (0x22, "'\"'"),
        (0x0A, "'\\n'"),
        (0x00, "'\\x00'"),
        (0xEF, "'ï'"),
        (0xC2, "'Â'"),
        (0xE2, "'â'"),
        (0x5C, "'\\\\'"),
        (0x7F, "'\\x7f'"),
        (0x80, "'\\u0080'"),
        (0xA0, "'\\u00a0'"),
        (0xAD, "'\\u00ad'"),
        (0x0B, "'\\v'"),
        (0xFF, "'ÿ'"),
    ],
)
def test_quote_char(byte: int, shown: str) -> None:
    assert quote_char(byte) == shown
    assert syntax_error(byte, "in string literal").message == f"invalid character {shown} in string literal"


def test_tree_keeps_duplicates_literals_and_stops_after_the_first_value() -> None:
    tree = read_value(b' {"a":1,"a":[true,null,-0.50e+3],"b":{}} {"ignored"')
    assert tree == JSONObject(
        [("a", JSONNumber("1")), ("a", [True, None, JSONNumber("-0.50e+3")]), ("b", JSONObject())]
    )
    assert type(tree[0][1]) is JSONNumber
    assert read_value(b"123abc") == JSONNumber("123")
    assert read_value(b"01") == JSONNumber("0")
    assert read_value(b"null x") is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", "EOF"),
        (b" \t\r\n", "EOF"),
        (b"\f", "invalid character '\\f' looking for beginning of value"),
        (b"1.", "unexpected EOF"),
        (b"-", "unexpected EOF"),
        (b'"\\u12', "unexpected EOF"),
        (b"tru", "unexpected EOF"),
        (b"[1,]", "invalid character ']' looking for beginning of value"),
        (b"1.x", "invalid character 'x' after decimal point in numeric literal"),
    ],
)
def test_edges(body: bytes, error: str) -> None:
    assert _read(body) == error


def test_nesting_limit_without_recursion() -> None:
    ok = b"[" * MAX_NESTING_DEPTH + b"]" * MAX_NESTING_DEPTH
    tree = read_value(ok)
    depth = 0
    while isinstance(tree, list) and tree:
        tree, depth = tree[0], depth + 1
    assert depth == MAX_NESTING_DEPTH - 1
    assert _read(b"[" + ok + b"]") == "invalid character '[' exceeded max depth"
    assert _read(b"[" * (MAX_NESTING_DEPTH + 1)) == "invalid character '[' exceeded max depth"
    assert _read(b"[" * MAX_NESTING_DEPTH) == "unexpected EOF"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (
            b"a\xe2\x82b",
            "a\ufffd\ufffdb",
        ),  # one U+FFFD per byte of a truncated sequence (Python's "replace": one)
        (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),
        (b"\xc0\x80", "\ufffd\ufffd"),
        (b"\xef\xbf\xbd", "\ufffd"),
        (b"\xf0\x9f\x98\x80", "\U0001f600"),
    ],
)
def test_go_utf8_decode(raw: bytes, text: str) -> None:
    assert go_utf8_decode(raw) == text


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (rb"\ud800", "\ufffd"),
        (rb"\ud800\u0041", "\ufffdA"),
        (rb"\udc00\ud800\udc00", "\ufffd\U00010000"),
        (rb"\uD83D\uDE00", "\U0001f600"),
        (rb"\ud800\ud800\udc00", "\ufffd\U00010000"),
        (rb"\/\b\f\n\r\t\"\\", '/\b\f\n\r\t"\\'),
        (b"\\u00e9\xff", "\xe9\ufffd"),
    ],
)
def test_unquote(raw: bytes, text: str) -> None:
    assert unquote(raw) == text


def _outcome(reader: object, body: bytes) -> tuple[str, object]:
    try:
        return "ok", reader(body)  # type: ignore[operator]
    except GoError as e:
        return "error", e.message


def _agree(body: bytes) -> None:
    fast, exact = _outcome(read_value, body), _outcome(_read_value_go, body)
    assert fast[0] == exact[0]
    assert same_tree(fast[1], exact[1]) if fast[0] == "ok" else fast[1] == exact[1]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120))
def test_readers_agree_on_arbitrary_bytes(body: bytes) -> None:
    _agree(body)


_REALISTIC = [r["body"] for r in decode_records() if r["name"].startswith("realistic/")]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from(range(len(_REALISTIC))))
def test_readers_agree_on_mutated_bodies(seed: int, which: int) -> None:
    body = mutate(_REALISTIC[which], random.Random(seed))
    _agree(body)
    kind, outcome = _outcome(_read_value_go, body)
    try:
        _read_value_go(body, build=False)  # the syntax-only pass must find the same error
        checked = None
    except GoError as e:
        checked = e.message
    assert checked == (outcome if kind == "error" else None)
