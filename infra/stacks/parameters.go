package stacks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgpatch/orgpatch/internal/config"
)

// Parameters are what an admin flips on a deployed stack without editing
// code: `cdk deploy --parameters Name=Value` or the console's Update Stack.
//
// The parameters the custom resource carries (Disable through
// ControlTowerRegionsOnly) override the configuration, so their defaults
// are the configuration's own values (the configFile's, else
// config.Default()): left alone, they deploy the configuration as written.
// Operation and RebootOption are nil when no AWS-RunPatchBaseline task sets
// them, and a schedule parameter is nil when its window does not exist.
type Parameters struct {
	Disable                 awscdk.CfnParameter
	Operation               awscdk.CfnParameter
	RebootOption            awscdk.CfnParameter
	AgentUpdateSchedule     awscdk.CfnParameter
	WindowsPatchSchedule    awscdk.CfnParameter
	LinuxPatchSchedule      awscdk.CfnParameter
	EnabledRegions          awscdk.CfnParameter
	ControlTowerRegionsOnly awscdk.CfnParameter
	ComplianceFrequency     awscdk.CfnParameter
	AlarmEmail              awscdk.CfnParameter
	OrganizationID          awscdk.CfnParameter
	OrganizationRootID      awscdk.CfnParameter
	LogLevel                awscdk.CfnParameter
	LogRetentionDays        awscdk.CfnParameter
	// MapMaxConcurrency bounds the whole-organization runs' Distributed
	// Map; FailureTolerancePercentage and FailureToleranceCount decide how
	// many accounts a Create or Update may leave failed and still succeed.
	MapMaxConcurrency          awscdk.CfnParameter
	FailureTolerancePercentage awscdk.CfnParameter
	FailureToleranceCount      awscdk.CfnParameter

	// HasAlarmEmail holds when AlarmEmail is not empty.
	HasAlarmEmail awscdk.CfnCondition
	// DailyCompliance holds when ComplianceFrequency is 1 ("rate(1 day)"
	// is the only singular form EventBridge accepts).
	DailyCompliance awscdk.CfnCondition
}

// Defaults of the runs' parameters. Ten batches at once, 64 targets each,
// keep 640 account x region targets in flight (docs/benchmarks.md).
// A Create or Update may leave the larger of 1 account and 5% of the
// accounts failed and still answer SUCCESS (naming them, the runs alarm
// raised): some account always lacks the member role in a real
// organization (a StackSet instance an SCP blocks, an account closing), and
// a FAILED Create rolls back, whose Delete would tear down every account
// just converged. 5% of 1,000 accounts is 50: more than that failing is a
// broken deployment, not a few odd accounts.
const (
	DefaultMapMaxConcurrency          = 10
	DefaultFailureTolerancePercentage = 5
	DefaultFailureToleranceCount      = 1
	// reservedForSteps is the reserved concurrency beside the map's
	// workers: a discover or summarize step, and an event about one account.
	reservedForSteps = 2
)

// schedulePattern accepts the cron, rate and at forms maintenance windows
// (without quotes or backslashes, which StackProperties could not carry)
// take; Systems Manager checks the expression itself when the Lambda
// applies it.
const schedulePattern = `^(cron|rate|at)\([^()"\\]+\)$`

// scheduleParameterNames name the schedule parameters of windows 1 to 3:
// the reference solution's names, which assume its three windows.
var scheduleParameterNames = [...]string{"AgentUpdateSchedule", "WindowsPatchSchedule", "LinuxPatchSchedule"}

// parameterDefaults are the defaults of the parameters the custom resource
// carries, read from the configuration they override.
type parameterDefaults struct {
	// Operation and RebootOption are what every AWS-RunPatchBaseline task
	// says; "" when none sets it (then the parameter does not exist).
	Operation, RebootOption string
	// PatchWindows name the windows whose task runs AWS-RunPatchBaseline.
	PatchWindows []string
	// Windows are windows 1 to 3, those that exist.
	Windows                           []config.Window
	Regions                           string
	ControlTowerRegionsOnly, Disabled string
}

// defaultsFrom reads the parameters' defaults from c. One Operation (or
// RebootOption) parameter applies to every AWS-RunPatchBaseline task, so
// tasks that disagree on it are an error naming them: no default would
// deploy c as written.
func defaultsFrom(c config.Config) (parameterDefaults, error) {
	d := parameterDefaults{
		Windows:                 c.Windows[:min(len(c.Windows), len(scheduleParameterNames))],
		Regions:                 strings.Join(c.Regions, ","),
		ControlTowerRegionsOnly: strconv.FormatBool(c.ControlTowerRegionsOnly),
		Disabled:                strconv.FormatBool(c.Disabled),
	}
	var patch []config.Window
	for _, w := range c.Windows {
		if w.Task.Document == config.DocumentRunPatchBaseline {
			patch = append(patch, w)
			d.PatchWindows = append(d.PatchWindows, w.Name)
		}
	}
	var errs []string
	for _, o := range []struct {
		field, param string
		value        func(config.Task) string
		dst          *string
	}{
		{"operation", "Operation", func(t config.Task) string { return t.Operation }, &d.Operation},
		{"rebootOption", "RebootOption", func(t config.Task) string { return t.RebootOption }, &d.RebootOption},
	} {
		// The windows saying each value, values in order of appearance.
		var values []string
		byValue := map[string][]string{}
		for _, w := range patch {
			v := o.value(w.Task)
			if _, seen := byValue[v]; !seen {
				values = append(values, v)
			}
			byValue[v] = append(byValue[v], strconv.Quote(w.Name))
		}
		switch len(values) {
		case 0:
		case 1:
			*o.dst = values[0]
		default:
			said := make([]string, len(values))
			for i, v := range values {
				windows := byValue[v]
				if v == "" {
					v = "not set"
				}
				said[i] = fmt.Sprintf("%s %s: %s", plural("window", len(windows)), strings.Join(windows, ", "), v)
			}
			errs = append(errs, fmt.Sprintf("the %s tasks disagree on %s (%s), but the %s parameter sets all of them to one value; give every %s task the same %s",
				config.DocumentRunPatchBaseline, o.field, strings.Join(said, "; "), o.param, config.DocumentRunPatchBaseline, o.field))
		}
	}
	if len(errs) > 0 {
		return parameterDefaults{}, fmt.Errorf("configFile: %s", strings.Join(errs, "; "))
	}
	return d, nil
}

// parameterDefaults are the parameters' defaults for s's configuration.
func (s Settings) parameterDefaults() (parameterDefaults, error) {
	c, err := s.EffectiveConfiguration()
	if err != nil {
		return parameterDefaults{}, err
	}
	return defaultsFrom(c)
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// quotedList names up to five items, then how many more there are, so a
// description stays well under CloudFormation's 4,000 characters.
func quotedList(items []string) string {
	const shown = 5
	if len(items) <= shown {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:shown], ", "), len(items)-shown)
}

// NewParameters declares the parameters directly on the stack so that their
// logical ids are their plain names. s must pass Validate (NewApp checks
// it); like the CDK's own constructs, NewParameters panics on invalid input.
func NewParameters(stack awscdk.Stack, s Settings) *Parameters {
	d, err := s.parameterDefaults()
	if err != nil {
		panic(fmt.Sprintf("stacks.NewParameters: %v", err))
	}
	param := func(id string, props *awscdk.CfnParameterProps) awscdk.CfnParameter {
		return awscdk.NewCfnParameter(stack, jsii.String(id), props)
	}
	trueFalse := jsii.Strings("true", "false")
	retention := make([]*string, len(validLogRetentionDays))
	for i, d := range validLogRetentionDays {
		retention[i] = jsii.String(strconv.Itoa(d))
	}
	patchWindows := make([]string, len(d.PatchWindows))
	for i, name := range d.PatchWindows {
		patchWindows[i] = strconv.Quote(name)
	}
	p := &Parameters{}
	p.Disable = param("DisablePatchManagement", &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		Default:       jsii.String(d.Disabled),
		AllowedValues: trueFalse,
		Description:   jsii.String("true removes every orgpatch maintenance window and resets the DHMC setting in every account and region, and keeps them removed until set back to false. Default: the configuration's disabled."),
	})
	patching := []string{"DisablePatchManagement"}
	if d.Operation != "" {
		p.Operation = param("Operation", &awscdk.CfnParameterProps{
			Type:          jsii.String("String"),
			Default:       jsii.String(d.Operation),
			AllowedValues: jsii.Strings(config.OperationScan, config.OperationInstall),
			Description:   jsii.String(fmt.Sprintf("What the %s tasks of %s %s do: Scan reports missing patches, Install installs them. Default: the configuration's operation.", config.DocumentRunPatchBaseline, plural("window", len(patchWindows)), quotedList(patchWindows))),
		})
		patching = append(patching, "Operation")
	}
	if d.RebootOption != "" {
		p.RebootOption = param("RebootOption", &awscdk.CfnParameterProps{
			Type:          jsii.String("String"),
			Default:       jsii.String(d.RebootOption),
			AllowedValues: jsii.Strings(config.RebootIfNeeded, config.NoReboot),
			Description:   jsii.String(fmt.Sprintf("Whether instances may reboot after the %s tasks of %s %s install patches. Default: the configuration's rebootOption.", config.DocumentRunPatchBaseline, plural("window", len(patchWindows)), quotedList(patchWindows))),
		})
		patching = append(patching, "RebootOption")
	}
	for i, w := range d.Windows {
		name := scheduleParameterNames[i]
		*p.schedule(i) = param(name, &awscdk.CfnParameterProps{
			Type:                  jsii.String("String"),
			Default:               jsii.String(w.Schedule),
			AllowedPattern:        jsii.String(schedulePattern),
			ConstraintDescription: jsii.String("must be a cron(...), rate(...) or at(...) expression"),
			Description:           jsii.String(fmt.Sprintf("Schedule of window %d, %q (%s), in %s. Default: the configuration's schedule.", i+1, w.Name, w.Task.Document, w.ScheduleTimezone)),
		})
		patching = append(patching, name)
	}
	p.EnabledRegions = param("EnabledRegions", &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Default:        jsii.String(d.Regions),
		AllowedPattern: jsii.String(`^$|^([a-z0-9-]{1,64})$|^(([a-z0-9-]{1,64},)*[a-z0-9-]{1,64})$`),
		// Lambda's environment (StackProperties) holds 4 KB in all.
		MaxLength:             jsii.Number(1024),
		ConstraintDescription: jsii.String("must be empty or a comma-separated list of region names without spaces"),
		Description:           jsii.String("Regions to configure, comma-separated (e.g. us-east-1,eu-west-1). Empty: Control Tower's governed regions, or the default list when ControlTowerRegionsOnly is false. Default: the configuration's regions."),
	})
	p.ControlTowerRegionsOnly = param("ControlTowerRegionsOnly", &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		Default:       jsii.String(d.ControlTowerRegionsOnly),
		AllowedValues: trueFalse,
		Description:   jsii.String("With EnabledRegions empty: true uses Control Tower's governed regions, false the default region list. Default: the configuration's controlTowerRegionsOnly."),
	})
	p.ComplianceFrequency = param("ComplianceFrequency", &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.String("7"),
		MinValue:    jsii.Number(1),
		MaxValue:    jsii.Number(30),
		Description: jsii.String("Days between scheduled runs that repair drift in every account (1..30)."),
	})
	p.AlarmEmail = param("AlarmEmail", &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^[^\s@]+@[^\s@]+\.[^\s@]+$`),
		ConstraintDescription: jsii.String("must be empty or an e-mail address"),
		Description:           jsii.String("E-mail address subscribed to the alarm topic (confirm the subscription mail). Empty: no subscription."),
	})
	p.OrganizationID = param("OrganizationId", &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		AllowedPattern:        jsii.String(`^o-[a-z0-9]{10,32}$`),
		ConstraintDescription: jsii.String("must be an organization id such as o-abcd123456"),
		Description:           jsii.String("The AWS Organizations id; the Lambda may assume roles only inside it."),
	})
	p.OrganizationRootID = param("OrganizationRootId", &awscdk.CfnParameterProps{
		Type:                  jsii.String("String"),
		AllowedPattern:        jsii.String(`^r-[0-9a-z]{4,32}$`),
		ConstraintDescription: jsii.String("must be an organization root id such as r-ab12"),
		Description:           jsii.String("The organization's root id; the member roles StackSet deploys to every account under it."),
	})
	p.LogLevel = param("LogLevel", &awscdk.CfnParameterProps{
		Type:          jsii.String("String"),
		Default:       jsii.String("INFO"),
		AllowedValues: jsii.Strings("DEBUG", "INFO", "WARN", "ERROR"),
		Description:   jsii.String("The Lambda's log level."),
	})
	p.LogRetentionDays = param("LogRetentionDays", &awscdk.CfnParameterProps{
		Type:          jsii.String("Number"),
		Default:       jsii.String(strconv.Itoa(s.LogRetentionDays)),
		AllowedValues: &retention,
		Description:   jsii.String("Days the Lambda's logs are kept."),
	})
	maxMap := 1000.0 // Lambda's default account concurrency
	if s.ReservedConcurrency > 0 {
		maxMap = float64(s.ReservedConcurrency - reservedForSteps)
	}
	p.MapMaxConcurrency = param("MapMaxConcurrency", &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.String(strconv.Itoa(min(DefaultMapMaxConcurrency, int(maxMap)))),
		MinValue:    jsii.Number(1),
		MaxValue:    jsii.Number(maxMap),
		Description: jsii.String(fmt.Sprintf("Account batches worked on at once in a whole-organization run (1..%d: the Lambda's reserved concurrency less %d). Each batch works on up to 64 account x region targets at a time.", int(maxMap), reservedForSteps)),
	})
	p.FailureTolerancePercentage = param("FailureTolerancePercentage", &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.String(strconv.Itoa(DefaultFailureTolerancePercentage)),
		MinValue:    jsii.Number(0),
		MaxValue:    jsii.Number(100),
		Description: jsii.String("Percentage of the organization's accounts a stack Create or Update may leave failed or not attempted and still succeed (the larger of this and FailureToleranceCount); the answer names them and the runs alarm is raised. Beyond it the stack operation fails."),
	})
	p.FailureToleranceCount = param("FailureToleranceCount", &awscdk.CfnParameterProps{
		Type:        jsii.String("Number"),
		Default:     jsii.String(strconv.Itoa(DefaultFailureToleranceCount)),
		MinValue:    jsii.Number(0),
		MaxValue:    jsii.Number(100000),
		Description: jsii.String("Number of accounts a stack Create or Update may leave failed or not attempted and still succeed (the larger of this and FailureTolerancePercentage's share)."),
	})
	p.HasAlarmEmail = awscdk.NewCfnCondition(stack, jsii.String("HasAlarmEmail"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(p.AlarmEmail.ValueAsString(), jsii.String(""))),
	})
	p.DailyCompliance = awscdk.NewCfnCondition(stack, jsii.String("DailyCompliance"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(p.ComplianceFrequency.ValueAsString(), jsii.String("1")),
	})
	stack.AddMetadata(jsii.String("AWS::CloudFormation::Interface"), map[string]interface{}{
		"ParameterGroups": []interface{}{
			map[string]interface{}{
				"Label":      map[string]interface{}{"default": "Organization"},
				"Parameters": []string{"OrganizationId", "OrganizationRootId"},
			},
			map[string]interface{}{
				"Label":      map[string]interface{}{"default": "Patching"},
				"Parameters": patching,
			},
			map[string]interface{}{
				"Label":      map[string]interface{}{"default": "Scope and drift repair"},
				"Parameters": []string{"EnabledRegions", "ControlTowerRegionsOnly", "ComplianceFrequency", "MapMaxConcurrency", "FailureTolerancePercentage", "FailureToleranceCount"},
			},
			map[string]interface{}{
				"Label":      map[string]interface{}{"default": "Operations"},
				"Parameters": []string{"AlarmEmail", "LogLevel", "LogRetentionDays"},
			},
		},
	})
	return p
}

// schedule is the field holding the schedule parameter of window i+1.
func (p *Parameters) schedule(i int) *awscdk.CfnParameter {
	return [...]*awscdk.CfnParameter{&p.AgentUpdateSchedule, &p.WindowsPatchSchedule, &p.LinuxPatchSchedule}[i]
}
