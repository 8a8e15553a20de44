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
				Message: "slow down",
				Advice:  "AWS still throttled after the SDK's retries: lower the concurrency, or run again (only what is left is done)",
				Chain:   "register task Linux_Scan: operation error SSM: RegisterTaskWithMaintenanceWindow, api error ThrottlingException: slow down"},
		},
		"role missing": {
			err: fmt.Errorf("assume role: %w", &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole",
				Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole"}}),
			want: &Error{Service: "STS", Operation: "AssumeRole", Code: "AccessDenied",
				Message: "not authorized to perform sts:AssumeRole",
				Advice:  "check the member-roles StackSet instance in this account: the configuration role is missing or does not trust the orgpatch Lambda's role",
				Chain:   "assume role: operation error STS: AssumeRole, api error AccessDenied: not authorized to perform sts:AssumeRole"},
		},
		"region not enabled": {
			err: apiFailure("SSM", "DescribeMaintenanceWindows", "UnrecognizedClientException", "The security token included in the request is invalid."),
			want: &Error{Service: "SSM", Operation: "DescribeMaintenanceWindows", Code: "UnrecognizedClientException",
				Message: "The security token included in the request is invalid.",
				Advice:  "check that the region is enabled for this account, or leave it out of the regions",
				Chain:   "register task Linux_Scan: operation error SSM: DescribeMaintenanceWindows, api error UnrecognizedClientException: The security token included in the request is invalid."},
		},
		"plain error": {
			err:  errors.New("panic: nil map"),
			want: &Error{Message: "panic: nil map", Chain: "panic: nil map"},
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
	want := Counts{Targets: 5, Converged: 1, Unchanged: 1, Failed: 1, Skipped: 1, Pending: 1, Writes: 4,
		Changes: []ResourceChanges{{Resource: "window", Create: 1}, {Resource: "target", Create: 1}, {Resource: "task", Update: 1}}}
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
		"ACCOUNT       REGION     MODE      STATUS     CHANGES  DETAIL",
		"111111111111  us-east-1  converge  converged  3        window 1 created; target 1 created; task 1 updated",
		"222222222222  us-east-1  converge  failed     0        SSM RegisterTaskWithMaintenanceWindow ValidationException: bad cron\n",
		"333333333333  -          converge  pending    0        configuration role not yet deployed",
		"111111111111/us-east-1:\n  create window sra_linux_maintenance\n  create target Update_Linux\n  update task Linux_Scan: operation: Scan -> Install\n",
		"\n5 targets: 1 converged, 1 unchanged, 1 failed, 1 skipped, 1 pending\n" +
			"window: 1 created, 0 updated, 0 deleted, 0 reset\n" +
			"target: 1 created, 0 updated, 0 deleted, 0 reset\n" +
			"task: 0 created, 1 updated, 0 deleted, 0 reset\n" +
			"4 writes\n",
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
		Counts  map[string]any
		Targets []map[string]any `json:"targets"`
	}
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Counts["failed"] != 1.0 || decoded.Counts["writes"] != 4.0 {
		t.Errorf("counts = %v", decoded.Counts)
	}
	failed := decoded.Targets[2]
	wantErr := map[string]any{"service": "SSM", "operation": "RegisterTaskWithMaintenanceWindow", "code": "ValidationException",
		"message": "bad cron",
		"chain":   "register task Linux_Scan: operation error SSM: RegisterTaskWithMaintenanceWindow, api error ValidationException: bad cron"}
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
	if got, want := r.Summary(4096), "run failed: Organizations ListAccounts AWSOrganizationsNotInUseException: not in an organization; 0 targets"; !strings.HasPrefix(got, want) {
		t.Errorf("Summary = %q, want prefix %q", got, want)
	}
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "run failed: Organizations ListAccounts AWSOrganizationsNotInUseException: not in an organization\n") {
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
	for _, want := range []string{"111111111111  us-east-1", "(1 target needing no change not shown)", "5 targets: 1 converged, 1 unchanged"} {
		if !strings.Contains(got, want) {
			t.Errorf("brief table lacks %q:\n%s", want, got)
		}
	}
}

// TestAccountFailureOncePerAccount: a failure of a whole account is one
// table row naming the regions it covered; JSON keeps one record per
// target with the whole chain.
func TestAccountFailureOncePerAccount(t *testing.T) {
	r := Report{Mode: "converge"}
	denied := fmt.Errorf("assume role in 666666666666: %w", &smithy.OperationError{ServiceID: "STS", OperationName: "AssumeRole",
		Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole"}})
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		tg := Target{Account: "666666666666", Region: region, Mode: "converge"}
		tg.FailAccount(denied)
		r.Targets = append(r.Targets, tg)
	}
	other := Target{Account: "777777777777", Region: "us-east-1", Mode: "converge"}
	other.Fail(apiFailure("SSM", "RegisterTaskWithMaintenanceWindow", "ValidationException", "bad cron"))
	r.Targets = append(r.Targets, other)
	r.Tally()

	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	want := "666666666666  eu-west-1,us-east-1  converge  failed  0        STS AssumeRole AccessDenied: not authorized to perform sts:AssumeRole; " +
		"check the member-roles StackSet instance in this account: the configuration role is missing or does not trust the orgpatch Lambda's role\n"
	if !strings.Contains(got, want) {
		t.Errorf("table lacks the one line for the account:\n%s\nwant %q", got, want)
	}
	if n := strings.Count(got, "666666666666"); n != 1 {
		t.Errorf("account named %d times in the table, want once:\n%s", n, got)
	}
	if n := strings.Count(got, "operation error"); n != 0 {
		t.Errorf("table carries the SDK's wrapping:\n%s", got)
	}

	if s := r.Summary(4096); !strings.HasSuffix(s, "failed: 666666666666 (eu-west-1,us-east-1) AssumeRole AccessDenied; 777777777777/us-east-1 RegisterTaskWithMaintenanceWindow ValidationException") {
		t.Errorf("Summary = %q, want the account's failure once", s)
	}

	buf.Reset()
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var decoded Report
	if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if len(decoded.Targets) != 3 || decoded.Targets[0].Error.Chain != denied.Error() || decoded.Targets[1].Error.Scope != ScopeAccount {
		t.Errorf("JSON targets = %+v, want one record per target with the chain", decoded.Targets)
	}
}

// TestPlanGroupsSameChangesAndCountsThem: targets with the same planned
// changes are printed once, the ones that differ on their own, and the
// counts are those of the listed changes.
func TestPlanGroupsSameChangesAndCountsThem(t *testing.T) {
	r := Report{Mode: "converge", DryRun: true}
	fresh := []Action{
		{Kind: "create", Resource: "window", Name: "w"},
		{Kind: "create", Resource: "target", Name: "t"},
		{Kind: "create", Resource: "task", Name: "k"},
		{Kind: "update", Resource: "dhmc", Name: "d", Detail: "value: a -> b"},
	}
	for i := range 12 {
		r.Targets = append(r.Targets, Target{Account: fmt.Sprintf("%012d", i), Region: "us-east-1", Mode: "converge", Status: WillChange, Actions: fresh})
	}
	r.Targets = append(r.Targets,
		Target{Account: "999999999999", Region: "us-east-1", Mode: "teardown", Status: WillChange,
			Actions: []Action{{Kind: "delete", Resource: "window", Name: "w"}, {Kind: "reset", Resource: "dhmc", Name: "d"}}},
		Target{Account: "999999999999", Region: "eu-west-1", Mode: "converge", Status: NoChange,
			Actions: []Action{{Kind: "unchanged", Resource: "window", Name: "w"}}})
	r.Tally()
	var buf bytes.Buffer
	if err := r.WriteBriefTable(&buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, want := range []string{
		"The same 4 changes in 12 targets (000000000000/us-east-1, 000000000001/us-east-1, 000000000002/us-east-1, 000000000003/us-east-1, " +
			"000000000004/us-east-1, 000000000005/us-east-1, 000000000006/us-east-1, 000000000007/us-east-1 and 4 more):\n" +
			"  create window w\n  create target t\n  create task k\n  update dhmc d: value: a -> b\n",
		"999999999999/us-east-1:\n  delete window w\n  reset dhmc d\n",
		"\n14 targets: 13 will change, 1 no change\n" +
			"window: 12 to create, 0 to update, 1 to delete, 0 to reset\n" +
			"target: 12 to create, 0 to update, 0 to delete, 0 to reset\n" +
			"task: 12 to create, 0 to update, 0 to delete, 0 to reset\n" +
			"dhmc: 0 to create, 12 to update, 0 to delete, 1 to reset\n" +
			"plan only: nothing was changed\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	for _, want := range []string{"(12 targets with the same changes, listed once below, not shown)\n", "(1 target needing no change not shown)\n",
		"999999999999  us-east-1  teardown  will change  2        window 1 to delete; dhmc 1 to reset\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("brief plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "000000000003  us-east-1") {
		t.Errorf("brief plan has a row for a target of the shared changes:\n%s", got)
	}
	if n := strings.Count(got, "create window w"); n != 1 {
		t.Errorf("the shared changes are printed %d times, want once:\n%s", n, got)
	}
	if s := r.Summary(4096); !strings.Contains(s, "window 12 to create, 1 to delete") || !strings.HasSuffix(s, "nothing was changed") {
		t.Errorf("Summary = %q", s)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 16000: "16,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// WriteJSON writes targets one by one, and the document is the report's
// whole encoding, to the byte.
func TestWriteJSONIsTheWholeEncoding(t *testing.T) {
	tail := sample() // fields after the targets too
	tail.Warnings = []string{`ring "canary" selects no account`}
	tail.Fail(errors.New("list accounts: AccessDenied"))
	for name, r := range map[string]Report{"targets": sample(), "fields after the targets": tail, "no targets": {Mode: "converge"}} {
		var got bytes.Buffer
		if err := r.WriteJSON(&got); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s: WriteJSON wrote\n%s\nwant\n%s", name, got.String(), want.String())
		}
	}
}

// TestKeptIsShownNotCounted: a resource left as it was (not orgpatch's to
// change) is listed with its reason, but is no change and no write.
func TestKeptIsShownNotCounted(t *testing.T) {
	r := Report{Targets: []Target{{Account: "111111111111", Region: "eu-west-1", Mode: "teardown", Status: Converged, Writes: 1, Actions: []Action{
		{Kind: KindDelete, Resource: "window", Name: "sra_linux_maintenance"},
		{Kind: KindKept, Resource: "dhmc", Name: "dhmc", Detail: "left as it was: set by someone else: holds TeamRole"},
	}}}}
	r.Tally()
	if got := r.Targets[0].Changes(); got != 1 {
		t.Errorf("Changes() = %d, want 1 (the delete; kept is no change)", got)
	}
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !strings.Contains(got, "kept dhmc dhmc: left as it was: set by someone else: holds TeamRole") || strings.Contains(got, "dhmc: 0 created") {
		t.Errorf("table does not show the kept setting with its reason, or counts it as a change:\n%s", got)
	}
}

// TestRingColumnSaysWhy: the RING column says what selected the ring.
func TestRingColumnSaysWhy(t *testing.T) {
	r := Report{Targets: []Target{
		{Account: "111111111111", Region: "us-east-1", Mode: "converge", Status: WillChange, Ring: "dev", RingWhy: "tag ring=dev"},
		{Account: "222222222222", Region: "us-east-1", Mode: "converge", Status: WillChange, Ring: "prod", RingWhy: "OU ou-ab12-prodacct"},
	}}
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"111111111111  us-east-1  dev (tag ring=dev)", "222222222222  us-east-1  prod (OU ou-ab12-prodacct)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}
