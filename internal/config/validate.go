package config

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve in the Lambda, which has no zoneinfo
	"unicode/utf8"
)

// FieldError is one problem with one field. Field is the path in the
// configuration's JSON names, like windows[1].task.maxErrors.
type FieldError struct {
	Field   string
	Value   string
	Problem string
}

func (e FieldError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Problem
	}
	return fmt.Sprintf("%s: %q: %s", e.Field, e.Value, e.Problem)
}

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	if len(e.Problems) > 1 {
		lines = append(lines, fmt.Sprintf("invalid configuration: %d problems:", len(e.Problems)))
	} else {
		lines = append(lines, "invalid configuration:")
	}
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.Error())
	}
	return strings.Join(lines, "\n")
}

// problems collects FieldErrors.
type problems []FieldError

func (p *problems) add(field, value, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Value: value, Problem: fmt.Sprintf(format, args...)})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

// Limits and patterns of the SSM, IAM, Organizations and S3 APIs.
var (
	// ssm MaintenanceWindowName: window, target and task names.
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{3,128}$`)
	// ssm TargetKey, for the part after "tag:".
	tagKeyPattern = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=\-@]+$`)
	// ssm MaxConcurrency and MaxErrors.
	maxConcurrencyPattern = regexp.MustCompile(`^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`)
	maxErrorsPattern      = regexp.MustCompile(`^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`)
	// iam role name, and a role name behind an optional path.
	roleNamePattern     = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathNamePattern = regexp.MustCompile(`^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	regionPattern       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	accountPattern      = regexp.MustCompile(`^[0-9]{12}$`)
	ouPattern           = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	bucketPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	logGroupPattern     = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	snsTopicARNPattern  = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-[0-9]{1,2}:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	// SSM document parameter names.
)

const (
	maxDescription     = 128
	maxTagKey          = 128
	maxTagValue        = 256
	maxTagValues       = 50
	minTimeoutSeconds  = 30
	maxTimeoutSeconds  = 2592000
	maxS3KeyPrefix     = 500
	maxScheduleOffset  = 6
	maxDurationHours   = 24
	maxCutoffHours     = 23
	maxRolePathAndName = 512
	maxRateControl     = 7 // MaxConcurrency, MaxErrors
)

var (
	documents          = []string{DocumentRunPatchBaseline, DocumentUpdateSSMAgent}
	operations         = []string{OperationScan, OperationInstall}
	rebootOptions      = []string{RebootIfNeeded, NoReboot}
	notificationEvents = []string{"All", "InProgress", "Success", "TimedOut", "Cancelled", "Failed"}
	notificationTypes  = []string{"Command", "Invocation"}
)

// Validate checks the configuration against what the SSM API and the
// organization accept, so that no AWS call is made with a configuration it
// would refuse part-way. It reports every problem at once, as a
// *ValidationError, or returns nil.
//
// An empty window list is valid: it means no windows, and converging removes
// every window orgpatch owns while still managing DHMC.
func (c Config) Validate() error {
	var p problems
	checkRoleName(&p, "configurationRoleName", c.ConfigurationRoleName, false)
	checkRoleName(&p, "taskRoleName", c.TaskRoleName, false)
	if c.ManageDHMC || c.DHMCRoleName != "" {
		checkRoleName(&p, "dhmcRoleName", c.DHMCRoleName, true)
	}
	checkList(&p, "regions", c.Regions, func(field, r string) {
		if !regionPattern.MatchString(r) {
			p.add(field, r, "is not a region name like us-east-1 or us-gov-west-1")
		}
	})
	checkList(&p, "excludedAccounts", c.ExcludedAccounts, func(field, id string) {
		if !accountPattern.MatchString(id) {
			p.add(field, id, "is not an account id of 12 digits")
		}
	})
	checkList(&p, "excludedOUs", c.ExcludedOUs, func(field, id string) {
		if !ouPattern.MatchString(id) {
			p.add(field, id, "is not an organizational unit id like ou-ab12-cd34ef56")
		}
	})
	names := map[string]int{}
	for i, w := range c.Windows {
		prefix := fmt.Sprintf("windows[%d]", i)
		w.validate(&p, prefix)
		if j, dup := names[w.Name]; dup && w.Name != "" {
			p.add(prefix+".name", w.Name, "is also the name of windows[%d]; window names must be unique", j)
		} else {
			names[w.Name] = i
		}
	}
	validateBaselines(&p, "baselines", c.Baselines)
	c.validateRings(&p)
	return p.err()
}

func (w Window) validate(p *problems, prefix string) {
	checkName(p, prefix+".name", w.Name)
	checkDescription(p, prefix+".description", w.Description)

	field := prefix + ".schedule"
	var sched Schedule
	if w.Schedule == "" {
		p.add(field, "", "is required: cron(...), rate(...) or at(...)")
	} else if s, err := ParseSchedule(w.Schedule); err != nil {
		var se *ScheduleError
		if errors.As(err, &se) {
			p.add(field, w.Schedule, "%s", se.Problem)
		} else {
			p.add(field, w.Schedule, "%v", err)
		}
	} else {
		sched = s
	}
	if w.ScheduleOffset != 0 {
		field := prefix + ".scheduleOffset"
		offset := strconv.Itoa(int(w.ScheduleOffset))
		switch {
		case w.ScheduleOffset < 1 || w.ScheduleOffset > maxScheduleOffset:
			p.add(field, offset, "is not one of 1-%d (days after the cron date)", maxScheduleOffset)
		case sched.Kind != 0 && sched.Kind != CronSchedule:
			p.add(field, offset, "is only allowed with a cron schedule, not with %s(...)", sched.Kind)
		}
	}
	checkTimezone(p, prefix+".scheduleTimezone", w.ScheduleTimezone)

	duration := strconv.Itoa(int(w.DurationHours))
	if w.DurationHours < 1 || w.DurationHours > maxDurationHours {
		p.add(prefix+".durationHours", duration, "is not one of 1-%d (hours)", maxDurationHours)
	}
	cutoff := strconv.Itoa(int(w.CutoffHours))
	switch {
	case w.CutoffHours < 0 || w.CutoffHours > maxCutoffHours:
		p.add(prefix+".cutoffHours", cutoff, "is not one of 0-%d (hours)", maxCutoffHours)
	case w.CutoffHours >= w.DurationHours && w.DurationHours >= 1:
		p.add(prefix+".cutoffHours", cutoff, "must be less than durationHours (%d)", w.DurationHours)
	}

	w.Target.validate(p, prefix+".target")
	w.Task.validate(p, prefix+".task")
}

func (t Target) validate(p *problems, prefix string) {
	checkName(p, prefix+".name", t.Name)
	checkDescription(p, prefix+".description", t.Description)
	field := prefix + ".tagKey"
	switch n := utf8.RuneCountInString(t.TagKey); {
	case n == 0:
		p.add(field, "", "is required: the tag key instances are selected by, like InstanceOS")
	case n > maxTagKey:
		p.add(field, t.TagKey, "is %d characters long; at most %d are allowed", n, maxTagKey)
	case !tagKeyPattern.MatchString(t.TagKey):
		p.add(field, t.TagKey, "may hold only letters, digits, spaces and _ . : / = - @")
	}
	field = prefix + ".tagValues"
	switch {
	case len(t.TagValues) == 0:
		p.add(field, "", "is required: 1-%d tag values, like [Linux, Windows]", maxTagValues)
	case len(t.TagValues) > maxTagValues:
		p.add(field, "", "has %d values; at most %d are allowed", len(t.TagValues), maxTagValues)
	}
	checkList(p, field, t.TagValues, func(field, v string) {
		if n := utf8.RuneCountInString(v); n > maxTagValue {
			p.add(field, v, "is %d characters long; at most %d are allowed", n, maxTagValue)
		}
	})
}

func (t Task) validate(p *problems, prefix string) {
	checkName(p, prefix+".name", t.Name)
	checkDescription(p, prefix+".description", t.Description)

	patch := t.Document == DocumentRunPatchBaseline
	if !slices.Contains(documents, t.Document) {
		p.add(prefix+".document", t.Document, "is not one of %s", strings.Join(documents, ", "))
	}
	checkEnumFor(p, prefix+".operation", t.Operation, operations, t.Document, patch)
	if patch && t.Operation == "" {
		p.add(prefix+".operation", "", "is required for %s: one of %s", DocumentRunPatchBaseline, strings.Join(operations, ", "))
	}
	checkEnumFor(p, prefix+".rebootOption", t.RebootOption, rebootOptions, t.Document, patch)

	if t.Priority < 0 {
		p.add(prefix+".priority", strconv.Itoa(int(t.Priority)), "must be 0 or more (0 runs first)")
	}
	switch {
	case !maxConcurrencyPattern.MatchString(t.MaxConcurrency):
		p.add(prefix+".maxConcurrency", t.MaxConcurrency, "is not a number of instances (1 or more) or a percentage (1%%-100%%)")
	case len(t.MaxConcurrency) > maxRateControl:
		p.add(prefix+".maxConcurrency", t.MaxConcurrency, "is %d characters long; at most %d are allowed", len(t.MaxConcurrency), maxRateControl)
	}
	switch {
	case !maxErrorsPattern.MatchString(t.MaxErrors):
		p.add(prefix+".maxErrors", t.MaxErrors, "is not a number of errors (0 or more) or a percentage (0%%-100%%)")
	case len(t.MaxErrors) > maxRateControl:
		p.add(prefix+".maxErrors", t.MaxErrors, "is %d characters long; at most %d are allowed", len(t.MaxErrors), maxRateControl)
	}
	if t.TimeoutSeconds < minTimeoutSeconds || t.TimeoutSeconds > maxTimeoutSeconds {
		p.add(prefix+".timeoutSeconds", strconv.Itoa(int(t.TimeoutSeconds)), "is not one of %d-%d (seconds)", minTimeoutSeconds, maxTimeoutSeconds)
	}

	if t.OutputS3Bucket != "" {
		if problem := bucketProblem(t.OutputS3Bucket); problem != "" {
			p.add(prefix+".outputS3Bucket", t.OutputS3Bucket, "%s", problem)
		}
	}
	if t.OutputS3KeyPrefix != "" {
		switch {
		case len(t.OutputS3KeyPrefix) > maxS3KeyPrefix:
			p.add(prefix+".outputS3KeyPrefix", t.OutputS3KeyPrefix, "is %d bytes long; at most %d are allowed", len(t.OutputS3KeyPrefix), maxS3KeyPrefix)
		case t.OutputS3Bucket == "":
			p.add(prefix+".outputS3KeyPrefix", t.OutputS3KeyPrefix, "needs outputS3Bucket")
		}
	}
	if t.CloudWatchLogGroupName != "" && !logGroupPattern.MatchString(t.CloudWatchLogGroupName) {
		p.add(prefix+".cloudWatchLogGroupName", t.CloudWatchLogGroupName, "is not a log group name: 1-512 of letters, digits and . - _ / #")
	}

	t.validateNotification(p, prefix)

	allowed := DocumentParameterNames[t.Document]
	for _, name := range slices.Sorted(maps.Keys(t.Parameters)) {
		field := prefix + ".parameters." + name
		values := t.Parameters[name]
		switch {
		case name == "Operation" || name == "RebootOption":
			p.add(field, "", "is set by the task's %s field; remove it from parameters", lowerFirst(name))
		case !slices.Contains(allowed, name):
			p.add(prefix+".parameters", name, "is not a parameter orgpatch passes to %s; allowed: %s", t.Document, orNone(allowed))
		case len(values) != 1:
			p.add(field, "", "has %d values; it takes exactly one", len(values))
		case name == "InstallOverrideList":
			if problem := installOverrideProblem(values[0]); problem != "" {
				p.add(field, values[0], "%s", problem)
			}
		case name == "SnapshotId" && !snapshotIDPattern.MatchString(values[0]):
			p.add(field, values[0], "is not a snapshot id: a UUID or a pseudo-parameter such as {{ aws:ORCHESTRATION_ID }}")
		}
	}
}

// DocumentParameterNames are the extra parameters a task may pass to its
// document, beside Operation and RebootOption (fields of their own): what
// platform teams use, and nothing that changes what is installed from
// where. AWS-RunPatchBaseline's BaselineOverride (any package source, run
// as root on every instance) is refused, and AWS-UpdateSSMAgent takes none
// (its version and allowDowngrade parameters can downgrade the agent).
var DocumentParameterNames = map[string][]string{
	DocumentRunPatchBaseline: {"InstallOverrideList", "SnapshotId"},
	DocumentUpdateSSMAgent:   nil,
}

// snapshotIDPattern is what AWS-RunPatchBaseline's SnapshotId takes: a
// UUID, or a pseudo-parameter that becomes one ({{ aws:ORCHESTRATION_ID }},
// {{WINDOW_EXECUTION_ID}}).
var snapshotIDPattern = regexp.MustCompile(`^([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|\{\{ *[A-Za-z_:]+ *\}\})$`)

// installOverrideProblem says what is wrong with an InstallOverrideList
// value; "" when it is an s3://BUCKET/KEY URL. The document also takes
// https URLs: those can point anywhere, so they are refused. Whether the
// bucket belongs to the organization cannot be seen from its name; the
// instance reads the list with its own credentials, so that is for the
// instances' roles and the bucket's policy to enforce (docs/threat-model.md).
func installOverrideProblem(v string) string {
	rest, ok := strings.CutPrefix(v, "s3://")
	if !ok {
		return "is not an s3://BUCKET/KEY URL: only a list in a bucket of the organization may say what to install"
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if problem := bucketProblem(bucket); problem != "" {
		return "names a bucket that " + problem
	}
	if key == "" || strings.ContainsAny(v, "?#") {
		return "is not an s3://BUCKET/KEY URL: the object key is missing, or it has a query or fragment"
	}
	return ""
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func (t Task) validateNotification(p *problems, prefix string) {
	if t.NotificationARN == "" {
		if len(t.NotificationEvents) > 0 {
			p.add(prefix+".notificationEvents", "", "needs notificationArn")
		}
		if t.NotificationType != "" {
			p.add(prefix+".notificationType", t.NotificationType, "needs notificationArn")
		}
		return
	}
	if !snsTopicARNPattern.MatchString(t.NotificationARN) {
		p.add(prefix+".notificationArn", t.NotificationARN, "is not an SNS topic ARN like arn:aws:sns:us-east-1:123456789012:patching")
	}
	if len(t.NotificationEvents) == 0 {
		p.add(prefix+".notificationEvents", "", "is required with notificationArn: one or more of %s", strings.Join(notificationEvents, ", "))
	}
	checkList(p, prefix+".notificationEvents", t.NotificationEvents, func(field, e string) {
		if !slices.Contains(notificationEvents, e) {
			p.add(field, e, "is not one of %s", strings.Join(notificationEvents, ", "))
		}
	})
	if !slices.Contains(notificationTypes, t.NotificationType) {
		p.add(prefix+".notificationType", t.NotificationType, "is not one of %s", strings.Join(notificationTypes, ", "))
	}
}

// checkEnumFor checks a field that only AWS-RunPatchBaseline takes.
func checkEnumFor(p *problems, field, value string, allowed []string, document string, patch bool) {
	switch {
	case value == "":
	case !patch:
		p.add(field, value, "applies to %s only, not to %s; leave it empty", DocumentRunPatchBaseline, document)
	case !slices.Contains(allowed, value):
		p.add(field, value, "is not one of %s", strings.Join(allowed, ", "))
	}
}

func checkName(p *problems, field, name string) {
	if name == "" {
		p.add(field, "", "is required: 3-128 letters, digits, _ - or .")
		return
	}
	if !namePattern.MatchString(name) {
		p.add(field, name, "is not 3-128 letters, digits, _ - or .")
	}
}

func checkDescription(p *problems, field, d string) {
	if n := utf8.RuneCountInString(d); n > maxDescription {
		p.add(field, d, "is %d characters long; at most %d are allowed", n, maxDescription)
	}
}

func checkRoleName(p *problems, field, name string, pathAllowed bool) {
	switch {
	case name == "":
		p.add(field, "", "is required: an IAM role name")
	case pathAllowed && len(name) > maxRolePathAndName:
		p.add(field, name, "is %d characters long; at most %d are allowed", len(name), maxRolePathAndName)
	case pathAllowed && !rolePathNamePattern.MatchString(name):
		p.add(field, name, "is not an IAM role name (1-64 of letters, digits and +=,.@_-) behind an optional path like service-role/")
	case !pathAllowed && !roleNamePattern.MatchString(name):
		p.add(field, name, "is not an IAM role name: 1-64 of letters, digits and +=,.@_-")
	}
}

func checkTimezone(p *problems, field, tz string) {
	if tz == "" {
		p.add(field, "", "is required: an IANA time zone like UTC or America/New_York")
		return
	}
	// LoadLocation also takes "Local", which means the machine's zone.
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		p.add(field, tz, "is not an IANA time zone like UTC, Europe/Berlin or America/New_York")
	}
}

// checkList runs check on every item, and reports empty and repeated items.
func checkList(p *problems, field string, items []string, check func(field, item string)) {
	first := map[string]int{}
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		if item == "" {
			p.add(f, "", "is empty")
			continue
		}
		if j, dup := first[item]; dup {
			p.add(f, item, "repeats %s[%d]", field, j)
			continue
		}
		first[item] = i
		check(f, item)
	}
}

// bucketProblem applies the S3 general purpose bucket naming rules.
func bucketProblem(b string) string {
	switch {
	case len(b) < 3 || len(b) > 63:
		return "is not 3-63 characters long"
	case !bucketPattern.MatchString(b):
		return "may hold only lowercase letters, digits, . and -, and must begin and end with a letter or digit"
	case strings.Contains(b, ".."):
		return "must not hold two adjacent periods"
	case isIPv4(b):
		return "must not be formatted as an IP address"
	}
	for _, prefix := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, prefix) {
			return fmt.Sprintf("must not begin with %q", prefix)
		}
	}
	for _, suffix := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, suffix) {
			return fmt.Sprintf("must not end with %q", suffix)
		}
	}
	return ""
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
