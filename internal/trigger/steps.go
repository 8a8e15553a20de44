package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"github.com/orgpatch/orgpatch/internal/config"
)

// The steps of a whole-organization run, as the state machine invokes the
// Lambda with them (infra/stacks/state_machine.go).
const (
	// StepDiscover works out the targets and writes the work items.
	StepDiscover = "discover"
	// StepWork converges one batch of the Distributed Map.
	StepWork = "work"
	// StepSummarize reads the map's results, reports, and answers
	// CloudFormation.
	StepSummarize = "summarize"
	// StepAbort answers CloudFormation FAILED when a step failed.
	StepAbort = "abort"
)

// RunInput is a whole-organization run as its execution carries it: the
// execution's input is {"request": RunInput}, and every step but the
// worker's gets it back. It carries no secret and nothing a step trusts
// beyond its name: the CloudFormation request a run answers (with its
// presigned ResponseURL) and the previous configuration of an Update are
// in the runs bucket under Request, where only the function reads them,
// and are verified again there (internal/handler).
type RunInput struct {
	Source Source `json:"source"`
	// Action is Converge or Remove.
	Action Action `json:"action"`
	Reason string `json:"reason"`
	// Config is the configuration (config.Config.JSON).
	Config json.RawMessage `json:"config"`
	// Request is the key of the run's CloudFormation request in the runs
	// bucket ("runs/requests/<RequestId>.json"); empty for a run of the
	// schedule.
	Request string `json:"requestKey,omitempty"`
	// CloudFormation is an inline custom resource request, as executions
	// started before requests went to the runs bucket carry it; it is held
	// to the same checks as a stored one. New executions never carry it.
	CloudFormation *cfn.Event `json:"cloudFormation,omitempty"`
}

// Step is one step of a whole-organization execution.
type Step struct {
	// Name is StepDiscover, StepWork, StepSummarize or StepAbort.
	Name string
	// Run is the execution's name; Started its start (discover only).
	Run     string
	Started time.Time
	// Input is the run (every step but the worker's).
	Input RunInput
	// Config is Input's configuration, decoded and validated (every step
	// but the worker's, whose configurations are in its BatchInput and
	// validated there). Previous is the run's previous configuration: never
	// decoded from the input; the handler sets it from the run's stored
	// request.
	Config   config.Config
	Previous *config.Config
	// Payload is the whole input, for the step's own decoding.
	Payload json.RawMessage
}

// stepProbe is what Decode reads of a step's input: the step's name and
// the run; a worker's batch is told by its Items and BatchInput.
type stepProbe struct {
	Step    string    `json:"step"`
	Run     string    `json:"run"`
	Started time.Time `json:"started"`
	Request *RunInput `json:"request"`
	Error   *struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	} `json:"error"`
	Map *struct {
		ResultWriterDetails struct {
			Key string `json:"Key"`
		} `json:"ResultWriterDetails"`
	} `json:"map"`
}

// batchProbe is what Decode checks of a worker's batch.
type batchProbe struct {
	Items []struct {
		Account string                     `json:"account"`
		Ring    string                     `json:"ring"`
		Regions map[string]json.RawMessage `json:"regions"`
	} `json:"Items"`
	BatchInput *struct {
		Run      string          `json:"run"`
		Mode     string          `json:"mode"`
		Config   json.RawMessage `json:"config"`
		Previous json.RawMessage `json:"previous"`
	} `json:"BatchInput"`
}

// requestKey is where a run's CloudFormation request is stored: named by
// the request id (a UUID, as CloudFormation sends it; letters, digits and
// hyphens).
var requestKey = regexp.MustCompile(`^runs/requests/[A-Za-z0-9-]{1,128}\.json$`)

// RequestKey is the key of the CloudFormation request id's object in the
// runs bucket, or "" when the id cannot name one.
func RequestKey(id string) string {
	key := "runs/requests/" + id + ".json"
	if !requestKey.MatchString(key) {
		return ""
	}
	return key
}

// An execution name: 1 to 80 letters, digits, hyphens and underscores.
var executionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)

// decodeStep reads a step of the state machine. The configurations are
// validated here, so a bad one is refused before any AWS call.
func decodeStep(raw json.RawMessage, probe map[string]json.RawMessage) (Request, error) {
	if _, ok := probe["Items"]; ok {
		return decodeBatch(raw)
	}
	var p stepProbe
	if err := json.Unmarshal(raw, &p); err != nil {
		return Request{}, fmt.Errorf("%w: step: %w", ErrMalformed, err)
	}
	switch p.Step {
	case StepDiscover, StepSummarize, StepAbort:
	default:
		return Request{}, fieldErr("step", "%s is not one of %s, %s, %s (a worker's batch has Items and BatchInput)", quoted(p.Step), StepDiscover, StepSummarize, StepAbort)
	}
	if !executionName.MatchString(p.Run) {
		return Request{}, fieldErr("run", "%s is not an execution name (1 to 80 letters, digits, - and _)", quoted(p.Run))
	}
	if p.Request == nil {
		return Request{}, fieldErr("request", "missing: the run the execution carries")
	}
	in := *p.Request
	switch in.Action {
	case Converge, Remove:
	default:
		return Request{}, fieldErr("request.action", "%s is not one of %s, %s", quoted(string(in.Action)), Converge, Remove)
	}
	step := Step{Name: p.Step, Run: p.Run, Started: p.Started, Input: in, Payload: raw}
	var err error
	if step.Config, err = decodeConfig("request.config", in.Config); err != nil {
		return Request{}, err
	}
	if in.Request != "" && !requestKey.MatchString(in.Request) {
		return Request{}, fieldErr("request.requestKey", "%s is not runs/requests/<RequestId>.json", quoted(in.Request))
	}
	if in.CloudFormation != nil {
		if err := answerable("request.cloudFormation.", in.CloudFormation); err != nil {
			return Request{}, err
		}
	}
	switch {
	case p.Step == StepDiscover && p.Started.IsZero():
		return Request{}, fieldErr("started", "missing: the execution's start time")
	case p.Step == StepSummarize && (p.Map == nil || p.Map.ResultWriterDetails.Key == ""):
		return Request{}, fieldErr("map.ResultWriterDetails.Key", "missing: where the map's manifest.json is")
	case p.Step == StepAbort && p.Error == nil:
		return Request{}, fieldErr("error", "missing: the Error and Cause the step failed with")
	}
	req := Request{
		Source:         SourceStepFunctions,
		Action:         RunStep,
		Reason:         fmt.Sprintf("step %s of run %s (%s)", p.Step, p.Run, in.Reason),
		Step:           &step,
		CloudFormation: in.CloudFormation,
	}
	if in.CloudFormation != nil {
		req.Properties = CleanProperties(in.CloudFormation.ResourceProperties)
	}
	return req, nil
}

// decodeBatch checks a worker's batch: 12-digit accounts, known modes,
// configurations that validate.
func decodeBatch(raw json.RawMessage) (Request, error) {
	var b batchProbe
	if err := json.Unmarshal(raw, &b); err != nil {
		return Request{}, fmt.Errorf("%w: batch: %w", ErrMalformed, err)
	}
	if b.BatchInput == nil {
		return Request{}, fieldErr("BatchInput", "missing: the ItemBatcher's BatchInput")
	}
	if len(b.Items) == 0 {
		return Request{}, fieldErr("Items", "empty: a batch has at least one account")
	}
	for i, it := range b.Items {
		if err := checkAccountID(fmt.Sprintf("Items[%d].account", i), it.Account); err != nil {
			return Request{}, err
		}
		for mode := range it.Regions {
			if !knownMode(mode) {
				return Request{}, fieldErr(fmt.Sprintf("Items[%d].regions", i), "mode %s is not one of converge, remove, teardown", quoted(mode))
			}
		}
	}
	if !knownMode(b.BatchInput.Mode) {
		return Request{}, fieldErr("BatchInput.mode", "%s is not one of converge, remove, teardown", quoted(b.BatchInput.Mode))
	}
	cfg, err := decodeConfig("BatchInput.config", b.BatchInput.Config)
	if err != nil {
		return Request{}, err
	}
	for i, it := range b.Items {
		if err := cfg.CheckRing(it.Ring); err != nil {
			return Request{}, fieldErr(fmt.Sprintf("Items[%d].ring", i), "%v", err)
		}
	}
	if p := bytes.TrimSpace(b.BatchInput.Previous); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		if _, err := decodeConfig("BatchInput.previous", b.BatchInput.Previous); err != nil {
			return Request{}, err
		}
	}
	return Request{
		Source: SourceStepFunctions,
		Action: RunStep,
		Reason: fmt.Sprintf("step %s of run %s: %d accounts", StepWork, b.BatchInput.Run, len(b.Items)),
		Step:   &Step{Name: StepWork, Run: b.BatchInput.Run, Payload: raw},
	}, nil
}

func knownMode(m string) bool { return m == "converge" || m == "remove" || m == "teardown" }

// decodeConfig decodes and validates a configuration, its problems named
// under field.
func decodeConfig(field string, raw json.RawMessage) (config.Config, error) {
	if len(raw) == 0 {
		return config.Config{}, fieldErr(field, "missing")
	}
	cfg, err := config.Decode(raw)
	if err != nil {
		return config.Config{}, fieldErr(field, "%v", err)
	}
	return cfg, nil
}
