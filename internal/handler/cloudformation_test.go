package handler

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/cfn"
)

func TestFitResponse(t *testing.T) {
	ev := &cfn.Event{
		RequestType: cfn.RequestCreate, RequestID: "9f5e1a0c-6a34-4d0b-9f3c-1d0a2b3c4d5e",
		ResponseURL:       "https://example.com/response",
		StackID:           "arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch/5b918d10-cd98-11ea-90d5-0a9cd3354c10",
		LogicalResourceID: "OrgPatch",
	}
	tests := map[string]struct {
		reason string
		// whole: the reason must come through untouched.
		whole bool
	}{
		"short reason":                    {reason: "15 targets: 15 converged; 120 writes", whole: true},
		"long ASCII reason":               {reason: strings.Repeat("111111111111/us-east-1 AssumeRole AccessDenied; ", 400)},
		"characters JSON escapes 6 times": {reason: strings.Repeat("<&>", 1000)},
		"multi-byte runes":                {reason: strings.Repeat("é→🙂", 1000)},
		"exactly at the budget":           {reason: strings.Repeat("x", reasonBudget(ev, nil)), whole: true},
		"one byte over the budget":        {reason: strings.Repeat("x", reasonBudget(ev, nil)+1)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := cfn.NewResponse(ev)
			r.Status, r.PhysicalResourceID = cfn.StatusFailed, PhysicalResourceID
			body, err := fitResponse(r, tc.reason)
			if err != nil {
				t.Fatal(err)
			}
			if len(body) > responseLimit {
				t.Errorf("body is %d bytes, over %d", len(body), responseLimit)
			}
			var got cfn.Response
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if !utf8.ValidString(got.Reason) {
				t.Errorf("reason was cut inside a rune")
			}
			if tc.whole && got.Reason != tc.reason {
				t.Errorf("reason cut to %d bytes although it fits", len(got.Reason))
			}
			if !tc.whole {
				if !strings.HasSuffix(got.Reason, " [...]") || !strings.HasPrefix(tc.reason, strings.TrimSuffix(got.Reason, " [...]")) {
					t.Errorf("reason %q... is not the start of the original marked as cut", got.Reason[:min(60, len(got.Reason))])
				}
				if len(body) < responseLimit-64 {
					t.Errorf("body is %d bytes: the reason was cut far more than needed", len(body))
				}
			}
		})
	}
}
