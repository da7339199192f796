package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"net/http"
	"strings"
	"time"

	"cleverref/models"

	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/swag"
	"github.com/go-openapi/validate"
	"github.com/gorilla/mux"
)

const basePath = "/v3.1"

// schemaMode selects how the schema stage treats what the contract calls
// uncertain there.
type schemaMode string

const (
	// schemaContract: uncertain where pointer and value enum models disagree
	// or an attachment type is neither "" nor "file" (contract §6, §9).
	schemaContract schemaMode = "contract"
	// schemaPointer / schemaValue: answer as the one go-swagger model shape
	// would, with the public spec's attachment enum (for probing messages).
	schemaPointer schemaMode = "pointer"
	schemaValue   schemaMode = "value"
)

// controller holds what Clever's controller rules need beyond the request.
type controller struct {
	skew   time.Duration
	now    func() time.Time
	schema schemaMode
}

// verdict is the outcome of one stage: a certain 400 (message) or an
// uncertain stage (stage, reason). A nil *verdict means "go on".
type verdict struct {
	message string
	stage   string
	reason  string
}

func reject(msg string) *verdict { return &verdict{message: msg} }

func unsure(stage, format string, args ...interface{}) *verdict {
	return &verdict{stage: stage, reason: fmt.Sprintf(format, args...)}
}

func (v *verdict) write(w http.ResponseWriter) {
	if v.stage != "" {
		writeUncertain(w, v.stage, v.reason)
		return
	}
	writeBadRequest(w, v.message)
}

// writeBadRequest is wag's handlerTemplate error path:
// http.Error(w, jsonMarshalNoError(models.BadRequest{Message: err.Error()}), 400).
func writeBadRequest(w http.ResponseWriter, msg string) {
	http.Error(w, jsonMarshalNoError(models.BadRequest{Message: msg}), http.StatusBadRequest)
}

// jsonMarshalNoError is wag's handler helper of that name (json.Marshal at HEAD).
func jsonMarshalNoError(i interface{}) string {
	b, err := json.Marshal(i)
	if err != nil {
		return ""
	}
	return string(b)
}

// uncertainBody is what the reference answers where Clever's verdict is open.
type uncertainBody struct {
	Uncertain string `json:"uncertain"`
	Reason    string `json:"reason"`
}

// writeUncertain answers 2xx so that a proxy's local rejection of the same
// request shows up as a false rejection in a differential test.
func writeUncertain(w http.ResponseWriter, stage, reason string) {
	b, _ := json.Marshal(uncertainBody{Uncertain: stage, Reason: reason})
	w.Header().Set("X-Reference-Uncertain", stage)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeSuccess is the success tail of wag's handlerTemplate (json.Marshal,
// Content-Type application/json, no trailing newline).
func writeSuccess(w http.ResponseWriter, resp interface{}) {
	b, err := json.Marshal(resp)
	if err != nil {
		http.Error(w, jsonMarshalNoError(models.BadRequest{Message: err.Error()}), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// newRouter models wag's server/router.go: one mux route per operation,
// router.Methods(M).Path(basePath + path), default mux 404/405/301 handling.
func newRouter(c *controller) *mux.Router {
	r := mux.NewRouter()
	a := basePath + "/sections/{section_id}/assignments"
	r.Methods("POST").Path(a).HandlerFunc(c.createAssignment)
	r.Methods("GET").Path(a + "/{assignment_id}").HandlerFunc(c.getAssignment)
	r.Methods("PATCH").Path(a + "/{assignment_id}").HandlerFunc(c.updateAssignment)
	r.Methods("DELETE").Path(a + "/{assignment_id}").HandlerFunc(c.deleteAssignment)
	r.Methods("GET").Path(a + "/{assignment_id}/submissions").HandlerFunc(c.listSubmissions)
	r.Methods("GET").Path(a + "/{assignment_id}/submissions/{user_id}").HandlerFunc(c.getSubmission)
	r.Methods("PATCH").Path(a + "/{assignment_id}/submissions/{user_id}").HandlerFunc(c.updateSubmission)
	// The gateway layer only lets exact route paths through, so mux's own 404
	// is unreachable; if it ever is reached the classification missed a case.
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeUncertain(w, "route", "mux found no route for a path the gateway layer classified as a route")
	})
	return r
}

// readBody models wag's bodyParamTemplateStr: ioutil.ReadAll, then
// "request body is required, but was empty" for a required body. For
// operations without a body wag never reads it; what a gateway does with such a
// body is unknown, so any body there is uncertain.
func readBody(r *http.Request, required bool) ([]byte, *verdict) {
	data, err := ioutil.ReadAll(r.Body)
	if err != nil {
		return nil, unsure("json", "reading the request body failed: %v", err)
	}
	if !required {
		if len(data) > 0 {
			return nil, unsure("body_required", "a %d-byte body on an operation that takes none", len(data))
		}
		return nil, nil
	}
	if len(data) == 0 {
		return nil, reject("request body is required, but was empty")
	}
	return data, nil
}

// decodeBody is the decode step of bodyParamTemplateStr:
// json.NewDecoder(bytes.NewReader(data)).Decode(target).
func decodeBody(data []byte, target interface{}) error {
	return json.NewDecoder(bytes.NewReader(data)).Decode(target)
}

// checkMongoID models the path-parameter part of wag's input Validate():
// validate.FormatOf(name, "path", "mongo-id", value, strfmt.Default).
func checkMongoID(name, value string) *verdict {
	if err := validate.FormatOf(name, "path", "mongo-id", value, strfmt.Default); err != nil {
		return reject(err.Error())
	}
	return nil
}

// errText is err.Error(), or "" for no error.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// schemaVerdict turns the two possible go-swagger outputs (pointer enum
// fields vs value enum fields) and the attachment-type doubt into one verdict.
// Uncertainty is contagious: the composite message lists every failing field.
func (c *controller) schemaVerdict(ptrErr, valErr error, attachments []*models.AttachmentRequest) *verdict {
	switch c.schema {
	case schemaPointer:
		return rejectIf(ptrErr)
	case schemaValue:
		return rejectIf(valErr)
	}
	for i, a := range attachments {
		if a != nil && a.Type != "" && a.Type != "file" {
			return unsure("schema", "attachments.%d.type %q: the public enum is [file] but Clever documents other types", i, a.Type)
		}
	}
	p, v := errText(ptrErr), errText(valErr)
	if p != v {
		return unsure("schema", "the verdict depends on whether go-swagger v0.23 made the $ref enums pointers: pointer %q, value %q", p, v)
	}
	return rejectIf(ptrErr)
}

// rejectIf is a certain 400 carrying err's message, or nil.
func rejectIf(err error) *verdict {
	if err != nil {
		return reject(err.Error())
	}
	return nil
}

// The value-typed alternative of a pointer enum field, as validation sees it:
// swag.IsZero skips "" exactly like a nil pointer.
func assigneeModePtr(v models.AssigneeMode) *models.AssigneeMode {
	if v == "" {
		return nil
	}
	return &v
}

func gradingTypePtr(v models.GradingType) *models.GradingType {
	if v == "" {
		return nil
	}
	return &v
}

func submissionStatePtr(v models.SubmissionState) *models.SubmissionState {
	if v == "" {
		return nil
	}
	return &v
}

// assignmentShadow decodes the same body with value-typed enums (the other
// way go-swagger v0.23 may have generated the model) and keeps due_date raw,
// so that "" can be told from an explicit epoch. encoding/json matches keys
// against these fields exactly as against the full model.
type assignmentShadow struct {
	AssigneeMode models.AssigneeMode `json:"assignee_mode,omitempty"`
	GradingType  models.GradingType  `json:"grading_type,omitempty"`
	DueDate      json.RawMessage     `json:"due_date,omitempty"`
}

// submissionShadow: see assignmentShadow.
type submissionShadow struct {
	State models.SubmissionState `json:"state,omitempty"`
}

// decodeRequest runs the body stages of an operation with a required body:
// presence, decoding into the go-swagger model, then (only to judge the
// uncertain parts) into the shadow struct.
func decodeRequest(r *http.Request, model, shadow interface{}, dateFields []string) *verdict {
	data, v := readBody(r, true)
	if v != nil {
		return v
	}
	err := decodeBody(data, model)
	if v := dateVersionVerdict(data, dateFields, err); v != nil {
		return v
	}
	if err != nil {
		return reject(err.Error())
	}
	if err := decodeBody(data, shadow); err != nil {
		return unsure("json", "the value-enum model did not decode: %v", err)
	}
	return nil
}

// assignmentSchema is input.Validate()'s body part, Validate(nil), for both
// possible model shapes.
func (c *controller) assignmentSchema(m *models.AssignmentRequest, sh *assignmentShadow) *verdict {
	alt := *m
	alt.AssigneeMode = assigneeModePtr(sh.AssigneeMode)
	alt.GradingType = gradingTypePtr(sh.GradingType)
	return c.schemaVerdict(m.Validate(nil), alt.Validate(nil), m.Attachments)
}

// assignmentIDVerdict: whether Clever's controller rejects non-canonical ids
// outside getAssignment is unknown, so anything but canonical lower-case is
// uncertain there.
func assignmentIDVerdict(id string) *verdict {
	if isCanonicalUUID(id) {
		return nil
	}
	return unsure("assignment_id", "whether INVALID_ID applies to this operation is unknown (assignment_id %q)", id)
}

type assignmentData struct {
	ID        string `json:"id"`
	SectionID string `json:"section_id"`
}

type submissionData struct {
	AssignmentID string `json:"assignment_id"`
	UserID       string `json:"user_id"`
}

type dataEnvelope struct {
	Data interface{} `json:"data"`
}

type listEnvelope struct {
	Data  []submissionData `json:"data"`
	Links []struct{}       `json:"links"`
}

// first returns the first non-nil verdict of the stages, run in order.
func first(stages ...func() *verdict) *verdict {
	for _, s := range stages {
		if v := s(); v != nil {
			return v
		}
	}
	return nil
}

// createAssignment: POST /sections/{section_id}/assignments.
func (c *controller) createAssignment(w http.ResponseWriter, r *http.Request) {
	sectionID := mux.Vars(r)["section_id"]
	m, sh := &models.AssignmentRequest{}, &assignmentShadow{}
	v := decodeRequest(r, m, sh, assignmentDateFields)
	if v == nil {
		v = first(
			func() *verdict { return checkMongoID("section_id", sectionID) },
			func() *verdict { return c.assignmentSchema(m, sh) },
			func() *verdict { return requiredFields(m, sh) },
			func() *verdict { return c.dueDateCreate(m.DueDate) },
		)
	}
	if v != nil {
		v.write(w)
		return
	}
	writeSuccess(w, dataEnvelope{Data: assignmentData{ID: "00000000-0000-0000-0000-000000000000", SectionID: sectionID}})
}

// requiredFields is Clever's controller rule (contract §7): title,
// description, due_date absent or null are missing, in that order; whether ""
// counts as missing is unknown.
func requiredFields(m *models.AssignmentRequest, sh *assignmentShadow) *verdict {
	var missing, empty []string
	check := func(name string, present, isEmpty bool) {
		switch {
		case !present:
			missing = append(missing, name)
		case isEmpty:
			empty = append(empty, name)
		}
	}
	check("title", m.Title != nil, m.Title != nil && *m.Title == "")
	check("description", m.Description != nil, m.Description != nil && *m.Description == "")
	check("due_date", m.DueDate != nil, m.DueDate != nil && string(sh.DueDate) == `""`)
	if len(empty) > 0 {
		return unsure("required_fields", "whether \"\" counts as missing is unknown (%s)", strings.Join(empty, ", "))
	}
	if len(missing) > 0 {
		return reject("missing required field(s): " + strings.Join(missing, ", "))
	}
	return nil
}

// dueDateCreate: "due_date must be in the future", certain only beyond the
// clock-skew margin; dates within the margin either side of now are uncertain.
func (c *controller) dueDateCreate(d *strfmt.DateTime) *verdict {
	if d == nil {
		return nil
	}
	t, now := time.Time(*d), c.now()
	if t.Before(now.Add(-c.skew)) {
		return reject("due_date must be in the future")
	}
	if t.Before(now.Add(c.skew)) {
		return unsure("due_date", "due_date %s is within %s of now (%s)", t.UTC().Format(time.RFC3339Nano), c.skew, now.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// dueDatePatch: whether PATCH rejects past due dates is unknown.
func (c *controller) dueDatePatch(d *strfmt.DateTime) *verdict {
	if d == nil {
		return nil
	}
	t, now := time.Time(*d), c.now()
	if t.Before(now.Add(c.skew)) {
		return unsure("due_date", "whether PATCH rejects a past due_date (%s) is unknown", t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// getAssignment: GET /sections/{section_id}/assignments/{assignment_id}.
func (c *controller) getAssignment(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	sectionID, assignmentID := vars["section_id"], vars["assignment_id"]
	_, v := readBody(r, false)
	if v == nil {
		v = first(
			func() *verdict { return checkMongoID("section_id", sectionID) },
			func() *verdict {
				switch {
				case isCanonicalUUID(assignmentID):
					return nil
				case uuidAccepted(assignmentID):
					return unsure("assignment_id", "non-canonical UUID form %q: whether Clever's parser accepts it is unknown", assignmentID)
				default:
					return reject("INVALID_ID")
				}
			},
		)
	}
	if v != nil {
		v.write(w)
		return
	}
	writeSuccess(w, dataEnvelope{Data: assignmentData{ID: assignmentID, SectionID: sectionID}})
}

// updateAssignment: PATCH /sections/{section_id}/assignments/{assignment_id}.
func (c *controller) updateAssignment(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	sectionID, assignmentID := vars["section_id"], vars["assignment_id"]
	m, sh := &models.AssignmentRequest{}, &assignmentShadow{}
	v := decodeRequest(r, m, sh, assignmentDateFields)
	if v == nil {
		v = first(
			func() *verdict { return checkMongoID("section_id", sectionID) },
			func() *verdict { return c.assignmentSchema(m, sh) },
			func() *verdict { return c.dueDatePatch(m.DueDate) },
			func() *verdict { return assignmentIDVerdict(assignmentID) },
		)
	}
	if v != nil {
		v.write(w)
		return
	}
	writeSuccess(w, dataEnvelope{Data: assignmentData{ID: assignmentID, SectionID: sectionID}})
}

// deleteAssignment: DELETE; the spec declares no success schema, so wag's
// template answers WriteHeader(200) and an empty write.
func (c *controller) deleteAssignment(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	sectionID, assignmentID := vars["section_id"], vars["assignment_id"]
	_, v := readBody(r, false)
	if v == nil {
		v = first(
			func() *verdict { return checkMongoID("section_id", sectionID) },
			func() *verdict { return assignmentIDVerdict(assignmentID) },
		)
	}
	if v != nil {
		v.write(w)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(""))
}

// listSubmissions: GET .../submissions?cursor=&limit=. wag's paramTemplateStr
// parses a query parameter whenever the key is present (first value only),
// so "?limit=" is parsed too.
func (c *controller) listSubmissions(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	sectionID, assignmentID := vars["section_id"], vars["assignment_id"]
	var limit *int64
	_, v := readBody(r, false)
	if v == nil {
		v = first(
			func() *verdict {
				// Go >= 1.17 drops "a;b" pairs, older Go split on ';'.
				if strings.Contains(r.URL.RawQuery, ";") {
					return unsure("query", "the query contains ';', whose meaning depends on the Go version")
				}
				if limitStrs := r.URL.Query()["limit"]; len(limitStrs) > 0 {
					n, err := swag.ConvertInt64(limitStrs[0])
					if err != nil {
						return reject(err.Error())
					}
					limit = &n
				}
				return nil
			},
			func() *verdict { return checkMongoID("section_id", sectionID) },
			func() *verdict {
				if limit == nil {
					return nil
				}
				if err := validate.MaximumInt("limit", "query", *limit, int64(100), false); err != nil {
					return reject(err.Error())
				}
				if err := validate.MinimumInt("limit", "query", *limit, int64(1), false); err != nil {
					return reject(err.Error())
				}
				return nil
			},
			func() *verdict { return assignmentIDVerdict(assignmentID) },
		)
	}
	if v != nil {
		v.write(w)
		return
	}
	writeSuccess(w, listEnvelope{Data: []submissionData{}, Links: []struct{}{}})
}

// getSubmission: GET .../submissions/{user_id}.
func (c *controller) getSubmission(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	sectionID, assignmentID, userID := vars["section_id"], vars["assignment_id"], vars["user_id"]
	_, v := readBody(r, false)
	if v == nil {
		v = first(
			func() *verdict { return checkMongoID("section_id", sectionID) },
			func() *verdict { return checkMongoID("user_id", userID) },
			func() *verdict { return assignmentIDVerdict(assignmentID) },
		)
	}
	if v != nil {
		v.write(w)
		return
	}
	writeSuccess(w, dataEnvelope{Data: submissionData{AssignmentID: assignmentID, UserID: userID}})
}

// updateSubmission: PATCH .../submissions/{user_id}.
func (c *controller) updateSubmission(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	sectionID, assignmentID, userID := vars["section_id"], vars["assignment_id"], vars["user_id"]
	m, sh := &models.SubmissionRequest{}, &submissionShadow{}
	v := decodeRequest(r, m, sh, submissionDateFields)
	if v == nil {
		v = first(
			func() *verdict { return checkMongoID("section_id", sectionID) },
			func() *verdict { return checkMongoID("user_id", userID) },
			func() *verdict {
				alt := *m
				alt.State = submissionStatePtr(sh.State)
				return c.schemaVerdict(m.Validate(nil), alt.Validate(nil), m.Attachments)
			},
			func() *verdict { return assignmentIDVerdict(assignmentID) },
		)
	}
	if v != nil {
		v.write(w)
		return
	}
	writeSuccess(w, dataEnvelope{Data: submissionData{AssignmentID: assignmentID, UserID: userID}})
}
