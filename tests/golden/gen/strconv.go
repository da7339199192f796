//go:build ignore

// Golden data for proxy/gocompat/strconv.py from Go 1.19's strconv. Run through make_go_golden.sh:
//
//	GO111MODULE=off go run tests/golden/gen/strconv.go > tests/golden/strconv.jsonl
//
// Output: one JSON object per line; inputs are hex (Go strings are bytes, JSON would lose that).
//
//	{"fn":"ParseInt", "hex":"...", "ok":"<decimal>"} or "err":"..."   (strconv.ParseInt(s, 10, 64))
//	{"fn":"Quote", "hex":"...", "out":"..."}                          (strconv.Quote, also fmt %q)
//
// Random inputs come from a fixed seed.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

var out = bufio.NewWriter(os.Stdout)

type row struct {
	Fn  string `json:"fn"`
	Hex string `json:"hex"`
	Ok  string `json:"ok,omitempty"`
	Err string `json:"err,omitempty"`
	Out string `json:"out,omitempty"`
}

func emit(r row) {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	out.Write(b)
	out.WriteByte('\n')
}

func parseIntRow(s string) {
	r := row{Fn: "ParseInt", Hex: hex.EncodeToString([]byte(s))}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		r.Err = err.Error()
	} else {
		r.Ok = strconv.FormatInt(n, 10)
	}
	emit(r)
}

func quoteRow(s string) {
	q := strconv.Quote(s)
	if q != fmt.Sprintf("%q", s) {
		panic("strconv.Quote and %q differ")
	}
	if !utf8.ValidString(q) {
		panic("Quote output is not UTF-8")
	}
	emit(row{Fn: "Quote", Hex: hex.EncodeToString([]byte(s)), Out: q})
}

var intHand = []string{
	"", "0", "-0", "+0", "00", "007", "1", "-1", "+1", "+", "-", "--1", "+-1", "-+1", "++1", " 1", "1 ", "1\n",
	"1_000", "_1", "1_", "0x10", "0b1", "0o7", "1e3", "1.0", "1,000", "abc", "limit", "five", "５", "١",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
	"+9223372036854775807", "18446744073709551615", "18446744073709551616", "-18446744073709551616",
	"99999999999999999999", "-99999999999999999999", "99999999999999999999abc", "1844674407370955161x",
	"18446744073709551615x", "18446744073709551616x", "184467440737095516150", "9223372036854775807x",
	"000000000000000000000000000000000000000001", "-000000000000000000000000000000009223372036854775808",
	"100", "101", "0100", "1\x00", "\xff", "1\xff", "caf\xc3\xa9", "\"1\"", "\\1", "1\u2028", "\x7f",
	strings.Repeat("9", 400), strings.Repeat("0", 400), "-" + strings.Repeat("1", 19), "-" + strings.Repeat("1", 18),
}

func main() {
	defer out.Flush()
	r := rand.New(rand.NewSource(1964))

	for _, s := range intHand {
		parseIntRow(s)
	}
	intAlphabet := "0123456789999+-_ xa.\xff"
	for i := 0; i < 1500; i++ {
		n := r.Intn(24)
		var b strings.Builder
		if r.Intn(3) == 0 {
			b.WriteString([]string{"+", "-"}[r.Intn(2)])
		}
		for j := 0; j < n; j++ {
			if r.Intn(8) == 0 {
				b.WriteByte(intAlphabet[r.Intn(len(intAlphabet))])
			} else {
				b.WriteByte(byte('0' + r.Intn(10)))
			}
		}
		parseIntRow(b.String())
	}

	// Quote: every byte alone, rune boundaries of the IsPrint ranges, invalid UTF-8, random mixes.
	for c := 0; c < 256; c++ {
		quoteRow(string([]byte{byte(c)}))
	}
	for c := rune(0); c < 0x400; c++ {
		quoteRow(string(c))
	}
	var bounds []rune
	in := false
	for c := rune(0); c <= utf8.MaxRune+1; c++ {
		p := c <= utf8.MaxRune && strconv.IsPrint(c)
		if p != in {
			bounds = append(bounds, c-2, c-1, c, c+1)
			in = p
		}
	}
	for i := 0; i < len(bounds); i += 16 {
		var b strings.Builder
		for j := i; j < i+16 && j < len(bounds); j++ {
			c := bounds[j]
			if c < 0 || c > utf8.MaxRune || (0xD800 <= c && c <= 0xDFFF) {
				continue
			}
			b.WriteRune(c)
		}
		quoteRow(b.String())
	}
	for _, s := range []string{
		"", "abc", "\a\b\f\n\r\t\v", "\x00\x1f\x7f", "\"\\'`", "\xed\xa0\x80", "\xed\xbf\xbf", "\xef\xbf\xbd",
		"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
		"\xe2\x82", "\xe2\x82A", "\xe2\xc3\xa9", "\xf0\x9f\x98", "\xf0\x9f\x98\x80", "\xf3\xa0\x80\x81",
		"\xf4\x8f\xbf\xbf", "\xc2\xad", "\xc2\xa0", "\xe2\x80\xa8", "\xe2\x80\x8b", "\xef\xbb\xbf", "\x80", "\xbf",
		"\xfe\xff", "é", "<b>&amp;", "a\u0300", "\u00ad", "\u061c", "\u061d", "\U0001FAE0", "\u08be", "\U0001F1E6", "\U000E0001", "\U000F0000",
	} {
		quoteRow(s)
	}
	pieces := []string{"a", " ", "\"", "\\", "\n", "\x00", "\x7f", "\xff", "\xc3", "é", "\u2028", "\u00ad",
		"\U0001F600", "\U000E0001", "\xed\xa0\x80", "\xe2\x82", "\u0378", "\U0010FFFF", "\ufffd", "%"}
	for i := 0; i < 600; i++ {
		var b strings.Builder
		n := 1 + r.Intn(8)
		for j := 0; j < n; j++ {
			if r.Intn(4) == 0 {
				b.WriteByte(byte(r.Intn(256)))
			} else if r.Intn(3) == 0 {
				b.WriteRune(rune(r.Intn(0x30000)))
			} else {
				b.WriteString(pieces[r.Intn(len(pieces))])
			}
		}
		quoteRow(b.String())
	}
}
