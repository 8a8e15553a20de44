package promotion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// EventsAPI is what Publisher calls on EventBridge.
type EventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// TopicAPI is what Publisher calls on SNS.
type TopicAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var (
	_ EventsAPI = (*eventbridge.Client)(nil)
	_ TopicAPI  = (*sns.Client)(nil)
)

// Publisher sends events to the default event bus (Source EventSource)
// and, when TopicARN is set, to the alarm topic. Bus, when set, names the
// bus (its name or ARN, as EventBusName): the deployed function names the
// home region's default bus by ARN, the one its role may put events on.
type Publisher struct {
	Bus      string
	Events   EventsAPI
	Topic    TopicAPI
	TopicARN string
}

// maxPutEntries is PutEvents' limit of entries per call; maxSubject is
// SNS's limit of a Subject (fewer than 100 characters).
const (
	maxPutEntries = 10
	maxSubject    = 99
)

// Publish sends each event where it has not gone yet and returns the
// events with what was sent marked (Event.OnBus, Event.OnTopic); an error
// says what failed. Nothing is lost: State.Sent drops only the events
// sent everywhere, and the next run sends the rest again.
func (p Publisher) Publish(ctx context.Context, events []Event) ([]Event, error) {
	events = slices.Clone(events)
	var errs []error
	var pending []int
	for i, e := range events {
		if !e.OnBus {
			pending = append(pending, i)
		}
	}
	for batch := range slices.Chunk(pending, maxPutEntries) {
		entries := make([]ebtypes.PutEventsRequestEntry, len(batch))
		for j, i := range batch {
			detail, err := json.Marshal(events[i].Detail)
			if err != nil {
				return events, fmt.Errorf("encode event %s: %w", events[i].ID, err)
			}
			entries[j] = ebtypes.PutEventsRequestEntry{Source: aws.String(EventSource), DetailType: aws.String(events[i].DetailType),
				Detail: aws.String(string(detail)), Time: aws.Time(events[i].Detail.At), EventBusName: nilIfEmpty(p.Bus)}
		}
		out, err := p.Events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			errs = append(errs, fmt.Errorf("put %d promotion events: %w", len(batch), err))
			continue
		}
		for j, i := range batch {
			if j < len(out.Entries) && out.Entries[j].ErrorCode == nil && out.Entries[j].EventId != nil {
				events[i].OnBus = true
			} else if j < len(out.Entries) {
				errs = append(errs, fmt.Errorf("put event %s: %s: %s", events[i].ID, aws.ToString(out.Entries[j].ErrorCode), aws.ToString(out.Entries[j].ErrorMessage)))
			}
		}
	}
	for i := range events {
		e := &events[i]
		if e.OnTopic || p.TopicARN == "" {
			e.OnTopic = true
			continue
		}
		body, err := json.MarshalIndent(e.Detail, "", "  ")
		if err != nil {
			return events, fmt.Errorf("encode event %s: %w", e.ID, err)
		}
		_, err = p.Topic.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(p.TopicARN), Subject: aws.String(subject(*e)),
			Message: aws.String(e.Detail.Reason + "\n\n" + string(body))})
		if err != nil {
			errs = append(errs, fmt.Errorf("publish event %s to %s: %w", e.ID, p.TopicARN, err))
			continue
		}
		e.OnTopic = true
	}
	return events, errors.Join(errs...)
}

// subject is the SNS Subject: "orgpatch: Ring Promoted prod", ASCII
// without line breaks, cut to fewer than 100 characters.
func subject(e Event) string {
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, "orgpatch: "+e.DetailType+" "+e.Detail.Ring)
	if len(s) > maxSubject {
		s = s[:maxSubject]
	}
	return s
}

// Sent returns st with the send marks of events applied, and without the
// events sent everywhere.
func (st State) Sent(events []Event) State {
	st = st.Clone()
	for _, e := range events {
		if i := slices.IndexFunc(st.Unpublished, func(u Event) bool { return u.ID == e.ID }); i >= 0 {
			st.Unpublished[i].OnBus = st.Unpublished[i].OnBus || e.OnBus
			st.Unpublished[i].OnTopic = st.Unpublished[i].OnTopic || e.OnTopic
		}
	}
	st.Unpublished = slices.DeleteFunc(st.Unpublished, func(e Event) bool { return e.OnBus && e.OnTopic })
	return st
}
