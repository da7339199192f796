"""Go 1.19 `time.Parse` and go-openapi strfmt `ParseDateTime`, with Go's exact error texts.

The exact path is a port of go1.19 time/format.go (`nextStdChunk`, `parse`, `ParseError.Error`,
`quote`) working on the UTF-8 bytes of the value, as Go does. `DateTimeParser` adds strfmt's
ordered layout loop and a regex fast path for the common RFC 3339 shapes; the fast path only
ever accepts values that the exact path accepts with the same instant (tests hold both to that).

Deliberate departures from Go, all about the result type, never about acceptance or messages:
- Results are instants: `GoTime(unix, nsec)` (exact) or an aware UTC `datetime` (nanoseconds
  truncated to microseconds). Go's Location of the result (a FixedZone for offsets) is not kept.
- Zone handling is `ParseInLocation(layout, value, time.UTC)` (strfmt >= v0.21.5). A zone
  abbreviation (`MST`) other than UTC therefore reads the wall clock as UTC, as Go does there.
- Instants outside Python's datetime range (year 0, or past 9999 after an offset) are clamped to
  `datetime.min`/`datetime.max` (UTC) by `GoTime.to_datetime`; `GoTime` itself stays exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from proxy.gocompat.errors import GoError

__all__ = [
    "STRFMT_LAYOUTS_V0_21_7",
    "STRFMT_LAYOUTS_V0_21_8",
    "DateTimeParser",
    "GoTime",
    "Layout",
    "ParseError",
    "go_time_bytes",
    "next_std_chunk",
    "parse_in_utc",
    "quote",
]

# go1.19 time/format.go std codes, same values as Go's iota block.
STD_NEED_DATE = 1 << 8
STD_NEED_CLOCK = 2 << 8
STD_ARG_SHIFT = 16
STD_SEPARATOR_SHIFT = 28
STD_MASK = (1 << STD_ARG_SHIFT) - 1

STD_LONG_MONTH = 1 + STD_NEED_DATE  # "January"
STD_MONTH = 2 + STD_NEED_DATE  # "Jan"
STD_NUM_MONTH = 3 + STD_NEED_DATE  # "1"
STD_ZERO_MONTH = 4 + STD_NEED_DATE  # "01"
STD_LONG_WEEK_DAY = 5 + STD_NEED_DATE  # "Monday"
STD_WEEK_DAY = 6 + STD_NEED_DATE  # "Mon"
STD_DAY = 7 + STD_NEED_DATE  # "2"
STD_UNDER_DAY = 8 + STD_NEED_DATE  # "_2"
STD_ZERO_DAY = 9 + STD_NEED_DATE  # "02"
STD_UNDER_YEAR_DAY = 10 + STD_NEED_DATE  # "__2"
STD_ZERO_YEAR_DAY = 11 + STD_NEED_DATE  # "002"
STD_HOUR = 12 + STD_NEED_CLOCK  # "15"
STD_HOUR12 = 13 + STD_NEED_CLOCK  # "3"
STD_ZERO_HOUR12 = 14 + STD_NEED_CLOCK  # "03"
STD_MINUTE = 15 + STD_NEED_CLOCK  # "4"
STD_ZERO_MINUTE = 16 + STD_NEED_CLOCK  # "04"
STD_SECOND = 17 + STD_NEED_CLOCK  # "5"
STD_ZERO_SECOND = 18 + STD_NEED_CLOCK  # "05"
STD_LONG_YEAR = 19 + STD_NEED_DATE  # "2006"
STD_YEAR = 20 + STD_NEED_DATE  # "06"
STD_PM = 21 + STD_NEED_CLOCK  # "PM"
STD_pm = 22 + STD_NEED_CLOCK  # "pm"
STD_TZ = 23  # "MST"
STD_ISO8601_TZ = 24  # "Z0700"
STD_ISO8601_SECONDS_TZ = 25  # "Z070000"
STD_ISO8601_SHORT_TZ = 26  # "Z07"
STD_ISO8601_COLON_TZ = 27  # "Z07:00"
STD_ISO8601_COLON_SECONDS_TZ = 28  # "Z07:00:00"
STD_NUM_TZ = 29  # "-0700"
STD_NUM_SECONDS_TZ = 30  # "-070000"
STD_NUM_SHORT_TZ = 31  # "-07"
STD_NUM_COLON_TZ = 32  # "-07:00"
STD_NUM_COLON_SECONDS_TZ = 33  # "-07:00:00"
STD_FRAC_SECOND0 = 34  # ".0", ".00", ... trailing zeros included
STD_FRAC_SECOND9 = 35  # ".9", ".99", ... trailing zeros omitted

# std0x records the std values for "01", "02", ..., "06".
_STD0X = (STD_ZERO_MONTH, STD_ZERO_DAY, STD_ZERO_HOUR12, STD_ZERO_MINUTE, STD_ZERO_SECOND, STD_YEAR)

# Every chunk go1.19 knows; a layout chunk outside this set is refused by Layout().
SUPPORTED_STDS = frozenset(
    {
        STD_LONG_MONTH, STD_MONTH, STD_NUM_MONTH, STD_ZERO_MONTH, STD_LONG_WEEK_DAY, STD_WEEK_DAY,
        STD_DAY, STD_UNDER_DAY, STD_ZERO_DAY, STD_UNDER_YEAR_DAY, STD_ZERO_YEAR_DAY, STD_HOUR,
        STD_HOUR12, STD_ZERO_HOUR12, STD_MINUTE, STD_ZERO_MINUTE, STD_SECOND, STD_ZERO_SECOND,
        STD_LONG_YEAR, STD_YEAR, STD_PM, STD_pm, STD_TZ, STD_ISO8601_TZ, STD_ISO8601_SECONDS_TZ,
        STD_ISO8601_SHORT_TZ, STD_ISO8601_COLON_TZ, STD_ISO8601_COLON_SECONDS_TZ, STD_NUM_TZ,
        STD_NUM_SECONDS_TZ, STD_NUM_SHORT_TZ, STD_NUM_COLON_TZ, STD_NUM_COLON_SECONDS_TZ,
        STD_FRAC_SECOND0, STD_FRAC_SECOND9,
    }
)  # fmt: skip

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"

# strfmt time.go DateTimeFormats, v0.19.11 .. v0.21.7 (Debian's 0.21.2 has exactly this list).
STRFMT_LAYOUTS_V0_21_7: tuple[str, ...] = (
    "2006-01-02T15:04:05.000000Z07:00",
    "2006-01-02T15:04:05.000000Z0700",
    "2006-01-02T15:04:05.000Z07:00",
    "2006-01-02T15:04:05.000Z0700",
    RFC3339,
    RFC3339_NANO,
    "2006-01-02T15:04:05",
    "2006-01-02T15:04Z",
    "2006-01-02T15:04",
    "2006-01-02 15:04:05",
)
# strfmt >= v0.21.8 appends the date-only layout.
STRFMT_LAYOUTS_V0_21_8: tuple[str, ...] = (*STRFMT_LAYOUTS_V0_21_7, "2006-01-02")


def _starts_with_lower_case(s: bytes) -> bool:
    # time/format.go startsWithLowerCase: b"day" -> True (so "Monday" is not "Mon" + "day").
    return len(s) > 0 and 0x61 <= s[0] <= 0x7A


def _is_digit(s: bytes, i: int) -> bool:
    # time/format.go isDigit: (b"a1", 1) -> True.
    return len(s) > i and 0x30 <= s[i] <= 0x39


def _std_frac_second(code: int, n: int, c: int) -> int:
    # time/format.go stdFracSecond: (STD_FRAC_SECOND0, 3, ord(".")) -> code with 3 digits packed.
    if c == 0x2E:
        return code | ((n & 0xFFF) << STD_ARG_SHIFT)
    return code | ((n & 0xFFF) << STD_ARG_SHIFT) | 1 << STD_SEPARATOR_SHIFT


def _digits_len(std: int) -> int:
    # time/format.go digitsLen: the digit count packed by _std_frac_second.
    return (std >> STD_ARG_SHIFT) & 0xFFF


def next_std_chunk(layout: bytes) -> tuple[bytes, int, bytes]:
    # time/format.go nextStdChunk: b"2006-01-02" -> (b"", STD_LONG_YEAR, b"-01-02").
    n = len(layout)
    for i in range(n):
        c = layout[i]
        if c == 0x4A:  # 'J': January, Jan
            if layout[i : i + 3] == b"Jan":
                if layout[i : i + 7] == b"January":
                    return layout[:i], STD_LONG_MONTH, layout[i + 7 :]
                if not _starts_with_lower_case(layout[i + 3 :]):
                    return layout[:i], STD_MONTH, layout[i + 3 :]
        elif c == 0x4D:  # 'M': Monday, Mon, MST
            if n >= i + 3:
                if layout[i : i + 3] == b"Mon":
                    if layout[i : i + 6] == b"Monday":
                        return layout[:i], STD_LONG_WEEK_DAY, layout[i + 6 :]
                    if not _starts_with_lower_case(layout[i + 3 :]):
                        return layout[:i], STD_WEEK_DAY, layout[i + 3 :]
                if layout[i : i + 3] == b"MST":
                    return layout[:i], STD_TZ, layout[i + 3 :]
        elif c == 0x30:  # '0': 01, 02, 03, 04, 05, 06, 002
            if n >= i + 2 and 0x31 <= layout[i + 1] <= 0x36:
                return layout[:i], _STD0X[layout[i + 1] - 0x31], layout[i + 2 :]
            if n >= i + 3 and layout[i + 1] == 0x30 and layout[i + 2] == 0x32:
                return layout[:i], STD_ZERO_YEAR_DAY, layout[i + 3 :]
        elif c == 0x31:  # '1': 15, 1
            if n >= i + 2 and layout[i + 1] == 0x35:
                return layout[:i], STD_HOUR, layout[i + 2 :]
            return layout[:i], STD_NUM_MONTH, layout[i + 1 :]
        elif c == 0x32:  # '2': 2006, 2
            if layout[i : i + 4] == b"2006":
                return layout[:i], STD_LONG_YEAR, layout[i + 4 :]
            return layout[:i], STD_DAY, layout[i + 1 :]
        elif c == 0x5F:  # '_': _2, _2006, __2
            if n >= i + 2 and layout[i + 1] == 0x32:
                # _2006 is really a literal _, followed by stdLongYear
                if layout[i + 1 : i + 5] == b"2006":
                    return layout[: i + 1], STD_LONG_YEAR, layout[i + 5 :]
                return layout[:i], STD_UNDER_DAY, layout[i + 2 :]
            if n >= i + 3 and layout[i + 1] == 0x5F and layout[i + 2] == 0x32:
                return layout[:i], STD_UNDER_YEAR_DAY, layout[i + 3 :]
        elif c == 0x33:  # '3'
            return layout[:i], STD_HOUR12, layout[i + 1 :]
        elif c == 0x34:  # '4'
            return layout[:i], STD_MINUTE, layout[i + 1 :]
        elif c == 0x35:  # '5'
            return layout[:i], STD_SECOND, layout[i + 1 :]
        elif c == 0x50:  # 'P': PM
            if n >= i + 2 and layout[i + 1] == 0x4D:
                return layout[:i], STD_PM, layout[i + 2 :]
        elif c == 0x70:  # 'p': pm
            if n >= i + 2 and layout[i + 1] == 0x6D:
                return layout[:i], STD_pm, layout[i + 2 :]
        elif c == 0x2D:  # '-': -070000, -07:00:00, -0700, -07:00, -07
            if layout[i : i + 7] == b"-070000":
                return layout[:i], STD_NUM_SECONDS_TZ, layout[i + 7 :]
            if layout[i : i + 9] == b"-07:00:00":
                return layout[:i], STD_NUM_COLON_SECONDS_TZ, layout[i + 9 :]
            if layout[i : i + 5] == b"-0700":
                return layout[:i], STD_NUM_TZ, layout[i + 5 :]
            if layout[i : i + 6] == b"-07:00":
                return layout[:i], STD_NUM_COLON_TZ, layout[i + 6 :]
            if layout[i : i + 3] == b"-07":
                return layout[:i], STD_NUM_SHORT_TZ, layout[i + 3 :]
        elif c == 0x5A:  # 'Z': Z070000, Z07:00:00, Z0700, Z07:00, Z07
            if layout[i : i + 7] == b"Z070000":
                return layout[:i], STD_ISO8601_SECONDS_TZ, layout[i + 7 :]
            if layout[i : i + 9] == b"Z07:00:00":
                return layout[:i], STD_ISO8601_COLON_SECONDS_TZ, layout[i + 9 :]
            if layout[i : i + 5] == b"Z0700":
                return layout[:i], STD_ISO8601_TZ, layout[i + 5 :]
            if layout[i : i + 6] == b"Z07:00":
                return layout[:i], STD_ISO8601_COLON_TZ, layout[i + 6 :]
            if layout[i : i + 3] == b"Z07":
                return layout[:i], STD_ISO8601_SHORT_TZ, layout[i + 3 :]
        elif c in (0x2E, 0x2C) and i + 1 < n and layout[i + 1] in (0x30, 0x39):
            # ,000 or .000 or ,999 or .999: repeated digits for fractional seconds.
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            # String of digits must end here - only fractional second is all digits.
            if not _is_digit(layout, j):
                code = STD_FRAC_SECOND9 if ch == 0x39 else STD_FRAC_SECOND0
                return layout[:i], _std_frac_second(code, j - (i + 1), c), layout[j:]
    return layout, 0, b""


_LONG_DAY_NAMES = (b"Sunday", b"Monday", b"Tuesday", b"Wednesday", b"Thursday", b"Friday", b"Saturday")
_SHORT_DAY_NAMES = (b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat")
_SHORT_MONTH_NAMES = (
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
)  # fmt: skip
_LONG_MONTH_NAMES = (
    b"January", b"February", b"March", b"April", b"May", b"June", b"July", b"August", b"September",
    b"October", b"November", b"December",
)  # fmt: skip


def _match(s1: bytes, s2: bytes) -> bool:
    # time/format.go match: (b"jAN", b"Jan") -> True; ASCII letters compare case-insensitively.
    for b1, b2 in zip(s1, s2, strict=True):
        if b1 != b2:
            # Switch to lower-case; 'a'-'A' is known to be a single bit.
            c1 = b1 | 0x20
            if c1 != b2 | 0x20 or c1 < 0x61 or c1 > 0x7A:
                return False
    return True


def _lookup(tab: tuple[bytes, ...], val: bytes) -> tuple[int, bytes, bool]:
    # time/format.go lookup: (_SHORT_MONTH_NAMES, b"feb 2") -> (1, b" 2", ok); ok False is errBad.
    for i, v in enumerate(tab):
        if len(val) >= len(v) and _match(val[: len(v)], v):
            return i, val[len(v) :], True
    return -1, val, False


_MAX_UINT64_DIV10 = (1 << 63) // 10


def _leading_int(s: bytes) -> tuple[int, bytes, bool]:
    # time/format.go leadingInt: b"12ab" -> (12, b"ab", ok); ok False on overflow past 1<<63.
    x = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c < 0x30 or c > 0x39:
            break
        if x > _MAX_UINT64_DIV10:
            return 0, b"", False
        x = x * 10 + c - 0x30
        if x > 1 << 63:
            return 0, b"", False
        i += 1
    return x, s[i:], True


def _atoi(s: bytes) -> int | None:
    # time/format.go atoi: b"-12" -> -12; None is Go's atoiError (sign allowed, rest must be digits).
    neg = False
    if s and s[0] in (0x2D, 0x2B):
        neg = s[0] == 0x2D
        s = s[1:]
    q, rem, ok = _leading_int(s)
    if not ok or rem:
        return None
    # Go converts the uint64 to int: values >= 1<<63 wrap negative.
    x = q - (1 << 64) if q >= 1 << 63 else q
    return -x if neg else x


def _getnum(s: bytes, fixed: bool) -> tuple[int, bytes, bool]:
    # time/format.go getnum: (b"7:", False) -> (7, b":", ok); fixed demands two digits.
    if not _is_digit(s, 0):
        return 0, s, False
    if not _is_digit(s, 1):
        if fixed:
            return 0, s, False
        return s[0] - 0x30, s[1:], True
    return (s[0] - 0x30) * 10 + (s[1] - 0x30), s[2:], True


def _getnum3(s: bytes, fixed: bool) -> tuple[int, bytes, bool]:
    # time/format.go getnum3: (b"045x", True) -> (45, b"x", ok); fixed demands three digits.
    n = 0
    i = 0
    while i < 3 and _is_digit(s, i):
        n = n * 10 + s[i] - 0x30
        i += 1
    if i == 0 or (fixed and i != 3):
        return 0, s, False
    return n, s[i:], True


def _cutspace(s: bytes) -> bytes:
    # time/format.go cutspace: b"  x" -> b"x".
    return s.lstrip(b" ")


def _skip(value: bytes, prefix: bytes) -> tuple[bytes, bool]:
    # time/format.go skip: (b"  -01", b" -") -> (b"01", ok); a run of spaces matches a run of spaces.
    while prefix:
        if prefix[0] == 0x20:
            if value and value[0] != 0x20:
                return value, False
            prefix = _cutspace(prefix)
            value = _cutspace(value)
            continue
        if not value or value[0] != prefix[0]:
            return value, False
        prefix = prefix[1:]
        value = value[1:]
    return value, True


def _comma_or_period(b: int) -> bool:
    # time/format.go commaOrPeriod.
    return b in (0x2E, 0x2C)


def _parse_nanoseconds(value: bytes, nbytes: int) -> tuple[int, str, bool]:
    # time/format.go parseNanoseconds: (b".5Z", 2) -> (500000000, "", ok).
    if not _comma_or_period(value[0]):
        return 0, "", False
    if nbytes > 10:
        value = value[:10]
        nbytes = 10
    ns = _atoi(value[1:nbytes])
    if ns is None:
        return 0, "", False
    if ns < 0:
        return ns, "fractional second", True
    return ns * 10 ** (10 - nbytes), "", True


def _parse_signed_offset(value: bytes) -> int:
    # time/format.go parseSignedOffset: b"+03x" -> 3 (length); 0 when not a -23..+23 offset.
    if value[0] not in (0x2D, 0x2B):
        return 0
    x, rem, ok = _leading_int(value[1:])
    if not ok or value[1:] == rem:
        return 0
    if x > 23:
        return 0
    return len(value) - len(rem)


def _parse_gmt(value: bytes) -> int:
    # time/format.go parseGMT: b"GMT+3 x" -> 5.
    value = value[3:]
    if not value:
        return 3
    return 3 + _parse_signed_offset(value)


def _parse_time_zone(value: bytes) -> tuple[int, bool]:
    # time/format.go parseTimeZone: b"PDT 2006" -> (3, True).
    if len(value) < 3:
        return 0, False
    # Special case 1: ChST and MeST are the only zones with a lower-case letter.
    if value[:4] in (b"ChST", b"MeST"):
        return 4, True
    # Special case 2: GMT may have an hour offset; treat it specially.
    if value[:3] == b"GMT":
        return _parse_gmt(value), True
    # Special Case 3: Some time zones are not named, but have +/-00 format
    if value[0] in (0x2B, 0x2D):
        length = _parse_signed_offset(value)
        return length, length > 0
    n_upper = 0
    while n_upper < 6:
        if n_upper >= len(value):
            break
        c = value[n_upper]
        if c < 0x41 or c > 0x5A:
            break
        n_upper += 1
    if n_upper == 5:  # Must end in T to match.
        if value[4] == 0x54:
            return 5, True
    elif n_upper == 4:  # Must end in T, except one special case.
        if value[3] == 0x54 or value[:4] == b"WITA":
            return 4, True
    elif n_upper == 3:
        return 3, True
    return 0, False


def _is_leap(year: int) -> bool:
    # time/time.go isLeap.
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# time/time.go daysBefore[m]: days in the year before month m+1 (non-leap).
_DAYS_BEFORE = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365)


def _days_in(month: int, year: int) -> int:
    # time/time.go daysIn: (2, 2024) -> 29.
    if month == 2 and _is_leap(year):
        return 29
    return _DAYS_BEFORE[month] - _DAYS_BEFORE[month - 1]


def _days_since_epoch(year: int, month: int, day: int) -> int:
    # Proleptic Gregorian day count from 1970-01-01 (what time.Date computes), valid for year 0 too.
    y = year - 1
    days = 365 * y + y // 4 - y // 100 + y // 400 + _DAYS_BEFORE[month - 1] + day - 1
    if month > 2 and _is_leap(year):
        days += 1
    return days - 719162  # days from 0001-01-01 to 1970-01-01


_LOWERHEX = b"0123456789abcdef"


def quote(s: bytes) -> str:
    # time/format.go quote: b'caf\xc3\xa9"' -> '"caf\\xc3\\xa9\\""'.
    # Go walks runes, but every byte of a non-ASCII rune (valid or not) and every control byte is
    # written as \xNN, so a byte walk gives identical output. DEL (0x7f) is kept raw, as in Go.
    out = ['"']
    for b in s:
        if b >= 0x80 or b < 0x20:
            out.append(f"\\x{b:02x}")
        elif b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        else:
            out.append(chr(b))
    out.append('"')
    return "".join(out)


class ParseError:
    """time/format.go ParseError (a value, not raised: the exact loop keeps only the last one).

    Go's field `Message` is called `msg` here, because GoError already has `.message` (the full text).
    """

    __slots__ = ("layout", "layout_elem", "msg", "value", "value_elem")

    def __init__(self, layout: bytes, value: bytes, layout_elem: bytes, value_elem: bytes, msg: str) -> None:
        self.layout = layout
        self.value = value
        self.layout_elem = layout_elem
        self.value_elem = value_elem
        self.msg = msg

    def error(self) -> str:
        # time/format.go (*ParseError).Error: 'parsing time "x" as "2006": cannot parse "x" as "2006"'.
        if self.msg == "":
            return (
                "parsing time " + quote(self.value) + " as " + quote(self.layout) + ": cannot parse "
                + quote(self.value_elem) + " as " + quote(self.layout_elem)
            )  # fmt: skip
        return "parsing time " + quote(self.value) + self.msg


class GoTime(NamedTuple):
    """An instant as Go's Time holds it: Unix seconds plus nanoseconds in [0, 1e9)."""

    unix: int
    nsec: int

    def to_datetime(self) -> datetime:
        # Aware UTC datetime, nanoseconds truncated to microseconds; clamped outside years 1..9999.
        try:
            return _EPOCH + timedelta(seconds=self.unix, microseconds=self.nsec // 1000)
        except OverflowError:
            return _DT_MIN if self.unix < 0 else _DT_MAX


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DT_MIN = datetime.min.replace(tzinfo=UTC)
_DT_MAX = datetime.max.replace(tzinfo=UTC)


class Layout:
    """A layout split once into Go's std chunks: [(prefix, std, stdstr, next std)] plus trailing text."""

    __slots__ = ("chunks", "layout", "text")

    def __init__(self, layout: str) -> None:
        raw = layout.encode("utf-8")
        self.text = layout
        self.layout = raw
        chunks: list[tuple[bytes, int, bytes, int]] = []
        rest = raw
        while True:
            prefix, std, suffix = next_std_chunk(rest)
            stdstr = rest[len(prefix) : len(rest) - len(suffix)]
            if std != 0 and std & STD_MASK not in SUPPORTED_STDS:
                raise ValueError(f"unsupported time layout chunk {stdstr!r} in {layout!r}")
            chunks.append((prefix, std, stdstr, 0))
            if std == 0:
                break
            rest = suffix
        # The stdSecond special case peeks at the next chunk's std (Go re-runs nextStdChunk).
        for i in range(len(chunks) - 1):
            p, s, ss, _ = chunks[i]
            chunks[i] = (p, s, ss, chunks[i + 1][1] & STD_MASK)
        self.chunks = tuple(chunks)


def _parse(lay: Layout, value: bytes) -> GoTime | ParseError:
    # time/format.go parse(layout, value, UTC, UTC), i.e. ParseInLocation(layout, value, time.UTC):
    # (Layout("2006-01-02"), b"2024-02-30") -> ParseError(": day out of range").
    alayout, avalue = lay.layout, value
    range_err = ""  # set if a value is out of range
    am_set = False  # do we need to subtract 12 from the hour for midnight?
    pm_set = False  # do we need to add 12 to the hour?

    year = 0
    month = -1
    day = -1
    yday = -1
    hour = 0
    minute = 0
    sec = 0
    nsec = 0
    z_utc = False  # Go's z != nil (z is only ever UTC)
    zone_offset = -1

    for prefix, std, stdstr, next_std in lay.chunks:
        value, ok = _skip(value, prefix)
        if not ok:
            return ParseError(alayout, avalue, prefix, value, "")
        if std == 0:
            if value:
                return ParseError(alayout, avalue, b"", value, ": extra text: " + quote(value))
            break
        ok = True
        code = std & STD_MASK
        if code == STD_YEAR:
            if len(value) < 2:
                ok = False
            else:
                hold = value
                p, value = value[:2], value[2:]
                y = _atoi(p)
                if y is None:
                    ok = False
                    value = hold
                elif y >= 69:  # Unix time starts Dec 31 1969 in some time zones
                    year = y + 1900
                else:
                    year = y + 2000
        elif code == STD_LONG_YEAR:
            if len(value) < 4 or not _is_digit(value, 0):
                ok = False
            else:
                # Go advances value before atoi, so a failure reports the text after 4 bytes.
                p, value = value[:4], value[4:]
                y = _atoi(p)
                if y is None:
                    ok = False
                    year = 0
                else:
                    year = y
        elif code == STD_MONTH:
            month, value, ok = _lookup(_SHORT_MONTH_NAMES, value)
            month += 1
        elif code == STD_LONG_MONTH:
            month, value, ok = _lookup(_LONG_MONTH_NAMES, value)
            month += 1
        elif code in (STD_NUM_MONTH, STD_ZERO_MONTH):
            month, value, ok = _getnum(value, code == STD_ZERO_MONTH)
            if ok and (month <= 0 or month > 12):
                range_err = "month"
        elif code == STD_WEEK_DAY:
            # Ignore weekday except for error checking.
            _, value, ok = _lookup(_SHORT_DAY_NAMES, value)
        elif code == STD_LONG_WEEK_DAY:
            _, value, ok = _lookup(_LONG_DAY_NAMES, value)
        elif code in (STD_DAY, STD_UNDER_DAY, STD_ZERO_DAY):
            if code == STD_UNDER_DAY and value and value[0] == 0x20:
                value = value[1:]
            # Any one- or two-digit day; the combination is validated after the whole layout.
            day, value, ok = _getnum(value, code == STD_ZERO_DAY)
        elif code in (STD_UNDER_YEAR_DAY, STD_ZERO_YEAR_DAY):
            for _ in range(2):
                if code == STD_UNDER_YEAR_DAY and value and value[0] == 0x20:
                    value = value[1:]
            yday, value, ok = _getnum3(value, code == STD_ZERO_YEAR_DAY)
        elif code == STD_HOUR:
            hour, value, ok = _getnum(value, False)
            if hour < 0 or hour >= 24:
                range_err = "hour"
        elif code in (STD_HOUR12, STD_ZERO_HOUR12):
            hour, value, ok = _getnum(value, code == STD_ZERO_HOUR12)
            if hour < 0 or hour > 12:
                range_err = "hour"
        elif code in (STD_MINUTE, STD_ZERO_MINUTE):
            minute, value, ok = _getnum(value, code == STD_ZERO_MINUTE)
            if minute < 0 or minute >= 60:
                range_err = "minute"
        elif code in (STD_SECOND, STD_ZERO_SECOND):
            sec, value, ok = _getnum(value, code == STD_ZERO_SECOND)
            if sec < 0 or sec >= 60:
                range_err = "second"
            # Special case: a fractional second in the value but not in the layout. Go tests this
            # even when getnum failed, and then overwrites its error (so "T10:00:.5Z" parses).
            elif (
                len(value) >= 2
                and _comma_or_period(value[0])
                and _is_digit(value, 1)
                and next_std not in (STD_FRAC_SECOND0, STD_FRAC_SECOND9)
            ):
                n = 2
                while n < len(value) and _is_digit(value, n):
                    n += 1
                nsec, range_err, ok = _parse_nanoseconds(value, n)
                value = value[n:]
        elif code == STD_PM:
            if len(value) < 2:
                ok = False
            else:
                p, value = value[:2], value[2:]
                if p == b"PM":
                    pm_set = True
                elif p == b"AM":
                    am_set = True
                else:
                    ok = False
        elif code == STD_pm:
            if len(value) < 2:
                ok = False
            else:
                p, value = value[:2], value[2:]
                if p == b"pm":
                    pm_set = True
                elif p == b"am":
                    am_set = True
                else:
                    ok = False
        elif STD_ISO8601_TZ <= code <= STD_NUM_COLON_SECONDS_TZ:
            if (
                code in (STD_ISO8601_TZ, STD_ISO8601_SHORT_TZ, STD_ISO8601_COLON_TZ)
                and value
                and value[0] == 0x5A
            ):
                value = value[1:]
                z_utc = True
            else:
                tz = _parse_numeric_zone(code, value)
                if tz is None:
                    ok = False
                else:
                    zone_offset, value, ok = tz
        elif code == STD_TZ:
            # Does it look like a time zone?
            if value[:3] == b"UTC":
                z_utc = True
                value = value[3:]
            else:
                # Go keeps the zone name, but ParseInLocation(UTC) knows no abbreviations: the
                # wall clock then reads as UTC whatever the name, so only its length matters here.
                n, ok = _parse_time_zone(value)
                if ok:
                    value = value[n:]
        elif code == STD_FRAC_SECOND0:
            # stdFracSecond0 requires the exact number of digits as specified in the layout.
            ndigit = 1 + _digits_len(std)
            if len(value) < ndigit:
                ok = False
            else:
                nsec, range_err, ok = _parse_nanoseconds(value, ndigit)
                value = value[ndigit:]
        elif (
            code == STD_FRAC_SECOND9
            and len(value) >= 2
            and _comma_or_period(value[0])
            and 0x30 <= value[1] <= 0x39
        ):
            # Fraction present (else omitted, no error). Take up to 9 digits, as stdSecond would.
            i = 0
            while i < 9 and i + 1 < len(value) and 0x30 <= value[i + 1] <= 0x39:
                i += 1
            nsec, range_err, ok = _parse_nanoseconds(value, 1 + i)
            value = value[1 + i :]
        if range_err:
            return ParseError(alayout, avalue, stdstr, value, ": " + range_err + " out of range")
        if not ok:
            return ParseError(alayout, avalue, stdstr, value, "")

    if pm_set and hour < 12:
        hour += 12
    elif am_set and hour == 12:
        hour = 0

    # Convert yday to day, month.
    if yday >= 0:
        d = 0
        m = 0
        if _is_leap(year):
            if yday == 31 + 29:
                m = 2
                d = 29
            elif yday > 31 + 29:
                yday -= 1
        if yday < 1 or yday > 365:
            return ParseError(alayout, avalue, b"", value, ": day-of-year out of range")
        if m == 0:
            m = (yday - 1) // 31 + 1
            if _DAYS_BEFORE[m] < yday:
                m += 1
            d = yday - _DAYS_BEFORE[m - 1]
        # If month, day already seen, yday's m, d must match.
        if month >= 0 and month != m:
            return ParseError(alayout, avalue, b"", value, ": day-of-year does not match month")
        month = m
        if day >= 0 and day != d:
            return ParseError(alayout, avalue, b"", value, ": day-of-year does not match day")
        day = d
    else:
        if month < 0:
            month = 1
        if day < 0:
            day = 1

    # Validate the day of the month.
    if day < 1 or day > _days_in(month, year):
        return ParseError(alayout, avalue, b"", value, ": day out of range")

    # All fields are in range here, so time.Date needs no normalisation.
    unix = _days_since_epoch(year, month, day) * 86400 + hour * 3600 + minute * 60 + sec
    # Go: z (UTC) first; then zoneOffset unless it is the -1 sentinel (so an offset of exactly
    # -1 s reads as UTC wall clock, a Go quirk); a zone name (offset unknown in UTC) reads as UTC.
    if not z_utc and zone_offset != -1:
        unix -= zone_offset
    return GoTime(unix, nsec)


def _parse_numeric_zone(code: int, value: bytes) -> tuple[int, bytes, bool] | None:
    # The numeric-offset arm of time/format.go parse: (STD_NUM_COLON_TZ, b"+05:30") -> (19800, b"", ok).
    # None is errBad before any slicing; ok False is errBad after (value then already advanced).
    if code in (STD_ISO8601_COLON_TZ, STD_NUM_COLON_TZ):
        if len(value) < 6 or value[3] != 0x3A:
            return None
        sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], b"00", value[6:]
    elif code in (STD_NUM_SHORT_TZ, STD_ISO8601_SHORT_TZ):
        if len(value) < 3:
            return None
        sign, hh, mm, ss, value = value[0], value[1:3], b"00", b"00", value[3:]
    elif code in (STD_ISO8601_COLON_SECONDS_TZ, STD_NUM_COLON_SECONDS_TZ):
        if len(value) < 9 or value[3] != 0x3A or value[6] != 0x3A:
            return None
        sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], value[7:9], value[9:]
    elif code in (STD_ISO8601_SECONDS_TZ, STD_NUM_SECONDS_TZ):
        if len(value) < 7:
            return None
        sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], value[5:7], value[7:]
    else:
        if len(value) < 5:
            return None
        sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], b"00", value[5:]
    hr = _atoi(hh)
    mi = _atoi(mm) if hr is not None else None
    se = _atoi(ss) if mi is not None else None
    ok = se is not None
    # Go computes the offset from whatever parsed (zeros after an error); it only matters when ok.
    offset = (((hr or 0) * 60 + (mi or 0)) * 60 + (se or 0)) if ok else 0
    if sign == 0x2B:
        pass
    elif sign == 0x2D:
        offset = -offset
    else:
        ok = False
    return offset, value, ok


def go_time_bytes(value: str) -> bytes:
    """The Go string a JSON-decoded Python str stands for: UTF-8, any lone surrogate as U+FFFD."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        # Valid surrogate pairs combine; lone surrogates become U+FFFD (what Go's decoder made).
        fixed = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        return fixed.encode("utf-8")


def parse_in_utc(layout: Layout | str, value: bytes | str) -> GoTime:
    # time.ParseInLocation(layout, value, time.UTC): ("2006-01-02", "2024-05-01") -> GoTime(1714521600, 0).
    lay = layout if isinstance(layout, Layout) else Layout(layout)
    raw = value if isinstance(value, bytes) else go_time_bytes(value)
    res = _parse(lay, raw)
    if isinstance(res, ParseError):
        raise GoError(res.error())
    return res


# Layouts whose fields all sit at the same places (date, then T or space, hh:mm[:ss[.f]], zone), so
# that any of them accepting a value gives the same instant. The fast path is used only when every
# configured layout is one of these, and each fast shape only when the layout that accepts it is there.
_FAST_SAFE_LAYOUTS = frozenset(STRFMT_LAYOUTS_V0_21_8)

# Fast shapes, all ASCII (a match on the str is a match on its UTF-8 bytes). Ranges are stricter than
# Go's (Go reads any two digits as an offset): the rest is left to the exact path.
_F_DATE = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_F_HM = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_F_HMS = _F_HM + r":[0-5][0-9]"
_F_FRAC = r"(?:\.[0-9]+)?"
_F_OFFSET_HOUR = r"[+-](?:[01][0-9]|2[0-3])"
# (required layout, tail after the date), most common first: the alternation is tried in order.
_FAST_TAILS: tuple[tuple[str, str], ...] = (
    (RFC3339, "T" + _F_HMS + _F_FRAC + "(?:Z|" + _F_OFFSET_HOUR + ":[0-5][0-9])"),
    ("2006-01-02", ""),
    ("2006-01-02T15:04:05", "T" + _F_HMS + _F_FRAC),
    ("2006-01-02 15:04:05", " " + _F_HMS + _F_FRAC),
    ("2006-01-02T15:04Z", "T" + _F_HM + "Z"),
    ("2006-01-02T15:04", "T" + _F_HM),
    # ±hhmm only after exactly 3 or 6 fraction digits (the .000Z0700 and .000000Z0700 layouts).
    ("2006-01-02T15:04:05.000Z0700", "T" + _F_HMS + r"\.[0-9]{3}" + _F_OFFSET_HOUR + "[0-5][0-9]"),
    ("2006-01-02T15:04:05.000000Z0700", "T" + _F_HMS + r"\.[0-9]{6}" + _F_OFFSET_HOUR + "[0-5][0-9]"),
)

_fromisoformat = datetime.fromisoformat


_SEEN_MAX = 1024
# Longer values are parsed each time: a bad value's message quotes it twice, so a cache bounded only by
# count would let a client park 1024 values of up to a body's size. Every layout's dates are far shorter.
_SEEN_VALUE_MAX = 64


class DateTimeParser:
    """strfmt ParseDateTime over an ordered layout list (time.go, >= v0.21.5: ParseInLocation UTC)."""

    __slots__ = ("_fast_re", "_layouts", "_seen", "layouts")

    def __init__(self, layouts: Sequence[str]) -> None:
        if isinstance(layouts, str) or not layouts:
            raise ValueError("DateTimeParser needs a non-empty sequence of layouts")
        self.layouts: tuple[str, ...] = tuple(layouts)
        self._layouts = tuple(Layout(x) for x in self.layouts)
        # Results of the slow path by value. A bad date is parsed by the fast and then the exact JSON
        # path of the same request, and clients repeat the same bad values: each try of every layout is
        # paid once. Bounded, cleared whole when full; messages are kept, not exceptions (an exception
        # carries its traceback and every frame's locals).
        self._seen: dict[bytes, GoTime | str] = {}
        present = set(self.layouts)
        tails = [tail for need, tail in _FAST_TAILS if need in present]
        self._fast_re: re.Pattern[str] | None = None
        if present <= _FAST_SAFE_LAYOUTS and tails:
            self._fast_re = re.compile(_F_DATE + "(?:" + "|".join(tails) + ")")

    @property
    def fast_enabled(self) -> bool:
        return self._fast_re is not None

    def parse(self, value: str) -> datetime:
        # strfmt ParseDateTime: "2030-05-01T17:00:00.000Z" -> 2030-05-01 17:00:00+00:00; raises GoError.
        if self._fast_re is not None and self._fast_re.fullmatch(value) is not None:
            dt = _fast_convert(value)
            if dt is not None:
                return dt
        return self.parse_go_time(value).to_datetime()

    def parse_go_time(self, value: str | bytes) -> GoTime:
        # strfmt ParseDateTime on the exact path only: "" -> GoTime(0, 0); the last layout's error.
        if value in ("", b""):
            return GoTime(0, 0)  # NewDateTime(): the Unix epoch, no error
        raw = value if isinstance(value, bytes) else go_time_bytes(value)
        known = self._seen.get(raw)
        if known is None:
            known = self._parse_layouts(raw)
            if len(raw) <= _SEEN_VALUE_MAX:
                if len(self._seen) >= _SEEN_MAX:
                    self._seen.clear()
                self._seen[raw] = known
        if isinstance(known, str):
            raise GoError(known)
        return known

    def _parse_layouts(self, raw: bytes) -> GoTime | str:
        err: ParseError | None = None
        for lay in self._layouts:
            res = _parse(lay, raw)
            if isinstance(res, GoTime):
                return res
            err = res
        assert err is not None
        return err.error()

    def fast_path(self, value: str) -> datetime | None:
        """The fast path alone (for tests): a datetime, or None where it defers to the exact path."""
        if self._fast_re is None or self._fast_re.fullmatch(value) is None:
            return None
        return _fast_convert(value)


def _fast_convert(value: str) -> datetime | None:
    # Convert a value that matched a fast shape. fromisoformat reads those shapes field by field as
    # Go does (fraction truncated); it still checks the day of the month, and refuses year 0.
    try:
        dt = _fromisoformat(value)
    except ValueError:
        return None  # e.g. Feb 30 or year 0: the exact path has the error or the clamped instant
    tz = dt.tzinfo
    if tz is None:
        # Naive shapes are UTC; re-parsing with an explicit zone is faster than dt.replace(tzinfo=UTC).
        return _fromisoformat(value + ("T00:00+00:00" if len(value) == 10 else "+00:00"))
    if tz is UTC:
        return dt
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        return None
