"""proxy.gocompat.json_marshal against real Go 1.19: json.Marshal of a string (HTML escaping on).

The golden "marshal" records (tests/golden/json_decode.jsonl, written by
tests/golden/gen/json_decode_golden.go) hold json.Marshal(string(b)) for every single byte, byte
sandwiches, invalid UTF-8 and the characters Go escapes. A Go string is bytes: the test hands
json_marshal the str those bytes decode to with Python's "surrogateescape", the convention the
module documents. The needs_go test sends thousands of random byte strings through Go.
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy.gocompat.json_marshal import go_json_string
from tests.unit.test_json_decode import MAKE, STRFMT_SRC, golden, run_go


def _as_str(go_bytes: bytes) -> str:
    return go_bytes.decode("utf-8", "surrogateescape")


def test_golden_marshal_records() -> None:
    records = [r for r in golden() if r["kind"] == "marshal"]
    assert len(records) > 550
    failures = []
    for r in records:
        raw, want = base64.b64decode(r["in_b64"]), base64.b64decode(r["out_b64"])
        got = go_json_string(_as_str(raw))
        if got != want:
            failures.append(f"{raw!r}: go {want!r}, python {got!r}")
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        (
            "invalid character '<' looking for beginning of value",
            b"\"invalid character '\\u003c' looking for beginning of value\"",
        ),
        (
            "validation failure list:\nsubmission_types.0 in body",
            b'"validation failure list:\\nsubmission_types.0 in body"',
        ),
        ('parsing time "2024-02-30": day out of range', b'"parsing time \\"2024-02-30\\": day out of range"'),
        ("a&b>c\t\r\x00\x1f\x7f\\", b'"a\\u0026b\\u003ec\\t\\r\\u0000\\u001f\x7f\\\\"'),
        ("\u2028\u2029\ufffd\xe9\U0001f600", b'"\\u2028\\u2029\xef\xbf\xbd\xc3\xa9\xf0\x9f\x98\x80"'),
    ],
)
def test_examples(text: str, encoded: bytes) -> None:
    assert go_json_string(text) == encoded


def test_surrogates_follow_the_package_convention() -> None:
    # U+DC80..U+DCFF stand for raw bytes (surrogateescape): a lone one is invalid UTF-8 -> \ufffd;
    # a pair that spells valid UTF-8 is that character; other surrogates read as U+FFFD.
    assert go_json_string("a\udcffb") == b'"a\\ufffdb"'
    assert go_json_string("\udcc3\udca9") == '"\u00e9"'.encode()
    assert go_json_string("\ud800<") == b'"\xef\xbf\xbd\\u003c"'


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_round_trips_through_json(text: str) -> None:
    out = go_json_string(text)
    assert json.loads(out) == text
    assert not {b"<", b">", b"&"} & {bytes([c]) for c in out}


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)))
def test_never_raises_on_any_str(text: str) -> None:
    out = go_json_string(text)  # surrogates included
    assert out.startswith(b'"') and out.endswith(b'"')
    out.decode("utf-8")  # always valid UTF-8, as Go's output


@pytest.mark.needs_go
@pytest.mark.skipif(shutil.which("go") is None, reason="Go toolchain not on PATH: no differential run")
@pytest.mark.skipif(not STRFMT_SRC.exists(), reason="Debian's golang-github-go-openapi-strfmt-dev is missing")
def test_random_bytes_against_go(tmp_path: Path) -> None:
    go_generator = tmp_path / "json_decode_golden"
    subprocess.run([str(MAKE), "build", str(go_generator)], check=True, capture_output=True, timeout=300)
    rng = random.Random(7)
    alphabet = [
        *range(0x00, 0x20),
        0x22,
        0x26,
        0x3C,
        0x3E,
        0x5C,
        0x41,
        0x7F,
        0x80,
        0xBF,
        0xC2,
        0xC3,
        0xE2,
        0x80,
        0xA8,
        0xA9,
        0xED,
        0xA0,
        0xEF,
        0xBF,
        0xBD,
        0xF0,
        0x9F,
        0x98,
        0xF4,
        0x90,
        0xFF,
    ]
    inputs = [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(4000)]
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 30))) for _ in range(2000)]
    records = run_go(go_generator, "marshal", [{"in_b64": base64.b64encode(b).decode()} for b in inputs])
    assert len(records) == len(inputs)
    for raw, r in zip(inputs, records, strict=True):
        assert go_json_string(_as_str(raw)) == base64.b64decode(r["out_b64"]), raw
