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
)

// fakeBus and fakeTopic stand in for EventBridge and SNS, which the
// simulator does not serve yet; fail makes the next calls fail.
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
