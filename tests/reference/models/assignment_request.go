package models

import (
	"strconv"

	"github.com/go-openapi/errors"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/swag"
	"github.com/go-openapi/validate"
)

// AssignmentRequest is the body of createAssignment and updateAssignment.
//
// The three $ref enums are pointers here (the probe's choice, x-nullable on the
// $ref honoured). Whether go-swagger v0.23 really generates pointers is not
// settled; the server compares against the value-typed alternative and treats
// any difference as uncertain.
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

// Validate models schemavalidator.gotmpl: properties with rules, in lexical
// order of JSON name, each failing one adding one entry.
func (m *AssignmentRequest) Validate(formats strfmt.Registry) error {
	var res []error

	for _, check := range []func(strfmt.Registry) error{
		m.validateAssigneeMode,
		m.validateAttachments,
		m.validateDisplayDate,
		m.validateDueDate,
		m.validateEndDate,
		m.validateGradingType,
		m.validateStartDate,
		m.validateSubmissionTypes,
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

// validateAssigneeMode: $ref property; a *errors.Validation gets the name.
func (m *AssignmentRequest) validateAssigneeMode(formats strfmt.Registry) error {
	if swag.IsZero(m.AssigneeMode) { // not required
		return nil
	}
	if m.AssigneeMode != nil {
		return nameRefError(m.AssigneeMode.Validate(formats), "assignee_mode")
	}
	return nil
}

// validateAttachments: array of nested models; stops at the first bad item and
// only renames a plain *errors.Validation (never the item's composite).
func (m *AssignmentRequest) validateAttachments(formats strfmt.Registry) error {
	return validateAttachmentItems(m.Attachments, formats)
}

func (m *AssignmentRequest) validateDisplayDate(formats strfmt.Registry) error {
	return validateDateTime("display_date", m.DisplayDate, formats)
}

func (m *AssignmentRequest) validateDueDate(formats strfmt.Registry) error {
	return validateDateTime("due_date", m.DueDate, formats)
}

func (m *AssignmentRequest) validateEndDate(formats strfmt.Registry) error {
	return validateDateTime("end_date", m.EndDate, formats)
}

// validateGradingType: see validateAssigneeMode.
func (m *AssignmentRequest) validateGradingType(formats strfmt.Registry) error {
	if swag.IsZero(m.GradingType) { // not required
		return nil
	}
	if m.GradingType != nil {
		return nameRefError(m.GradingType.Validate(formats), "grading_type")
	}
	return nil
}

func (m *AssignmentRequest) validateStartDate(formats strfmt.Registry) error {
	return validateDateTime("start_date", m.StartDate, formats)
}

// validateSubmissionTypes: array of $ref enum items, every item validated
// (including ""), returning at the first bad one as "<name>.<index>".
func (m *AssignmentRequest) validateSubmissionTypes(formats strfmt.Registry) error {
	if swag.IsZero(m.SubmissionTypes) { // not required
		return nil
	}
	for i := 0; i < len(m.SubmissionTypes); i++ {
		if err := m.SubmissionTypes[i].Validate(formats); err != nil {
			return nameRefError(err, "submission_types"+"."+strconv.Itoa(i))
		}
	}
	return nil
}

// nameRefError is the template's
// `if ve, ok := err.(*errors.Validation); ok { return ve.ValidateName(name) }; return err`.
func nameRefError(err error, name string) error {
	if err == nil {
		return nil
	}
	if ve, ok := err.(*errors.Validation); ok {
		return ve.ValidateName(name)
	}
	return err
}

// validateAttachmentItems is the array-of-models loop of schemavalidator.gotmpl
// (shared by both request models, which generate identical code for it).
func validateAttachmentItems(items []*AttachmentRequest, formats strfmt.Registry) error {
	if swag.IsZero(items) { // not required
		return nil
	}
	for i := 0; i < len(items); i++ {
		if swag.IsZero(items[i]) { // not required
			continue
		}
		if items[i] != nil {
			if err := items[i].Validate(formats); err != nil {
				return nameRefError(err, "attachments"+"."+strconv.Itoa(i))
			}
		}
	}
	return nil
}

// validateDateTime is the template's format check for a "datetime" property:
// FormatOf on the re-formatted value (m.X.String()), with the caller's registry
// (nil from wag, so validate falls back to strfmt.Default).
func validateDateTime(name string, v *strfmt.DateTime, formats strfmt.Registry) error {
	if swag.IsZero(v) { // not required
		return nil
	}
	if err := validate.FormatOf(name, "body", "datetime", v.String(), formats); err != nil {
		return err
	}
	return nil
}
