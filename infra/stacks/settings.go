package stacks

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgpatch/orgpatch/internal/names"
)

// Settings are the synth-time choices: names other things depend on, sizes,
// the home region. They come from CDK context (cdk.json or -c key=value);
// what an admin changes on a running deployment is a CloudFormation
// parameter instead.
type Settings struct {
	// HomeRegion is where the management stack lives; when it is not
	// us-east-1 a forwarder stack brings Organizations events over.
	HomeRegion string
	// FunctionName names the Lambda and, through it, its log group.
	FunctionName string
	// LambdaRoleName is fixed because every configuration role trusts it by ARN.
	LambdaRoleName string
	// ConfigurationRoleName, TaskRoleName and DHMCRoleName name the member
	// roles in every account (DHMCRoleName without its /service-role/ path).
	ConfigurationRoleName string
	TaskRoleName          string
	DHMCRoleName          string
	// StackSetName names the service-managed StackSet for the member roles.
	StackSetName string
	// ConfigParameterName is the SSM parameter the Lambda keeps the last
	// deployed configuration in.
	ConfigParameterName string
	// MemorySize of the Lambda, in MB.
	MemorySize int
	// LogRetentionDays is the default of the LogRetentionDays parameter.
	LogRetentionDays int
	// LogKMSKeyARN, when set, encrypts the Lambda's log group.
	LogKMSKeyARN string
	// ReservedConcurrency for the Lambda; 0 leaves it unreserved. It bounds
	// the MapMaxConcurrency parameter (at most this less 2).
	ReservedConcurrency int
	// Configuration is the whole configuration as JSON (from the configFile
	// context), or "" to let the Lambda use its defaults. Either way it
	// gives the defaults of the parameters that override it.
	Configuration string
	// RingTagGuardKey and RingTagGuardPrincipals, when set (both or
	// neither; off by default), add a service control policy that lets
	// only these principals (IAM ARNs, wildcards allowed) set or remove
	// the account tag RingTagGuardKey (NewRingTagGuard): for rings
	// selected by tag.
	RingTagGuardKey        string
	RingTagGuardPrincipals []string
}

// DefaultSettings are the values used when the context says nothing.
func DefaultSettings() Settings {
	return Settings{
		FunctionName:          "orgpatch",
		LambdaRoleName:        "orgpatch-lambda",
		ConfigurationRoleName: "sra-patch-mgmt-configuration",
		TaskRoleName:          "sra-patch-mgmt-automation",
		DHMCRoleName:          "AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom",
		StackSetName:          "orgpatch-member-roles",
		ConfigParameterName:   names.DefaultConfigParameter,
		MemorySize:            512,
		LogRetentionDays:      14,
		ReservedConcurrency:   DefaultMapMaxConcurrency + reservedForSteps,
	}
}

// StateMachineName names the whole-organization state machine: the
// function's name with "-run".
func (s Settings) StateMachineName() string { return s.FunctionName + "-run" }

// DHMCRolePath is the IAM path of the DHMC role; Systems Manager expects
// the DHMC role under service-role/.
const DHMCRolePath = "/service-role/"

// DHMCRoleSetting is the DHMC role as the service setting (and the Lambda's
// configuration) names it: path and name.
func (s Settings) DHMCRoleSetting() string {
	return strings.TrimPrefix(DHMCRolePath, "/") + s.DHMCRoleName
}

// SettingsFromContext reads Settings from the construct's context, falling
// back to DefaultSettings, then to the CDK_DEFAULT_REGION environment
// variable for the home region. configFile, when set, is read and converted
// to the Configuration JSON.
func SettingsFromContext(scope constructs.Construct) (Settings, error) {
	d := DefaultSettings()
	var errs []string
	s := Settings{
		HomeRegion:            contextString(scope, "homeRegion", os.Getenv("CDK_DEFAULT_REGION")),
		FunctionName:          contextString(scope, "functionName", d.FunctionName),
		LambdaRoleName:        contextString(scope, "lambdaRoleName", d.LambdaRoleName),
		ConfigurationRoleName: contextString(scope, "configurationRoleName", d.ConfigurationRoleName),
		TaskRoleName:          contextString(scope, "taskRoleName", d.TaskRoleName),
		DHMCRoleName:          contextString(scope, "dhmcRoleName", d.DHMCRoleName),
		StackSetName:          contextString(scope, "stackSetName", d.StackSetName),
		ConfigParameterName:   contextString(scope, "configParameterName", d.ConfigParameterName),
		LogKMSKeyARN:          contextString(scope, "logKmsKeyArn", ""),
		RingTagGuardKey:       contextString(scope, "ringTagGuardKey", ""),
	}
	if v := contextString(scope, "ringTagGuardPrincipals", ""); v != "" {
		for _, arn := range strings.Split(v, ",") {
			s.RingTagGuardPrincipals = append(s.RingTagGuardPrincipals, strings.TrimSpace(arn))
		}
	}
	var err error
	if s.MemorySize, err = contextInt(scope, "memorySize", d.MemorySize); err != nil {
		errs = append(errs, err.Error())
	}
	if s.LogRetentionDays, err = contextInt(scope, "logRetentionDays", d.LogRetentionDays); err != nil {
		errs = append(errs, err.Error())
	}
	if s.ReservedConcurrency, err = contextInt(scope, "reservedConcurrency", d.ReservedConcurrency); err != nil {
		errs = append(errs, err.Error())
	}
	if path := contextString(scope, "configFile", ""); path != "" {
		if s.Configuration, err = LoadConfiguration(path); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return Settings{}, fmt.Errorf("cdk context: %s", strings.Join(errs, "; "))
	}
	return s, s.Validate()
}

var (
	roleNamePattern      = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	functionNamePattern  = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	regionPattern        = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	stackSetNamePattern  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{0,127}$`)
	parameterNamePattern = regexp.MustCompile(`^(/[a-zA-Z0-9_.-]+)+$`)
	principalARNPattern  = regexp.MustCompile(`^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[\w+=,.@/*?-]+$`)
	kmsKeyARNPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-zA-Z0-9-]+$`)
)

// validLogRetentionDays are the values CloudWatch Logs accepts.
var validLogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Validate reports every bad setting at once, naming the context key and
// what it accepts.
func (s Settings) Validate() error {
	var errs []string
	bad := func(key, value, allowed string) {
		errs = append(errs, fmt.Sprintf("%s %q: want %s", key, value, allowed))
	}
	if !regionPattern.MatchString(s.HomeRegion) {
		bad("homeRegion", s.HomeRegion, "a region name such as eu-west-1 (set -c homeRegion=... or CDK_DEFAULT_REGION)")
	}
	if !functionNamePattern.MatchString(s.FunctionName) {
		bad("functionName", s.FunctionName, "1..64 of [a-zA-Z0-9-_]")
	}
	for _, r := range []struct{ key, value string }{
		{"lambdaRoleName", s.LambdaRoleName},
		{"configurationRoleName", s.ConfigurationRoleName},
		{"taskRoleName", s.TaskRoleName},
		{"dhmcRoleName", s.DHMCRoleName},
	} {
		if !roleNamePattern.MatchString(r.value) {
			bad(r.key, r.value, `an IAM role name, 1..64 of [\w+=,.@-]`)
		}
	}
	if !stackSetNamePattern.MatchString(s.StackSetName) {
		bad("stackSetName", s.StackSetName, "a letter then up to 127 of [a-zA-Z0-9-]")
	}
	if !parameterNamePattern.MatchString(s.ConfigParameterName) || strings.HasPrefix(strings.ToLower(s.ConfigParameterName), "/aws") || strings.HasPrefix(strings.ToLower(s.ConfigParameterName), "/ssm") {
		bad("configParameterName", s.ConfigParameterName, "an SSM parameter path such as /orgpatch/configuration, not under /aws or /ssm")
	}
	if s.MemorySize < 128 || s.MemorySize > 10240 {
		bad("memorySize", strconv.Itoa(s.MemorySize), "128..10240 (MB)")
	}
	if !slices.Contains(validLogRetentionDays, s.LogRetentionDays) {
		bad("logRetentionDays", strconv.Itoa(s.LogRetentionDays), "one of "+joinInts(validLogRetentionDays))
	}
	if s.ReservedConcurrency != 0 && (s.ReservedConcurrency < 1+reservedForSteps || s.ReservedConcurrency > 1000) {
		bad("reservedConcurrency", strconv.Itoa(s.ReservedConcurrency), fmt.Sprintf("0 (unreserved) or %d..1000 (the map's concurrency plus %d)", 1+reservedForSteps, reservedForSteps))
	}
	if s.LogKMSKeyARN != "" && !kmsKeyARNPattern.MatchString(s.LogKMSKeyARN) {
		bad("logKmsKeyArn", s.LogKMSKeyARN, "empty or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>)")
	}
	switch {
	case s.RingTagGuardKey == "" && len(s.RingTagGuardPrincipals) > 0:
		bad("ringTagGuardKey", "", "the account tag key that selects rings, since ringTagGuardPrincipals is set")
	case s.RingTagGuardKey != "" && len(s.RingTagGuardPrincipals) == 0:
		bad("ringTagGuardPrincipals", "", "a comma-separated list of the IAM ARNs who may tag accounts with "+s.RingTagGuardKey+", since ringTagGuardKey is set")
	case len(s.RingTagGuardKey) > 128:
		bad("ringTagGuardKey", s.RingTagGuardKey, "an account tag key of 1..128 characters")
	}
	for _, arn := range s.RingTagGuardPrincipals {
		if !principalARNPattern.MatchString(arn) {
			bad("ringTagGuardPrincipals", arn, "IAM ARNs such as arn:aws:iam::111122223333:role/PlatformAdmin (wildcards allowed), separated by commas")
		}
	}
	// The configuration must be one the parameters' defaults deploy as
	// written.
	if _, err := s.parameterDefaults(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid settings: %s", strings.Join(errs, "; "))
	}
	return nil
}

// contextString is the context value under key as a string, or def when
// the context does not set it (or sets it to "").
func contextString(scope constructs.Construct, key, def string) string {
	v := scope.Node().TryGetContext(jsii.String(key))
	switch v := v.(type) {
	case nil:
		return def
	case string:
		if v == "" {
			return def
		}
		return v
	default:
		return fmt.Sprint(v)
	}
}

// contextInt is the context value under key as an integer (a JSON number in
// cdk.json, a string from -c), or def when unset.
func contextInt(scope constructs.Construct, key string, def int) (int, error) {
	v := scope.Node().TryGetContext(jsii.String(key))
	switch v := v.(type) {
	case nil:
		return def, nil
	case float64:
		if v != float64(int(v)) {
			return 0, fmt.Errorf("%s %v: want a whole number", key, v)
		}
		return int(v), nil
	case string:
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s %q: want a whole number", key, v)
		}
		return n, nil
	default:
		return 0, fmt.Errorf("%s %v: want a whole number", key, v)
	}
}

func joinInts(list []int) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}

// partitionARN builds an ARN that resolves to the deploying partition:
// format is an Fn::Sub string after "arn:${AWS::Partition}:".
func partitionARN(format string) *string {
	return awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:"+format), nil)
}
