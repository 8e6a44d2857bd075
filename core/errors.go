package core

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotImplemented is returned for an optional feature a plugin lacks.
var ErrNotImplemented = errors.New("not implemented by this plugin")

// ErrPluginExited means the plugin process died or stopped answering.
var ErrPluginExited = errors.New("plugin did not respond (exited or crashed)")

// ErrIncompleteResult means a result stream ended before its end marker:
// the rows received are not the whole result and must not be used.
var ErrIncompleteResult = errors.New("result stream ended early: result incomplete")

// FieldError is one invalid field of a plugin's configuration.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors collects every invalid field of one configuration.
type FieldErrors []*FieldError

func (e FieldErrors) Error() string {
	msgs := make([]string, len(e))
	for i, f := range e {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

// SQLError is a statement the warehouse rejected. Line and Column are
// 1-based and zero when the warehouse did not say where.
type SQLError struct {
	Message string
	Line    int
	Column  int
}

func (e *SQLError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("SQL error at line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	return "SQL error: " + e.Message
}
