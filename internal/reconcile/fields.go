package reconcile

import (
	"fmt"
	"strings"
)

// Field identifies one field of a resource that a plan changes, as
// "resource.label". Each kind declares its own Fields beside its types.
// Apply chooses what it sends by Field alone; the text a plan prints is
// made from it (String: the label), never the reverse.
type Field string

// String is the field as plans print it: its label.
func (f Field) String() string {
	if _, label, ok := strings.Cut(string(f), "."); ok {
		return label
	}
	return string(f)
}

// Change is one field a plan changes, from its observed to its desired
// value (both as displayed).
type Change struct {
	Field Field
	// Key, when set, names the member of a map-valued field that changes
	// (the document parameter of a TaskParameter change); plans print it
	// in place of the field's label.
	Key      string
	From, To string
}

// String is the change as plans print it: "schedule: A -> B", or for a
// document parameter "Operation: Scan -> Install".
func (c Change) String() string {
	label := c.Field.String()
	if c.Key != "" {
		label = c.Key
	}
	return fmt.Sprintf("%s: %s -> %s", label, c.From, c.To)
}

// describe joins changes as one line.
func describe(changes []Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}
