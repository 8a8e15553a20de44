package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/trigger"
)

// ExecutionsAPI is the part of the Step Functions API the handler uses.
type ExecutionsAPI interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, opts ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	sfn.ListExecutionsAPIClient
}

var _ ExecutionsAPI = (*sfn.Client)(nil)

// startRun starts the state machine's execution of a whole-organization
// run of cfg (previous: the verified properties an Update replaces). The
// execution's input carries no secret: a CloudFormation request (with its
// presigned ResponseURL) and the previous properties are stored in the
// runs bucket, and the input names their key. The execution's name is
// derived from the delivery (the CloudFormation RequestId, the EventBridge
// event id): a redelivered trigger finds its execution already started and
// starts no second one. A trigger that arrives while another run is under
// way starts its own execution, which waits its turn (see ahead).
func (h *Handler) startRun(ctx context.Context, log *slog.Logger, req trigger.Request, cfg config.Config, previous map[string]any) error {
	in := trigger.RunInput{Source: req.Source, Action: req.Action, Reason: req.Reason}
	var err error
	if in.Config, err = cfg.JSON(); err != nil {
		return err
	}
	if req.CloudFormation != nil {
		if in.Request, err = h.saveRequest(ctx, req.CloudFormation, previous); err != nil {
			return err
		}
	}
	body, err := json.Marshal(struct {
		Request trigger.RunInput `json:"request"`
	}{in})
	if err != nil {
		return fmt.Errorf("encode the execution's input: %w", err)
	}
	name := executionName(req, h.clock.Now())
	out, err := h.deps.Executions.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(h.deps.StateMachine),
		Name:            aws.String(name),
		Input:           aws.String(string(body)),
	})
	var exists *types.ExecutionAlreadyExists
	switch {
	case errors.As(err, &exists):
		log.Info("this trigger's run was already started", "execution", name)
		return nil
	case err != nil:
		return fmt.Errorf("start the whole-organization run %s: %w", name, err)
	}
	log.Info("whole-organization run started", "execution", aws.ToString(out.ExecutionArn))
	return nil
}

var notInName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// executionName is "<source>-<delivery id>" (at most 80 characters of
// letters, digits, - and _, as Step Functions takes them); a trigger
// without an id is named by the time instead.
func executionName(req trigger.Request, now time.Time) string {
	id := req.ID
	if id == "" {
		id = now.UTC().Format("20060102T150405.000000000Z")
	}
	name := string(req.Source) + "-" + notInName.ReplaceAllString(id, "-")
	if len(name) > 80 {
		name = name[:80]
	}
	return strings.TrimRight(name, "-")
}

// ahead returns the ARN of a running execution of the state machine that
// started before this one (run, started): this run waits until none is
// left, so at most one whole-organization run works at a time and each
// trigger's run comes in its turn. Executions started at the same instant
// go by name.
func (h *Handler) ahead(ctx context.Context, run string, started time.Time) (string, error) {
	p := sfn.NewListExecutionsPaginator(h.deps.Executions, &sfn.ListExecutionsInput{
		StateMachineArn: aws.String(h.deps.StateMachine),
		StatusFilter:    types.ExecutionStatusRunning,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list the running whole-organization runs: %w", err)
		}
		for _, e := range page.Executions {
			name, at := aws.ToString(e.Name), aws.ToTime(e.StartDate)
			if name == run {
				continue
			}
			if at.Before(started) || (at.Equal(started) && name < run) {
				return aws.ToString(e.ExecutionArn), nil
			}
		}
	}
	return "", nil
}
