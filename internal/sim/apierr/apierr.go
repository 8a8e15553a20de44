// Package apierr is the error every simulated service answers with: the AWS
// error code, its message, and the HTTP status the protocol sends it with.
//
// The simulator's protocol layer turns an *Error into each protocol's real
// error shape (JSON 1.1 "__type", Query <ErrorResponse>, EC2 <Response><Errors>,
// REST-JSON X-Amzn-ErrorType); any other error becomes InternalServerError,
// so a bug in the simulator never passes for a well-formed AWS answer.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS service error.
type Error struct {
	Code    string // the AWS error code, e.g. "ValidationException"
	Message string
	Status  int // HTTP status; 400 when zero
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// HTTPStatus is the status the error is sent with.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// New returns an error with the given status, code and formatted message.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// BadRequest returns a 400 error with the given code.
func BadRequest(code, format string, args ...any) *Error {
	return New(http.StatusBadRequest, code, format, args...)
}

// As returns the *Error inside err, or an InternalServerError (500) wrapping
// err's text when err is not one: the guard that keeps simulator bugs visible.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return New(http.StatusInternalServerError, "InternalServerError", "%v", err)
}
