package sim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
	"github.com/orgpatch/orgpatch/internal/sim/smodel"
)

// The simulated EventBridge: PutEvents (JSON 1.1, target AWSEvents), as
// the API reference and the user guide's "Calculating PutEvents event
// entry size" document it. Up to 10 entries a call (the model's limit,
// ValidationException past it); the entries' total size, as AWS computes
// it (Time 14 bytes when given, then the UTF-8 bytes of Source,
// DetailType, Detail and each of Resources), at most 256 KiB, else the
// whole call is a ValidationException. Each entry is answered on its own:
// an EventId, or an ErrorCode and ErrorMessage (InvalidArgument for a
// missing Source, DetailType or Detail, MalformedDetail for a Detail that
// is not a JSON object, NotAuthorizedForSourceException for a source in
// the "aws." namespace), with FailedEntryCount counting the failures.
//
// Every account x region has its "default" event bus; the simulator has
// no CreateEventBus, so that is the only bus (an assumption of the
// simulator, not AWS's rule). EventBusName is the bus's name or ARN. An
// entry for a bus that does not exist is accepted with an EventId and
// dropped, as AWS does (aws/aws-cli#9186: AWS reports no failure). An ARN
// naming another account or region names a bus the caller cannot reach
// here (the simulator has no bus policies), so it is dropped alike.
//
// EventBridge has no API to read events back; the simulator keeps those
// it accepted on a default bus for Server.Events.

// ServiceEvents is EventBridge's signing name (and the model's name).
const ServiceEvents = "events"

// MaxEventEntriesBytes is the most the entries of one PutEvents call may
// total, as EventBridge computes their size.
const MaxEventEntriesBytes = 256 * 1024

// Event is an event EventBridge accepted onto a default bus.
type Event struct {
	ID         string
	Account    string
	Region     string
	Bus        string // the bus's ARN
	Source     string
	DetailType string
	Detail     string
	Resources  []string
	Time       time.Time // the entry's Time, or when it was put
}

type eventStore struct {
	mu     sync.Mutex
	events map[string][]Event // account/region
}

// Events returns the events put onto account's default bus in region, in
// the order EventBridge accepted them.
func (s *Server) Events(account, region string) []Event {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	out := slices.Clone(s.events.events[account+"/"+region])
	for i := range out {
		out[i].Resources = slices.Clone(out[i].Resources)
	}
	return out
}

type putEventsInput struct {
	Entries []struct {
		Source       *string  `json:"Source"`
		DetailType   *string  `json:"DetailType"`
		Detail       *string  `json:"Detail"`
		EventBusName string   `json:"EventBusName"`
		Resources    []string `json:"Resources"`
		Time         *float64 `json:"Time"` // epoch seconds
	} `json:"Entries"`
}

type putEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

type putEventsOutput struct {
	FailedEntryCount int                    `json:"FailedEntryCount"`
	Entries          []putEventsResultEntry `json:"Entries"`
}

var eventBusARNRe = regexp.MustCompile(`^arn:aws[\w-]*:events:([a-z0-9-]+):(\d{12}):event-bus/(.+)$`)

// eventBridge serves EventBridge.
func (s *Server) eventBridge(req *request) (any, error) {
	if req.op != "PutEvents" {
		return nil, apierr.BadRequest("UnknownOperationException", "the simulator does not implement %s of EventBridge", req.op)
	}
	if vs := smodel.Validate(ServiceEvents, req.op, req.body); len(vs) > 0 {
		return nil, apierr.BadRequest("ValidationException", "%s", smodel.Message(vs))
	}
	var in putEventsInput
	if err := decodeJSON(req.body, &in); err != nil {
		return nil, err
	}
	size := 0
	for _, e := range in.Entries {
		if e.Time != nil {
			size += 14
		}
		for _, p := range []*string{e.Source, e.DetailType, e.Detail} {
			if p != nil {
				size += len(*p)
			}
		}
		for _, r := range e.Resources {
			size += len(r)
		}
	}
	if size > MaxEventEntriesBytes {
		return nil, apierr.BadRequest("ValidationException", "Total size of the entries in the request is over the limit.")
	}
	out := putEventsOutput{Entries: make([]putEventsResultEntry, len(in.Entries))}
	var kept []Event
	for i, e := range in.Entries {
		res := &out.Entries[i]
		missing := ""
		switch {
		case e.Source == nil || *e.Source == "":
			missing = "Source"
		case e.DetailType == nil || *e.DetailType == "":
			missing = "DetailType"
		case e.Detail == nil || *e.Detail == "":
			missing = "Detail"
		}
		switch {
		case missing != "":
			res.ErrorCode, res.ErrorMessage = "InvalidArgument", fmt.Sprintf("Parameter %s is not valid. Reason: %s is a required argument.", missing, missing)
		case !isJSONObject(*e.Detail):
			res.ErrorCode, res.ErrorMessage = "MalformedDetail", "Detail is malformed."
		case strings.HasPrefix(*e.Source, "aws."):
			res.ErrorCode, res.ErrorMessage = "NotAuthorizedForSourceException", "Not authorized for the source."
		}
		if res.ErrorCode != "" {
			out.FailedEntryCount++
			continue
		}
		res.EventID = newUUID()
		bus := e.EventBusName
		if bus == "" {
			bus = "default"
		}
		if m := eventBusARNRe.FindStringSubmatch(bus); m != nil {
			if m[1] != req.region || m[2] != req.caller.Account {
				continue // another account's or region's bus: dropped
			}
			bus = m[3]
		}
		if bus != "default" {
			continue // no such bus: accepted and dropped, as AWS does
		}
		t := req.now
		if e.Time != nil {
			sec := int64(*e.Time)
			t = time.Unix(sec, int64((*e.Time-float64(sec))*1e9)).UTC()
		}
		kept = append(kept, Event{
			ID: res.EventID, Account: req.caller.Account, Region: req.region,
			Bus:    fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", req.region, req.caller.Account),
			Source: *e.Source, DetailType: *e.DetailType, Detail: *e.Detail,
			Resources: slices.Clone(e.Resources), Time: t,
		})
	}
	if len(kept) > 0 {
		s.events.mu.Lock()
		if s.events.events == nil {
			s.events.events = map[string][]Event{}
		}
		key := req.caller.Account + "/" + req.region
		s.events.events[key] = append(s.events.events[key], kept...)
		s.events.mu.Unlock()
	}
	return out, nil
}

// isJSONObject reports whether s is a JSON object, as an event's Detail
// must be.
func isJSONObject(s string) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && m != nil
}

// newUUID returns a random version-4 UUID, the form of EventBridge's event
// ids and SNS's message ids.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("sim: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
