package reconcile

import (
	"fmt"
	"strings"
)

// Field identifies one field of a resource that a plan changes. Apply
// chooses what it sends by Field alone; the text a plan prints is made from
// it (String), never the reverse, so renaming a label changes no write.
type Field int

// The fields a plan can change, by resource.
const (
	_ Field = iota

	WindowDescription
	WindowSchedule
	WindowScheduleOffset
	WindowTimezone
	WindowDuration
	WindowCutoff
	WindowEnabled
	WindowStartDate
	WindowEndDate

	TargetName
	TargetDescription
	TargetOwnerInformation
	TargetSelectors

	TaskName
	TaskDescription
	TaskDocument
	TaskPriority
	TaskServiceRole
	TaskMaxConcurrency
	TaskMaxErrors
	TaskCutoffBehavior
	TaskTargets
	// The task's Run Command invocation parameters, which an update sends
	// as one member (TaskInvocationParameters).
	TaskComment
	TaskDocumentVersion
	TaskDocumentHash
	TaskDocumentHashType
	TaskTimeout
	TaskParameter // Change.Key names the document parameter
	TaskOutputS3Bucket
	TaskOutputS3KeyPrefix
	TaskCloudWatchLogGroup
	TaskCloudWatchOutput
	TaskNotificationARN
	TaskNotificationEvents
	TaskNotificationType
	TaskRunCommandServiceRole

	DHMCValue

	BaselineDescription
	BaselineGlobalFilters
	BaselineApprovalRules
	BaselineApprovedPatches
	BaselineApprovedComplianceLevel
	BaselineApprovedNonSecurity
	BaselineRejectedPatches
	BaselineRejectedAction

	DefaultBaseline // the baseline registered as an operating system's default
)

// fieldLabels is the display text of each Field.
var fieldLabels = map[Field]string{
	WindowDescription:    "description",
	WindowSchedule:       "schedule",
	WindowScheduleOffset: "schedule offset",
	WindowTimezone:       "timezone",
	WindowDuration:       "duration",
	WindowCutoff:         "cutoff",
	WindowEnabled:        "enabled",
	WindowStartDate:      "start date",
	WindowEndDate:        "end date",

	TargetName:             "name",
	TargetDescription:      "description",
	TargetOwnerInformation: "owner information",
	TargetSelectors:        "targets",

	TaskName:                  "name",
	TaskDescription:           "description",
	TaskDocument:              "document",
	TaskPriority:              "priority",
	TaskServiceRole:           "service role",
	TaskMaxConcurrency:        "max concurrency",
	TaskMaxErrors:             "max errors",
	TaskCutoffBehavior:        "cutoff behavior",
	TaskTargets:               "targets",
	TaskComment:               "comment",
	TaskDocumentVersion:       "document version",
	TaskDocumentHash:          "document hash",
	TaskDocumentHashType:      "document hash type",
	TaskTimeout:               "timeout",
	TaskParameter:             "parameter",
	TaskOutputS3Bucket:        "output S3 bucket",
	TaskOutputS3KeyPrefix:     "output S3 key prefix",
	TaskCloudWatchLogGroup:    "CloudWatch log group",
	TaskCloudWatchOutput:      "CloudWatch output",
	TaskNotificationARN:       "notification ARN",
	TaskNotificationEvents:    "notification events",
	TaskNotificationType:      "notification type",
	TaskRunCommandServiceRole: "run command service role",

	DHMCValue: "value",

	BaselineDescription:             "description",
	BaselineGlobalFilters:           "global filters",
	BaselineApprovalRules:           "approval rules",
	BaselineApprovedPatches:         "approved patches",
	BaselineApprovedComplianceLevel: "approved patches compliance level",
	BaselineApprovedNonSecurity:     "approved patches non-security",
	BaselineRejectedPatches:         "rejected patches",
	BaselineRejectedAction:          "rejected patches action",
	DefaultBaseline:                 "baseline",
}

// String is the field as plans print it.
func (f Field) String() string {
	if l, ok := fieldLabels[f]; ok {
		return l
	}
	return fmt.Sprintf("Field(%d)", int(f))
}

// Change is one field a plan changes, from its observed to its desired
// value (both as displayed).
type Change struct {
	Field Field
	// Key names the document parameter of a TaskParameter change.
	Key      string
	From, To string
}

// String is the change as plans print it: "schedule: A -> B", or for a
// document parameter "Operation: Scan -> Install".
func (c Change) String() string {
	label := c.Field.String()
	if c.Field == TaskParameter {
		label = c.Key
	}
	return fmt.Sprintf("%s: %s -> %s", label, c.From, c.To)
}

// describe joins changes as one line.
func describe(changes []Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}
