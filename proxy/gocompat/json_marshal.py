"""Go 1.19 encoding/json Marshal of a string, with HTML escaping on (encode.go `(*encodeState).string`).

`go_json_string("a<b\\n")` -> b'"a\\u003cb\\n"'. What Go does, byte for byte: `"` and `\\` get a
backslash; \\n \\r \\t short escapes; other bytes < 0x20 and `<` `>` `&` become \\u00XX (lower-case
hex); U+2028 and U+2029 become \\u2028 and \\u2029; each byte of invalid UTF-8 becomes the six
characters `\\ufffd`; everything else (DEL and valid non-ASCII included) is copied as UTF-8.

A Go string is bytes, a Python str is code points. A str holding surrogates (which UTF-8 cannot
encode) is read with the package's convention (as proxy.gocompat.strconv does): U+DC80..U+DCFF
are the raw bytes 0x80..0xFF they stand for under Python's "surrogateescape", so text decoded that
way is marshalled as Go would marshal the original bytes (a lone one comes out as `\\ufffd`);
any other surrogate has no Go counterpart and is read as U+FFFD. Nothing raises.
"""

from __future__ import annotations

import re

__all__ = ["go_json_string"]

# The escapes of encode.go string() for the ASCII bytes that are not in htmlSafeSet.
_ESCAPES: dict[str, str] = {chr(c): f"\\u00{c:02x}" for c in range(0x20)}
_ESCAPES.update({"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"})
_ESCAPES.update({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})
_NEEDS_ESCAPE = re.compile('[\\x00-\\x1f"\\\\<>&\u2028\u2029]')
_ASCII_OUT: tuple[bytes, ...] = tuple(_ESCAPES.get(chr(c), chr(c)).encode("ascii") for c in range(0x80))


def _escape(m: re.Match[str]) -> str:
    # encode.go string(), one character that is not in htmlSafeSet: "<" -> "\\u003c", "\\n" -> "\\\\n".
    return _ESCAPES[m.group()]


_OTHER_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def _go_bytes(s: str) -> bytes:
    """The Go string a str with surrogates stands for: '\\udcff' -> b'\\xff', '\\ud800' -> U+FFFD's bytes."""
    return _OTHER_SURROGATE.sub("\ufffd", s).encode("utf-8", "surrogateescape")


def _rune_size(b: bytes, i: int) -> int:
    # utf8.DecodeRuneInString: the size of the valid rune at b[i] (a non-ASCII lead byte), or 0.
    lead = b[i]
    size = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
    if size == 0 or i + size > len(b):
        return 0
    try:
        b[i : i + size].decode("utf-8")  # strict: rejects overlong forms, surrogates, > U+10FFFF
    except UnicodeDecodeError:
        return 0
    return size


def _string_bytes(b: bytes) -> bytes:
    """encode.go string() on arbitrary bytes, byte by byte: b'\\xffa' -> b'"\\\\ufffda"'."""
    out = bytearray(b'"')
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c < 0x80:
            out += _ASCII_OUT[c]
            i += 1
            continue
        size = _rune_size(b, i)
        if size == 0:  # RuneError, size 1
            out += b"\\ufffd"
            i += 1
            continue
        rune = b[i : i + size]
        if rune == b"\xe2\x80\xa8":
            out += b"\\u2028"
        elif rune == b"\xe2\x80\xa9":
            out += b"\\u2029"
        else:
            out += rune
        i += size
    out += b'"'
    return bytes(out)


def go_json_string(s: str) -> bytes:
    """json.Marshal(s) in Go 1.19 (HTML-safe): 'say "<hi>"' -> b'"say \\\\"\\\\u003chi\\\\u003e\\\\""'."""
    try:
        raw = s.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: go through Go's byte loop
        return _string_bytes(_go_bytes(s))
    if _NEEDS_ESCAPE.search(s) is None:
        return b'"' + raw + b'"'
    return b'"' + _NEEDS_ESCAPE.sub(_escape, s).encode("utf-8") + b'"'
