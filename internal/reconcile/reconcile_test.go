package reconcile

import (
	"context"
	"strings"
	"testing"
)

// TestReconcileRejectsBadInput: bad input is refused before any call,
// naming every bad field and what it allows.
func TestReconcileRejectsBadInput(t *testing.T) {
	_, err := Reconcile(context.Background(), nil, Input{Mode: "apply"})
	if err == nil {
		t.Fatal("Reconcile accepted an empty account, region, partition and mode \"apply\"")
	}
	for _, want := range []string{"account:", "region:", "partition:", `mode "apply": must be one of [converge teardown remove]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
