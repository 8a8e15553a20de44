package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// calls of one operation per service, to exercise every protocol.
func perService(cfg aws.Config) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"ssm": func(ctx context.Context) error {
			_, err := ssm.NewFromConfig(cfg).DescribeMaintenanceWindows(ctx, &ssm.DescribeMaintenanceWindowsInput{})
			return err
		},
		"organizations": func(ctx context.Context) error {
			_, err := organizations.NewFromConfig(cfg).ListRoots(ctx, &organizations.ListRootsInput{})
			return err
		},
		"sts": func(ctx context.Context) error {
			_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		},
		"ec2": func(ctx context.Context) error {
			_, err := ec2.NewFromConfig(cfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
			return err
		},
		"controltower": func(ctx context.Context) error {
			_, err := controltower.NewFromConfig(cfg).ListLandingZones(ctx, &controltower.ListLandingZonesInput{})
			return err
		},
	}
}

func TestThrottling(t *testing.T) {
	env := simtest.Start(t, small(t), sim.WithThrottle(0.001, 2))
	calls := perService(noRetry(env.Config))
	want := map[string]string{
		"ssm":           "ThrottlingException",
		"organizations": "TooManyRequestsException",
		"sts":           "Throttling",
		"ec2":           "RequestLimitExceeded",
		"controltower":  "ThrottlingException",
	}
	for service, call := range calls {
		t.Run(service, func(t *testing.T) {
			var codes []string
			for range 3 {
				err := call(context.Background())
				if code := errCode(err); code == want[service] {
					codes = append(codes, code)
				} else {
					codes = append(codes, "not throttled")
				}
			}
			if diff := cmp.Diff([]string{"not throttled", "not throttled", want[service]}, codes); diff != "" {
				t.Errorf("burst of 2, then (-want +got):\n%s", diff)
			}
		})
	}

	// The bucket is per account: another account is not throttled by the
	// management account's calls.
	member := noRetry(env.AccountConfig(t, "222222222222", sim.DefaultRoleName))
	if _, err := ec2.NewFromConfig(member).DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{}); err != nil {
		t.Errorf("another account throttled: %v", err)
	}
}

func TestThrottlingRetried(t *testing.T) {
	env := simtest.Start(t, small(t), sim.WithThrottle(50, 1))
	c := organizations.NewFromConfig(env.Config)
	for i := range 5 {
		if _, err := c.ListRoots(context.Background(), &organizations.ListRootsInput{}); err != nil {
			t.Fatalf("call %d: the SDK's retries should ride out throttling: %v", i, err)
		}
	}
	if n := env.Server.CountCalls(func(c sim.Call) bool { return c.ErrorCode == "TooManyRequestsException" }); n == 0 {
		t.Errorf("no call was throttled at 50/s with burst 1; the test proves nothing")
	}
}

func TestInternalErrors(t *testing.T) {
	env := simtest.Start(t, small(t), sim.WithInternalErrorRate(1, 7))
	want := map[string]string{
		"ssm":           "InternalServerError",
		"organizations": "ServiceException",
		"sts":           "InternalFailure",
		"ec2":           "InternalError",
		"controltower":  "InternalServerException",
	}
	for service, call := range perService(noRetry(env.Config)) {
		err := call(context.Background())
		if got := errCode(err); got != want[service] {
			t.Errorf("%s: error code %q, want %q", service, got, want[service])
		}
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() != 500 {
			t.Errorf("%s: HTTP status %d, want 500", service, re.HTTPStatusCode())
		}
	}

	half := simtest.Start(t, small(t), sim.WithInternalErrorRate(0.5, 7))
	c := organizations.NewFromConfig(noRetry(half.Config))
	failed := 0
	for range 200 {
		if _, err := c.ListRoots(context.Background(), &organizations.ListRootsInput{}); err != nil {
			failed++
		}
	}
	if failed < 60 || failed > 140 {
		t.Errorf("rate 0.5 failed %d of 200 calls", failed)
	}
}

func TestFailAfterWrites(t *testing.T) {
	env := simtest.Start(t, small(t), sim.WithFailAfterWrites(2))
	c := organizations.NewFromConfig(noRetry(env.Config))
	ctx := context.Background()
	tag := func(v string) error {
		_, err := c.TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String("222222222222"), Tags: []orgtypes.Tag{{Key: aws.String("k"), Value: aws.String(v)}}})
		return err
	}
	if err := tag("1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListRoots(ctx, &organizations.ListRootsInput{}); err != nil {
		t.Fatalf("reads before the Nth write must pass: %v", err)
	}
	if err := tag("2"); err != nil {
		t.Fatal(err)
	}
	if got := errCode(tag("3")); got != "ServiceException" {
		t.Errorf("write after the crash: error code %q, want ServiceException", got)
	}
	_, err := c.ListRoots(ctx, &organizations.ListRootsInput{})
	if got := errCode(err); got != "ServiceException" {
		t.Errorf("read after the crash: error code %q, want ServiceException", got)
	}
	env.Server.FailAfterWrites(-1)
	if err := tag("4"); err != nil {
		t.Errorf("after FailAfterWrites(-1): %v", err)
	}
	if got := env.Server.Writes(); got != 3 {
		t.Errorf("Writes() = %d, want 3", got)
	}
}

func TestLatency(t *testing.T) {
	env := simtest.Start(t, small(t), sim.WithLatency(80*time.Millisecond))
	start := time.Now()
	if _, err := sts.NewFromConfig(env.Config).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("call took %v, want at least 80ms", d)
	}
}

func TestCallLog(t *testing.T) {
	now := time.Now().Add(-time.Minute).Truncate(time.Second)
	env := simtest.Start(t, small(t), sim.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	member := noRetry(env.AccountConfig(t, "444444444444", sim.DefaultRoleName))
	member.Region = "eu-west-1"
	env.Server.ResetCalls()

	if _, err := organizations.NewFromConfig(env.Config).TagResource(ctx, &organizations.TagResourceInput{ResourceId: aws.String("444444444444"), Tags: []orgtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	_, err := organizations.NewFromConfig(member).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if errCode(err) != "AccessDeniedException" {
		t.Fatalf("member ListAccounts: %v", err)
	}
	if _, err := ec2.NewFromConfig(member).DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}

	calls := env.Server.Calls()
	type row struct {
		Account, Region, Service, Operation string
		Write                               bool
		ErrorCode                           string
	}
	var got []row
	for _, c := range calls {
		got = append(got, row{c.Account, c.Region, c.Service, c.Operation, c.Write, c.ErrorCode})
		if !c.Time.Equal(now) {
			t.Errorf("%s logged at %v, want the injected clock's %v", c.Operation, c.Time, now)
		}
	}
	want := []row{
		{"111111111111", "us-east-1", "organizations", "TagResource", true, ""},
		{"444444444444", "eu-west-1", "organizations", "ListAccounts", false, "AccessDeniedException"},
		{"444444444444", "eu-west-1", "ec2", "DescribeRegions", false, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("call log (-want +got):\n%s", diff)
	}
	var tagParams struct{ ResourceId string }
	if err := json.Unmarshal(calls[0].Params, &tagParams); err != nil || tagParams.ResourceId != "444444444444" {
		t.Errorf("TagResource params %s: want ResourceId 444444444444 (%v)", calls[0].Params, err)
	}
	var formParams map[string]string
	if err := json.Unmarshal(calls[2].Params, &formParams); err != nil || formParams["AllRegions"] != "true" {
		t.Errorf("DescribeRegions params %s: want the form with AllRegions=true (%v)", calls[2].Params, err)
	}
	if got := env.Server.CallCount("organizations", ""); got != 2 {
		t.Errorf("CallCount(organizations) = %d, want 2", got)
	}
	if got := env.Server.WriteCalls(); got != 1 {
		t.Errorf("WriteCalls() = %d, want 1", got)
	}
	env.Server.ResetCalls()
	if got := len(env.Server.Calls()); got != 0 {
		t.Errorf("after ResetCalls %d calls remain", got)
	}

	quiet := simtest.Start(t, small(t), sim.WithoutCallParams())
	if _, err := sts.NewFromConfig(quiet.Config).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if c := quiet.Server.Calls(); len(c) != 1 || c[0].Params != nil || c[0].Operation != "GetCallerIdentity" {
		t.Errorf("WithoutCallParams: calls %+v, want one GetCallerIdentity without params", c)
	}
}

func TestBadOptions(t *testing.T) {
	tests := map[string]sim.Option{
		"error rate above 1":    sim.WithInternalErrorRate(1.5, 1),
		"throttle burst 0":      sim.WithThrottle(10, 0),
		"role arrival bad name": sim.WithRoleArrival("no spaces", 1),
	}
	for name, opt := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := sim.New(small(t), opt); err == nil {
				t.Error("New accepted the option")
			}
		})
	}
}

func TestFailAfterWritesConcurrent(t *testing.T) {
	env := simtest.Start(t, small(t), sim.WithFailAfterWrites(5))
	c := organizations.NewFromConfig(noRetry(env.Config))
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range 20 {
		wg.Go(func() {
			_, err := c.TagResource(context.Background(), &organizations.TagResourceInput{
				ResourceId: aws.String("222222222222"),
				Tags:       []orgtypes.Tag{{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}},
			})
			if err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if got := ok.Load(); got != 5 {
		t.Errorf("%d of 20 concurrent writes succeeded, want exactly 5", got)
	}
	if got := env.Server.Writes(); got != 5 {
		t.Errorf("Writes() = %d, want 5", got)
	}
}

func TestQuotasPerOperation(t *testing.T) {
	// An operation's own quota wins over its service's; a service without
	// one is not throttled.
	env := simtest.Start(t, small(t), sim.WithQuotas(map[string]sim.Quota{
		"sts/AssumeRole": {Rate: 0.001, Burst: 1, Source: "test"},
		"sts":            {Rate: 0.001, Burst: 3, Source: "test"},
	}))
	c := sts.NewFromConfig(noRetry(env.Config))
	outcome := func(err error) string {
		if code := errCode(err); code != "" {
			return code
		}
		return "ok"
	}
	var got []string
	for range 3 {
		_, err := c.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(prodRole), RoleSessionName: aws.String("quota")})
		got = append(got, outcome(err))
	}
	for range 3 {
		_, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		got = append(got, outcome(err))
	}
	_, err := ec2.NewFromConfig(noRetry(env.Config)).DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
	got = append(got, outcome(err))
	want := []string{"ok", "Throttling", "Throttling", "ok", "ok", "ok", "ok"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AssumeRole x3, GetCallerIdentity x3, DescribeRegions (-want +got):\n%s", diff)
	}
	if q, ok := env.Server.Quota("sts", "AssumeRole"); !ok || q.Burst != 1 {
		t.Errorf("Quota(sts, AssumeRole) = %+v, %v; want the operation's own burst 1", q, ok)
	}
}

func TestDefaultQuotasNameTheirSource(t *testing.T) {
	for key, q := range sim.DefaultQuotas() {
		if q.Rate <= 0 || q.Burst < 1 || q.Source == "" {
			t.Errorf("quota %s = %+v: want a positive rate and burst and a named source", key, q)
		}
	}
	if q := sim.DefaultQuotas()["sts/AssumeRole"]; q.Rate != 600 {
		t.Errorf("AssumeRole rate %v/s, want AWS's documented 600 per account and region", q.Rate)
	}
}
