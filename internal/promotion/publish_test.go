package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// fakeBus and fakeTopic stand in for EventBridge and SNS where a test
// needs a call to fail part-way (a batch of events refused, the topic
// refusing then accepting); fail makes the next calls fail.
type fakeBus struct {
	mu   sync.Mutex
	sent []ebtypes.PutEventsRequestEntry
	fail int
}

func (b *fakeBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(in.Entries) > maxPutEntries {
		return nil, errors.New("ValidationException: more than 10 entries")
	}
	if b.fail > 0 {
		b.fail--
		return nil, errors.New("InternalException")
	}
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		b.sent = append(b.sent, e)
		out.Entries = append(out.Entries, ebtypes.PutEventsResultEntry{EventId: aws.String("ev")})
	}
	return out, nil
}

// ids are the distinct event ids sent; the caller holds mu.
func (b *fakeBus) ids() map[string]bool {
	ids := map[string]bool{}
	for _, e := range b.sent {
		var d EventDetail
		_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
		ids[d.ID] = true
	}
	return ids
}

type fakeTopic struct {
	subjects []string
	fail     bool
}

func (f *fakeTopic) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	if f.fail {
		return nil, errors.New("AuthorizationError")
	}
	f.subjects = append(f.subjects, aws.ToString(in.Subject))
	return &sns.PublishOutput{MessageId: aws.String("m")}, nil
}

// TestPublishKeepsWhatFailed: events go to the bus in batches of ten and
// to the topic; what fails stays in the state and is sent by the next
// publish, and nothing is sent twice to where it arrived.
func TestPublishKeepsWhatFailed(t *testing.T) {
	ctx := context.Background()
	cfg := chain(false)
	st := State{}
	for i := range 12 {
		d, err := HoldRing(cfg, st, "prod", strings.Repeat("x", i+1), "bob", released.Add(timeMinutes(i)))
		if err != nil {
			t.Fatal(err)
		}
		st = Apply(cfg, st, []Decision{d})
	}
	bus, topic := &fakeBus{fail: 1}, &fakeTopic{fail: true}
	pub := Publisher{Events: bus, Topic: topic, TopicARN: "arn:aws:sns:us-east-1:999999999999:orgpatch-alarms"}
	sent, err := pub.Publish(ctx, st.Unpublished)
	if err == nil {
		t.Fatal("failures were not reported")
	}
	st = st.Sent(sent)
	if len(st.Unpublished) != 12 || len(bus.sent) != 2 {
		t.Fatalf("after a failed batch and a failing topic: %d kept, %d on the bus; want 12 kept, the second batch's 2 on the bus", len(st.Unpublished), len(bus.sent))
	}
	topic.fail = false
	sent, err = pub.Publish(ctx, st.Unpublished)
	if err != nil {
		t.Fatal(err)
	}
	st = st.Sent(sent)
	if len(st.Unpublished) != 0 || len(bus.sent) != 12 || len(bus.ids()) != 12 || len(topic.subjects) != 12 {
		t.Fatalf("after the retry: %d kept, %d on the bus (%d distinct), %d on the topic", len(st.Unpublished), len(bus.sent), len(bus.ids()), len(topic.subjects))
	}
	e := bus.sent[0]
	if aws.ToString(e.Source) != "orgpatch" || aws.ToString(e.DetailType) != DetailHeld || !strings.Contains(aws.ToString(e.Detail), `"reason":"prod held by bob: `) {
		t.Errorf("event %s %s %s", aws.ToString(e.Source), aws.ToString(e.DetailType), aws.ToString(e.Detail))
	}
	if topic.subjects[0] != "orgpatch: Ring Held prod" {
		t.Errorf("subject %q", topic.subjects[0])
	}
	if long := subject(Event{DetailType: DetailPromoted, Detail: EventDetail{Ring: strings.Repeat("r", 200)}}); len(long) >= 100 {
		t.Errorf("a subject of %d characters; SNS takes fewer than 100", len(long))
	}
}

// TestPublishOnTheSimulator sends events through the SDK to the
// simulator's default bus and alarm topic: while the topic does not exist
// the events stay in the state (on the bus once), and the next publish
// sends them to the topic only.
func TestPublishOnTheSimulator(t *testing.T) {
	ctx := context.Background()
	env := simtest.Start(t, nil)
	mgmt := env.Server.ManagementAccount()
	topicARN := "arn:aws:sns:us-east-1:" + mgmt + ":orgpatch-alarms"
	pub := Publisher{Events: eventbridge.NewFromConfig(env.Config), Topic: sns.NewFromConfig(env.Config), TopicARN: topicARN}
	cfg := chain(false)
	st := Apply(cfg, State{}, Decide(cfg, State{}, Inputs{Now: released, By: "orgpatch-fn"}))
	sent, err := pub.Publish(ctx, st.Unpublished)
	if err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Fatalf("publish to a missing topic: %v", err)
	}
	st = st.Sent(sent)
	if len(st.Unpublished) != 2 || len(env.Server.Events(mgmt, simtest.Region)) != 2 {
		t.Fatalf("%d kept, %d on the bus; want both kept for the topic, both on the bus", len(st.Unpublished), len(env.Server.Events(mgmt, simtest.Region)))
	}
	if _, err := sns.NewFromConfig(env.Config).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgpatch-alarms")}); err != nil {
		t.Fatal(err)
	}
	sent, err = pub.Publish(ctx, st.Unpublished)
	if err != nil {
		t.Fatal(err)
	}
	if st = st.Sent(sent); len(st.Unpublished) != 0 {
		t.Fatalf("%d events kept after a good publish", len(st.Unpublished))
	}
	events, msgs := env.Server.Events(mgmt, simtest.Region), env.Server.Messages(topicARN)
	if len(events) != 2 || len(msgs) != 2 {
		t.Fatalf("%d events on the bus, %d messages; want 2 and 2", len(events), len(msgs))
	}
	var d EventDetail
	if err := json.Unmarshal([]byte(events[0].Detail), &d); err != nil {
		t.Fatal(err)
	}
	if events[0].Source != EventSource || events[0].DetailType != DetailCycleStart || d.Ring != "dev" || d.To.Cutoff != "2026-11-03" || d.By != "orgpatch-fn" {
		t.Errorf("event %s %s %+v", events[0].Source, events[0].DetailType, d)
	}
	if e := events[1]; e.DetailType != DetailHeld || !strings.Contains(e.Detail, `"follows":"dev"`) || !strings.Contains(e.Detail, `"minInstalledPercent":95`) {
		t.Errorf("hold event %s %s", e.DetailType, e.Detail)
	}
	if msgs[1].Subject != "orgpatch: Ring Held prod" || !strings.HasPrefix(msgs[1].Message, "prod waits: dev has no set yet") {
		t.Errorf("message %q %q", msgs[1].Subject, msgs[1].Message)
	}
}
