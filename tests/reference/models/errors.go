package models

// BadRequest is the BadRequest definition wag adds to every operation
// (swagger/responses.go); handlers render it with json.Marshal.
type BadRequest struct {
	Message string `json:"message,omitempty"`
}
