package config

import "slices"

// Config is the desired patching setup for the organization.
// The zero value is not usable: start from Default(), Decode or
// FromProperties, which all give a valid Config.
type Config struct {
	// Windows are the maintenance windows every target account x region holds.
	// Their Names identify them: a window whose name leaves this list is deleted.
	Windows []Window `json:"windows"`

	// ConfigurationRoleName is the role the Lambda assumes in each account.
	ConfigurationRoleName string `json:"configurationRoleName"`
	// TaskRoleName is the maintenance-window task role (ServiceRoleArn) in each account.
	TaskRoleName string `json:"taskRoleName"`
	// DHMCRoleName is the Default Host Management Configuration role, as the
	// service setting holds it (path included, e.g. "service-role/Name").
	DHMCRoleName string `json:"dhmcRoleName"`
	// ManageDHMC says whether the DHMC service setting is converged at all.
	ManageDHMC bool `json:"manageDHMC"`

	// Regions, when non-empty, are the regions to converge.
	Regions []string `json:"regions,omitempty"`
	// ControlTowerRegionsOnly: with no explicit Regions, use Control Tower's
	// governed regions (else the default region list).
	ControlTowerRegionsOnly bool `json:"controlTowerRegionsOnly"`

	// ExcludedAccounts and ExcludedOUs are never converged (exact ids).
	ExcludedAccounts []string `json:"excludedAccounts,omitempty"`
	ExcludedOUs      []string `json:"excludedOUs,omitempty"`

	// Disabled tears everything down and keeps it down: while it is set, no
	// trigger creates anything.
	Disabled bool `json:"disabled"`

	// Baselines are the patch baselines every account x region holds, with
	// their default and patch group registrations (baselines.go). Their
	// Names identify them: a baseline whose name leaves the list is deleted.
	Baselines []Baseline `json:"baselines,omitempty"`
	// Rings configure sets of accounts apart (rings.go): each account takes
	// the first ring that selects it, else the settings above.
	Rings []Ring `json:"rings,omitempty"`
	// RingsByTag allows rings to select accounts by Organizations account
	// tag (Selector.Tags). It is a choice to make explicitly: whoever may
	// tag accounts (organizations:TagResource, UntagResource) can then move
	// an account between rings, prod onto dev's schedule and approvals.
	// The stack's RingTagGuard option limits who may.
	RingsByTag bool `json:"ringsByTag,omitempty"`
}

// Window is one maintenance window with its one target and one task.
// Schedule is a cron(...), rate(...) or at(...) expression (ParseSchedule),
// read in ScheduleTimezone (an IANA name); the window stays open
// DurationHours (1..24), and no task starts in its last CutoffHours
// (0..23, less than DurationHours).
type Window struct {
	Name             string `json:"name"`
	Description      string `json:"description,omitempty"`
	Schedule         string `json:"schedule"`
	ScheduleOffset   int32  `json:"scheduleOffset,omitempty"` // days after the cron date, 1..6; cron only
	ScheduleTimezone string `json:"scheduleTimezone"`
	DurationHours    int32  `json:"durationHours"`
	CutoffHours      int32  `json:"cutoffHours"`
	Target           Target `json:"target"`
	Task             Task   `json:"task"`
}

// Target selects instances by tag.
type Target struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	TagKey      string   `json:"tagKey"`
	TagValues   []string `json:"tagValues"`
}

// Task is a Run Command task.
type Task struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Document is the SSM document: AWS-RunPatchBaseline or AWS-UpdateSSMAgent.
	Document string `json:"document"`
	// Operation (Scan|Install) and RebootOption (RebootIfNeeded|NoReboot)
	// apply to AWS-RunPatchBaseline only; empty for other documents.
	Operation    string `json:"operation,omitempty"`
	RebootOption string `json:"rebootOption,omitempty"`

	Priority       int32  `json:"priority"`
	MaxConcurrency string `json:"maxConcurrency"`
	MaxErrors      string `json:"maxErrors"`
	TimeoutSeconds int32  `json:"timeoutSeconds"`

	// Command output and notifications; all optional.
	OutputS3Bucket         string   `json:"outputS3Bucket,omitempty"`
	OutputS3KeyPrefix      string   `json:"outputS3KeyPrefix,omitempty"`
	CloudWatchLogGroupName string   `json:"cloudWatchLogGroupName,omitempty"`
	NotificationARN        string   `json:"notificationArn,omitempty"`
	NotificationEvents     []string `json:"notificationEvents,omitempty"`
	NotificationType       string   `json:"notificationType,omitempty"`

	// Parameters are extra document parameters, beside Operation and RebootOption.
	Parameters map[string][]string `json:"parameters,omitempty"`
}

// WindowNames are the names of the windows, in order.
func (c Config) WindowNames() []string {
	names := make([]string, len(c.Windows))
	for i, w := range c.Windows {
		names[i] = w.Name
	}
	return names
}

// IsExcludedAccount says whether the account id is one of ExcludedAccounts
// (exact match: "1234" excludes nothing but "1234").
func (c Config) IsExcludedAccount(id string) bool {
	return slices.Contains(c.ExcludedAccounts, id)
}

// IsExcludedOU says whether the OU id is one of ExcludedOUs (exact match).
func (c Config) IsExcludedOU(id string) bool {
	return slices.Contains(c.ExcludedOUs, id)
}

// DocumentParameters are the Run Command parameters of the task, as the
// RegisterTaskWithMaintenanceWindow API takes them: the extra Parameters,
// plus Operation and RebootOption (when set) for AWS-RunPatchBaseline. The
// map is the caller's to modify; nil when there is nothing to pass, as SSM
// reports a task without parameters.
func (t Task) DocumentParameters() map[string][]string {
	params := make(map[string][]string, len(t.Parameters)+2)
	for k, v := range t.Parameters {
		params[k] = slices.Clone(v)
	}
	if t.Document == DocumentRunPatchBaseline {
		if t.Operation != "" {
			params["Operation"] = []string{t.Operation}
		}
		if t.RebootOption != "" {
			params["RebootOption"] = []string{t.RebootOption}
		}
	}
	if len(params) == 0 {
		return nil
	}
	return params
}
