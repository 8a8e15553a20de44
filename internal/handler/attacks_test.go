package handler_test

import (
	"strings"
	"testing"
)

// The attacks of issue 20 on the step path, each sent as written: every one
// is refused with a message naming why, and makes no write (the
// simulator's call log).

// TestMemberAccountEnvelopeIsRefused: an event recorded in a member
// account (the envelope's account), sent to the function directly, is
// refused before any AWS call; a 6 MB account id is quoted by a bounded
// prefix only.
func TestMemberAccountEnvelopeIsRefused(t *testing.T) {
	huge := strings.Repeat("9", 6<<20)
	tests := map[string]struct {
		file, account, want string
	}{
		"schedule from a member account":     {"schedule.json", "222222222222", "recorded in account 222222222222"},
		"account move from a member account": {"organizations-move-account.json", "333333333333", "recorded in account 333333333333"},
		"a 6 MB account id":                  {"schedule.json", huge, "is not a 12-digit account id"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			x, _ := deployedStack(t)
			raw := x.rewrite(t, x.event(t, tc.file), func(ev map[string]any) { ev["account"] = tc.account })
			_, err := x.invoke(t, raw)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Invoke() = %.300v, want a refusal naming %q", err, tc.want)
			}
			if n := len(err.Error()); n > 512 {
				t.Errorf("the error is %d bytes long; want a bad value quoted by a bounded prefix", n)
			}
			if calls := x.sv.Server.Calls(); len(calls) != 0 {
				t.Errorf("%d AWS calls for a refused event; first %s %s", len(calls), calls[0].Service, calls[0].Operation)
			}
		})
	}
}
