"""Go 1.19 `json.NewDecoder(body).Decode(&model)` into go-swagger models, with Go's exact error text.

Two paths give the same verdict:

- `decode_exact` mirrors decode.go: json_scan.read_value reads the first value (syntax errors win
  over everything), then the typed walk below follows decode.go `value`/`object`/`array`/
  `literalStore`: keys fold case-insensitively (fold.go), every occurrence of a duplicate key is
  decoded, only the first UnmarshalTypeError is kept (saveError) and decoding goes on, while an
  error returned by strfmt.DateTime.UnmarshalJSON aborts at once.
- `decode_fast` parses with orjson and walks the Python objects; it answers only for bodies where
  nothing orjson hides could matter (no duplicate keys, no folded keys, no type or date error, no
  number whose conversion needs the literal), and returns None otherwise.

Go state is modelled, not just the result: slices keep Go's backing array (a later duplicate key
decodes into the old elements: `["a","b"]` then `[null,null]` leaves `["a","b"]`), and struct
pointers in slices are reused (a later duplicate merges into the earlier element).

`DecodeResult.values` holds the decoded fields when `error` is None; on error it is Go's partial
state, best effort and not meant to be used.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from math import copysign
from types import MappingProxyType
from typing import Literal

import orjson

from proxy.gocompat.errors import GoError
from proxy.gocompat.gotypes import GoField, GoStruct, GoType
from proxy.gocompat.json_scan import JSONNumber, JSONObject, read_value

__all__ = [
    "DecodeResult",
    "GoDateTime",
    "decode",
    "decode_exact",
    "decode_fast",
    "go_parse_float32",
    "go_parse_int64",
]

ParseDateTime = Callable[[str], datetime]


@dataclass(frozen=True, slots=True)
class GoDateTime:
    """A decoded strfmt.DateTime: the JSON string it came from ("" is `""`: the epoch) and the instant."""

    text: str
    when: datetime


@dataclass(slots=True)
class DecodeResult:
    error: str | None  # Go's err.Error(), or None
    values: dict[str, object]  # json_name -> decoded value, for fields that ended up set ({} on error)
    # Dotted field names whose outcome depends on unknown pointer-ness -> what the field would hold if
    # go-swagger made it a value (values holds the pointer reading: unset).
    ambiguous: Mapping[str, object]
    path: Literal["fast", "exact"]


_NO_AMBIGUITY: Mapping[str, object] = MappingProxyType({})

# ---- numbers (strconv.ParseInt(s, 10, 64), strconv.ParseFloat(s, 32)) ----

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_F32_MAX = 3.4028234663852886e38  # math.MaxFloat32
_F32_OVERFLOW = 3.4028235677973366e38  # 2**128 - 2**103: halfway from MaxFloat32 to 2**128; rounds to +Inf
_F32_MIN_NORMAL = 1.1754943508222875e-38
_pack_f = struct.Struct("<f").pack
_unpack_f = struct.Struct("<f").unpack
_pack_d = struct.Struct("<d").pack
_unpack_q = struct.Struct("<Q").unpack
_pack_i = struct.Struct("<I").pack
_unpack_i = struct.Struct("<I").unpack


def go_parse_int64(lit: str) -> int | None:
    """strconv.ParseInt(lit, 10, 64) on a JSON number literal: "-0" -> 0; "2.5", "1e2", "1e19" -> None."""
    digits = lit[1:] if lit[:1] == "-" else lit
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        return None  # syntax error (fraction, exponent) or certainly out of range
    v = int(lit)
    return v if _INT64_MIN <= v <= _INT64_MAX else None


def _f32_bits_to_float(bits: int) -> float:
    # math.Float32frombits: 0x3F800000 -> 1.0
    return _unpack_f(_pack_i(bits))[0]


def _round_float32(text: str) -> float | None:
    """The float32 nearest to the decimal `text` (ties to even), or None past MaxFloat32 (Go: ±Inf, ErrRange);
    "0.1" -> 0.10000000149011612.

    Python rounds the decimal to a double first; that double rounding is only wrong when the double
    lands exactly halfway between two float32 values, and then the exact decimal decides.
    """
    d = float(text)
    a = abs(d)
    if a >= _F32_OVERFLOW:
        if a > _F32_OVERFLOW or Decimal(text).copy_abs() >= Decimal(_F32_OVERFLOW):
            return None  # a tie at the threshold rounds to even, i.e. to 2**128
        return copysign(_F32_MAX, d)
    f = _unpack_f(_pack_f(a))[0]  # round-half-even of the double
    if f == a:
        return copysign(f, d)
    bits = _unpack_i(_pack_f(f))[0]
    lo, hi = (_f32_bits_to_float(bits - 1), f) if f > a else (f, _f32_bits_to_float(bits + 1))
    if a == (lo + hi) / 2:  # exact: both are float32 values
        exact = Decimal(text).copy_abs()  # (abs() would round to the context's 28 digits)
        mid = Decimal((lo + hi) / 2)
        if exact > mid:
            f = hi
        elif exact < mid:
            f = lo
    return copysign(f, d)


_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([-+]?)([0-9]+))?")
_DECIMAL_DIGITS = 800  # strconv/decimal.go: len(decimal.d)


def _go_exponent(digits: str) -> int:
    # strconv readFloat / decimal.set: `if e < 10000 { e = e*10 + digit }`: later digits are dropped.
    e = 0
    for ch in digits:
        if e >= 10000:
            break
        e = e * 10 + ord(ch) - 48
    return e


def go_parse_float32(lit: str) -> float | None:
    """strconv.ParseFloat(lit, 32) of Go 1.19 on a JSON number literal: the float32, or None (ErrRange).

    "1e39" -> None, "3.4028235e38" -> 3.4028234663852886e38, "1e-46" -> 0.0 (underflow is no error).
    Two quirks of Go's parser are reproduced: an exponent stops growing once it reaches 10000
    ("0.<20000 zeros>1e100000" is 1e-10001, so 0), and its slow path (strconv/decimal.go set) counts
    at most 800 digits before the decimal point ("1<5049 zeros>e-5010" is 0, not an overflow).
    """
    m = _NUMBER.fullmatch(lit)
    if m is None:
        raise ValueError(f"not a JSON number: {lit!r}")
    sign, int_part, frac, esign, edigits = m.groups()
    short_int = int_part == "0" or len(int_part) <= _DECIMAL_DIGITS
    if short_int and (not edigits or len(edigits) <= 4):
        return _round_float32(lit)  # the common case: Go's result is the correctly rounded one
    exp = _go_exponent(edigits or "0")
    if esign == "-":
        exp = -exp
    if short_int:
        return _round_float32(f"{sign}{int_part}.{frac or '0'}e{exp}")
    # More than 800 integer digits. Go first tries Eisel-Lemire on the first 19 digits; only if that
    # fails (overflow, subnormal, too near a tie) does the slow path run, with the point misplaced.
    sig = int_part + (frac or "")
    mantissa = int(sig[:19])
    trunc = sig[19:].strip("0") != ""
    exp10 = len(int_part) - 19 + exp
    f = _eisel_lemire32(mantissa, exp10)
    if f is not None and (not trunc or _eisel_lemire32(mantissa + 1, exp10) == f):
        return -f if sign else f
    return _round_float32(f"{sign}0.{sig}e{_DECIMAL_DIGITS + exp}")


@lru_cache(maxsize=64)
def _power_of_ten_128(exp10: int) -> int:
    """strconv detailedPowersOfTen[exp10]: 10**exp10 scaled to 128 bits (top bit set), rounded down."""
    if exp10 >= 0:
        v = 10**exp10
        shift = v.bit_length() - 128
        return v >> shift if shift > 0 else v << -shift
    d = 10**-exp10
    k = 127 + d.bit_length()
    q = (1 << k) // d
    while q >> 128:
        k -= 1
        q = (1 << k) // d
    while not q >> 127:
        k += 1
        q = (1 << k) // d
    return q


_M64 = (1 << 64) - 1


def _eisel_lemire32(man: int, exp10: int) -> float | None:
    """strconv/eisel_lemire.go eiselLemire32 (positive): (15, -1) -> None (gives up); (10**18, 0) -> 1e18."""
    if man == 0:
        return 0.0
    if not -348 <= exp10 <= 347:
        return None
    clz = 64 - man.bit_length()
    man = (man << clz) & _M64
    ret_exp2 = ((217706 * exp10) >> 16) + 64 + 127 - clz
    p = _power_of_ten_128(exp10)
    p_hi, p_lo = p >> 64, p & _M64
    x = man * p_hi
    x_hi, x_lo = x >> 64, x & _M64
    if x_hi & 0x3FFFFFFFFF == 0x3FFFFFFFFF and x_lo + man > _M64:  # wider approximation
        y = man * p_lo
        y_hi, y_lo = y >> 64, y & _M64
        merged_lo = x_lo + y_hi
        merged_hi = x_hi + (merged_lo >> 64)
        merged_lo &= _M64
        if merged_hi & 0x3FFFFFFFFF == 0x3FFFFFFFFF and merged_lo == _M64 and y_lo + man > _M64:
            return None
        x_hi, x_lo = merged_hi, merged_lo
    msb = x_hi >> 63
    ret_mantissa = x_hi >> (msb + 38)
    ret_exp2 -= 1 ^ msb
    if x_lo == 0 and x_hi & 0x3FFFFFFFFF == 0 and ret_mantissa & 3 == 1:  # half-way ambiguity
        return None
    ret_mantissa += ret_mantissa & 1
    ret_mantissa >>= 1
    if ret_mantissa >> 24:
        ret_mantissa >>= 1
        ret_exp2 += 1
    if not 0 < ret_exp2 < 0xFF:  # subnormal or Inf: the slow path decides
        return None
    return _f32_bits_to_float(ret_exp2 << 23 | ret_mantissa & 0x007FFFFF)


# ---- key matching (fold.go) ----


class _StructPlan:
    """What decode.go's cachedTypeFields gives object(): exact names, then the fold functions."""

    __slots__ = ("can_abort", "exact", "fast", "folded", "struct")

    def __init__(self, st: GoStruct) -> None:
        self.struct = st
        self.exact: dict[str, GoField] = {}
        self.folded: dict[str, GoField] = {}
        for f in st.fields:
            if not f.json_name.isascii():
                # fold.go would use bytes.EqualFold for such a name; no model has one.
                raise ValueError(f"non-ASCII JSON name not supported: {f.json_name!r}")
            self.exact.setdefault(f.json_name, f)
            self.folded.setdefault(f.json_name.lower(), f)  # first field in declaration order wins
        self.fast = {name: (name, _fast_code(f.type), f.type) for name, f in self.exact.items()}
        # Fields whose value can end decoding early (a strfmt.DateTime somewhere inside): once an
        # error is saved, only they can still change the result.
        self.can_abort = frozenset(f.json_name for f in st.fields if _contains_datetime(f.type, set()))

    def lookup(self, key: str) -> GoField | None:
        """decode.go object(): exact name, else the first foldFunc match: "ſtate" -> state."""
        f = self.exact.get(key)
        if f is not None:
            return f
        return self.folded_lookup(key)

    def folded_lookup(self, key: str) -> GoField | None:
        # For ASCII names the three fold.go functions agree with this: equal length in runes, ASCII
        # letters equal up to case, other ASCII bytes equal, and (equalFoldRight, names holding
        # s/S/k/K) U+017F for an s and U+212A for a k. Any other non-ASCII key byte never matches.
        if not key.isascii():
            key = key.replace("\u017f", "s").replace("\u212a", "k")
            if not key.isascii():
                return None
        return self.folded.get(key.lower())


def _contains_datetime(gtype: GoType, seen: set[int]) -> bool:
    if gtype.kind == "datetime":
        return True
    if gtype.kind == "slice" and gtype.elem is not None:
        return _contains_datetime(gtype.elem, seen)
    if gtype.kind == "struct" and gtype.struct is not None and id(gtype.struct) not in seen:
        seen.add(id(gtype.struct))
        return any(_contains_datetime(f.type, seen) for f in gtype.struct.fields)
    return False


_PLANS: dict[int, tuple[GoStruct, _StructPlan]] = {}


def _plan(st: GoStruct) -> _StructPlan:
    entry = _PLANS.get(id(st))
    if entry is None or entry[0] is not st:
        entry = (st, _StructPlan(st))  # keeping st alive keeps its id unique
        _PLANS[id(st)] = entry
    return entry[1]


# ---- the exact path ----


class _Unset:
    """A nil pointer / a field never set (Go cannot tell the latter from a zero value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


_UNSET = _Unset()


class _GoSlice:
    """A Go slice header: `backing` is the whole backing array (len = cap), `length` the slice length."""

    __slots__ = ("backing", "length")

    def __init__(self, backing: list[object], length: int) -> None:
        self.backing = backing
        self.length = length


class _Abort(Exception):
    """An error returned (not saved) by decode.go: ends decoding; Decode returns it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _zero(gtype: GoType) -> object:
    """The zero value of a slice element: nil for pointers; "" / 0 / 0.0 / empty struct for values."""
    if gtype.nullable is not False or gtype.kind == "slice":
        return _UNSET
    if gtype.kind in ("string", "enum"):
        return ""
    if gtype.kind == "int64":
        return 0
    if gtype.kind == "float32":
        return 0.0
    if gtype.kind == "struct":
        return {}
    return _UNSET  # a zero strfmt.DateTime (0001-01-01) has no GoDateTime form; no model has []DateTime


def _json_kind(node: object) -> str:
    """The UnmarshalTypeError.Value of a JSON value that does not fit at all: "string", "bool", ..."""
    t = type(node)
    if t is str:
        return "string"
    if t is JSONNumber:
        return "number"
    if t is bool:
        return "bool"
    if t is JSONObject:
        return "object"
    return "array"


class _Decoder:
    """decode.go decodeState for one Decode call: the error context and the saved error."""

    __slots__ = ("ambiguous", "ctx_fields", "ctx_struct", "parse_datetime", "saved_error")

    def __init__(self, parse_datetime: ParseDateTime) -> None:
        self.parse_datetime = parse_datetime
        self.saved_error: str | None = None
        self.ctx_struct: str | None = None  # errorContext.Struct.Name()
        self.ctx_fields: list[str] = []  # errorContext.FieldStack
        self.ambiguous: dict[str, object] = {}

    def type_error(self, what: str, type_name: str) -> str:
        """UnmarshalTypeError.Error() after addErrorContext: ("number 2.5", "int64") -> "json: cannot ..."."""
        if self.ctx_struct is not None or self.ctx_fields:
            where = "Go struct field " + (self.ctx_struct or "") + "." + ".".join(self.ctx_fields)
        else:
            where = "Go value"
        return "json: cannot unmarshal " + what + " into " + where + " of type " + type_name

    def save(self, what: str, type_name: str) -> None:
        """decode.go saveError: keep only the first error, with the context of that moment."""
        if self.saved_error is None:
            self.saved_error = self.type_error(what, type_name)

    def null(self, gtype: GoType, cur: object, *, slice_elem: bool = False) -> object:
        """literalStore of null: a pointer (or slice) becomes nil; on any other Go type null is a no-op."""
        if gtype.kind == "slice" or gtype.nullable:
            return _UNSET
        if gtype.nullable is None:
            # Pointer or value is unknown: nil vs. the old value (for an element always: nil vs. zero).
            if slice_elem or cur is not _UNSET:
                self.ambiguous[".".join(self.ctx_fields)] = _export(_zero(gtype) if slice_elem else cur)
            return _UNSET
        return cur

    def store(self, node: object, gtype: GoType, cur: object, *, slice_elem: bool = False) -> object:
        """decode.go value -> array / object / literalStore: one JSON value into a Go value holding cur.

        Returns the new Go value: ("x", string) -> "x"; (JSONNumber("2.5"), int64) saves the error
        "number 2.5" and returns cur unchanged.
        """
        if node is None:
            # (A value strfmt.DateTime gets UnmarshalJSON("null"), a no-op too.)
            return self.null(gtype, cur, slice_elem=slice_elem)
        kind = gtype.kind
        t = type(node)
        if kind in ("string", "enum"):
            if t is str:
                return node
            self.save(_json_kind(node), gtype.name)
            return cur
        if kind == "int64":
            if t is JSONNumber:
                v = go_parse_int64(node)  # type: ignore[arg-type]
                if v is None:
                    self.save("number " + node, gtype.name)  # type: ignore[operator]
                    return cur
                return v
            self.save(_json_kind(node), gtype.name)
            return cur
        if kind == "float32":
            if t is JSONNumber:
                f = go_parse_float32(node)  # type: ignore[arg-type]
                if f is None:
                    self.save("number " + node, gtype.name)  # type: ignore[operator]
                    return cur
                return f
            self.save(_json_kind(node), gtype.name)
            return cur
        if kind == "datetime":
            # strfmt.DateTime.UnmarshalJSON: json.Unmarshal(data, &string) then ParseDateTime; its
            # error is returned, so decoding stops and unmarshal's addErrorContext names the field.
            if t is not str:
                raise _Abort(self.type_error(_json_kind(node), "string"))
            try:
                when = self.parse_datetime(node)  # type: ignore[arg-type]
            except GoError as e:
                raise _Abort(e.message) from None
            return GoDateTime(node, when)  # type: ignore[arg-type]
        if kind == "slice":
            if t is list:
                return self.array(node, gtype, cur)  # type: ignore[arg-type]
            self.save(_json_kind(node), gtype.name)
            return cur
        if kind == "struct":
            if t is JSONObject:
                target = cur if type(cur) is dict else {}
                self.object(node, gtype.struct, target)  # type: ignore[arg-type]
                return target
            self.save(_json_kind(node), gtype.name)
            return cur
        raise ValueError(f"unsupported Go kind {kind!r}")

    def array(self, items: list[object], gtype: GoType, cur: object) -> _GoSlice:
        """decode.go array() into a slice: reuses cur's backing, grows it as Go does (cap*1.5, >= 4)."""
        elem = gtype.elem
        if elem is None:
            raise ValueError(f"slice type {gtype.name} has no element type")
        plain_strings = elem.kind in ("string", "enum")
        if type(cur) is _GoSlice:
            backing, length = cur.backing, cur.length
        elif plain_strings and items and all(type(item) is str for item in items):
            # A new slice of strings: the same backing array as the loop below builds, in one step.
            n, cap = len(items), 0
            while cap < n:
                cap = max(cap + cap // 2, 4)
            return _GoSlice([*items, *[_zero(elem)] * (cap - n)], n)
        else:
            backing, length = [], 0
        i = 0
        for item in items:
            if i >= len(backing):
                # reflect.MakeSlice(len, cap+cap/2 (min 4)) + reflect.Copy: only len elements survive.
                newcap = max(len(backing) + len(backing) // 2, 4)
                backing = backing[:length] + [_zero(elem) for _ in range(newcap - length)]
            length = max(length, i + 1)
            if plain_strings and type(item) is str:
                backing[i] = item  # (what store() would do, without the call)
            else:
                backing[i] = self.store(item, elem, backing[i], slice_elem=True)
            i += 1
        length = min(length, i)
        if i == 0:
            return _GoSlice([], 0)  # an empty JSON array replaces the slice with a new empty one
        return _GoSlice(backing, length)

    def object(self, members: JSONObject, st: GoStruct, target: dict[str, object]) -> None:
        """decode.go object() into a struct: match each key, decode its value, restore the error context."""
        plan = _plan(st)
        exact = plan.exact
        orig_struct = self.ctx_struct
        fields = self.ctx_fields
        for key, node in members:
            f = exact.get(key) or plan.folded_lookup(key)
            if f is None:
                continue  # unknown field: the value is skipped (d.value(reflect.Value{}))
            name = f.json_name
            if self.saved_error is not None and name not in plan.can_abort:
                continue  # the first error stands; no value of this field can replace it
            fields.append(name)
            self.ctx_struct = st.name
            new = self.store(node, f.type, target.get(name, _UNSET))
            if node is not None and self.ambiguous:
                # A later value settles the field the same way whatever its pointer-ness.
                self.ambiguous.pop(".".join(fields), None)
            if new is _UNSET:
                target.pop(name, None)
            else:
                target[name] = new
            fields.pop()  # (an _Abort leaves the context as it was, as Go's early return does)
            self.ctx_struct = orig_struct


def _export(value: object) -> object:
    """Decoder state -> DecodeResult.values shape: slices to lists, nil struct pointers to None."""
    t = type(value)
    if t is _GoSlice:
        s: _GoSlice = value  # type: ignore[assignment]
        return [_export(v) for v in s.backing[: s.length]]
    if t is dict:
        return {k: _export(v) for k, v in value.items()}  # type: ignore[attr-defined]
    if value is _UNSET:
        return None
    return value


def decode_exact(data: bytes, model: GoStruct, *, parse_datetime: ParseDateTime) -> DecodeResult:
    """Decoder.Decode(&model) on data, the slow and faithful way; b'{"title":5}' -> error
    "json: cannot unmarshal number into Go struct field AssignmentRequest.title of type string"."""
    return _decode_exact(data, model, parse_datetime, likely_invalid=False)


def _decode_exact(
    data: bytes, model: GoStruct, parse_datetime: ParseDateTime, *, likely_invalid: bool
) -> DecodeResult:
    # decode.go unmarshal after stream.go readValue: b'[]' -> "json: cannot unmarshal array into ...".
    try:
        tree = read_value(data, likely_invalid=likely_invalid)
    except GoError as e:
        return DecodeResult(e.message, {}, _NO_AMBIGUITY, "exact")
    d = _Decoder(parse_datetime)
    state: dict[str, object] = {}
    error: str | None
    try:
        # decode.go unmarshal -> d.value(rv) on a *Model: only an object or null fits.
        if type(tree) is JSONObject:
            d.object(tree, model, state)  # type: ignore[arg-type]
        elif tree is not None:
            d.save(_json_kind(tree), model.go_name)
        error = d.saved_error
    except _Abort as e:
        error = e.message
    if error is not None:
        # Decoding failed: the values are never read (the error alone is the answer), and after a
        # saved error they were not all decoded.
        return DecodeResult(error, {}, _NO_AMBIGUITY, "exact")
    values: dict[str, object] = _export(state)  # type: ignore[assignment]
    return DecodeResult(error, values, d.ambiguous or _NO_AMBIGUITY, "exact")


# ---- the fast path ----

_ESCAPE_PAIR = re.compile(rb"\\.", re.DOTALL)
# Go's float quirks need 800+ digits before the point, or an exponent of 10000+ (with 9000+ digits).
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % _DECIMAL_DIGITS)


class _Bail(Exception):
    """The fast path cannot decide; the exact path will. Raised as a fresh instance each time: a
    shared instance would chain every raise's traceback onto itself and keep those frames alive."""


def _count_strings(node: object) -> int:
    """Number of JSON strings (keys and values) in an orjson value: {"a": ["b", 1]} -> 2.

    Containers are counted on orjson's own serialization (C speed: a large unknown field costs
    milliseconds, not a Python step per item); orjson refuses to nest deeper than 255 (-> bail).
    """
    t = type(node)
    if t is str:
        return 1
    if t is not dict and t is not list:
        return 0
    try:
        text = orjson.dumps(node)
    except orjson.JSONEncodeError:
        raise _Bail from None
    return _unescaped_quotes(text) // 2


# Field codes of the fast walk (one small int instead of re-reading GoType on every field).
_F_STR, _F_DATETIME, _F_INT64, _F_FLOAT32, _F_STR_SLICE, _F_SLICE, _F_STRUCT = range(7)


def _fast_code(gtype: GoType) -> int:
    # The fast walk's code of a field type: GoType("int64", "int64") -> _F_INT64.
    kind = gtype.kind
    if kind in ("string", "enum"):
        return _F_STR
    if kind == "datetime":
        return _F_DATETIME
    if kind == "int64":
        return _F_INT64
    if kind == "float32":
        return _F_FLOAT32
    if kind == "struct":
        return _F_STRUCT
    elem = gtype.elem
    if elem is not None and elem.kind in ("string", "enum") and elem.nullable is False:
        return _F_STR_SLICE
    return _F_SLICE


# GoDateTime without the frozen dataclass __init__ (which costs a setattr detour per field).
_new_object = object.__new__
_set_text = GoDateTime.text.__set__  # type: ignore[attr-defined]
_set_when = GoDateTime.when.__set__  # type: ignore[attr-defined]


class _Fast:
    """The typed walk over orjson output; raises _Bail whenever the exact path must decide."""

    __slots__ = ("data", "failed_dates", "long_number", "nstrings", "parse_datetime")

    def __init__(self, parse_datetime: ParseDateTime, data: bytes) -> None:
        self.parse_datetime = parse_datetime
        self.data = data
        self.nstrings = 0
        self.long_number: bool | None = None
        self.failed_dates: dict[str, GoError] | None = None

    def may_have_long_number(self) -> bool:
        """Could a number literal in the body be 800+ characters? (Where Go's ParseFloat quirks live.)"""
        if self.long_number is None:
            data = self.data
            self.long_number = (
                len(data) >= _DECIMAL_DIGITS
                and len(data) - len(data.translate(None, b"0123456789")) >= _DECIMAL_DIGITS
                and _LONG_DIGITS.search(data) is not None
            )
        return self.long_number

    def obj(self, node: dict[str, object], st: GoStruct) -> dict[str, object]:
        """decode.go object() on a dict without duplicate keys (exact key matches only): {"title": "a"}."""
        plan = _plan(st)
        fast = plan.fast
        out: dict[str, object] = {}
        nstrings = len(node)
        for key, v in node.items():
            entry = fast.get(key)
            if entry is None:
                if plan.folded_lookup(key) is not None:
                    raise _Bail  # a folded match may collide with another key for the same field
                nstrings += _count_strings(v)
                continue
            if v is None:
                continue  # no earlier value (no duplicates here): null leaves the field unset
            name, code, gtype = entry
            t = type(v)
            value = v
            if code == _F_STR:
                if t is not str:
                    raise _Bail
                nstrings += 1
            elif code == _F_DATETIME:
                if t is not str:
                    raise _Bail
                nstrings += 1
                try:
                    when = self.parse_datetime(v)  # type: ignore[arg-type]
                except GoError as e:
                    self.failed_dates = {v: e}  # type: ignore[dict-item]
                    raise _Bail from None
                value = _new_object(GoDateTime)
                _set_text(value, v)
                _set_when(value, when)
            elif code == _F_INT64:
                if t is not int or not _INT64_MIN <= v <= _INT64_MAX:  # type: ignore[operator]
                    raise _Bail
            elif code == _F_FLOAT32:
                value = self.float32(v)
            elif code == _F_STR_SLICE:
                if t is not list:
                    raise _Bail
                for item in v:  # type: ignore[attr-defined]
                    if type(item) is not str:
                        value = self.items(v, gtype.elem)  # type: ignore[arg-type]  # nulls: zero values
                        break
                else:
                    nstrings += len(v)  # type: ignore[arg-type]
            elif code == _F_SLICE:
                if t is not list:
                    raise _Bail
                value = self.items(v, gtype.elem)  # type: ignore[arg-type]
            else:  # _F_STRUCT
                if t is not dict:
                    raise _Bail
                value = self.obj(v, gtype.struct)  # type: ignore[arg-type]
            out[name] = value
        self.nstrings += nstrings
        return out

    def float32(self, v: object) -> float:
        """strconv.ParseFloat(literal, 32) when orjson's number tells enough of the literal: 0.1 -> 0.1f."""
        t = type(v)
        if t is int:
            # orjson reads "-0" as int 0 (Go: float32 -0): bail on 0 if the body has a "-0".
            if (v or b"-0" not in self.data) and -(1 << 53) < v < (1 << 53):  # type: ignore[operator]
                return _unpack_f(_pack_f(v))[0]  # type: ignore[arg-type]  # exact double: one rounding
        elif t is float and not self.may_have_long_number():
            a = abs(v)  # type: ignore[arg-type]
            if a < 3.4e38 and (a == 0.0 or a >= _F32_MIN_NORMAL):
                low = _unpack_q(_pack_d(a))[0] & 0x1FFFFFFF
                if abs(low - 0x10000000) > 2:  # not (near) halfway between two float32 values
                    return _unpack_f(_pack_f(v))[0]  # type: ignore[arg-type]
        raise _Bail

    def items(self, items: list[object], elem: GoType) -> list[object]:
        """decode.go array() into a new slice, element by element: [null, {"title": "a"}] -> [None, {...}]."""
        out: list[object] = []
        code = _fast_code(elem)
        for item in items:
            t = type(item)
            if item is None:
                if elem.nullable is None:
                    raise _Bail  # the exact path reports the ambiguity
                out.append(None if elem.nullable else _zero_export(elem))
            elif code == _F_STR:
                if t is not str:
                    raise _Bail
                self.nstrings += 1
                out.append(item)
            elif code == _F_STRUCT:
                if t is not dict:
                    raise _Bail
                out.append(self.obj(item, elem.struct))  # type: ignore[arg-type]
            elif code == _F_INT64:
                if t is not int or not _INT64_MIN <= item <= _INT64_MAX:  # type: ignore[operator]
                    raise _Bail
                out.append(item)
            elif code == _F_FLOAT32:
                out.append(self.float32(item))
            else:
                raise _Bail  # slices of slices or of dates: no model has them
        return out


def _zero_export(gtype: GoType) -> object:
    # The zero value of a slice element as DecodeResult.values shows it (nil -> None).
    zero = _zero(gtype)
    return None if zero is _UNSET else zero


def decode_fast(data: bytes, model: GoStruct, *, parse_datetime: ParseDateTime) -> DecodeResult | None:
    """The orjson path: a DecodeResult for a clean decode (no error), else None; b'{"title":"a"}'."""
    return _decode_fast(data, model, parse_datetime)[0]


_REFUSED: dict[str, GoError] = {}  # _decode_fast's marker: orjson refused the body


def _decode_fast(
    data: bytes, model: GoStruct, parse_datetime: ParseDateTime
) -> tuple[DecodeResult | None, dict[str, GoError] | None]:
    # Also returns the date strings that failed to parse (so that decode() need not parse them
    # twice), or _REFUSED when orjson refused the body (then it most likely has a syntax error).
    try:
        tree = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None, _REFUSED
    if type(tree) is not dict:
        return None, None
    walk = _Fast(parse_datetime, data)
    try:
        values = walk.obj(tree, model)
    except _Bail:
        return None, walk.failed_dates
    # Duplicate keys vanish in orjson's dict: every JSON string has two unescaped quote bytes, so
    # a body whose quote count is not twice the strings seen had some.
    if _unescaped_quotes(data) != 2 * walk.nstrings:
        return None, None
    return DecodeResult(None, values, _NO_AMBIGUITY, "fast"), None


def _unescaped_quotes(data: bytes) -> int:
    """The number of '"' bytes that open or close a string, in a body orjson accepted."""
    quotes = data.count(b'"')
    if b"\\" not in data:
        return quotes
    if b"\\\\" not in data:
        return quotes - data.count(b'\\"')  # no escaped backslash: every \" is an escaped quote
    return _ESCAPE_PAIR.sub(b"", data).count(b'"')


def decode(data: bytes, model: GoStruct, *, parse_datetime: ParseDateTime) -> DecodeResult:
    """Decoder.Decode(&model) on a request body: the fast path when it can decide, else the exact path."""
    result, failed_dates = _decode_fast(data, model, parse_datetime)
    if result is not None:
        return result
    if failed_dates is _REFUSED:
        return _decode_exact(data, model, parse_datetime, likely_invalid=True)
    if failed_dates:
        # The date the fast path could not parse is most likely the answer: do not parse it again.
        def parse_once(text: str) -> datetime:
            failure = failed_dates.get(text)
            if failure is not None:
                raise GoError(failure.message)
            return parse_datetime(text)

        return _decode_exact(data, model, parse_once, likely_invalid=False)
    return _decode_exact(data, model, parse_datetime, likely_invalid=False)
