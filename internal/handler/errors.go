package handler

import (
	"fmt"
	"strings"
)

// maxErrorBytes bounds an invocation's error message. Lambda hands the
// message to the on-failure destination, an SQS message that holds at most
// 256 KB beside the event, and to the log; thousands of failed targets
// would outgrow both. Every target's failure is logged on its own line.
const maxErrorBytes = 32 << 10

// failures is the error of an invocation with failed targets: errors.Join
// of them, with a message cut to maxErrorBytes that says how many it left
// out. Unwrap gives every one of them.
type failures struct {
	errs []error
}

// newFailures returns err as failures when it is a join, else err itself.
func newFailures(err error) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	return &failures{errs: j.Unwrap()}
}

func (f *failures) Error() string {
	var b strings.Builder
	for i, err := range f.errs {
		msg := err.Error()
		if i > 0 {
			msg = "\n" + msg
		}
		if b.Len()+len(msg) > maxErrorBytes {
			fmt.Fprintf(&b, "\n... and %d more failures (see the log)", len(f.errs)-i)
			break
		}
		b.WriteString(msg)
	}
	return b.String()
}

func (f *failures) Unwrap() []error { return f.errs }
