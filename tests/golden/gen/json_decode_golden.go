// Golden-data generator for proxy/gocompat (json_scan, json_decode).
//
// This file is package "models" so that reflect prints the model types as
// models.AssignmentRequest etc., exactly as in a go-swagger generated service.
// make_json_golden.sh builds it in GOPATH mode together with a two-line main
// that calls Main().
//
// Modes:
//
//	generate   write every built-in case as JSONL to stdout
//	stdin      read {"model":..., "body_b64":...} lines, answer each with a decode record
//	marshal    read {"in_b64":...} lines, answer each with a marshal record
//
// Output records:
//
//	{"kind":"decode","name":..,"model":..,"body_b64":..,"error":..|null,"values":{..}}
//	{"kind":"date","text":..,"error":..|null,"time":..}   strfmt.ParseDateTime of every string token seen
//	{"kind":"marshal","in_b64":..,"out_b64":..}           json.Marshal(string(in)) (HTML escaping on)
//
// "values" is the decoded struct after Decode returned (also on error): pointer fields that are
// nil are omitted, value fields are always present, float32 as "f32:<bits hex>", strfmt.DateTime
// as "dt:<RFC3339Nano UTC, truncated to microseconds>", nil slices omitted, nil struct pointers null.
package models

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
)

// ---- the models (go-swagger v0.23 shapes; pointers where x-nullable or not required) ----

type AssigneeMode string
type GradingType string
type SubmissionType string
type SubmissionFlag string
type SubmissionState string

// Methods of the shape go-swagger generates, so that reflect sees types with methods
// (json's indirect() checks NumMethod before looking for Unmarshaler).
func (m AssigneeMode) Validate(formats strfmt.Registry) error    { return nil }
func (m GradingType) Validate(formats strfmt.Registry) error     { return nil }
func (m SubmissionType) Validate(formats strfmt.Registry) error  { return nil }
func (m SubmissionFlag) Validate(formats strfmt.Registry) error  { return nil }
func (m SubmissionState) Validate(formats strfmt.Registry) error { return nil }

type AttachmentRequest struct {
	Description *string `json:"description,omitempty"`
	Title       *string `json:"title,omitempty"`
	Type        string  `json:"type,omitempty"`
	URL         *string `json:"url,omitempty"`
}

func (m *AttachmentRequest) Validate(formats strfmt.Registry) error { return nil }
func (m *AttachmentRequest) MarshalBinary() ([]byte, error)         { return json.Marshal(m) }
func (m *AttachmentRequest) UnmarshalBinary(b []byte) error         { return json.Unmarshal(b, m) }

type AssignmentRequest struct {
	AssigneeIds          []string             `json:"assignee_ids"`
	AssigneeMode         *AssigneeMode        `json:"assignee_mode,omitempty"`
	Attachments          []*AttachmentRequest `json:"attachments"`
	Description          *string              `json:"description,omitempty"`
	DescriptionPlaintext *string              `json:"description_plaintext,omitempty"`
	DisplayDate          *strfmt.DateTime     `json:"display_date,omitempty"`
	DueDate              *strfmt.DateTime     `json:"due_date,omitempty"`
	EndDate              *strfmt.DateTime     `json:"end_date,omitempty"`
	GradingType          *GradingType         `json:"grading_type,omitempty"`
	MaxAttempts          int64                `json:"max_attempts,omitempty"`
	PointsPossible       *float32             `json:"points_possible,omitempty"`
	StartDate            *strfmt.DateTime     `json:"start_date,omitempty"`
	SubmissionTypes      []SubmissionType     `json:"submission_types"`
	TermID               *string              `json:"term_id,omitempty"`
	Title                *string              `json:"title,omitempty"`
}

func (m *AssignmentRequest) Validate(formats strfmt.Registry) error { return nil }
func (m *AssignmentRequest) MarshalBinary() ([]byte, error)         { return json.Marshal(m) }
func (m *AssignmentRequest) UnmarshalBinary(b []byte) error         { return json.Unmarshal(b, m) }

type SubmissionRequest struct {
	Attachments     []*AttachmentRequest `json:"attachments"`
	ExtraAttempts   int64                `json:"extra_attempts,omitempty"`
	Flags           []SubmissionFlag     `json:"flags"`
	Grade           *string              `json:"grade,omitempty"`
	GradeComment    *string              `json:"grade_comment,omitempty"`
	GradePoints     float32              `json:"grade_points,omitempty"`
	GraderID        *string              `json:"grader_id,omitempty"`
	OverrideDueDate *strfmt.DateTime     `json:"override_due_date,omitempty"`
	State           *SubmissionState     `json:"state,omitempty"`
}

func (m *SubmissionRequest) Validate(formats strfmt.Registry) error { return nil }
func (m *SubmissionRequest) MarshalBinary() ([]byte, error)         { return json.Marshal(m) }
func (m *SubmissionRequest) UnmarshalBinary(b []byte) error         { return json.Unmarshal(b, m) }

// The same models with the enums that might not be pointers (x-nullable next to a $ref, which
// go-swagger v0.23 may ignore) generated as values: decoding into both shows which fields'
// outcome depends on that choice (json_decode reports them as "ambiguous").
type AssignmentRequestV struct {
	AssigneeIds          []string             `json:"assignee_ids"`
	AssigneeMode         AssigneeMode         `json:"assignee_mode,omitempty"`
	Attachments          []*AttachmentRequest `json:"attachments"`
	Description          *string              `json:"description,omitempty"`
	DescriptionPlaintext *string              `json:"description_plaintext,omitempty"`
	DisplayDate          *strfmt.DateTime     `json:"display_date,omitempty"`
	DueDate              *strfmt.DateTime     `json:"due_date,omitempty"`
	EndDate              *strfmt.DateTime     `json:"end_date,omitempty"`
	GradingType          GradingType          `json:"grading_type,omitempty"`
	MaxAttempts          int64                `json:"max_attempts,omitempty"`
	PointsPossible       *float32             `json:"points_possible,omitempty"`
	StartDate            *strfmt.DateTime     `json:"start_date,omitempty"`
	SubmissionTypes      []SubmissionType     `json:"submission_types"`
	TermID               *string              `json:"term_id,omitempty"`
	Title                *string              `json:"title,omitempty"`
}

type SubmissionRequestV struct {
	Attachments     []*AttachmentRequest `json:"attachments"`
	ExtraAttempts   int64                `json:"extra_attempts,omitempty"`
	Flags           []SubmissionFlag     `json:"flags"`
	Grade           *string              `json:"grade,omitempty"`
	GradeComment    *string              `json:"grade_comment,omitempty"`
	GradePoints     float32              `json:"grade_points,omitempty"`
	GraderID        *string              `json:"grader_id,omitempty"`
	OverrideDueDate *strfmt.DateTime     `json:"override_due_date,omitempty"`
	State           SubmissionState      `json:"state,omitempty"`
}

// ---- decoding and summaries ----

var dateTimeType = reflect.TypeOf(strfmt.DateTime{})

func summarize(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return summarize(v.Elem())
	case reflect.Struct:
		if v.Type() == dateTimeType {
			t := time.Time(v.Interface().(strfmt.DateTime))
			return "dt:" + t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		}
		out := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name := strings.Split(f.Tag.Get("json"), ",")[0]
			fv := v.Field(i)
			if (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Slice) && fv.IsNil() {
				continue
			}
			out[name] = summarize(fv)
		}
		return out
	case reflect.Slice:
		items := make([]any, v.Len())
		for i := range items {
			items[i] = summarize(v.Index(i))
		}
		return items
	case reflect.String:
		return v.String()
	case reflect.Int64:
		return v.Int()
	case reflect.Float32:
		return fmt.Sprintf("f32:%08x", math.Float32bits(float32(v.Float())))
	}
	panic("unexpected kind " + v.Kind().String())
}

func newModel(model string) any {
	switch model {
	case "AssignmentRequest":
		return &AssignmentRequest{}
	case "SubmissionRequest":
		return &SubmissionRequest{}
	case "AttachmentRequest":
		return &AttachmentRequest{}
	}
	panic("unknown model " + model)
}

type record map[string]any

// decodeRecord decodes body exactly as wag's generated handler does and describes the outcome.
// "values" is only written when Decode returned no error (on error the partial state is of no use).
func decodeRecord(gc gcase) record {
	target := newModel(gc.model)
	err := json.NewDecoder(bytes.NewReader(gc.body)).Decode(target)
	r := record{"kind": "decode", "name": gc.name, "model": gc.model}
	switch {
	case gc.prefixOf != "":
		r["prefix_of"] = gc.prefixOf
		r["len"] = gc.prefixLen
	case gc.parts != nil:
		r["body_parts"] = gc.parts
	default:
		r["body_b64"] = base64.StdEncoding.EncodeToString(gc.body)
	}
	if err != nil {
		r["error"] = err.Error()
	} else {
		r["error"] = nil
		r["values"] = summarize(reflect.ValueOf(target))
		var variant any
		switch gc.model {
		case "AssignmentRequest":
			variant = &AssignmentRequestV{}
		case "SubmissionRequest":
			variant = &SubmissionRequestV{}
		}
		if variant != nil {
			if verr := json.NewDecoder(bytes.NewReader(gc.body)).Decode(variant); verr == nil {
				r["values_value_enums"] = summarize(reflect.ValueOf(variant))
			}
		}
	}
	return r
}

var dateFieldNames = []string{"display_date", "due_date", "end_date", "start_date", "override_due_date"}

// dateStrings collects, from the first JSON value of body, every string value whose key
// case-folds to a date field name (bytes.EqualFold is a superset of json's key folding).
// These are the strings strfmt.ParseDateTime may be asked about.
func dateStrings(body []byte, into map[string]bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object    bool
		expectKey bool
		key       string
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.expectKey
		if s, ok := tok.(string); ok && isKey {
			top.key = s
			top.expectKey = false
			continue
		}
		if s, ok := tok.(string); ok && top != nil && top.object {
			for _, name := range dateFieldNames {
				if bytes.EqualFold([]byte(name), []byte(top.key)) {
					into[s] = true
				}
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.object {
				top.expectKey = true
			}
			stack = append(stack, frame{object: true, expectKey: true})
		case json.Delim('['):
			if top != nil && top.object {
				top.expectKey = true
			}
			stack = append(stack, frame{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if top != nil && top.object {
				top.expectKey = true
			}
		}
	}
}

func dateRecords(texts map[string]bool) []record {
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]record, 0, len(keys))
	for _, s := range keys {
		dt, err := strfmt.ParseDateTime(s)
		r := record{"kind": "date", "text": s}
		if err != nil {
			r["error"] = err.Error()
			r["time"] = nil
		} else {
			r["error"] = nil
			r["time"] = time.Time(dt).UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
		}
		out = append(out, r)
	}
	return out
}

func emit(w *bufio.Writer, r record) {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	w.Write(b)
	w.WriteByte('\n')
}

// ---- the built-in cases ----

// part is a piece of a body repeated n times; bodies of deep nesting are stored this way.
type part struct {
	S string `json:"s"`
	N int    `json:"n"`
}

type gcase struct {
	name, model string
	body        []byte
	parts       []part // when set, the body is the concatenation of the repeated parts
	prefixOf    string // when set, the body is the first prefixLen bytes of that case's body
	prefixLen   int
}

type caseList struct{ list []gcase }

func (c *caseList) add(name, model string, body string) {
	c.list = append(c.list, gcase{name: name, model: model, body: []byte(body)})
}

// rep adds a case whose body is built from repeated parts: rep(name, model, "[", 10000, "]", 10000).
func (c *caseList) rep(name, model string, pieces ...any) {
	var ps []part
	var b strings.Builder
	for i := 0; i < len(pieces); i += 2 {
		p := part{pieces[i].(string), pieces[i+1].(int)}
		ps = append(ps, p)
		b.WriteString(strings.Repeat(p.S, p.N))
	}
	c.list = append(c.list, gcase{name: name, model: model, body: []byte(b.String()), parts: ps})
}
func (c *caseList) a(name, body string) { c.add(name, "AssignmentRequest", body) }
func (c *caseList) s(name, body string) { c.add(name, "SubmissionRequest", body) }

const realisticAssignment = `{"title":"Unit 3 Essay: \"Causes of WWI\"","description":"Write a 5-paragraph essay.\nCite at least 3 sources \u2014 see the rubric \u2713","description_plaintext":"Write a 5-paragraph essay. Cite 3 sources — see the rubric ✓","due_date":"2030-05-01T23:59:00Z","display_date":"2030-04-01T08:00:00.000Z","start_date":"2030-04-01T08:00:00+02:00","end_date":"2030-05-02T00:00:00.123456Z","grading_type":"points","points_possible":100.5,"max_attempts":3,"assignee_mode":"individuals","assignee_ids":["5d9f1c2ab3e4f5a6b7c8d9e0","5d9f1c2ab3e4f5a6b7c8d9e1","5d9f1c2ab3e4f5a6b7c8d9e2"],"submission_types":["file","text","link"],"term_id":"5d9f1c2ab3e4f5a6b7c8d9ef","attachments":[{"type":"file","title":"Rubric","url":"https://example.com/rubric.pdf?a=1&b=2","description":"Grading rubric <v2>"},{"type":"file","title":"Template \u00e9\ud83d\ude00","url":"https://example.com/t.docx"}],"extra":{"nested":[1,2.5e-3,true,false,null,{"k":"v"}]}}`

const realisticSubmission = `{"grade":"A-","grade_comment":"Nice work <b>really</b> & more\ttabs","grade_points":92.5,"grader_id":"5d9f1c2ab3e4f5a6b7c8d9e3","state":"returned","flags":["late","excused"],"extra_attempts":1,"override_due_date":"2030-06-01T12:00:00Z","attachments":[{"type":"file","title":"Feedback","url":"https://example.com/f.pdf"}]}`

type fieldSpec struct {
	model, name, kind string // kind: string, enum, int64, float32, datetime, strslice, enumslice, attachments
}

var fieldSpecs = []fieldSpec{
	{"AssignmentRequest", "assignee_ids", "strslice"},
	{"AssignmentRequest", "assignee_mode", "enum"},
	{"AssignmentRequest", "attachments", "attachments"},
	{"AssignmentRequest", "description", "string"},
	{"AssignmentRequest", "description_plaintext", "string"},
	{"AssignmentRequest", "display_date", "datetime"},
	{"AssignmentRequest", "due_date", "datetime"},
	{"AssignmentRequest", "end_date", "datetime"},
	{"AssignmentRequest", "grading_type", "enum"},
	{"AssignmentRequest", "max_attempts", "int64"},
	{"AssignmentRequest", "points_possible", "float32"},
	{"AssignmentRequest", "start_date", "datetime"},
	{"AssignmentRequest", "submission_types", "enumslice"},
	{"AssignmentRequest", "term_id", "string"},
	{"AssignmentRequest", "title", "string"},
	{"SubmissionRequest", "attachments", "attachments"},
	{"SubmissionRequest", "extra_attempts", "int64"},
	{"SubmissionRequest", "flags", "enumslice"},
	{"SubmissionRequest", "grade", "string"},
	{"SubmissionRequest", "grade_comment", "string"},
	{"SubmissionRequest", "grade_points", "float32"},
	{"SubmissionRequest", "grader_id", "string"},
	{"SubmissionRequest", "override_due_date", "datetime"},
	{"SubmissionRequest", "state", "enum"},
}

var jsonKinds = []string{`"x"`, `""`, `5`, `-2.5`, `true`, `false`, `null`, `[]`, `["x"]`, `[1]`, `[null]`, `{}`, `{"title":"t"}`, `{"type":5}`, `[[]]`, `[{}]`, `[{"title":1}]`}

var numberLiterals = []string{
	"0", "-0", "1", "-1", "2.5", "1e2", "1E2", "1.0", "-0.0", "0.1", "1e39", "-1e39", "1e38",
	"3.4028235e38", "3.4028236e38", "-3.4028236e38", "3.4028234663852886e38", "3.40282356e38",
	"3.4028235677973366e38", "3.4028235677973362e38", "3.4028235677973366001e38",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
	"18446744073709551615", "18446744073709551616", "100000000000000000000000000000",
	"1e999999999999", "-1e999999999999", "1e-999999999999", "0e999999999999", "1e-46", "1e-45",
	"1.4e-45", "7e-46", "7.1e-46", "1.401298464324817e-45", "7.006492321624085e-46",
	"7.0064923216240854e-46", "1.1754943e-38", "1.1754942e-38",
	"1.000000059604644775390625", "1.0000000596046447753906250000000001",
	"1.0000000596046447753906249999999999", "16777217", "16777217.0", "16777219", "33554435",
	"9007199254740993", "0.30000000000000004", "123456789012345678901234567890e-20",
	"1.7976931348623157e308", "1.7976931348623159e308", "4.9e-324", "2.4703282292062327e-324",
	"0.000001", "100.5", "-100.5", "1e0", "1e-0", "1e+0", "12e-1", "1000000", "3.14159265358979323846",
}

func longDigits(n int) string { return "1" + strings.Repeat("0", n-1) }

func buildCases() []gcase {
	c := &caseList{}

	// -- scanner contexts --
	c.a("ctx/beginning of value", `{"assignee_mode": ,}`)
	c.a("ctx/after object key:value pair", `{"title":"a" : "b"}`)
	c.a("ctx/after object key", `{"title" "a"}`)
	c.a("ctx/after object key 2", `{"title"}`)
	c.a("ctx/object key string close", `{"title":"a",}`)
	c.a("ctx/object key string number", `{1:2}`)
	c.a("ctx/object key string single quote", `{'title':'a'}`)
	c.a("ctx/after array element", `{"assignee_ids":["a" "b"]}`)
	c.a("ctx/after array element brace", `{"assignee_ids":["a"}`)
	c.a("ctx/array trailing comma", `{"assignee_ids":["a",]}`)
	c.a("ctx/empty array comma", `{"assignee_ids":[,]}`)
	c.a("ctx/empty object comma", `{,}`)
	c.a("ctx/in string literal", "{\"title\":\"a\x01\"}")
	c.a("ctx/in string literal newline", "{\"title\":\"a\nb\"}")
	c.a("ctx/in string literal tab", "{\"title\":\"a\tb\"}")
	c.a("ctx/in string literal key", "{\"ti\x1ftle\":\"a\"}")
	c.a("ctx/in string escape code", `{"title":"a\ b"}`)
	c.a("ctx/in string escape code x", `{"title":"a\x41"}`)
	c.a("ctx/in string escape code quote", `{"title":"a\'"}`)
	c.a("ctx/in string escape code U", `{"title":"\U0041"}`)
	c.a("ctx/hex escape 1", `{"title":"\uG000"}`)
	c.a("ctx/hex escape 2", `{"title":"\u0G00"}`)
	c.a("ctx/hex escape 3", `{"title":"\u00G0"}`)
	c.a("ctx/hex escape 4", `{"title":"\u000G"}`)
	c.a("ctx/hex escape quote", `{"title":"\u00"}`)
	c.a("ctx/in numeric literal", `{"max_attempts":-a}`)
	c.a("ctx/in numeric literal minus brace", `{"max_attempts":-}`)
	c.a("ctx/in numeric literal minus minus", `{"max_attempts":--1}`)
	c.a("ctx/after decimal point", `{"max_attempts":1.}`)
	c.a("ctx/after decimal point e", `{"max_attempts":1.e5}`)
	c.a("ctx/in exponent", `{"max_attempts":1e}`)
	c.a("ctx/in exponent sign", `{"max_attempts":1e+}`)
	c.a("ctx/in exponent sign2", `{"max_attempts":1e+-1}`)
	c.a("ctx/leading zero", `{"max_attempts":01}`)
	c.a("ctx/leading zero neg", `{"max_attempts":-01}`)
	c.a("ctx/plus sign", `{"max_attempts":+1}`)
	c.a("ctx/dot first", `{"max_attempts":.5}`)
	c.a("ctx/hex number", `{"max_attempts":0x10}`)
	c.a("ctx/NaN", `{"points_possible":NaN}`)
	c.a("ctx/Infinity", `{"points_possible":Infinity}`)
	for _, lit := range []string{"true", "false", "null"} {
		for i := 1; i < len(lit); i++ {
			c.a("ctx/literal "+lit+fmt.Sprint(i), `{"title":`+lit[:i]+`x}`)
		}
		c.a("ctx/literal upper "+lit, `{"title":`+strings.ToUpper(lit)+`}`)
		c.a("ctx/literal run-on "+lit, `{"title":`+lit+`x}`)
		c.a("ctx/top literal run-on "+lit, lit+`x`)
	}
	c.a("ctx/top after value nothing", `{}`)
	c.a("ctx/comment", `{/*c*/}`)
	c.a("ctx/unquoted key", `{title:"a"}`)
	c.a("ctx/colon missing value", `{"title":}`)
	c.a("ctx/array in key position", `{"a":1,[]}`)
	c.a("ctx/double comma", `{"a":1,,"b":2}`)
	c.a("ctx/array double comma", `{"assignee_ids":["a",,"b"]}`)
	c.a("ctx/error after type error", `{"title":5,"x":[1 2]}`)
	c.a("ctx/error after date error", `{"due_date":"bad","x":[1 2]}`)
	c.a("ctx/error after date kind error", `{"due_date":5,"x":[1 2]}`)
	c.a("ctx/error deep inside unknown", `{"zz":{"a":[{"b":[1,2,{"c":tru}]}]}}`)

	// -- quoteChar --
	for b := 0; b < 256; b++ { // quoteChar of every byte
		c.a(fmt.Sprintf("quote/top %02x", b), string([]byte{byte(b)})+`{}`)
		c.a(fmt.Sprintf("quote/key start %02x", b), `{`+string([]byte{byte(b)})+`}`)
	}
	for _, b := range []byte{'\'', '"', '\n', 0, 0xEF, 0xC2, 0xE2, '\\', '\t', '\r', 0x7F, 0x80, 0x85, 0x9F, 0xA0,
		0xAD, 0xFF, 0x1B, '\b', '\f', '\v', '\a', 'x', '}', ']', ':', ',', '#', '~', 0xC3, 0xFE, 0xD7, 0xF7} {
		c.a(fmt.Sprintf("quote/value %02x", b), `{"title":`+string([]byte{b})+`}`)
		c.a(fmt.Sprintf("quote/after pair %02x", b), `{"title":"a"`+string([]byte{b})+`}`)
		c.a(fmt.Sprintf("quote/after key %02x", b), `{"title"`+string([]byte{b})+`}`)
		c.a(fmt.Sprintf("quote/after element %02x", b), `{"assignee_ids":["a"`+string([]byte{b})+`]}`)
		c.a(fmt.Sprintf("quote/in string %02x", b), `{"title":"a`+string([]byte{b})+`"}`)
		c.a(fmt.Sprintf("quote/escape %02x", b), `{"title":"a\`+string([]byte{b})+`"}`)
		c.a(fmt.Sprintf("quote/hex escape %02x", b), `{"title":"a\u0`+string([]byte{b})+`00"}`)
		c.a(fmt.Sprintf("quote/number %02x", b), `{"max_attempts":-`+string([]byte{b})+`}`)
		c.a(fmt.Sprintf("quote/literal %02x", b), `{"title":t`+string([]byte{b})+`ue}`)
	}
	c.a("quote/double quote after value", `{"title":"a""b"}`)
	c.a("quote/double quote after key", `{"title" "b"}`)
	c.a("quote/bom", "\xef\xbb\xbf{\"title\":\"a\"}")
	c.a("quote/nbsp", "\xc2\xa0{\"title\":\"a\"}")
	c.a("quote/curly quotes", "{\u201ctitle\u201d:\u201ca\u201d}")
	c.a("quote/curly quote value", "{\"title\":\u201ca\u201d}")
	c.a("quote/fullwidth brace", "\uff5b}")

	// -- truncation of realistic bodies at every byte --
	for _, rb := range []struct{ model, body string }{{"AssignmentRequest", realisticAssignment}, {"SubmissionRequest", realisticSubmission}} {
		c.add("realistic/full", rb.model, rb.body)
		for i := 0; i < len(rb.body); i++ {
			c.list = append(c.list, gcase{name: fmt.Sprintf("trunc/%d", i), model: rb.model,
				body: []byte(rb.body[:i]), prefixOf: "realistic/full", prefixLen: i})
		}
		c.add("realistic/trailing newline", rb.model, rb.body+"\n")
		c.add("realistic/pretty", rb.model, " \r\n\t"+strings.ReplaceAll(strings.ReplaceAll(rb.body, ",\"", ",\n  \""), ":", " : ")+"\n\n")
	}

	// -- trailing data, EOF, whitespace --
	c.a("trail/garbage", `{"title":"a"} xyz`)
	c.a("trail/brace", `{"title":"a"}}`)
	c.a("trail/second value", `{"title":"a"}{"title":5}`)
	c.a("trail/number", `123abc`)
	c.a("trail/number2", `0123`)
	c.a("trail/neg number", `-5x`)
	c.a("trail/string", `"x"y`)
	c.a("trail/null", `nullx`)
	c.a("trail/null space", `null {`)
	c.a("trail/true", `true false`)
	c.a("trail/array", `[]]`)
	c.a("trail/object", `{}{`)
	c.a("trail/nul byte", "{}\x00")
	c.a("trail/invalid utf8", "{}\xff\xfe")
	c.a("eof/empty", ``)
	c.a("eof/space", ` `)
	c.a("eof/all whitespace", " \t\r\n \n")
	c.a("eof/formfeed", "\f")
	c.a("eof/vertical tab", "\v")
	c.a("eof/open brace", `{`)
	c.a("eof/space open brace", "  {  ")
	c.a("eof/key", `{"title"`)
	c.a("eof/key colon", `{"title":`)
	c.a("eof/open string", `{"title":"abc`)
	c.a("eof/open escape", `{"title":"abc\`)
	c.a("eof/open u escape", `{"title":"abc\u12`)
	c.a("eof/top minus", `-`)
	c.a("eof/top number", `12`)
	c.a("eof/top number dot", `12.`)
	c.a("eof/top number e", `12e`)
	c.a("eof/top number e sign", `12e-`)
	c.a("eof/top tru", `tru`)
	c.a("eof/top nul", `nul`)
	c.a("eof/top string open", `"abc`)
	c.a("eof/top null", `null`)
	c.a("eof/top null ws", " null \n")
	c.a("eof/top empty string", `""`)
	c.a("eof/after comma", `{"title":"a",`)
	c.a("eof/array open", `{"assignee_ids":[`)
	c.a("eof/array value", `{"assignee_ids":["a"`)
	c.a("eof/array comma", `{"assignee_ids":["a",`)
	c.a("eof/number in object", `{"max_attempts":12`)

	// -- nesting depth --
	const A = "AssignmentRequest"
	c.rep("depth/top 10000", A, "[", 10000, "]", 10000)
	c.rep("depth/top 10001", A, "[", 10001, "]", 10001)
	c.rep("depth/top 10001 objects", A, `{"a":`, 10001, "1", 1, "}", 10001)
	c.rep("depth/top 10000 objects", A, `{"a":`, 10000, "1", 1, "}", 10000)
	c.rep("depth/field 10000", A, `{"zz":`, 1, "[", 9999, "]", 9999, "}", 1)
	c.rep("depth/field 10001", A, `{"zz":`, 1, "[", 10000, "]", 10000, "}", 1)
	c.rep("depth/field 10000 typed", A, `{"title":`, 1, "[", 9999, "]", 9999, "}", 1)
	c.rep("depth/field 10000 typed slice", A, `{"assignee_ids":`, 1, "[", 9999, "]", 9999, "}", 1)
	c.rep("depth/truncated 10000", A, "[", 10000)
	c.rep("depth/truncated 10001", A, "[", 10001)
	c.rep("depth/mixed 10001", A, `[{"a":`, 5000, "[[1]]", 1)
	c.rep("depth/mixed 10000 syntax", A, `{"a":`, 1, `[`, 9999, `1,}`, 1)
	c.rep("depth/mixed 10000 ok", A, `{"a":`, 1, `[{"b":`, 4999, `[1]`, 1, `}]`, 4999, `}`, 1)

	// -- each JSON kind into each field --
	for _, f := range fieldSpecs {
		for _, k := range jsonKinds {
			c.add("kind/"+f.name+"="+k, f.model, `{"`+f.name+`":`+k+`}`)
		}
		switch f.kind {
		case "strslice", "enumslice":
			for _, k := range jsonKinds {
				c.add("item/"+f.name+"="+k, f.model, `{"`+f.name+`":["a",`+k+`,"b"]}`)
			}
		case "attachments":
			for _, k := range jsonKinds {
				c.add("item/"+f.name+"="+k, f.model, `{"`+f.name+`":[{"type":"file"},`+k+`]}`)
			}
			for _, sub := range []string{"description", "title", "type", "url", "TITLE", "Type", "zz"} {
				for _, k := range jsonKinds {
					c.add("nested/"+f.name+"."+sub+"="+k, f.model, `{"`+f.name+`":[{"`+sub+`":`+k+`}]}`)
				}
			}
		}
	}

	// -- numbers into int64 and float32 fields --
	for _, n := range numberLiterals {
		c.a("num/max_attempts="+n, `{"max_attempts":`+n+`}`)
		c.a("num/points_possible="+n, `{"points_possible":`+n+`}`)
		c.s("num/grade_points="+n, `{"grade_points":`+n+`}`)
		c.s("num/extra_attempts="+n, `{"extra_attempts":`+n+`}`)
		c.a("num/title="+n, `{"title":`+n+`}`)
		c.a("num/top="+n, n)
	}
	for _, n := range []int{21, 400, 801, 5000} {
		c.a(fmt.Sprintf("num/long int %d", n), `{"max_attempts":`+longDigits(n)+`}`)
		c.a(fmt.Sprintf("num/long float %d", n), `{"points_possible":`+longDigits(n)+`}`)
		c.a(fmt.Sprintf("num/long fraction %d", n), `{"points_possible":0.`+strings.Repeat("0", n)+`1}`)
		c.a(fmt.Sprintf("num/long mantissa small %d", n), `{"points_possible":`+longDigits(n)+`e-`+fmt.Sprint(n+10)+`}`)
	}

	// strconv.ParseFloat quirks: exponents stop growing at 10000, and the slow path counts at most
	// 800 digits before the decimal point (Eisel-Lemire gives up on these, so the slow path decides).
	for _, q := range []struct {
		head string
		n    int
		tail string
	}{
		{"1", 900, "e-890"}, {"1", 5049, "e-5010"}, {"1", 800, "e-770"}, {"1", 799, "e-770"}, {"1", 801, "e-800"},
		{"1", 801, "e-802"}, {"3", 900, "e-862"}, {"34028235677973366", 900, "e-878"}, {"1", 799, "1e-790"},
		{"0.", 20000, "1e100000"}, {"0.", 20000, "1e20005"}, {"0.", 50, "1e10050"}, {"1", 20000, "e-19990"},
		{"1", 900, ".5e-890"}, {"1", 0, "e10000"}, {"1", 0, "e100000"}, {"1", 0, "e-100000"}, {"1", 0, "e0000000000000038"},
	} {
		for _, field := range []string{"points_possible", "max_attempts"} {
			if field == "max_attempts" && q.n > 1000 {
				continue // the error text repeats the literal; keep the golden file small
			}
			c.rep(fmt.Sprintf("num/quirk %s %s*%d %s", field, q.head, q.n, q.tail), A,
				`{"`+field+`":`+q.head, 1, "0", q.n, q.tail+"}", 1)
		}
		c.rep(fmt.Sprintf("num/quirk grade_points %s*%d %s", q.head, q.n, q.tail), "SubmissionRequest",
			`{"grade_points":`+q.head, 1, "0", q.n, q.tail+"}", 1)
	}

	// -- case-folded keys --
	for _, k := range []string{"TITLE", "Title", "tItLe", "ſtate", "STATE", "ſTATE", "\u212aey", "titl\u212a",
		"due_DATE", "Due_Date", "DUE-DATE", "due date", "duedate", "ASSIGNEE_IDS", "assignee_idſ", "aſſignee_idſ",
		"Max_Attempts", "MAX_ATTEMPTS", "max_attemptſ", "POINTS_POSSIBLE", "pointſ_poſſible", "grade_POINTS",
		"tıtle", "TİTLE", "title\u0000", "tit\u0000e", "ti\u00adtle", "title ", " title", "t\u0131tle", "ſ", "ſubmission_types",
		"SUBMISSION_TYPES", "extra_attemptſ", "Flags", "FLAGS", "flagſ", "GRADE", "grade_COMMENT", "ATTACHMENTS", "attachmentſ",
		"\u017ftate", "\u212a", "Term_Id", "TERM_ID", "term_ID"} {
		c.a("fold/"+k, `{"`+k+`":"v1"}`)
		c.a("fold/num "+k, `{"`+k+`":5}`)
		c.s("fold/"+k, `{"`+k+`":"v1"}`)
		c.s("fold/num "+k, `{"`+k+`":5}`)
	}
	c.a("fold/exact then folded", `{"title":"a","TITLE":"b"}`)
	c.a("fold/folded then exact", `{"TITLE":"a","title":"b"}`)
	c.a("fold/folded then null", `{"TITLE":"a","title":null}`)
	c.a("fold/nested folded", `{"attachments":[{"TITLE":"a","Url":"u","TYPE":"file","Description":"d"}]}`)
	c.a("fold/escaped key", `{"\u0074itle":"a"}`)
	c.a("fold/escaped key upper", `{"\u0054ITLE":"a"}`)
	c.a("fold/escaped long s", `{"\u017ftate":"a","\u017fubmission_types":["x"]}`)
	c.s("fold/escaped long s state", `{"\u017ftate":"created"}`)
	c.s("fold/kelvin escaped", `{"\u212aey":"created"}`)

	// -- duplicate keys --
	c.a("dup/last wins", `{"title":"a","title":"b"}`)
	c.a("dup/type error earlier", `{"title":5,"title":"b"}`)
	c.a("dup/type error later", `{"title":"a","title":5}`)
	c.a("dup/two type errors", `{"title":5,"max_attempts":"x"}`)
	c.a("dup/two type errors rev", `{"max_attempts":"x","title":5}`)
	c.a("dup/null after value", `{"title":"a","title":null}`)
	c.a("dup/null after value enum", `{"assignee_mode":"all","assignee_mode":null}`)
	c.a("dup/null after value int", `{"max_attempts":3,"max_attempts":null}`)
	c.a("dup/null after value float", `{"points_possible":3,"points_possible":null}`)
	c.s("dup/null after value float value", `{"grade_points":3,"grade_points":null}`)
	c.a("dup/null after value date", `{"due_date":"2030-05-01T23:59:00Z","due_date":null}`)
	c.a("dup/null after value slice", `{"assignee_ids":["a"],"assignee_ids":null}`)
	c.a("dup/empty after value slice", `{"assignee_ids":["a"],"assignee_ids":[]}`)
	c.a("dup/stale backing", `{"assignee_ids":["a","b","c"],"assignee_ids":["x"],"assignee_ids":[null,null,null]}`)
	c.a("dup/stale backing grow", `{"assignee_ids":["a","b","c","d"],"assignee_ids":["x"],"assignee_ids":[null,null,null,null,null,null]}`)
	c.a("dup/stale backing after empty", `{"assignee_ids":["a","b"],"assignee_ids":[],"assignee_ids":[null,null]}`)
	c.a("dup/stale backing after null", `{"assignee_ids":["a","b"],"assignee_ids":null,"assignee_ids":[null,null]}`)
	c.a("dup/stale backing enum", `{"submission_types":["link","file"],"submission_types":["text"],"submission_types":[null,null]}`)
	c.a("dup/stale backing 7", `{"assignee_ids":["1","2","3","4","5","6","7"],"assignee_ids":["x"],"assignee_ids":[null,null,null,null,null,null,null,null,null,null]}`)
	c.a("dup/attachments merge", `{"attachments":[{"title":"a","type":"file"}],"attachments":[{"url":"u"}]}`)
	c.a("dup/attachments stale", `{"attachments":[{"title":"a"},{"title":"b"}],"attachments":[{}],"attachments":[{},{}]}`)
	c.a("dup/attachments null item", `{"attachments":[{"title":"a"}],"attachments":[null]}`)
	c.a("dup/attachments null then obj", `{"attachments":[null],"attachments":[{"url":"u"}]}`)
	c.a("dup/attachments nested null", `{"attachments":[{"title":"a","title":null,"type":"file","type":null}]}`)
	c.a("dup/attachments item type error then obj", `{"attachments":["x"],"attachments":[{"url":"u"}]}`)
	c.a("dup/date twice", `{"due_date":"2030-05-01T23:59:00Z","due_date":"2031-05-01T23:59:00Z"}`)
	c.a("dup/date bad after type error", `{"title":5,"due_date":"bad"}`)
	c.a("dup/date kind after type error", `{"title":5,"due_date":5}`)
	c.a("dup/date kind after nested type error", `{"attachments":[{"title":5}],"due_date":[]}`)
	c.a("dup/date then type error", `{"due_date":"bad","title":5}`)
	c.a("dup/type error in unknown then", `{"zz":5,"title":5}`)
	c.a("dup/type error first wins nested", `{"attachments":[{"url":5}],"title":5}`)
	c.a("dup/type error after first key", `{"assignee_ids":[1,"x",true]}`)
	c.s("dup/value float twice", `{"grade_points":1.5,"grade_points":2.5}`)
	c.s("dup/state null after", `{"state":"created","state":null}`)
	c.s("dup/state null then value", `{"state":"created","state":null,"state":"returned"}`)
	c.s("dup/state folded null", `{"state":"created","ſTATE":null}`)
	c.a("dup/grading_type null after", `{"grading_type":"points","grading_type":null}`)
	c.a("dup/assignee_mode folded null", `{"assignee_mode":"all","ASSIGNEE_MODE":null}`)
	c.a("dup/assignee_mode empty then null", `{"assignee_mode":"","assignee_mode":null}`)
	c.a("dup/enum null before value", `{"grading_type":null,"grading_type":"points"}`)
	c.s("dup/date null after", `{"override_due_date":"2030-06-01T12:00:00Z","override_due_date":null}`)

	// -- null handling --
	c.a("null/top", `null`)
	c.a("null/all fields", `{"assignee_ids":null,"assignee_mode":null,"attachments":null,"description":null,"description_plaintext":null,"display_date":null,"due_date":null,"end_date":null,"grading_type":null,"max_attempts":null,"points_possible":null,"start_date":null,"submission_types":null,"term_id":null,"title":null}`)
	c.s("null/all fields", `{"attachments":null,"extra_attempts":null,"flags":null,"grade":null,"grade_comment":null,"grade_points":null,"grader_id":null,"override_due_date":null,"state":null}`)
	c.a("null/items", `{"assignee_ids":[null],"submission_types":[null,"file"],"attachments":[null,{"title":null,"type":null}]}`)
	c.s("null/items", `{"flags":[null],"attachments":[null]}`)
	c.a("null/empty object", `{}`)
	c.a("null/empty arrays", `{"assignee_ids":[],"submission_types":[],"attachments":[]}`)
	c.a("null/empty strings", `{"title":"","description":"","assignee_mode":"","grading_type":"","due_date":"","term_id":""}`)

	// -- strings: invalid UTF-8, surrogates, escapes --
	for i, s := range []string{
		"\xff", "a\xffb", "\xc3", "\xc3(", "\xe2\x82", "\xe2\x82a", "\xe2\x82\xac", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xc0\x80", "\xc1\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf0\x9f\x98", "\xf0\x9f\x98\x80", "\x80\x80",
		"\xef\xbf\xbd", "\xef\xbb\xbf", `\ud800`, `\udc00`, `\ud800\udc00`, `\uD83D\uDE00`, `\ud800\u0041`, `\ud800\ud800\udc00`,
		`\udc00\ud800`, `\ud800x`, `\ud800\n`, `\ud800\\`, `\udbff\udfff`, `\ud800\uDBFF`, `\u0000`, `\u001f`, `\u2028\u2029`,
		`\ufffd`, `\/\b\f\n\r\t\"\\`, `\u00e9\u00E9`, "é", "\u2028", "\x7f", `\ud834\udd1e\ud834`, `\udfff\udbff\udfff`,
		"\xed\x9f\xbf", "\xee\x80\x80", "\xf8\x88\x80\x80\x80", "a\xc2", "a\xc2\xa0",
	} {
		c.a(fmt.Sprintf("str/%d title", i), `{"title":"`+s+`"}`)
		c.a(fmt.Sprintf("str/%d key", i), `{"`+s+`":"x","title":"ok"}`)
		c.a(fmt.Sprintf("str/%d item", i), `{"assignee_ids":["`+s+`"]}`)
		c.a(fmt.Sprintf("str/%d date", i), `{"due_date":"`+s+`"}`)
		c.a(fmt.Sprintf("str/%d key titl", i), `{"titl`+s+`":"x"}`)
	}
	c.a("str/invalid utf8 outside strings", "{\"title\":\"a\"\xff}")
	c.a("str/invalid utf8 in key position", "{\xff:1}")

	// -- nested attachment errors --
	c.a("att/title number", `{"attachments":[{"title":5}]}`)
	c.a("att/second item title", `{"attachments":[{"title":"a"},{"title":true}]}`)
	c.a("att/type array", `{"attachments":[{"type":[]}]}`)
	c.a("att/url object", `{"attachments":[{"url":{}}]}`)
	c.a("att/item string", `{"attachments":["x"]}`)
	c.a("att/item number", `{"attachments":[5]}`)
	c.a("att/item array", `{"attachments":[[]]}`)
	c.a("att/item bool", `{"attachments":[false]}`)
	c.a("att/object", `{"attachments":{}}`)
	c.a("att/string", `{"attachments":"x"}`)
	c.a("att/error then top error", `{"attachments":[{"title":5}],"title":5}`)
	c.a("att/top error then nested", `{"title":5,"attachments":[{"title":5}]}`)
	c.s("att/submission nested", `{"attachments":[{"description":1}]}`)
	c.a("att/unknown nested", `{"attachments":[{"zz":[1,{"a":"b"}],"type":"file"}]}`)
	c.a("att/deep unknown", `{"attachments":[{"zz":`+strings.Repeat("[", 50)+strings.Repeat("]", 50)+`}]}`)

	// -- date fields --
	for _, d := range []string{"2030-05-01T23:59:00Z", "2030-05-01T23:59:00.123Z", "2030-05-01T23:59:00.123456Z",
		"2030-05-01T23:59:00+05:30", "2030-05-01T23:59:00.000000+0530", "2030-05-01T23:59:00", "2030-05-01T23:59Z",
		"2030-05-01T23:59", "2030-05-01 23:59:00", "2030-05-01", "not a date", "2024-02-30", "2024-02-30T00:00:00Z",
		"2024-13-01T00:00:00Z", "2024-01-01T25:00:00Z", "caf\u00e9", "\xff", "", " ", "2030-05-01T23:59:00z",
		"2030-05-01t23:59:00Z", "2030-05-01T23:59:00.1234567891Z", "1970-01-01T00:00:00Z"} {
		q, _ := json.Marshal(d)
		c.a("date/due_date="+d, `{"due_date":`+string(q)+`}`)
		c.s("date/override_due_date="+d, `{"override_due_date":`+string(q)+`}`)
	}
	for _, k := range jsonKinds {
		c.a("date/kind after type error "+k, `{"title":5,"start_date":`+k+`}`)
	}
	c.a("date/error stops decoding", `{"due_date":"bad","title":"a"}`)
	c.a("date/abort beats later date", `{"due_date":5,"end_date":"bad"}`)
	c.a("date/bad then bad", `{"due_date":"bad","end_date":5}`)
	c.a("date/folded key", `{"DUE_DATE":"bad"}`)
	c.a("date/escaped string", `{"due_date":"2030\u002d05-01T23:59:00Z"}`)

	// -- top level kinds --
	for _, top := range []string{`[]`, `[1]`, `"x"`, `5`, `true`, `false`, `null`, `-1.5e3`, ` [ ] `, `""`, `[{"title":5}]`} {
		c.a("top/"+top, top)
		c.s("top/"+top, top)
	}

	return c.list
}

func marshalRecord(in []byte) record {
	out, err := json.Marshal(string(in))
	if err != nil {
		panic(err)
	}
	return record{"kind": "marshal", "in_b64": base64.StdEncoding.EncodeToString(in),
		"out_b64": base64.StdEncoding.EncodeToString(out)}
}

// marshalCases: every single byte, the special characters, invalid UTF-8, and a few mixtures.
func marshalCases() [][]byte {
	var out [][]byte
	for b := 0; b < 256; b++ {
		out = append(out, []byte{byte(b)})
		out = append(out, []byte{'a', byte(b), 'z'})
	}
	for _, s := range []string{"", "plain", "validation failure list:\nsubmission_types.0 in body", "<html>&amp;</html>",
		"\u2028\u2029", "x\u2028y\u2029z", "\ufffd", "\xef\xbf\xbd", "é", "😀", "\U0010ffff", "\xf4\x90\x80\x80",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xc0\x80", "\xc1\xbf", "\xe2\x82", "\xe2\x82a", "\xe2\x80", "\xe2\x80\xa8",
		"\xe2\x80\xa9", "\xe2\x80\xaa", "\xf0\x9f\x98", "\xf0\x9f\x98\x80", "\xf8\x88\x80\x80\x80", "\x80\x80\x80",
		"a\xc2", "\xc2\xa0", "\xc2\x85", "\x7f\x7f", "tab\there", "quote\"back\\slash", "\x00\x01\x1f\x20",
		"invalid character '\\'' looking for beginning of value", "parsing time \"2024-02-30\": day out of range",
		"caf\xc3\xa9 \xff\xfe", "\xee\x80\x80\xef\xbf\xbf\xef\xbf\xbe"} {
		out = append(out, []byte(s))
	}
	var mixed []byte
	for i := 0; i < 600; i++ {
		mixed = append(mixed, byte((i*7919)%251), byte(i%256))
	}
	for i := 0; i+40 <= len(mixed); i += 40 {
		out = append(out, mixed[i:i+40])
	}
	return out
}

// Main runs the generator. Argument: "generate" (default) or "stdin".
func Main() {
	mode := "generate"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	texts := map[string]bool{}
	switch mode {
	case "generate":
		seen := map[string]bool{}
		for _, gc := range buildCases() {
			key := gc.model + "\x00" + string(gc.body)
			if seen[key] {
				continue
			}
			seen[key] = true
			emit(w, decodeRecord(gc))
			dateStrings(gc.body, texts)
		}
		for _, m := range marshalCases() {
			emit(w, marshalRecord(m))
		}
	case "stdin":
		r := bufio.NewReaderSize(os.Stdin, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				var in struct {
					Name    string `json:"name"`
					Model   string `json:"model"`
					BodyB64 string `json:"body_b64"`
				}
				if jerr := json.Unmarshal(line, &in); jerr != nil {
					panic(jerr)
				}
				body, derr := base64.StdEncoding.DecodeString(in.BodyB64)
				if derr != nil {
					panic(derr)
				}
				emit(w, decodeRecord(gcase{name: in.Name, model: in.Model, body: body}))
				dateStrings(body, texts)
			}
			if err == io.EOF {
				break
			} else if err != nil {
				panic(err)
			}
		}
	case "marshal":
		r := bufio.NewReaderSize(os.Stdin, 1<<20)
		for {
			line, err := r.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				var in struct {
					InB64 string `json:"in_b64"`
				}
				if jerr := json.Unmarshal(line, &in); jerr != nil {
					panic(jerr)
				}
				b, derr := base64.StdEncoding.DecodeString(in.InB64)
				if derr != nil {
					panic(derr)
				}
				emit(w, marshalRecord(b))
			}
			if err == io.EOF {
				break
			} else if err != nil {
				panic(err)
			}
		}
		return
	default:
		fmt.Fprintln(os.Stderr, "usage: json_decode_golden [generate|stdin|marshal]")
		os.Exit(2)
	}
	for _, r := range dateRecords(texts) {
		emit(w, r)
	}
}
