package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/orgpatch/orgpatch/internal/config"
)

// ConfigurationResourceType is the custom resource's type.
const ConfigurationResourceType = "Custom::OrgPatch"

// LoadConfiguration reads a configuration file (YAML or JSON), validates it
// as the Lambda will, and returns it as canonical JSON for the
// Configuration property, so a bad file fails `cdk synth` rather than the
// deployment.
func LoadConfiguration(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("configFile: %w", err)
	}
	c, err := config.Decode(data)
	if err != nil {
		return "", fmt.Errorf("configFile %s: %w", path, err)
	}
	b, err := c.JSON()
	if err != nil {
		return "", fmt.Errorf("configFile %s: %w", path, err)
	}
	return string(b), nil
}

// ConfigurationProps are the custom resource's inputs.
type ConfigurationProps struct {
	Settings   Settings
	Function   awslambda.IFunction
	Parameters *Parameters
}

// Configuration is the custom resource through which CloudFormation hands
// the configuration to the Lambda: Create and Update converge the
// organization to it, Delete removes what orgpatch created.
type Configuration struct {
	Resource awscdk.CustomResource
}

// EffectiveConfiguration is the configuration a deployment converges to
// when it leaves the parameters at their defaults: the configFile's, else
// config.Default().
func (s Settings) EffectiveConfiguration() (config.Config, error) {
	if s.Configuration == "" {
		return config.Default(), nil
	}
	c, err := config.Decode([]byte(s.Configuration))
	if err != nil {
		return config.Config{}, fmt.Errorf("configFile: %w", err)
	}
	return c, nil
}

// ConfigurationProperties are the custom resource's properties: exactly
// the contract internal/config.FromProperties decodes, which applies each
// parameter on top of the Configuration property (present only when a
// configuration file was given). A parameter that does not exist (no
// AWS-RunPatchBaseline task, fewer than three windows) has no property.
func ConfigurationProperties(s Settings, p *Parameters) map[string]interface{} {
	props := map[string]interface{}{
		config.PropDisabled:                p.Disable.ValueAsString(),
		config.PropRegions:                 p.EnabledRegions.ValueAsString(),
		config.PropControlTowerRegionsOnly: p.ControlTowerRegionsOnly.ValueAsString(),
		config.PropConfigurationRoleName:   s.ConfigurationRoleName,
		config.PropTaskRoleName:            s.TaskRoleName,
		config.PropDHMCRoleName:            s.DHMCRoleSetting(),
	}
	if s.Configuration != "" {
		props[config.PropConfiguration] = s.Configuration
	}
	for _, o := range []struct {
		prop  string
		param awscdk.CfnParameter
	}{
		{config.PropOperation, p.Operation},
		{config.PropRebootOption, p.RebootOption},
		{config.PropWindow1Schedule, p.AgentUpdateSchedule},
		{config.PropWindow2Schedule, p.WindowsPatchSchedule},
		{config.PropWindow3Schedule, p.LinuxPatchSchedule},
	} {
		if o.param != nil {
			props[o.prop] = o.param.ValueAsString()
		}
	}
	return props
}

// serviceTimeoutSeconds is the custom resource's ServiceTimeout: the most
// CloudFormation allows.
const serviceTimeoutSeconds = 3600

// StackProperties are ConfigurationProperties as the Lambda's environment
// carries them (ORGPATCH_STACK_PROPERTIES): a JSON object of strings that
// CloudFormation assembles from the same parameters, the Configuration
// property replaced by its SHA-256 (config.PropConfigurationSHA256) to stay
// within Lambda's 4 KB of environment. The Lambda acts on a configuration
// only when its properties are exactly these (handler.Stack), so only the
// stack decides what accounts receive. The parameters' allowed values and
// patterns keep quotes and backslashes out, so joining their values
// between quotes is valid JSON.
func StackProperties(s Settings, p *Parameters) *string {
	props := ConfigurationProperties(s, p)
	if c, ok := props[config.PropConfiguration]; ok {
		delete(props, config.PropConfiguration)
		props[config.PropConfigurationSHA256] = config.ConfigurationDigest(c.(string))
	}
	parts := []*string{jsii.String("{")}
	for i, name := range slices.Sorted(maps.Keys(props)) {
		key, _ := json.Marshal(name)
		sep := ""
		if i > 0 {
			sep = ","
		}
		switch v := props[name].(type) {
		case string:
			value, _ := json.Marshal(v)
			parts = append(parts, jsii.String(sep+string(key)+":"+string(value)))
		case *string: // a parameter's value
			parts = append(parts, jsii.String(sep+string(key)+`:"`), v, jsii.String(`"`))
		default:
			panic(fmt.Sprintf("stacks.StackProperties: property %s is a %T", name, v))
		}
	}
	parts = append(parts, jsii.String("}"))
	return awscdk.Fn_Join(jsii.String(""), &parts)
}

// NewConfiguration builds the custom resource. Its service token is the
// Lambda itself, which answers CloudFormation directly (no provider
// framework in between).
func NewConfiguration(scope constructs.Construct, id string, p ConfigurationProps) *Configuration {
	c := constructs.NewConstruct(scope, jsii.String(id))
	props := ConfigurationProperties(p.Settings, p.Parameters)
	r := awscdk.NewCustomResource(c, jsii.String("Resource"), &awscdk.CustomResourceProps{
		ServiceToken: p.Function.FunctionArn(),
		ResourceType: jsii.String(ConfigurationResourceType),
		Properties:   &props,
		// A whole-organization run answers from its last step, minutes to
		// an hour later: CloudFormation waits for it as long as it can.
		ServiceTimeout: awscdk.Duration_Seconds(jsii.Number(serviceTimeoutSeconds)),
	})
	return &Configuration{Resource: r}
}
