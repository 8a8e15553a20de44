package ssmsvc

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func windowInput(name string) *ssm.CreateMaintenanceWindowInput {
	return &ssm.CreateMaintenanceWindowInput{
		Name: aws.String(name), Schedule: aws.String("cron(0 2 ? * SUN *)"),
		Duration: aws.Int32(3), Cutoff: 1, AllowUnassociatedTargets: false,
	}
}

func mustCreateWindow(t *testing.T, c *ssm.Client, in *ssm.CreateMaintenanceWindowInput) string {
	t.Helper()
	out, err := c.CreateMaintenanceWindow(bg, in)
	if err != nil {
		t.Fatalf("CreateMaintenanceWindow: %v", err)
	}
	return aws.ToString(out.WindowId)
}

func TestCreateAndGetWindow(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	in := windowInput("patch-scan")
	in.Description = aws.String("weekly scan")
	in.ScheduleTimezone = aws.String("Europe/Dublin")
	in.ScheduleOffset = aws.Int32(2)
	in.StartDate = aws.String("2026-01-01T00:00:00Z")
	in.EndDate = aws.String("2027-01-01T00:00:00Z")
	in.Tags = []types.Tag{{Key: aws.String("orgpatch:owner"), Value: aws.String("orgpatch")}}
	id := mustCreateWindow(t, c, in)
	if !windowIDPattern.MatchString(id) {
		t.Errorf("window id %q, want mw- and 17 hex digits", id)
	}
	got, err := c.GetMaintenanceWindow(bg, &ssm.GetMaintenanceWindowInput{WindowId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	want := &ssm.GetMaintenanceWindowOutput{
		WindowId: aws.String(id), Name: aws.String("patch-scan"), Description: aws.String("weekly scan"),
		Schedule: aws.String("cron(0 2 ? * SUN *)"), ScheduleTimezone: aws.String("Europe/Dublin"), ScheduleOffset: aws.Int32(2),
		StartDate: aws.String("2026-01-01T00:00:00Z"), EndDate: aws.String("2027-01-01T00:00:00Z"),
		Duration: aws.Int32(3), Cutoff: 1, AllowUnassociatedTargets: false, Enabled: true,
		CreatedDate: aws.Time(testNow), ModifiedDate: aws.Time(testNow),
		// Sunday 1 March 02:00 in Dublin (UTC in winter), two days' offset:
		// Tuesday the 3rd, as testNow is Sunday noon.
		NextExecutionTime: aws.String("2026-03-03T02:00Z"),
	}
	if diff := cmp.Diff(want, got, sdkOpts); diff != "" {
		t.Errorf("GetMaintenanceWindow (-want +got):\n%s", diff)
	}
	tags, err := c.ListTagsForResource(bg, &ssm.ListTagsForResourceInput{ResourceType: types.ResourceTypeForTaggingMaintenanceWindow, ResourceId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags.TagList) != 1 || aws.ToString(tags.TagList[0].Key) != "orgpatch:owner" {
		t.Errorf("tags given at create = %+v, want orgpatch:owner", tags.TagList)
	}
	other := ts.client("222222222222", region)
	if _, err := other.GetMaintenanceWindow(bg, &ssm.GetMaintenanceWindowInput{WindowId: aws.String(id)}); errorCode(err) != "DoesNotExistException" {
		t.Errorf("another account sees the window: error %v, want DoesNotExistException", err)
	}
}

func TestCreateWindowRules(t *testing.T) {
	tests := map[string]struct {
		edit func(*ssm.CreateMaintenanceWindowInput)
		want string
	}{
		"valid":                     {edit: func(*ssm.CreateMaintenanceWindowInput) {}},
		"rate schedule":             {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Schedule = aws.String("rate(7 days)") }},
		"cutoff equal to duration":  {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Cutoff = 3 }, want: "ValidationException"},
		"cutoff above duration":     {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Duration, in.Cutoff = aws.Int32(2), 5 }, want: "ValidationException"},
		"duration above 24":         {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Duration = aws.Int32(25) }, want: "ValidationException"},
		"cron with five fields":     {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Schedule = aws.String("cron(0 2 * * *)") }, want: "ValidationException"},
		"cron with both day fields": {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Schedule = aws.String("cron(0 2 1 * SUN *)") }, want: "ValidationException"},
		"not an expression":         {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Schedule = aws.String("sundays") }, want: "ValidationException"},
		"offset with rate": {edit: func(in *ssm.CreateMaintenanceWindowInput) {
			in.Schedule, in.ScheduleOffset = aws.String("rate(1 days)"), aws.Int32(1)
		}, want: "ValidationException"},
		"offset above 6":          {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.ScheduleOffset = aws.Int32(7) }, want: "ValidationException"},
		"unknown time zone":       {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.ScheduleTimezone = aws.String("Mars/Olympus") }, want: "ValidationException"},
		"offset as time zone":     {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.ScheduleTimezone = aws.String("Local") }, want: "ValidationException"},
		"start date not ISO-8601": {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.StartDate = aws.String("01/02/2026") }, want: "ValidationException"},
		"end before start": {edit: func(in *ssm.CreateMaintenanceWindowInput) {
			in.StartDate, in.EndDate = aws.String("2026-05-01"), aws.String("2026-04-01")
		}, want: "ValidationException"},
		"name with spaces":             {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Name = aws.String("patch scan") }, want: "ValidationException"},
		"name too short":               {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Name = aws.String("ab") }, want: "ValidationException"},
		"description too long":         {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Description = aws.String(strings.Repeat("d", 129)) }, want: "ValidationException"},
		"at expression for a one-time": {edit: func(in *ssm.CreateMaintenanceWindowInput) { in.Schedule = aws.String("at(2026-06-01T02:00:00)") }},
	}
	ts := newTestServer(t)
	c := ts.client(account, region)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := windowInput("rules-window")
			tc.edit(in)
			_, err := c.CreateMaintenanceWindow(bg, in)
			if got := errorCode(err); got != tc.want {
				t.Errorf("CreateMaintenanceWindow error code %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestCreateWindowClientToken(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	in := windowInput("tokened")
	in.ClientToken = aws.String("token-1")
	first := mustCreateWindow(t, c, in)
	again := mustCreateWindow(t, c, in)
	if first != again {
		t.Errorf("retry with the same token created %s, want the first window %s", again, first)
	}
	if n := len(ts.svc.Windows(account, region)); n != 1 {
		t.Errorf("%d windows after a retried create, want 1", n)
	}
	in.Duration = aws.Int32(4)
	if _, err := c.CreateMaintenanceWindow(bg, in); errorCode(err) != "IdempotentParameterMismatch" {
		t.Errorf("same token, other parameters: error %v, want IdempotentParameterMismatch", err)
	}
}

func TestWindowQuota(t *testing.T) {
	q := DefaultQuotas
	q.WindowsPerRegion = 2
	ts := newTestServer(t, WithQuotas(q))
	c := ts.client(account, region)
	mustCreateWindow(t, c, windowInput("one"))
	mustCreateWindow(t, c, windowInput("two"))
	if _, err := c.CreateMaintenanceWindow(bg, windowInput("three")); errorCode(err) != "ResourceLimitExceededException" {
		t.Errorf("third window: error %v, want ResourceLimitExceededException", err)
	}
	if _, err := ts.client(account, "us-west-2").CreateMaintenanceWindow(bg, windowInput("elsewhere")); err != nil {
		t.Errorf("the quota is per region, yet another region refused: %v", err)
	}
}

func TestUpdateWindow(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	in := windowInput("updatable")
	in.Description = aws.String("keep me unless replaced")
	in.ScheduleTimezone = aws.String("UTC")
	id := mustCreateWindow(t, c, in)

	out, err := c.UpdateMaintenanceWindow(bg, &ssm.UpdateMaintenanceWindowInput{WindowId: aws.String(id), Duration: aws.Int32(5), Enabled: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(out.Duration) != 5 || out.Enabled || aws.ToString(out.Description) != "keep me unless replaced" || aws.ToString(out.ScheduleTimezone) != "UTC" {
		t.Errorf("partial update answered %+v; want duration 5, disabled, description and time zone kept", out)
	}

	replace := &ssm.UpdateMaintenanceWindowInput{WindowId: aws.String(id), Replace: aws.Bool(true), Name: aws.String("replaced"),
		Schedule: aws.String("rate(1 days)"), Duration: aws.Int32(2), Cutoff: aws.Int32(0), AllowUnassociatedTargets: aws.Bool(true)}
	if _, err := c.UpdateMaintenanceWindow(bg, replace); err != nil {
		t.Fatal(err)
	}
	got := ts.svc.Windows(account, region)[0]
	want := Window{ID: id, Name: "replaced", Schedule: "rate(1 days)", Duration: 2, Cutoff: 0, AllowUnassociatedTargets: true, Enabled: true,
		Created: testNow, Modified: testNow, Targets: []WindowTarget{}, Tasks: []WindowTask{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Replace (-want +got):\n%s", diff)
	}

	errs := map[string]struct {
		in   *ssm.UpdateMaintenanceWindowInput
		want string
	}{
		"replace without the required fields": {in: &ssm.UpdateMaintenanceWindowInput{WindowId: aws.String(id), Replace: aws.Bool(true), Name: aws.String("x-name")}, want: "ValidationException"},
		"cutoff reaching the kept duration":   {in: &ssm.UpdateMaintenanceWindowInput{WindowId: aws.String(id), Cutoff: aws.Int32(2)}, want: "ValidationException"},
		"offset on a rate window":             {in: &ssm.UpdateMaintenanceWindowInput{WindowId: aws.String(id), ScheduleOffset: aws.Int32(1)}, want: "ValidationException"},
		"unknown window":                      {in: &ssm.UpdateMaintenanceWindowInput{WindowId: aws.String("mw-0123456789abcdef0"), Name: aws.String("nope")}, want: "DoesNotExistException"},
	}
	for name, tc := range errs {
		t.Run(name, func(t *testing.T) {
			if _, err := c.UpdateMaintenanceWindow(bg, tc.in); errorCode(err) != tc.want {
				t.Errorf("UpdateMaintenanceWindow error %v, want %s", err, tc.want)
			}
		})
	}
	if diff := cmp.Diff(want, ts.svc.Windows(account, region)[0]); diff != "" {
		t.Errorf("a refused update changed the window (-want +got):\n%s", diff)
	}
}

func TestDeleteWindow(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	id := mustCreateWindow(t, c, windowInput("doomed"))
	for i := range 2 {
		out, err := c.DeleteMaintenanceWindow(bg, &ssm.DeleteMaintenanceWindowInput{WindowId: aws.String(id)})
		if err != nil || aws.ToString(out.WindowId) != id {
			t.Fatalf("delete #%d: %v, %+v; deleting is idempotent", i+1, err, out)
		}
	}
	if _, err := c.GetMaintenanceWindow(bg, &ssm.GetMaintenanceWindowInput{WindowId: aws.String(id)}); errorCode(err) != "DoesNotExistException" {
		t.Errorf("get after delete: %v, want DoesNotExistException", err)
	}
}

func TestDescribeWindows(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	var all []string
	for i := range 25 {
		in := windowInput("w" + strings.Repeat("x", 2) + string(rune('a'+i)))
		id := mustCreateWindow(t, c, in)
		all = append(all, id)
		if i%5 == 0 {
			if _, err := c.UpdateMaintenanceWindow(bg, &ssm.UpdateMaintenanceWindowInput{WindowId: aws.String(id), Enabled: aws.Bool(false)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	pages := 0
	p := ssm.NewDescribeMaintenanceWindowsPaginator(c, &ssm.DescribeMaintenanceWindowsInput{MaxResults: aws.Int32(10)})
	for p.HasMorePages() {
		out, err := p.NextPage(bg)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, w := range out.WindowIdentities {
			got = append(got, aws.ToString(w.WindowId))
		}
	}
	if diff := cmp.Diff(all, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" || pages != 3 {
		t.Errorf("paginated listing in %d pages (want 3) (-want +got):\n%s", pages, diff)
	}

	filtered := map[string]struct {
		filters []types.MaintenanceWindowFilter
		want    int
		code    string
	}{
		"by name":           {filters: []types.MaintenanceWindowFilter{{Key: aws.String("Name"), Values: []string{"wxxa", "wxxb"}}}, want: 2},
		"disabled":          {filters: []types.MaintenanceWindowFilter{{Key: aws.String("Enabled"), Values: []string{"false"}}}, want: 5},
		"enabled and named": {filters: []types.MaintenanceWindowFilter{{Key: aws.String("Enabled"), Values: []string{"True"}}, {Key: aws.String("Name"), Values: []string{"wxxa", "wxxb"}}}, want: 1},
		"unknown key":       {filters: []types.MaintenanceWindowFilter{{Key: aws.String("Owner"), Values: []string{"me"}}}, code: "ValidationException"},
	}
	for name, tc := range filtered {
		t.Run(name, func(t *testing.T) {
			out, err := c.DescribeMaintenanceWindows(bg, &ssm.DescribeMaintenanceWindowsInput{Filters: tc.filters, MaxResults: aws.Int32(100)})
			if errorCode(err) != tc.code {
				t.Fatalf("error %v, want %q", err, tc.code)
			}
			if err == nil && len(out.WindowIdentities) != tc.want {
				t.Errorf("%d windows, want %d", len(out.WindowIdentities), tc.want)
			}
		})
	}
	for name, body := range map[string]string{
		"MaxResults below 10": `{"MaxResults":5}`,
		"MaxResults over 100": `{"MaxResults":101}`,
		"garbled NextToken":   `{"NextToken":"%%%"}`,
	} {
		if _, code, _ := ts.raw(t, "DescribeMaintenanceWindows", body); code != "ValidationException" {
			t.Errorf("%s: code %q, want ValidationException", name, code)
		}
	}
}
