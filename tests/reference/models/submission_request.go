package models

import (
	"strconv"

	"github.com/go-openapi/errors"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/swag"
)

// SubmissionRequest is the body of updateSubmission. grade_points is not
// x-nullable (x-omitempty), so it is a plain float32.
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

// Validate: see AssignmentRequest.Validate (attachments, flags,
// override_due_date, state).
func (m *SubmissionRequest) Validate(formats strfmt.Registry) error {
	var res []error

	for _, check := range []func(strfmt.Registry) error{
		m.validateAttachments,
		m.validateFlags,
		m.validateOverrideDueDate,
		m.validateState,
	} {
		if err := check(formats); err != nil {
			res = append(res, err)
		}
	}

	if len(res) > 0 {
		return errors.CompositeValidationError(res...)
	}
	return nil
}

func (m *SubmissionRequest) validateAttachments(formats strfmt.Registry) error {
	return validateAttachmentItems(m.Attachments, formats)
}

// validateFlags: see AssignmentRequest.validateSubmissionTypes.
func (m *SubmissionRequest) validateFlags(formats strfmt.Registry) error {
	if swag.IsZero(m.Flags) { // not required
		return nil
	}
	for i := 0; i < len(m.Flags); i++ {
		if err := m.Flags[i].Validate(formats); err != nil {
			return nameRefError(err, "flags"+"."+strconv.Itoa(i))
		}
	}
	return nil
}

func (m *SubmissionRequest) validateOverrideDueDate(formats strfmt.Registry) error {
	return validateDateTime("override_due_date", m.OverrideDueDate, formats)
}

// validateState: see AssignmentRequest.validateAssigneeMode.
func (m *SubmissionRequest) validateState(formats strfmt.Registry) error {
	if swag.IsZero(m.State) { // not required
		return nil
	}
	if m.State != nil {
		return nameRefError(m.State.Validate(formats), "state")
	}
	return nil
}
