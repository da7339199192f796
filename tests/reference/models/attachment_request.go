package models

import (
	"encoding/json"

	"github.com/go-openapi/errors"
	"github.com/go-openapi/strfmt"
	"github.com/go-openapi/swag"
	"github.com/go-openapi/validate"
)

// AttachmentRequest is the AttachmentRequest definition: three x-nullable
// strings and an inline (non-$ref, non-nullable) string enum "type".
type AttachmentRequest struct {
	Description *string `json:"description,omitempty"`
	Title       *string `json:"title,omitempty"`
	// Type: enum [file] in the public spec.
	Type string  `json:"type,omitempty"`
	URL  *string `json:"url,omitempty"`
}

// attachmentRequestTypeTypePropEnum: go-swagger v0.23 loads an inline string
// enum into []string, then appends each as interface{}.
var attachmentRequestTypeTypePropEnum = loadEnum(`["file"]`, func(b []byte) ([]interface{}, error) {
	var res []string
	err := json.Unmarshal(b, &res)
	out := make([]interface{}, 0, len(res))
	for _, v := range res {
		out = append(out, v)
	}
	return out, err
})

// Validate models schemavalidator.gotmpl: only "type" has a rule. The result is
// always a *errors.CompositeError, which the parent does not rename (v0.23 only
// renames *errors.Validation), hence the doubled "validation failure list:".
func (m *AttachmentRequest) Validate(formats strfmt.Registry) error {
	var res []error

	if err := m.validateType(formats); err != nil {
		res = append(res, err)
	}

	if len(res) > 0 {
		return errors.CompositeValidationError(res...)
	}
	return nil
}

// validateType: inline enum property, skipped when swag.IsZero ("" passes).
func (m *AttachmentRequest) validateType(formats strfmt.Registry) error {
	if swag.IsZero(m.Type) { // not required
		return nil
	}
	if err := validate.Enum("type", "body", m.Type, attachmentRequestTypeTypePropEnum); err != nil {
		return err
	}
	return nil
}
