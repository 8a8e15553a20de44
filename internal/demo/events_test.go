package demo

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCaptureKeepsWhatCloudFormationWouldAccept(t *testing.T) {
	for name, tc := range map[string]struct {
		method, body string
		wantStatus   int
		wantGot      int
		wantRefused  string
	}{
		"a response":  {http.MethodPut, `{"Status":"SUCCESS","PhysicalResourceId":"orgpatch","RequestId":"r1"}`, http.StatusOK, 1, ""},
		"not a PUT":   {http.MethodPost, `{"Status":"SUCCESS"}`, http.StatusMethodNotAllowed, 0, "POST /responses/r1: CloudFormation takes only PUT"},
		"not JSON":    {http.MethodPut, `SUCCESS`, http.StatusBadRequest, 0, `response is not JSON: "SUCCESS"`},
		"over 4096 B": {http.MethodPut, `{"Status":"FAILED","Reason":"` + strings.Repeat("x", 4096) + `"}`, http.StatusBadRequest, 0, "response of 4127 bytes: over CloudFormation's 4096"},
	} {
		t.Run(name, func(t *testing.T) {
			c := NewCapture()
			defer c.Close()
			req, err := http.NewRequest(tc.method, c.URL("r1"), strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			got, refused := c.Responses()
			var wantRefused []string
			if tc.wantRefused != "" {
				wantRefused = []string{tc.wantRefused}
			}
			if res.StatusCode != tc.wantStatus || len(got) != tc.wantGot {
				t.Errorf("HTTP %d, %d kept; want %d, %d", res.StatusCode, len(got), tc.wantStatus, tc.wantGot)
			}
			if diff := cmp.Diff(wantRefused, refused); diff != "" {
				t.Errorf("refused (-want +got):\n%s", diff)
			}
			if tc.wantGot == 1 && (got[0].Status != "SUCCESS" || got[0].PhysicalResourceID != "orgpatch") {
				t.Errorf("kept %+v", got[0])
			}
		})
	}
}
