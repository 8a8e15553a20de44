package sim_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// PutEvents answers each entry on its own, keeps what reached the
// account's default bus (by name, by ARN or by default) for Events, and
// drops, as AWS does, what names a bus that does not exist.
func TestPutEventsEntries(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, small(t))
	c := eventbridge.NewFromConfig(noRetry(env.AccountConfig(t, "444444444444", sim.DefaultRoleName)))
	entry := func(edit func(*types.PutEventsRequestEntry)) types.PutEventsRequestEntry {
		e := types.PutEventsRequestEntry{Source: aws.String("orgpatch.promotion"), DetailType: aws.String("Ring promoted"), Detail: aws.String(`{"ring":"canary"}`)}
		if edit != nil {
			edit(&e)
		}
		return e
	}
	when := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	out, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
		entry(func(e *types.PutEventsRequestEntry) {
			e.Time = &when
			e.Resources = []string{"arn:aws:ssm:us-east-1:444444444444:patchbaseline/pb-1"}
		}),
		entry(func(e *types.PutEventsRequestEntry) { e.Detail = nil }),
		entry(func(e *types.PutEventsRequestEntry) { e.Detail = aws.String(`["not", "an object"]`) }),
		entry(func(e *types.PutEventsRequestEntry) { e.Source = aws.String("aws.ssm") }),
		entry(func(e *types.PutEventsRequestEntry) { e.EventBusName = aws.String("no-such-bus") }),
		entry(func(e *types.PutEventsRequestEntry) {
			e.EventBusName = aws.String("arn:aws:events:us-east-1:444444444444:event-bus/default")
			e.DetailType = aws.String("Ring held")
		}),
		entry(func(e *types.PutEventsRequestEntry) { e.Source = nil }),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if out.FailedEntryCount != 4 || len(out.Entries) != 7 {
		t.Fatalf("FailedEntryCount %d, %d entries; want 4 of 7", out.FailedEntryCount, len(out.Entries))
	}
	var codes []string
	for _, e := range out.Entries {
		if (e.EventId == nil) == (e.ErrorCode == nil) {
			t.Errorf("entry %+v: want an EventId or an ErrorCode", e)
		}
		codes = append(codes, aws.ToString(e.ErrorCode))
	}
	want := []string{"", "InvalidArgument", "MalformedDetail", "NotAuthorizedForSourceException", "", "", "InvalidArgument"}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("error codes (-want +got):\n%s", diff)
	}
	if got := aws.ToString(out.Entries[6].ErrorMessage); got != "Parameter Source is not valid. Reason: Source is a required argument." {
		t.Errorf("missing Source: %q", got)
	}
	got := env.Server.Events("444444444444", "us-east-1")
	if len(got) != 2 {
		t.Fatalf("kept %d events, want the 2 on the default bus: %+v", len(got), got)
	}
	if got[0].ID != aws.ToString(out.Entries[0].EventId) || !got[0].Time.Equal(when) || got[0].Detail != `{"ring":"canary"}` ||
		got[0].Bus != "arn:aws:events:us-east-1:444444444444:event-bus/default" || len(got[0].Resources) != 1 {
		t.Errorf("first event: %+v", got[0])
	}
	if got[1].DetailType != "Ring held" {
		t.Errorf("second event: %+v, want the one put by the bus's ARN", got[1])
	}
	if other := env.Server.Events("111111111111", "us-east-1"); len(other) != 0 {
		t.Errorf("the management account's bus got %d events, want none", len(other))
	}
}

// PutEvents takes at most 10 entries and 256 KiB of them, sized as AWS
// sizes them: a Time counts 14 bytes.
func TestPutEventsLimits(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	c := eventbridge.NewFromConfig(noRetry(env.Config))
	entries := make([]types.PutEventsRequestEntry, 11)
	for i := range entries {
		entries[i] = types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Detail: aws.String("{}")}
	}
	if _, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries}); errCode(err) != "ValidationException" {
		t.Errorf("11 entries: %s, want ValidationException", errCode(err))
	}
	if _, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries[:10]}); err != nil {
		t.Errorf("10 entries: %v", err)
	}
	// Source "s" and DetailType "t" are 2 bytes; a Detail filling the rest
	// makes exactly 256 KiB, and a Time 14 bytes more.
	detail := `{"x":"` + strings.Repeat("a", sim.MaxEventEntriesBytes-2-len(`{"x":""}`)) + `"}`
	full := types.PutEventsRequestEntry{Source: aws.String("s"), DetailType: aws.String("t"), Detail: &detail}
	if _, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{full}}); err != nil {
		t.Errorf("exactly 256 KiB: %v", err)
	}
	full.Time = aws.Time(time.Now())
	_, err := c.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{full}})
	if errCode(err) != "ValidationException" || !strings.Contains(err.Error(), "Total size of the entries in the request is over the limit") {
		t.Errorf("256 KiB and a Time: %v, want ValidationException", err)
	}
	if n := len(env.Server.Events(env.Server.ManagementAccount(), "us-east-1")); n != 11 {
		t.Errorf("kept %d events, want the 11 accepted", n)
	}
}
