"""Go 1.19 strconv: `ParseInt(s, 10, 64)` with its exact errors, and `Quote` (also fmt's `%q`).

Go strings are bytes. A Python str given here stands for those bytes as UTF-8 with Python's
`surrogateescape` convention (U+DC80..U+DCFF is the raw byte 0x80..0xFF), which is how
`proxy.gocompat.urlparse` hands out query values that are not valid UTF-8. Any other lone
surrogate has no Go counterpart and is read as U+FFFD.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from proxy.gocompat._isprint_table import PRINT_RANGES
from proxy.gocompat.errors import GoError

__all__ = ["go_quote", "go_string_bytes", "is_print", "parse_int64"]

# PRINT_RANGES holds inclusive [lo, hi] pairs; with exclusive ends, bisect_right is odd inside a range.
_PRINT_BOUNDS: tuple[int, ...] = tuple(x + (i & 1) for i, x in enumerate(PRINT_RANGES))

_SURROGATE = re.compile("[\ud800-\udfff]")


def go_string_bytes(s: str) -> bytes:
    """The Go string a Python str stands for (UTF-8, surrogateescape; other lone surrogates -> U+FFFD)."""
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        fixed = _SURROGATE.sub(lambda m: m[0] if 0xDC80 <= ord(m[0]) <= 0xDCFF else "\ufffd", s)
        return fixed.encode("utf-8", "surrogateescape")


def is_print(r: int) -> bool:
    # strconv/quote.go IsPrint: is_print(0xE9) -> True, is_print(0xAD) -> False (Go 1.19 tables).
    return bisect_right(_PRINT_BOUNDS, r) & 1 == 1


_SHORT_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}
_PLAIN_ASCII = re.compile(rb"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def go_quote(b: bytes | str) -> str:
    # strconv/quote.go Quote (appendQuotedWith + appendEscapedRune): b'a\xff\n"\xe2\x80\xa8' ->
    # '"a\\xff\\n\\"\\u2028"'. A str is first turned into its Go bytes (go_string_bytes).
    if isinstance(b, str):
        b = go_string_bytes(b)
    if _PLAIN_ASCII.fullmatch(b):
        return '"' + b.decode("ascii") + '"'
    out = ['"']
    # surrogateescape turns each byte that Go's DecodeRune rejects (RuneError, width 1) into its
    # own U+DC80..U+DCFF; both decoders reject the same bytes (surrogates, overlongs, > U+10FFFF).
    for ch in b.decode("utf-8", "surrogateescape"):
        r = ord(ch)
        if 0xDC80 <= r <= 0xDCFF:
            out.append(f"\\x{r - 0xDC00:02x}")
        elif r in (0x22, 0x5C):  # '"' and '\\' are always backslashed
            out.append("\\" + ch)
        elif is_print(r):
            out.append(ch)
        elif r in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[r])
        elif r < 0x20 or r == 0x7F:
            out.append(f"\\x{r:02x}")
        elif r < 0x10000:
            out.append(f"\\u{r:04x}")
        else:
            out.append(f"\\U{r:08x}")
    out.append('"')
    return "".join(out)


_MAX_UINT64 = (1 << 64) - 1
_CUTOFF_UINT64_BASE10 = _MAX_UINT64 // 10 + 1
_SMALL_INT = re.compile(rb"[+-]?[0-9]{1,18}")


def _parse_uint10(s: bytes) -> tuple[int, str]:
    # strconv/atoi.go ParseUint(s, 10, 64): b"12" -> (12, ""); err is "" | "syntax" | "range".
    # No underscores for an explicit base 10. Overflow returns at once, before later bad bytes.
    if not s:
        return 0, "syntax"
    n = 0
    for c in s:
        if not 0x30 <= c <= 0x39:
            return 0, "syntax"  # letters are digits >= 10, invalid in base 10 just the same
        if n >= _CUTOFF_UINT64_BASE10:
            return _MAX_UINT64, "range"
        n = n * 10 + c - 0x30
        if n > _MAX_UINT64:
            return _MAX_UINT64, "range"
    return n, ""


def parse_int64(s: str | bytes) -> int:
    # strconv/atoi.go ParseInt(s, 10, 64): "-42" -> -42; "abc" -> GoError(
    # 'strconv.ParseInt: parsing "abc": invalid syntax'); 20 nines -> '... value out of range'.
    b = s if isinstance(s, bytes) else go_string_bytes(s)
    if _SMALL_INT.fullmatch(b):
        return int(b)  # at most 18 digits: always in range, and int() agrees with Go on this shape
    s0 = b
    neg = False
    if b[:1] == b"+":
        b = b[1:]
    elif b[:1] == b"-":
        neg = True
        b = b[1:]
    un, err = _parse_uint10(b) if s0 else (0, "syntax")
    if err == "syntax":
        raise GoError(f"strconv.ParseInt: parsing {go_quote(s0)}: invalid syntax")
    cutoff = 1 << 63
    if (not neg and un >= cutoff) or (neg and un > cutoff):
        raise GoError(f"strconv.ParseInt: parsing {go_quote(s0)}: value out of range")
    return -un if neg else un
