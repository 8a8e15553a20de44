package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// stacksAPI is the part of CloudFormation the handler reads: whether its
// stack really is in the operation a request says.
type stacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

var _ stacksAPI = (*cloudformation.Client)(nil)

// operationStatuses are the stack statuses under which CloudFormation
// sends a custom resource each request type that can take something away:
// a Delete while the stack is deleted, or while a failed Create rolls back
// (the physical id never changes, so no Update replaces the resource); an
// Update while the stack is updated, or while a failed update rolls back.
var operationStatuses = map[cfn.RequestType][]string{
	cfn.RequestDelete: {"DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"},
	cfn.RequestUpdate: {"UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"},
}

// verifyOperation asks CloudFormation whether the stack of ev is in the
// operation ev says (a Delete, an Update); a request that is not (sent by
// someone who can invoke the function, or replayed after the operation)
// is refused. A Create takes nothing away and is not asked about. A nil
// Stack (local runs) checks nothing.
func (h *Handler) verifyOperation(ctx context.Context, ev *cfn.Event) error {
	want, ok := operationStatuses[ev.RequestType]
	if h.deps.Stack == nil || !ok {
		return nil
	}
	out, err := h.stacks.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(h.deps.Stack.ID)})
	if err != nil {
		return fmt.Errorf("CloudFormation %s refused: its stack's status cannot be read to verify it: %w", ev.RequestType, err)
	}
	status := "(not described)"
	if len(out.Stacks) == 1 {
		status = string(out.Stacks[0].StackStatus)
	}
	if !slices.Contains(want, status) {
		return fmt.Errorf("CloudFormation %s refused: stack %s is %s, not %v: CloudFormation sent no such request now (%w)",
			ev.RequestType, h.deps.Stack.ID, status, want, errNotTheStacks)
	}
	return nil
}

// storedRequest is a run's CloudFormation request as the function keeps it
// in the runs bucket (trigger.RequestKey): the request itself, with its
// presigned ResponseURL, out of the execution's input and history, and for
// an Update the previous properties the function verified.
type storedRequest struct {
	Event *cfn.Event `json:"event"`
	// Previous are the properties an Update replaces, null when there are
	// none the function could verify.
	Previous map[string]any `json:"previous"`
}

// saveRequest stores req's CloudFormation request and previous properties
// for its run and returns their key. A request stored already (the
// delivery retried) is kept as the first delivery stored it.
func (h *Handler) saveRequest(ctx context.Context, ev *cfn.Event, previous map[string]any) (string, error) {
	key := trigger.RequestKey(ev.RequestID)
	if key == "" {
		return "", fmt.Errorf("CloudFormation RequestId %.64q cannot name the run's request object", ev.RequestID)
	}
	if _, err := h.runs.Get(ctx, key); err == nil {
		return key, nil
	}
	body, err := json.Marshal(storedRequest{Event: ev, Previous: previous})
	if err != nil {
		return "", fmt.Errorf("encode the run's request: %w", err)
	}
	if err := h.runs.Put(ctx, key, body); err != nil {
		return "", fmt.Errorf("store the run's request %s: %w", key, err)
	}
	return key, nil
}

// loadRequest reads a run's stored request and holds it to the stack as a
// request sent directly is held (its stack and properties, the operation
// it says verified with CloudFormation). previous is the verified
// previous configuration of an Update, nil otherwise.
func (h *Handler) loadRequest(ctx context.Context, key string) (ev *cfn.Event, previous *config.Config, err error) {
	body, err := h.runs.Get(ctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("read the run's request %s: %w", key, err)
	}
	var in storedRequest
	if err := json.Unmarshal(body, &in); err != nil || in.Event == nil {
		return nil, nil, fmt.Errorf("the run's request %s is not a stored request: %v", key, err)
	}
	if err := h.checkOrigin(ctx, in.Event); err != nil {
		return nil, nil, err
	}
	if in.Event.RequestType == cfn.RequestUpdate && in.Previous != nil {
		prev, err := config.FromProperties(in.Previous)
		if err != nil {
			return nil, nil, fmt.Errorf("the run's request %s: previous properties: %w", key, err)
		}
		previous = &prev
	}
	return in.Event, previous, nil
}

// checkOrigin holds a run's CloudFormation request to the stack: its
// stack and properties, and the operation it says.
func (h *Handler) checkOrigin(ctx context.Context, ev *cfn.Event) error {
	if err := h.deps.Stack.checkRequest(ev.StackID, trigger.CleanProperties(ev.ResourceProperties)); err != nil {
		return err
	}
	return h.verifyOperation(ctx, ev)
}

// trustedPrevious is the previous configuration's properties of a verified
// Update: the properties the configuration parameter held when the Update
// arrived (written by the stack's last Create or Update), when the
// request's OldResourceProperties say the same; nil otherwise, so that
// what the request alone claims never decides what is torn down.
func trustedPrevious(stored, old map[string]any) map[string]any {
	if stored == nil || !reflect.DeepEqual(stored, old) {
		return nil
	}
	return stored
}

// errNotDelete refuses a remove run that no verified CloudFormation Delete
// asked for.
var errNotDelete = errors.New("a remove run is only for the stack's own CloudFormation Delete")
