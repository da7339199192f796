// Package models restates the request models that go-swagger v0.23 generates
// for Clever's LMS Connect v3.1 swagger (Clever/swagger-api v3.1-lms.yml), as
// wag's models/genmodels.go drives it.
//
// The package is named "models" on purpose: encoding/json prints Go type names
// such as models.AssignmentRequest in its decode errors, and Clever's errors
// carry exactly those names.
//
// Shapes follow go-swagger's generator/types.go (x-nullable -> pointer, integer
// -> int64, number/float -> float32, format datetime -> strfmt.DateTime); the
// Validate methods follow generator/templates/schemavalidator.gotmpl of
// go-swagger v0.23.0: one validateX function per property, called in lexical
// order of JSON name, zero values skipped with swag.IsZero, errors collected
// into errors.CompositeValidationError.
package models
