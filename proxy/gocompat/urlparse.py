"""Go 1.19 net/url as Clever's server applies it: path unescaping and `URL.Query()` (ParseQuery).

The raw path and raw query are given as Python str; their bytes are the str's UTF-8 with the
`surrogateescape` convention (what a server hands out for non-UTF-8 bytes on the wire). Decoded
values come back the same way: a str whose U+DC80..U+DCFF stand for raw bytes that are not UTF-8,
so that `proxy.gocompat.strconv` quotes them as Go does (`\\xff`).

Go 1.17 and later drop a `;`-containing pair from ParseQuery (and the server logs it); Go before
1.17 split on `;` too. `has_semicolon` lets the caller treat such queries as uncertain.
"""

from __future__ import annotations

import re

from proxy.gocompat.strconv import go_quote, go_string_bytes

__all__ = [
    "has_semicolon",
    "parse_query",
    "path_unescape",
    "query_first",
    "query_unescape",
    "unescape",
]


def _escape_error(s: bytes) -> str:
    # net/url/url.go EscapeError.Error: b"%zz" -> 'invalid URL escape "%zz"' (Quote of the bytes).
    return "invalid URL escape " + go_quote(s)


# A '%' not followed by two hex digits. Go's scan skips the two digits of each good escape, and they
# are never '%', so the leftmost match is the escape Go reports.
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def unescape(s: bytes, query_component: bool) -> bytes | str:
    # net/url/url.go unescape for modes encodePath/encodePathSegment (False) and
    # encodeQueryComponent (True): (b"a%2Fb+c", True) -> b"a/b c"; a str result is Go's error text.
    # The host and zone modes are not needed (the server never unescapes a host for routing).
    if b"%" not in s:
        return s.replace(b"+", b" ") if query_component else s
    bad = _BAD_ESCAPE.search(s)
    if bad is not None:
        return _escape_error(s[bad.start() : bad.start() + 3])
    parts = s.split(b"%")
    if query_component:  # only a literal '+' is a space, never a decoded %2B
        parts = [p.replace(b"+", b" ") for p in parts]
    out = [parts[0]]
    for p in parts[1:]:
        out.append(bytes((int(p[:2], 16),)))
        out.append(p[2:])
    return b"".join(out)


def path_unescape(raw_path: str) -> bytes | None:
    # net/url/url.go unescape(s, encodePath), as url.setPath runs it on a request's path:
    # "/sections/a%2Fb+c" -> b"/sections/a/b+c"; "/a%zz" -> None (Go's server then answers 400).
    res = unescape(go_string_bytes(raw_path), False)
    return None if isinstance(res, str) else res


def query_unescape(s: bytes) -> bytes | None:
    # net/url/url.go QueryUnescape: b"a+b%21" -> b"a b!"; None on a bad escape.
    res = unescape(s, True)
    return None if isinstance(res, str) else res


def parse_query(raw_query: str) -> tuple[dict[bytes, list[bytes]], str | None]:
    # net/url/url.go ParseQuery: "a=1&a=2&b;c=3&d=%zz" ->
    # ({b"a": [b"1", b"2"]}, "invalid semicolon separator in query"); the error is Go's first one.
    m: dict[bytes, list[bytes]] = {}
    err: str | None = None
    query = go_string_bytes(raw_query)
    while query:
        key, _, query = query.partition(b"&")
        if b";" in key:
            err = "invalid semicolon separator in query"  # Go overwrites here, not "if err == nil"
            continue
        if not key:
            continue
        key, _, value = key.partition(b"=")
        k = unescape(key, True)
        if isinstance(k, str):
            err = err or k
            continue
        v = unescape(value, True)
        if isinstance(v, str):
            err = err or v
            continue
        m.setdefault(k, []).append(v)
    return m, err


def query_first(raw_query: str, key: str) -> str | None:
    # r.URL.Query()[key][0] in Go 1.19: ("limit=5&limit=7", "limit") -> "5"; ("x=1", "limit") -> None.
    # A present but empty value is "" (wag then runs strconv.ParseInt("") and fails).
    if not raw_query:
        return None
    values = parse_query(raw_query)[0].get(go_string_bytes(key))
    if not values:
        return None
    return values[0].decode("utf-8", "surrogateescape")


def has_semicolon(raw_query: str) -> bool:
    """True when the raw query holds ';': Go < 1.17 split pairs on it, Go >= 1.17 drops the pair."""
    return ";" in raw_query
