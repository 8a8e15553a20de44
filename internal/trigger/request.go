package trigger

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
)

// Source says where a request came from, for logs and metrics.
type Source string

const (
	SourceCloudFormation Source = "cloudformation"
	SourceControlTower   Source = "controltower"
	SourceOrganizations  Source = "organizations"
	SourceSchedule       Source = "schedule"
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
}
