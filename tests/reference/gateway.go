package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// routeTemplates are the contract §2 paths, split on "/"; "*" is a variable
// (mux's default [^/]+).
var routeTemplates = [][]string{
	{"v3.1", "sections", "*", "assignments"},
	{"v3.1", "sections", "*", "assignments", "*"},
	{"v3.1", "sections", "*", "assignments", "*", "submissions"},
	{"v3.1", "sections", "*", "assignments", "*", "submissions", "*"},
}

// certainMethods are the methods whose mux 405 the contract treats as certain;
// HEAD, OPTIONS and any other token may be answered by the gateway instead.
var certainMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// withMarker is the outermost wrapper: every answer the reference writes
// through net/http carries X-Clever-Reference (conn.go covers net/http's own).
func withMarker(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Clever-Reference", "1")
		next.ServeHTTP(w, r)
	})
}

// routeProblem says why the request path is not exactly one of the route
// templates as Clever's service would see it ("" when it is). Such paths are
// the gateway's or mux's business (404, 301, HTML pages): uncertain.
func routeProblem(r *http.Request) string {
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		return "request target is not in origin form"
	}
	raw := target
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.IndexFunc(raw, func(r rune) bool {
		return r > 0x7e || strings.ContainsRune("#\"<>\\^`{|}[]", r)
	}); i >= 0 {
		// Go's server takes these raw; edges in front of it may refuse them.
		return "raw byte not allowed in a URI path (RFC 3986): " + quoteByte(raw[i])
	}
	segs := strings.Split(raw[1:], "/")
	for _, tmpl := range routeTemplates {
		if len(tmpl) != len(segs) || !literalsMatch(tmpl, segs) {
			continue
		}
		for i, t := range tmpl {
			if t != "*" {
				continue
			}
			seg := segs[i]
			if seg == "" {
				return "empty path segment (mux would redirect)"
			}
			if strings.Contains(strings.ToLower(seg), "%2f") {
				return "encoded '/' inside a path segment"
			}
			dec, err := url.PathUnescape(seg)
			if err != nil {
				return "bad percent-escape in the path"
			}
			if dec == "." || dec == ".." {
				return "dot segment in the path (mux would redirect)"
			}
		}
		return ""
	}
	return "not one of the LMS Connect v3.1 route templates"
}

// quoteByte shows one byte of the raw target as Go's %q would.
func quoteByte(b byte) string { return fmt.Sprintf("%q", string([]byte{b})) }

// literalsMatch compares the fixed segments byte for byte (an escaped or
// differently cased literal is left to the gateway).
func literalsMatch(tmpl, segs []string) bool {
	for i, t := range tmpl {
		if t != "*" && t != segs[i] {
			return false
		}
	}
	return true
}

// wellFormedAuth: exactly one "Bearer <token>" with a non-empty token of
// visible ASCII. Anything else is a malformed header (contract §9).
func wellFormedAuth(vals []string) bool {
	if len(vals) != 1 || !strings.HasPrefix(vals[0], "Bearer ") {
		return false
	}
	tok := vals[0][len("Bearer "):]
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < 0x21 || tok[i] > 0x7e {
			return false
		}
	}
	return true
}

// gatewayOptions configures the layer in front of the wag service.
type gatewayOptions struct {
	// malformedAuthValid treats a present but malformed Authorization header
	// as valid instead of uncertain.
	malformedAuthValid bool
}

// withGateway models the unseen layer in front of Clever's wag service (the
// place wag's custom middleware would sit: outside CompressHandler, so its 401
// is never compressed), plus the contract's route and method uncertainty.
func withGateway(next http.Handler, opts gatewayOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := routeProblem(r); p != "" {
			writeUncertain(w, "route", p)
			return
		}
		auth := r.Header.Values("Authorization")
		switch {
		case len(auth) == 0 && r.Method == http.MethodOptions:
			writeUncertain(w, "method", "OPTIONS without a token: gateways answer CORS preflights themselves")
			return
		case len(auth) == 0:
			// Documented bytes: a space after the colon, no newline.
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message": "No authorization provided"}`))
			return
		case !opts.malformedAuthValid && !wellFormedAuth(auth):
			writeUncertain(w, "auth", "Authorization header present but not a single 'Bearer <token>'")
			return
		}
		if !certainMethods[r.Method] {
			writeUncertain(w, "method", "method "+r.Method+" may be answered by the gateway")
			return
		}
		next.ServeHTTP(w, r)
	})
}
