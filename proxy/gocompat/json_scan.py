"""Go 1.19 encoding/json scanning, as json.Decoder.Decode sees a request body.

Mirrors scanner.go (the state machine and its error texts), stream.go `Decoder.readValue` (only
the first JSON value is read; what follows it is never looked at) and decode.go `unquote` (how
string literals become Go strings). `read_value` returns the first value as a small tree that keeps
what the typed decode needs: object members in order with duplicates, numbers as their literal.

Departures from Go's structure, on purpose, for speed (a 1 MiB body reads in well under a second):
- Python's json module (C) reads the bodies it accepts; its grammar is Go's once NaN/Infinity are
  refused. Where its result could differ, the input is adjusted (invalid UTF-8 decoded Go's way,
  lone surrogate escapes rewritten to \\ufffd) or the body goes to the byte-exact reader (nesting
  deeper than Python's recursion limit, a top-level number Go would read further).
- The byte-exact reader (`_read_value_go`) has scanner.go's states, but consumes whole runs
  (whitespace, digits, plain string bytes, simple array elements) with regular expressions instead
  of one `scanner.step` call per byte. Each place that can fail names the Go state whose error it
  reproduces; the error byte and context are exactly Go's. It produces every error.
"""

from __future__ import annotations

import codecs
import json
import re

from proxy.gocompat.errors import GoError

__all__ = [
    "MAX_NESTING_DEPTH",
    "JSONNumber",
    "JSONObject",
    "JSONValue",
    "go_surrogates",
    "go_utf8_decode",
    "quote_char",
    "read_value",
    "syntax_error",
    "unquote",
]

# scanner.go maxNestingDepth
MAX_NESTING_DEPTH = 10000


class JSONNumber(str):
    """A JSON number, kept as its literal text (Go converts it only once the target type is known)."""

    __slots__ = ()


class JSONObject(list):  # type: ignore[type-arg]
    """A JSON object: its (key, value) members in input order, duplicate keys kept."""

    __slots__ = ()


# The tree read_value returns: JSONObject | list | str | JSONNumber | bool | None.
JSONValue = object

# ---- Go's UTF-8 coercion (decode.go unquoteBytes: each invalid byte becomes one U+FFFD) ----


def _replace_one_byte(exc: UnicodeError) -> tuple[str, int]:
    # utf8.DecodeRune returns (RuneError, 1) for any invalid sequence: one U+FFFD per byte, resume at
    # the next byte. Python's own "replace" folds a truncated sequence into one U+FFFD instead.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\ufffd", exc.start + 1


_UTF8_ERRORS = "gocompat-utf8-per-byte"
codecs.register_error(_UTF8_ERRORS, _replace_one_byte)


def go_utf8_decode(raw: bytes) -> str:
    """string(b) as decode.go's unquote leaves it: invalid UTF-8 -> U+FFFD per byte (b'\\xe2\\x82': two)."""
    return raw.decode("utf-8", _UTF8_ERRORS)


# ---- errors (scanner.go: (*scanner).error, quoteChar) ----

_SHORT_ESCAPES = {0x07: "\\a", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x0B: "\\v"}


def _quote_rune_latin1(c: int) -> str:
    # strconv.Quote(string(rune(c)))[1:-1] for c in 0..255 (strconv/quote.go appendEscapedRune).
    if c == 0x5C:
        return "\\\\"
    if c == 0x22:
        return '\\"'
    if c in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[c]
    if c < 0x20 or c == 0x7F:
        return f"\\x{c:02x}"
    # strconv.IsPrint on Latin-1: U+0080..U+00A0 and U+00AD (soft hyphen) are not printable.
    if 0x80 <= c <= 0xA0 or c == 0xAD:
        return f"\\u{c:04x}"
    return chr(c)


_QUOTE_CHAR = tuple(
    "'\\''" if c == 0x27 else "'\"'" if c == 0x22 else "'" + _quote_rune_latin1(c) + "'" for c in range(256)
)


def quote_char(c: int) -> str:
    """scanner.go quoteChar, a byte as errors show it: 0x27 -> "'\\''", 0xEF -> "'ï'", 0x0A -> "'\\n'"."""
    return _QUOTE_CHAR[c]


def syntax_error(c: int, context: str) -> GoError:
    """scanner.go (*scanner).error: (0x2C, "after array element") -> invalid character ',' after array ..."""
    return GoError("invalid character " + _QUOTE_CHAR[c] + " " + context)


def _eof(data: bytes) -> GoError:
    # stream.go readValue at EOF: io.ErrUnexpectedEOF if the buffer holds any non-space byte, else io.EOF.
    if data.strip(b" \t\r\n"):
        return GoError("unexpected EOF")
    return GoError("EOF")


# ---- string literals ----

_WS = re.compile(rb"[ \t\r\n]*")
_PLAIN = re.compile(rb'[^"\\\x00-\x1f]*')
_DIGITS = re.compile(rb"[0-9]*")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = frozenset(b'bfnrt\\/"')


_VALID_STRING = re.compile(rb'"(?:[^"\\\x00-\x1f]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"')


def _scan_string(data: bytes, i: int) -> int:
    """stateInString..stateInStringEscU123: check the literal at data[i] == '"'; b'"a"x' -> 3 (its end)."""
    m = _VALID_STRING.match(data, i)
    if m is not None:
        return m.end()  # a well-formed literal in one call; the loop below finds the failing byte
    n = len(data)
    pos = i + 1
    while True:
        e = _PLAIN.match(data, pos).end()  # type: ignore[union-attr]
        if e >= n:
            raise _eof(data)
        c = data[e]
        if c == 0x22:  # stateInString: closing quote
            return e + 1
        if c != 0x5C:  # stateInString: c < 0x20
            raise syntax_error(c, "in string literal")
        if e + 1 >= n:
            raise _eof(data)
        esc = data[e + 1]
        if esc in _SIMPLE_ESCAPES:  # stateInStringEsc
            pos = e + 2
            continue
        if esc != 0x75:  # 'u'
            raise syntax_error(esc, "in string escape code")
        for k in range(e + 2, e + 6):  # stateInStringEscU, U1, U12, U123
            if k >= n:
                raise _eof(data)
            if data[k] not in _HEX:
                raise syntax_error(data[k], "in \\u hexadecimal character escape")
        pos = e + 6


# Escapes, left to right: a valid surrogate pair, another surrogate escape (group 1), anything else.
# decode.go unquote turns a surrogate that is not the first half of a valid pair into U+FFFD;
# Python's json keeps it as a lone surrogate. Rewriting those escapes to \\ufffd first makes
# Python's string decoder (C) produce Go's string.
_SURROGATE_ESCAPES = re.compile(
    r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(u[dD][89a-fA-F][0-9a-fA-F]{2})|.)",
    re.DOTALL,
)
_HAS_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _lone_surrogate_to_fffd(m: re.Match[str]) -> str:
    # One escape: "\\ud800" -> "\\ufffd"; a pair "\\ud83d\\ude00" and "\\n" stay.
    return "\\ufffd" if m.group(1) is not None else m.group(0)


def go_surrogates(text: str) -> str:
    """JSON text with each surrogate escape that is not half of a valid pair made \\ufffd, as Go reads it."""
    if _HAS_SURROGATE_ESCAPE.search(text) is None:
        return text
    return _SURROGATE_ESCAPES.sub(_lone_surrogate_to_fffd, text)


_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]


def unquote(raw: bytes) -> str:
    """decode.go unquote on a scanned literal without its quotes; b'a\\\\u00e9\\\\ud800' -> 'a\\xe9\\ufffd'.

    Invalid UTF-8 becomes U+FFFD per byte; a \\u escape of a surrogate becomes U+FFFD unless it
    is a high surrogate immediately followed by a \\u escape of a low one (then the pair combines).
    Escapes are ASCII, so decoding the bytes first and the escapes second gives Go's result.
    """
    text = go_utf8_decode(raw)
    if "\\" not in text:
        return text
    # The literal passed the byte-exact scanner, so Python's C string decoder reads it as Go does.
    return _scanstring('"' + go_surrogates(text) + '"', 1, False)[0]  # type: ignore[no-any-return]


# ---- numbers and literals ----


def _scan_number(data: bytes, i: int, top: bool) -> int:
    """stateNeg, state1, state0, stateDot, stateDot0, stateE, stateESign, stateE0: b'-1.5e3,' -> 6 (its end).

    At EOF a top-level number that is complete ends there (readValue steps a space); anywhere else
    EOF inside or right after a number is "unexpected EOF".
    """
    n = len(data)
    j = i
    if data[j] == 0x2D:  # '-': stateNeg
        j += 1
        if j >= n:
            raise _eof(data)
        if not 0x30 <= data[j] <= 0x39:
            raise syntax_error(data[j], "in numeric literal")
    if data[j] == 0x30:  # state0
        j += 1
    else:  # state1
        j = _DIGITS.match(data, j + 1).end()  # type: ignore[union-attr]
    if j < n and data[j] == 0x2E:  # '.': stateDot
        j += 1
        if j >= n:
            raise _eof(data)
        if not 0x30 <= data[j] <= 0x39:
            raise syntax_error(data[j], "after decimal point in numeric literal")
        j = _DIGITS.match(data, j + 1).end()  # type: ignore[union-attr]  # stateDot0
    if j < n and data[j] in b"eE":  # stateE
        j += 1
        if j < n and data[j] in b"+-":  # stateESign
            j += 1
        if j >= n:
            raise _eof(data)
        if not 0x30 <= data[j] <= 0x39:
            raise syntax_error(data[j], "in exponent of numeric literal")
        j = _DIGITS.match(data, j + 1).end()  # type: ignore[union-attr]  # stateE0
    if j >= n and not top:
        raise _eof(data)
    return j


_OPENERS = {0x7B: 0x7D, 0x5B: 0x5D}  # '{' -> '}', '[' -> ']'
_LITERALS: dict[int, tuple[bytes, str, object]] = {
    0x74: (b"rue", "true", True),  # stateT, stateTr, stateTru
    0x66: (b"alse", "false", False),  # stateF, stateFa, stateFal, stateFals
    0x6E: (b"ull", "null", None),  # stateN, stateNu, stateNul
}


def _scan_literal(data: bytes, i: int) -> tuple[object, int]:
    """stateT..stateNul: true/false/null at data[i]; b'nulx' -> "... 'x' in literal null (expecting 'l')"."""
    rest, word, value = _LITERALS[data[i]]
    n = len(data)
    j = i + 1
    for want in rest:
        if j >= n:
            raise _eof(data)
        if data[j] != want:
            raise syntax_error(data[j], f"in literal {word} (expecting '{chr(want)}')")
        j += 1
    return value, j


# ---- the first value ----

_BEGIN_VALUE, _BEGIN_KEY, _END_VALUE = 0, 1, 2

# A run of simple array elements, each followed by a comma: `"str", 12, true, ` (no escapes).
# Consuming them with one regex call keeps a body of a million tiny tokens well under a second.
_RUN_ELEMENT = (
    rb'[ \t\r\n]*+(?:"[^"\\\x00-\x1f]*+"'
    rb"|-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][-+]?[0-9]++)?+|true|false|null)"
)
_ARRAY_RUN = re.compile(rb"(?:" + _RUN_ELEMENT + rb"[ \t\r\n]*+,)*+")
_RUN_TOKEN = re.compile(rb'"[^"]*"|[^ \t\r\n,]+')  # the elements of an _ARRAY_RUN match
_RUN_CONSTANTS: dict[bytes, object] = {b"true": True, b"false": False, b"null": None}


def _run_item(token: bytes) -> object:
    # One element of a run: b'"a"' -> "a", b"null" -> None, b"-1.5" -> JSONNumber("-1.5").
    c = token[0]
    if c == 0x22:
        return go_utf8_decode(token[1:-1])
    if c > 0x39:  # t, f, n
        return _RUN_CONSTANTS[token]
    return JSONNumber(token, "ascii")


def _run_items(chunk: bytes) -> list[object]:
    """The values of an _ARRAY_RUN match, in order: b' "a", 1,null,' -> ["a", JSONNumber("1"), None]."""
    return list(map(_run_item, _RUN_TOKEN.findall(chunk)))


def _read_value_go(data: bytes, build: bool = True) -> JSONValue:
    """The byte-exact reader: stream.go Decoder.readValue with scanner.go's states and errors.

    With build=False it only checks the syntax (raising Go's error) and returns no useful value:
    twice as fast, for bodies that are most likely wrong.
    """
    n = len(data)
    stack: list[list[object]] = []  # open containers, innermost last (scanner.go parseState)
    keys: list[str | None] = []  # the pending member key of each open object
    value: object = None
    i = 0
    state = _BEGIN_VALUE
    while True:
        if state == _BEGIN_VALUE:  # stateBeginValue
            if stack and type(stack[-1]) is list and i < n and data[i] not in _OPENERS:
                run_end = _ARRAY_RUN.match(data, i).end()  # type: ignore[union-attr]
                if run_end > i:
                    if build:
                        stack[-1].extend(_run_items(data[i:run_end]))
                    i = run_end
            if i < n and data[i] <= 0x20:  # (compact JSON: skip the call)
                i = _WS.match(data, i).end()  # type: ignore[union-attr]
            if i >= n:
                raise _eof(data)
            c = data[i]
            if c in _OPENERS:
                if len(stack) + 1 > MAX_NESTING_DEPTH:  # pushParseState
                    raise syntax_error(c, "exceeded max depth")
                container: list[object] = JSONObject() if c == 0x7B else []
                stack.append(container)
                keys.append(None)
                i += 1
                if i < n and data[i] <= 0x20:
                    i = _WS.match(data, i).end()  # type: ignore[union-attr]
                if i >= n:
                    raise _eof(data)
                if data[i] == _OPENERS[c]:  # stateBeginStringOrEmpty / stateBeginValueOrEmpty
                    value = stack.pop()
                    keys.pop()
                    i += 1
                    state = _END_VALUE
                else:
                    state = _BEGIN_KEY if c == 0x7B else _BEGIN_VALUE
                continue
            if c == 0x22:  # '"'
                end = _scan_string(data, i)
                if build:
                    value = unquote(data[i + 1 : end - 1])
                i = end
            elif c == 0x2D or 0x30 <= c <= 0x39:  # '-', digits
                end = _scan_number(data, i, not stack)
                if build:
                    value = JSONNumber(data[i:end].decode("ascii"))
                i = end
            elif c in _LITERALS:
                value, i = _scan_literal(data, i)
            else:
                raise syntax_error(c, "looking for beginning of value")
            state = _END_VALUE
        elif state == _BEGIN_KEY:  # stateBeginString, then stateEndValue in parseObjectKey
            if i < n and data[i] <= 0x20:  # (compact JSON: skip the call)
                i = _WS.match(data, i).end()  # type: ignore[union-attr]
            if i >= n:
                raise _eof(data)
            if data[i] != 0x22:
                raise syntax_error(data[i], "looking for beginning of object key string")
            end = _scan_string(data, i)
            if build:
                keys[-1] = unquote(data[i + 1 : end - 1])
            i = end
            if i < n and data[i] <= 0x20:
                i = _WS.match(data, i).end()  # type: ignore[union-attr]
            if i >= n:
                raise _eof(data)
            if data[i] != 0x3A:  # ':'
                raise syntax_error(data[i], "after object key")
            i += 1
            state = _BEGIN_VALUE
        else:  # stateEndValue: a value is complete
            if not stack:
                # Completed top-level value: readValue stops here, the rest is never scanned.
                return value
            top = stack[-1]
            is_object = type(top) is JSONObject
            if not build:
                pass
            elif is_object:
                top.append((keys[-1], value))
            else:
                top.append(value)
            if i < n and data[i] <= 0x20:  # (compact JSON: skip the call)
                i = _WS.match(data, i).end()  # type: ignore[union-attr]
            if i >= n:
                raise _eof(data)
            c = data[i]
            i += 1
            if is_object:  # parseObjectValue
                if c == 0x2C:  # ','
                    state = _BEGIN_KEY
                elif c == 0x7D:  # '}'
                    value = stack.pop()
                    keys.pop()
                else:
                    raise syntax_error(c, "after object key:value pair")
            elif c == 0x2C:  # parseArrayValue
                state = _BEGIN_VALUE
            elif c == 0x5D:  # ']'
                value = stack.pop()
                keys.pop()
            else:
                raise syntax_error(c, "after array element")


class _NotSure(Exception):
    """The stdlib reader cannot vouch for Go's reading of this body: use the byte-exact one."""


def _reject_constant(name: str) -> object:
    # json parse_constant hook: "NaN", "Infinity", "-Infinity" are Python's extension, syntax errors in Go.
    raise _NotSure(name)


_STDLIB = json.JSONDecoder(
    object_pairs_hook=JSONObject,
    parse_float=JSONNumber,
    parse_int=JSONNumber,
    parse_constant=_reject_constant,
)
_WS_STR = re.compile(r"[ \t\r\n]*")


def _read_value_stdlib(text: str, data: bytes) -> JSONValue:
    # readValue via json.JSONDecoder.raw_decode: '{"a":1} x' -> JSONObject([("a", JSONNumber("1"))]).
    # Python's json (C scanner) reads the same grammar as Go's scanner (NaN & co. are refused
    # above), so a value it reads is the value Go reads, once lone surrogate escapes read as Go
    # reads them (in valid JSON a backslash only occurs in strings, so the rewrite stays in sync).
    start = _WS_STR.match(text).end()  # type: ignore[union-attr]
    if b"\\u" in data:
        text = go_surrogates(text)
    value, end = _STDLIB.raw_decode(text, start)
    if type(value) is JSONNumber and end < len(text) and text[end] in ".eE":
        raise _NotSure("a top-level number Go reads on")  # "1." is unexpected EOF in Go, 1 here
    return value


def read_value(data: bytes, *, likely_invalid: bool = False) -> JSONValue:
    """stream.go Decoder.readValue + decode.go value(): the first JSON value of data, or GoError.

    b'{"a":1,"a":[true]} trailing' -> JSONObject([("a", JSONNumber("1")), ("a", [True])]).
    Errors: a syntax error (scanner.go text), "unexpected EOF", or "EOF" for an all-space body.
    Python's json module reads well-formed bodies (in C); anything it refuses or might read
    differently is read again by the byte-exact scanner (explicit stack: nesting up to 10000 needs
    no recursion), which also produces every error. likely_invalid (e.g. orjson refused the body)
    runs the byte-exact syntax check first, so that a wrong body costs one pass, not two.
    """
    if likely_invalid:
        _read_value_go(data, build=False)
    try:
        # Invalid UTF-8 becomes U+FFFD as in Go's strings; outside strings it is a syntax error
        # either way (and then the byte-exact reader names the byte).
        return _read_value_stdlib(go_utf8_decode(data), data)
    except json.JSONDecodeError:
        if not likely_invalid:
            _read_value_go(data, build=False)  # the body is most likely wrong: find Go's error fast
        return _read_value_go(data)
    except (RecursionError, _NotSure):
        return _read_value_go(data)
