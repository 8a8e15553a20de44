package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/orgpatch/orgpatch/internal/sim"
)

// stackID is the demo stack's id, in the management account.
const stackID = "arn:aws:cloudformation:us-east-1:111111111111:stack/orgpatch-demo/5b918d10-cd98-11ea-90d5-0a9cd3354c10"

// serviceToken is the Lambda's ARN, as CloudFormation passes it.
const serviceToken = "arn:aws:lambda:us-east-1:111111111111:function:orgpatch"

// Capture stands in for the presigned S3 URL CloudFormation waits on: it
// keeps every custom resource response PUT to it.
type Capture struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []cfn.Response
	bad []string
}

// NewCapture starts a capture server on loopback; Close stops it.
func NewCapture() *Capture {
	c := &Capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	return c
}

// URL is where a request's ResponseURL should point.
func (c *Capture) URL(requestID string) string { return c.srv.URL + "/responses/" + requestID }

// Close stops the server.
func (c *Capture) Close() { c.srv.Close() }

func (c *Capture) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	c.mu.Lock()
	defer c.mu.Unlock()
	var resp cfn.Response
	switch {
	case r.Method != http.MethodPut:
		c.bad = append(c.bad, fmt.Sprintf("%s %s: CloudFormation takes only PUT", r.Method, r.URL.Path))
		http.Error(w, "PUT only", http.StatusMethodNotAllowed)
		return
	case err != nil:
		c.bad = append(c.bad, fmt.Sprintf("read body: %v", err))
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	case len(body) > 4096:
		c.bad = append(c.bad, fmt.Sprintf("response of %d bytes: over CloudFormation's 4096", len(body)))
		http.Error(w, "too large", http.StatusBadRequest)
		return
	case json.Unmarshal(body, &resp) != nil:
		c.bad = append(c.bad, fmt.Sprintf("response is not JSON: %.80q", body))
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	c.got = append(c.got, resp)
}

// Responses returns the responses received so far, and the refused ones.
func (c *Capture) Responses() (got []cfn.Response, refused []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]cfn.Response(nil), c.got...), append([]string(nil), c.bad...)
}

// cloudFormationEvent builds a custom resource request as CloudFormation
// sends it; old is nil except for an Update.
func cloudFormationEvent(kind cfn.RequestType, requestID, responseURL string, props, old map[string]any) (json.RawMessage, error) {
	ev := cfn.Event{
		RequestType:        kind,
		RequestID:          requestID,
		ResponseURL:        responseURL,
		ResourceType:       "Custom::OrgPatch",
		LogicalResourceID:  "OrgPatch",
		StackID:            stackID,
		ResourceProperties: withToken(props),
	}
	if kind != cfn.RequestCreate {
		ev.PhysicalResourceID = "orgpatch"
	}
	if old != nil {
		ev.OldResourceProperties = withToken(old)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode CloudFormation %s: %w", kind, err)
	}
	return raw, nil
}

func withToken(props map[string]any) map[string]any {
	out := maps.Clone(props)
	if out == nil {
		out = map[string]any{}
	}
	out["ServiceToken"] = serviceToken
	out["ServiceTimeout"] = "900"
	return out
}

// scheduleEvent is the EventBridge schedule rule's event.
func scheduleEvent(now time.Time) json.RawMessage {
	return mustJSON(map[string]any{
		"version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
		"detail-type": "Scheduled Event", "source": "aws.events",
		"account": "111111111111", "time": now.UTC().Format(time.RFC3339), "region": "us-east-1",
		"resources": []string{"arn:aws:events:us-east-1:111111111111:rule/orgpatch-Schedule"},
		"detail":    map[string]any{},
	})
}

// createManagedAccountEvent is Control Tower's lifecycle event for an
// account Account Factory has finished enrolling.
func createManagedAccountEvent(now time.Time, accountID, accountName, ouID, ouName string) json.RawMessage {
	ts := now.UTC().Format(time.RFC3339)
	return mustJSON(map[string]any{
		"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		"detail-type": "AWS Service Event via CloudTrail", "source": "aws.controltower",
		"account": "111111111111", "time": ts, "region": "us-east-1", "resources": []string{},
		"detail": map[string]any{
			"eventVersion": "1.08", "eventSource": "controltower.amazonaws.com",
			"eventName": "CreateManagedAccount", "awsRegion": "us-east-1", "eventTime": ts,
			"userIdentity": map[string]any{"accountId": "111111111111", "invokedBy": "AWS Internal"},
			"eventType":    "AwsServiceEvent", "recipientAccountId": "111111111111",
			"serviceEventDetails": map[string]any{
				"createManagedAccountStatus": map[string]any{
					"organizationalUnit": map[string]any{"organizationalUnitName": ouName, "organizationalUnitId": ouID},
					"account":            map[string]any{"accountName": accountName, "accountId": accountID},
					"state":              "SUCCEEDED",
					"message":            "AWS Control Tower successfully created an enrolled account.",
				},
			},
		},
	})
}

// moveAccountEvent is the Organizations MoveAccount call as CloudTrail
// reports it through EventBridge.
func moveAccountEvent(now time.Time, accountID, from, to string) json.RawMessage {
	ts := now.UTC().Format(time.RFC3339)
	return mustJSON(map[string]any{
		"version": "0", "id": "3f1c2b7e-9a4d-4e8b-8c6f-2d5a7b9e0c14",
		"detail-type": "AWS API Call via CloudTrail", "source": "aws.organizations",
		"account": "111111111111", "time": ts, "region": "us-east-1", "resources": []string{},
		"detail": map[string]any{
			"eventVersion": "1.08", "eventSource": "organizations.amazonaws.com",
			"eventName": "MoveAccount", "awsRegion": "us-east-1", "eventTime": ts,
			"userIdentity":      map[string]any{"type": "AssumedRole", "accountId": "111111111111"},
			"requestParameters": map[string]any{"accountId": accountID, "sourceParentId": from, "destinationParentId": to},
			"responseElements":  nil, "eventType": "AwsApiCall", "recipientAccountId": "111111111111",
		},
	})
}

// mustJSON encodes v, made of maps, slices and strings only, which always
// encodes.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("demo: encode event: %v", err))
	}
	return b
}

// fastClock is the simulator's clock plus the time the run has waited:
// its Sleep returns at once, so waiting for a new account's role (minutes
// in AWS) costs the demo nothing, and the report still shows the waits.
// The simulator's clock moves only when the demo advances it (the
// promotion step's patch cycles).
type fastClock struct {
	sim    *sim.Clock
	mu     sync.Mutex
	offset time.Duration
}

func (c *fastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sim.Now().Add(c.offset)
}

func (c *fastClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return nil
}

func (c *fastClock) waited() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}
