package models

import (
	"encoding/json"

	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/validate"
)

// loadEnum fills an enum list the way go-swagger v0.23's schema.gotmpl init()
// does: json.Unmarshal of the spec's enum array into the named type, each value
// appended as interface{} (so %v prints them space-separated in brackets).
func loadEnum(spec string, into func([]byte) ([]interface{}, error)) []interface{} {
	vals, err := into([]byte(spec))
	if err != nil {
		panic(err)
	}
	return vals
}

// AssigneeMode is the $ref enum AssigneeMode (go-swagger: named string type).
type AssigneeMode string

var assigneeModeEnum = loadEnum(`["all","individuals"]`, func(b []byte) ([]interface{}, error) {
	var res []AssigneeMode
	err := json.Unmarshal(b, &res)
	out := make([]interface{}, 0, len(res))
	for _, v := range res {
		out = append(out, v)
	}
	return out, err
})

// Validate models schemavalidator.gotmpl for a named enum: Enum("", "body", m),
// leaving the property name for the parent's ValidateName.
func (m AssigneeMode) Validate(formats strfmt.Registry) error {
	if err := validate.Enum("", "body", m, assigneeModeEnum); err != nil {
		return err
	}
	return nil
}

// GradingType is the $ref enum GradingType.
type GradingType string

var gradingTypeEnum = loadEnum(`["points","percent","pass_fail","letter_grade"]`, func(b []byte) ([]interface{}, error) {
	var res []GradingType
	err := json.Unmarshal(b, &res)
	out := make([]interface{}, 0, len(res))
	for _, v := range res {
		out = append(out, v)
	}
	return out, err
})

// Validate: see AssigneeMode.Validate.
func (m GradingType) Validate(formats strfmt.Registry) error {
	if err := validate.Enum("", "body", m, gradingTypeEnum); err != nil {
		return err
	}
	return nil
}

// SubmissionType is the $ref enum SubmissionType (items of submission_types).
type SubmissionType string

var submissionTypeEnum = loadEnum(`["link","file","text","discussion"]`, func(b []byte) ([]interface{}, error) {
	var res []SubmissionType
	err := json.Unmarshal(b, &res)
	out := make([]interface{}, 0, len(res))
	for _, v := range res {
		out = append(out, v)
	}
	return out, err
})

// Validate: see AssigneeMode.Validate.
func (m SubmissionType) Validate(formats strfmt.Registry) error {
	if err := validate.Enum("", "body", m, submissionTypeEnum); err != nil {
		return err
	}
	return nil
}

// SubmissionFlag is the $ref enum SubmissionFlag (items of flags).
type SubmissionFlag string

var submissionFlagEnum = loadEnum(`["excused","late","missing"]`, func(b []byte) ([]interface{}, error) {
	var res []SubmissionFlag
	err := json.Unmarshal(b, &res)
	out := make([]interface{}, 0, len(res))
	for _, v := range res {
		out = append(out, v)
	}
	return out, err
})

// Validate: see AssigneeMode.Validate.
func (m SubmissionFlag) Validate(formats strfmt.Registry) error {
	if err := validate.Enum("", "body", m, submissionFlagEnum); err != nil {
		return err
	}
	return nil
}

// SubmissionState is the $ref enum SubmissionState.
type SubmissionState string

var submissionStateEnum = loadEnum(`["created","submitted","returned","reclaimed"]`, func(b []byte) ([]interface{}, error) {
	var res []SubmissionState
	err := json.Unmarshal(b, &res)
	out := make([]interface{}, 0, len(res))
	for _, v := range res {
		out = append(out, v)
	}
	return out, err
})

// Validate: see AssigneeMode.Validate.
func (m SubmissionState) Validate(formats strfmt.Registry) error {
	if err := validate.Enum("", "body", m, submissionStateEnum); err != nil {
		return err
	}
	return nil
}
