package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
)

// Date-time fields of each request model (strfmt.DateTime properties).
var (
	assignmentDateFields = []string{"display_date", "due_date", "end_date", "start_date"}
	submissionDateFields = []string{"override_due_date"}
)

// offsetOutOfRange reports a value that strfmt.ParseDateTime accepts on Go
// 1.19 through a layout with a numeric zone offset whose hour is above 24 or
// minute above 60. Go 1.19's time.Parse (time/format.go) has no range check
// on zone offsets; later releases reject such offsets while parsing, which
// would turn an accepted date into a decode error. Clever's Go version is
// unknown, so such values make the answer uncertain.
func offsetOutOfRange(s string) bool {
	if s == "" {
		return false
	}
	for _, layout := range strfmt.DateTimeFormats {
		if _, err := time.Parse(layout, s); err != nil {
			continue
		}
		// The first layout that parses is the one ParseDateTime used.
		var hh, mm string
		switch {
		case strings.HasSuffix(s, "Z"):
			return false
		case strings.HasSuffix(layout, "Z07:00") && len(s) >= 6:
			hh, mm = s[len(s)-5:len(s)-3], s[len(s)-2:]
		case strings.HasSuffix(layout, "Z0700") && len(s) >= 5:
			hh, mm = s[len(s)-4:len(s)-2], s[len(s)-2:]
		default:
			return false
		}
		h, errH := strconv.Atoi(hh)
		m, errM := strconv.Atoi(mm)
		return errH == nil && errM == nil && (h > 24 || m > 60)
	}
	return false
}

// isSyntaxLevel: errors json.Decoder.Decode reports while scanning the value,
// before any field is decoded; they win whatever the fields hold.
func isSyntaxLevel(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || err == io.EOF || err == io.ErrUnexpectedEOF
}

// goVersionDependentDates scans the top-level members of the first JSON value
// in document order (duplicates included, keys folded like encoding/json's
// case-insensitive match) for a date field holding an offsetOutOfRange string,
// up to the first date that ends decoding (not a string, or unparsable). decodeErr is
// the result of the real decode: a syntax-level error is certain regardless.
func goVersionDependentDates(data []byte, fields []string, decodeErr error) (string, bool) {
	if decodeErr != nil && isSyntaxLevel(decodeErr) {
		return "", false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", false
		}
		for _, f := range fields {
			if !strings.EqualFold(key, f) {
				continue
			}
			if string(raw) == "null" {
				break
			}
			var s string
			if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
				// decoding stops at a non-string date in every Go version: later dates never matter
				return "", false
			}
			if offsetOutOfRange(s) {
				return f + " " + strconv.Quote(s), true
			}
			if _, err := strfmt.ParseDateTime(s); err != nil {
				return "", false // the first unparsable date ends decoding, whatever the Go version
			}
		}
	}
	return "", false
}

// dateVersionVerdict wraps goVersionDependentDates as a stage verdict.
func dateVersionVerdict(data []byte, fields []string, decodeErr error) *verdict {
	if what, ok := goVersionDependentDates(data, fields, decodeErr); ok {
		return unsure("json", "%s has a zone offset beyond 24h/60m: accepted by Go 1.19's time.Parse, rejected by later Go", what)
	}
	return nil
}
