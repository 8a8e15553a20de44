package stacks

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Parameters are what an admin flips on a deployed stack without editing
// code: `cdk deploy --parameters Name=Value` or the console's Update Stack.
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

	// HasAlarmEmail holds when AlarmEmail is not empty.
	HasAlarmEmail awscdk.CfnCondition
	// DailyCompliance holds when ComplianceFrequency is 1 ("rate(1 day)"
	// is the only singular form EventBridge accepts).
	DailyCompliance awscdk.CfnCondition
}

// schedulePattern accepts the cron and rate forms maintenance windows take;
// Systems Manager checks the expression itself when the Lambda applies it.
const schedulePattern = `^(cron|rate)\([^()]+\)$`

// NewParameters declares the parameters directly on the stack so that their
// logical ids are their plain names.
func NewParameters(stack awscdk.Stack, s Settings) *Parameters {
	param := func(id string, props *awscdk.CfnParameterProps) awscdk.CfnParameter {
		return awscdk.NewCfnParameter(stack, jsii.String(id), props)
	}
	trueFalse := jsii.Strings("true", "false")
	retention := make([]*string, len(validLogRetentionDays))
	for i, d := range validLogRetentionDays {
		retention[i] = jsii.String(strconv.Itoa(d))
	}
	p := &Parameters{
		Disable: param("DisablePatchManagement", &awscdk.CfnParameterProps{
			Type:          jsii.String("String"),
			Default:       jsii.String("false"),
			AllowedValues: trueFalse,
			Description:   jsii.String("true removes every orgpatch maintenance window and resets the DHMC setting in every account and region, and keeps them removed until set back to false."),
		}),
		Operation: param("Operation", &awscdk.CfnParameterProps{
			Type:          jsii.String("String"),
			Default:       jsii.String("Scan"),
			AllowedValues: jsii.Strings("Scan", "Install"),
			Description:   jsii.String("What the Windows and Linux patch tasks do: Scan reports missing patches, Install installs them."),
		}),
		RebootOption: param("RebootOption", &awscdk.CfnParameterProps{
			Type:          jsii.String("String"),
			Default:       jsii.String("RebootIfNeeded"),
			AllowedValues: jsii.Strings("RebootIfNeeded", "NoReboot"),
			Description:   jsii.String("Whether instances may reboot after installing patches."),
		}),
		AgentUpdateSchedule: param("AgentUpdateSchedule", &awscdk.CfnParameterProps{
			Type:                  jsii.String("String"),
			Default:               jsii.String("cron(0 0 1 ? * WED *)"),
			AllowedPattern:        jsii.String(schedulePattern),
			ConstraintDescription: jsii.String("must be a cron(...) or rate(...) expression"),
			Description:           jsii.String("Schedule of the SSM Agent update window (window 1)."),
		}),
		WindowsPatchSchedule: param("WindowsPatchSchedule", &awscdk.CfnParameterProps{
			Type:                  jsii.String("String"),
			Default:               jsii.String("cron(0 0 1 ? * THU *)"),
			AllowedPattern:        jsii.String(schedulePattern),
			ConstraintDescription: jsii.String("must be a cron(...) or rate(...) expression"),
			Description:           jsii.String("Schedule of the Windows patch window (window 2)."),
		}),
		LinuxPatchSchedule: param("LinuxPatchSchedule", &awscdk.CfnParameterProps{
			Type:                  jsii.String("String"),
			Default:               jsii.String("cron(0 0 1 ? * FRI *)"),
			AllowedPattern:        jsii.String(schedulePattern),
			ConstraintDescription: jsii.String("must be a cron(...) or rate(...) expression"),
			Description:           jsii.String("Schedule of the Linux patch window (window 3)."),
		}),
		EnabledRegions: param("EnabledRegions", &awscdk.CfnParameterProps{
			Type:                  jsii.String("String"),
			Default:               jsii.String(""),
			AllowedPattern:        jsii.String(`^$|^([a-z0-9-]{1,64})$|^(([a-z0-9-]{1,64},)*[a-z0-9-]{1,64})$`),
			ConstraintDescription: jsii.String("must be empty or a comma-separated list of region names without spaces"),
			Description:           jsii.String("Regions to configure, comma-separated (e.g. us-east-1,eu-west-1). Empty: Control Tower's governed regions, or the default list when ControlTowerRegionsOnly is false."),
		}),
		ControlTowerRegionsOnly: param("ControlTowerRegionsOnly", &awscdk.CfnParameterProps{
			Type:          jsii.String("String"),
			Default:       jsii.String("true"),
			AllowedValues: trueFalse,
			Description:   jsii.String("With EnabledRegions empty: true uses Control Tower's governed regions, false the default region list."),
		}),
		ComplianceFrequency: param("ComplianceFrequency", &awscdk.CfnParameterProps{
			Type:        jsii.String("Number"),
			Default:     jsii.String("7"),
			MinValue:    jsii.Number(1),
			MaxValue:    jsii.Number(30),
			Description: jsii.String("Days between scheduled runs that repair drift in every account (1..30)."),
		}),
		AlarmEmail: param("AlarmEmail", &awscdk.CfnParameterProps{
			Type:                  jsii.String("String"),
			Default:               jsii.String(""),
			AllowedPattern:        jsii.String(`^$|^[^\s@]+@[^\s@]+\.[^\s@]+$`),
			ConstraintDescription: jsii.String("must be empty or an e-mail address"),
			Description:           jsii.String("E-mail address subscribed to the alarm topic (confirm the subscription mail). Empty: no subscription."),
		}),
		OrganizationID: param("OrganizationId", &awscdk.CfnParameterProps{
			Type:                  jsii.String("String"),
			AllowedPattern:        jsii.String(`^o-[a-z0-9]{10,32}$`),
			ConstraintDescription: jsii.String("must be an organization id such as o-abcd123456"),
			Description:           jsii.String("The AWS Organizations id; the Lambda may assume roles only inside it."),
		}),
		OrganizationRootID: param("OrganizationRootId", &awscdk.CfnParameterProps{
			Type:                  jsii.String("String"),
			AllowedPattern:        jsii.String(`^r-[0-9a-z]{4,32}$`),
			ConstraintDescription: jsii.String("must be an organization root id such as r-ab12"),
			Description:           jsii.String("The organization's root id; the member roles StackSet deploys to every account under it."),
		}),
		LogLevel: param("LogLevel", &awscdk.CfnParameterProps{
			Type:          jsii.String("String"),
			Default:       jsii.String("INFO"),
			AllowedValues: jsii.Strings("DEBUG", "INFO", "WARN", "ERROR"),
			Description:   jsii.String("The Lambda's log level."),
		}),
		LogRetentionDays: param("LogRetentionDays", &awscdk.CfnParameterProps{
			Type:          jsii.String("Number"),
			Default:       jsii.String(strconv.Itoa(s.LogRetentionDays)),
			AllowedValues: &retention,
			Description:   jsii.String("Days the Lambda's logs are kept."),
		}),
	}
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
				"Parameters": []string{"DisablePatchManagement", "Operation", "RebootOption", "AgentUpdateSchedule", "WindowsPatchSchedule", "LinuxPatchSchedule"},
			},
			map[string]interface{}{
				"Label":      map[string]interface{}{"default": "Scope and drift repair"},
				"Parameters": []string{"EnabledRegions", "ControlTowerRegionsOnly", "ComplianceFrequency"},
			},
			map[string]interface{}{
				"Label":      map[string]interface{}{"default": "Operations"},
				"Parameters": []string{"AlarmEmail", "LogLevel", "LogRetentionDays"},
			},
		},
	})
	return p
}
