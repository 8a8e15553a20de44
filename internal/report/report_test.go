package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

func apiFailure(service, op, code, msg string) error {
	return fmt.Errorf("register task Linux_Scan: %w", &smithy.OperationError{
		ServiceID: service, OperationName: op,
		Err: &smithy.GenericAPIError{Code: code, Message: msg},
	})
}

func sample() Report {
	r := Report{Mode: "converge", Regions: []string{"us-east-1", "eu-west-1"}}
	ok := Target{Account: "111111111111", Region: "us-east-1", Mode: "converge", Status: Converged, Writes: 4,
		Actions: []Action{
			{Kind: "create", Resource: "window", Name: "sra_linux_maintenance"},
			{Kind: "create", Resource: "target", Name: "Update_Linux"},
			{Kind: "update", Resource: "task", Name: "Linux_Scan", Detail: "operation: Scan -> Install"},
			{Kind: "unchanged", Resource: "dhmc", Name: "dhmc"},
		}}
	same := Target{Account: "111111111111", Region: "eu-west-1", Mode: "converge", Status: Unchanged}
	bad := Target{Account: "222222222222", Region: "us-east-1", Mode: "converge"}
	bad.Fail(apiFailure("SSM", "RegisterTaskWithMaintenanceWindow", "ValidationException", "bad cron"))
	skip := Target{Account: "222222222222", Region: "eu-west-1", Mode: "converge", Status: Skipped, Reason: "region not opted in"}
	wait := Target{Account: "333333333333", Mode: "converge", Status: Pending, Reason: "configuration role not yet deployed"}
	r.Targets = []Target{ok, same, bad, skip, wait}
	r.Tally()
	return r
}

func TestErrorOf(t *testing.T) {
	cases := map[string]struct {
		err  error
		want *Error
	}{
		"nil": {},
		"api error wrapped": {
			err: apiFailure("SSM", "RegisterTaskWithMaintenanceWindow", "ThrottlingException", "slow down"),
			want: &Error{Service: "SSM", Operation: "RegisterTaskWithMaintenanceWindow", Code: "ThrottlingException",
				Message: "register task Linux_Scan: operation error SSM: RegisterTaskWithMaintenanceWindow, api error ThrottlingException: slow down"},
		},
		"plain error": {
			err:  errors.New("panic: nil map"),
			want: &Error{Message: "panic: nil map"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ErrorOf(tc.err)); diff != "" {
				t.Errorf("ErrorOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTallyAndErr(t *testing.T) {
	r := sample()
	want := Counts{Targets: 5, Converged: 1, Unchanged: 1, Failed: 1, Skipped: 1, Pending: 1, Writes: 4}
	if diff := cmp.Diff(want, r.Counts); diff != "" {
		t.Errorf("Counts (-want +got):\n%s", diff)
	}
	err := r.Err()
	if err == nil {
		t.Fatal("Err() = nil with a failed target")
	}
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" {
		t.Errorf("Err() lost the API error: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "222222222222/us-east-1: ") {
		t.Errorf("Err() = %q, want it to name the account and region first", err)
	}

	healthy := Report{Targets: []Target{r.Targets[0], r.Targets[3], r.Targets[4]}}
	if err := healthy.Err(); err != nil {
		t.Errorf("Err() = %v, want nil when only converged, skipped and pending targets", err)
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, want := range []string{
		"ACCOUNT       REGION     MODE      STATUS     WRITES  DETAIL",
		"111111111111  us-east-1  converge  converged  4       2 create, 1 update",
		"222222222222  us-east-1  converge  failed     0       SSM RegisterTaskWithMaintenanceWindow ValidationException: ",
		"333333333333  -          converge  pending    0       configuration role not yet deployed",
		"111111111111/us-east-1:\n  create window sra_linux_maintenance\n  create target Update_Linux\n  update task Linux_Scan: operation: Scan -> Install\n",
		"5 targets: 1 converged, 1 unchanged, 1 failed, 1 skipped, 1 pending; 4 writes",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "unchanged dhmc") {
		t.Errorf("table lists unchanged actions as changes:\n%s", got)
	}
}

func TestWriteJSONFieldNames(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Mode    string `json:"mode"`
		Counts  map[string]int
		Targets []map[string]any `json:"targets"`
	}
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Counts["failed"] != 1 || decoded.Counts["writes"] != 4 {
		t.Errorf("counts = %v", decoded.Counts)
	}
	failed := decoded.Targets[2]
	wantErr := map[string]any{"service": "SSM", "operation": "RegisterTaskWithMaintenanceWindow", "code": "ValidationException",
		"message": "register task Linux_Scan: operation error SSM: RegisterTaskWithMaintenanceWindow, api error ValidationException: bad cron"}
	if diff := cmp.Diff(wantErr, failed["error"]); diff != "" {
		t.Errorf("failed target error JSON (-want +got):\n%s", diff)
	}
	if failed["account"] != "222222222222" || failed["region"] != "us-east-1" || failed["status"] != "failed" {
		t.Errorf("failed target JSON = %v", failed)
	}
}

func TestSummaryBudget(t *testing.T) {
	r := Report{}
	for i := 0; i < 500; i++ {
		tg := Target{Account: fmt.Sprintf("%012d", i), Region: "ap-southeast-2"}
		tg.Fail(apiFailure("SSM", "CreateMaintenanceWindow", "ThrottlingException", strings.Repeat("x", 100)))
		r.Targets = append(r.Targets, tg)
	}
	r.Targets = append(r.Targets, Target{Account: "999999999999", Region: "us-east-1", Status: Unchanged})
	r.Tally()

	cases := map[string]struct {
		budget     int
		wantPrefix string
		wantParts  []string
	}{
		"cloudformation reason": {
			budget:     4096,
			wantPrefix: "501 targets: 1 unchanged, 500 failed; 0 writes; failed: 000000000000/ap-southeast-2 CreateMaintenanceWindow ThrottlingException;",
			wantParts:  []string{" more"},
		},
		"tiny": {budget: 20, wantPrefix: "501 targets: 1 un..."},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := r.Summary(tc.budget)
			if len(got) > tc.budget {
				t.Errorf("Summary(%d) is %d bytes", tc.budget, len(got))
			}
			if !strings.HasPrefix(got, tc.wantPrefix) {
				t.Errorf("Summary(%d) = %q, want prefix %q", tc.budget, got, tc.wantPrefix)
			}
			for _, p := range tc.wantParts {
				if !strings.Contains(got, p) {
					t.Errorf("Summary(%d) = %q lacks %q", tc.budget, got, p)
				}
			}
		})
	}

	// The "and N more" count plus the listed failures add up to all of them.
	got := r.Summary(1000)
	listed := strings.Count(got, "ThrottlingException")
	var more int
	if i := strings.LastIndex(got, " and "); i >= 0 {
		fmt.Sscanf(got[i:], " and %d more", &more)
	}
	if listed+more != 500 {
		t.Errorf("Summary lists %d and says %d more, want 500 in all: %q", listed, more, got)
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	got := truncate("ééééé", 6)
	if got != "é..." {
		t.Errorf("truncate = %q, want %q", got, "é...")
	}
}

func TestRunFailure(t *testing.T) {
	r := Report{}
	r.Fail(fmt.Errorf("list accounts: %w", &smithy.OperationError{ServiceID: "Organizations", OperationName: "ListAccounts",
		Err: &smithy.GenericAPIError{Code: "AWSOrganizationsNotInUseException", Message: "not in an organization"}}))
	r.Tally()
	var api smithy.APIError
	if err := r.Err(); !errors.As(err, &api) || api.ErrorCode() != "AWSOrganizationsNotInUseException" {
		t.Errorf("Err() = %v, want the run's failure", err)
	}
	if got, want := r.Summary(4096), "run failed: list accounts: operation error Organizations: ListAccounts"; !strings.HasPrefix(got, want) {
		t.Errorf("Summary = %q, want prefix %q", got, want)
	}
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "run failed: list accounts") {
		t.Errorf("table does not start with the run's failure:\n%s", buf.String())
	}
}

func TestWriteBriefTableHidesUnchanged(t *testing.T) {
	var buf bytes.Buffer
	if err := sample().WriteBriefTable(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if strings.Contains(got, "111111111111  eu-west-1") {
		t.Errorf("brief table shows the unchanged target:\n%s", got)
	}
	for _, want := range []string{"111111111111  us-east-1", "(1 unchanged targets not shown)", "5 targets: 1 converged, 1 unchanged"} {
		if !strings.Contains(got, want) {
			t.Errorf("brief table lacks %q:\n%s", want, got)
		}
	}
}
