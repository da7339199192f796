//go:build ignore

// Golden data for proxy/gocompat/urlparse.py from Go 1.19's net/url. Run through make_go_golden.sh:
//
//	GO111MODULE=off go run tests/golden/gen/urlparse.go > tests/golden/urlparse.jsonl
//
// Output: one JSON object per line; strings that may not be UTF-8 are hex.
//
//	{"fn":"PathUnescape", "hex":"...", "ok":"<hex>"} or "err":"..."
//	    url.PathUnescape is unescape(s, encodePathSegment), which unescapes exactly as encodePath
//	    (the mode url.setPath uses for a request's path); "req_path" is then ParseRequestURI's Path.
//	{"fn":"ParseQuery", "hex":"...", "values":{"<key hex>":["<value hex>",...]}, "err":"..."}
//
// Random inputs come from a fixed seed.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"net/url"
	"os"
	"strings"
)

var out = bufio.NewWriter(os.Stdout)

type row struct {
	Fn      string              `json:"fn"`
	Hex     string              `json:"hex"`
	Ok      *string             `json:"ok,omitempty"`
	ReqPath *string             `json:"req_path,omitempty"`
	Values  map[string][]string `json:"values,omitempty"`
	Err     string              `json:"err,omitempty"`
}

func emit(r row) {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	out.Write(b)
	out.WriteByte('\n')
}

func h(s string) string { return hex.EncodeToString([]byte(s)) }

func pathRow(s string) {
	r := row{Fn: "PathUnescape", Hex: h(s)}
	p, err := url.PathUnescape(s)
	if err != nil {
		r.Err = err.Error()
	} else {
		x := h(p)
		r.Ok = &x
	}
	// The server's own parse of a request target "/<s>" (no '?' in s): same unescaping.
	if !strings.ContainsAny(s, "?") {
		if u, err := url.ParseRequestURI("/" + s); err == nil {
			x := h(u.Path)
			r.ReqPath = &x
		}
	}
	emit(r)
}

func queryRow(q string) {
	v, err := url.ParseQuery(q)
	r := row{Fn: "ParseQuery", Hex: h(q), Values: map[string][]string{}}
	for k, vs := range v {
		for _, x := range vs {
			r.Values[h(k)] = append(r.Values[h(k)], h(x))
		}
	}
	if err != nil {
		r.Err = err.Error()
	}
	emit(r)
}

var pathHand = []string{
	"", "/", "abc", "a%2Fb", "a%2fb", "%41%42", "a+b", "a%2Bb", "a%20b", "%", "%1", "%zz", "%z1", "%1z", "a%",
	"a%2", "%%", "%%41", "%25", "%2541", "%00", "%ff", "%FF%fe", "%C3%A9", "%e2%80%a8", "sections/%3Cb%3E/x",
	"%E9", "\xff", "é", "a%gg%41", "%41%zz", "%0A", "%7f", "..%2F..", "%2e%2e", "sections/5f3c%7E", "%+1",
}

var queryHand = []string{
	"", "limit=5", "limit=5&limit=7", "limit=", "limit", "limit&limit=3", "=5", "&limit=5", "limit=5&",
	"&&limit=5&&", "limit=%35", "limit=5%", "limit=%zz&limit=4", "li%6Dit=6", "LIMIT=5", "limit =5",
	"limit=5;x=1", "x=1;limit=5", "limit=5&x=1;y=2", "x=1;y=2&limit=5", ";", "limit=;", "limit=5&;&limit=6",
	"limit=+5", "limit=5+", "limit=1+2", "limit=%2B5", "limit=a=b", "limit==5", "limit=5=6", "limit=%ff",
	"limit=%C3%A9", "limit=\xff", "limit=é", "lim%ZZit=5&limit=9", "cursor=abc&limit=10", "limit=5#frag",
	"%3Blimit=5", "limit=5%3Bx", "limit%3D5", "+limit=5", "limit+=5", "limit%20=5", "limit=-1",
	"limit=99999999999999999999", "a=1&b=2&a=3&limit=4&limit=x",
}

func main() {
	defer out.Flush()
	r := rand.New(rand.NewSource(3986))
	for _, s := range pathHand {
		pathRow(s)
	}
	pathAlphabet := []string{"a", "/", "%", "2", "F", "f", "z", "+", "4", "1", "é", "\xff", " ", "~", "."}
	for i := 0; i < 700; i++ {
		var b strings.Builder
		n := r.Intn(10)
		for j := 0; j < n; j++ {
			b.WriteString(pathAlphabet[r.Intn(len(pathAlphabet))])
		}
		pathRow(b.String())
	}
	for _, q := range queryHand {
		queryRow(q)
	}
	qAlphabet := []string{"limit", "cursor", "=", "&", ";", "%", "2", "B", "b", "z", "+", "5", "0", "%3D",
		"%26", "%ff", "é", " ", "x", "limit=", "&limit="}
	for i := 0; i < 1200; i++ {
		var b strings.Builder
		n := r.Intn(9)
		for j := 0; j < n; j++ {
			b.WriteString(qAlphabet[r.Intn(len(qAlphabet))])
		}
		queryRow(b.String())
	}
}
