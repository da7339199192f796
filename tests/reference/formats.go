package main

import (
	"encoding/hex"

	"github.com/go-openapi/strfmt"
)

// dateOnlyLayout is the layout strfmt v0.21.8 appended to DateTimeFormats
// (the Debian strfmt is v0.21.2, which lacks it; the contract models >= v0.21.8).
const dateOnlyLayout = "2006-01-02"

// initFormats models wag's swagger.InitCustomFormats (swagger/formats.go,
// HEAD): register "mongo-id" in strfmt.Default, valid when the string has 24
// characters that hex.DecodeString accepts (so either case). It also brings
// strfmt's date-time layouts up to v0.21.8: strfmt.ParseDateTime ranges over
// the exported DateTimeFormats slice, so appending is all v0.21.8 changed.
func initFormats() {
	m := mongoID("")
	strfmt.Default.Add("mongo-id", &m, isMongoID)

	for _, l := range strfmt.DateTimeFormats {
		if l == dateOnlyLayout {
			return
		}
	}
	strfmt.DateTimeFormats = append(strfmt.DateTimeFormats, dateOnlyLayout)
}

// isMongoID is wag's validator for format mongo-id.
func isMongoID(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// mongoID is the strfmt.Format value registered for "mongo-id" (only its type
// matters to the registry; validation is isMongoID).
type mongoID string

// MarshalText implements encoding.TextMarshaler for strfmt.Format.
func (e mongoID) MarshalText() ([]byte, error) { return []byte(string(e)), nil }

// UnmarshalText implements encoding.TextUnmarshaler for strfmt.Format.
func (e *mongoID) UnmarshalText(data []byte) error {
	*e = mongoID(string(data))
	return nil
}

func (e mongoID) String() string { return string(e) }
