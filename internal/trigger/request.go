package trigger

import "github.com/aws/aws-lambda-go/cfn"

// Action is how to converge.
type Action string

const (
	// Converge brings the accounts to the desired configuration; when the
	// configuration is disabled, that means tearing everything down.
	Converge Action = "converge"
	// Remove deletes every owned window and keeps the DHMC setting: what a
	// stack deletion asks for.
	Remove Action = "remove"
	// Ignore does nothing: the event names nothing to converge.
	Ignore Action = "ignore"
	// Report reads the organization's patch compliance and writes the
	// report; it changes nothing.
	Report Action = "report"
	// RunStep runs one step of a whole-organization execution (Step says
	// which).
	RunStep Action = "step"
)

// Source says where a request came from, for logs and metrics.
type Source string

const (
	SourceCloudFormation Source = "cloudformation"
	SourceControlTower   Source = "controltower"
	SourceOrganizations  Source = "organizations"
	SourceSchedule       Source = "schedule"
	SourceReport         Source = "report-schedule"
	SourceStepFunctions  Source = "stepfunctions"
	SourceUnknown        Source = "unknown"
)

// Request names what to converge and how, never what happened.
type Request struct {
	Source Source
	Action Action
	// Accounts, when non-empty, limits the run to these account ids; empty
	// means the whole organization.
	Accounts []string
	// Reason is a one-line human account of the event, for the logs.
	Reason string
	// ID identifies the delivery (the CloudFormation RequestId, the
	// EventBridge event id), so that a redelivered trigger starts no second
	// run.
	ID string
	// Account is the account an EventBridge event was recorded in (the
	// envelope's account), for the handler to hold to the management
	// account; empty for other sources.
	Account string

	// Step is the state machine's step when Source is
	// SourceStepFunctions, nil otherwise.
	Step *Step

	// CloudFormation is the custom resource request when Source is
	// SourceCloudFormation (or a step of a run CloudFormation started),
	// nil otherwise. It carries what the answer to
	// CloudFormation needs (ResponseURL, RequestId, StackId, ...); the
	// caller must answer it whatever happens.
	CloudFormation *cfn.Event
	// Properties are the custom resource's properties without the ones
	// CloudFormation itself owns (ServiceToken, ServiceTimeout): the
	// configuration, for config.FromProperties. Nil for other sources but a
	// step of a run CloudFormation started.
	Properties map[string]any
	// OldProperties are the properties before an Update, cleaned the same
	// way; nil for Create, Delete and other sources.
	OldProperties map[string]any
}
