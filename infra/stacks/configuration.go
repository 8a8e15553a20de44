package stacks

import (
	"fmt"
	"os"

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

// ConfigurationProperties are the custom resource's properties: exactly
// the contract internal/config.FromProperties decodes. Configuration is
// present only when a configuration file was given.
func ConfigurationProperties(s Settings, p *Parameters) map[string]interface{} {
	props := map[string]interface{}{
		config.PropDisabled:                p.Disable.ValueAsString(),
		config.PropOperation:               p.Operation.ValueAsString(),
		config.PropRebootOption:            p.RebootOption.ValueAsString(),
		config.PropRegions:                 p.EnabledRegions.ValueAsString(),
		config.PropControlTowerRegionsOnly: p.ControlTowerRegionsOnly.ValueAsString(),
		config.PropConfigurationRoleName:   s.ConfigurationRoleName,
		config.PropTaskRoleName:            s.TaskRoleName,
		config.PropDHMCRoleName:            s.DHMCRoleSetting(),
		config.PropWindow1Schedule:         p.AgentUpdateSchedule.ValueAsString(),
		config.PropWindow2Schedule:         p.WindowsPatchSchedule.ValueAsString(),
		config.PropWindow3Schedule:         p.LinuxPatchSchedule.ValueAsString(),
	}
	if s.Configuration != "" {
		props[config.PropConfiguration] = s.Configuration
	}
	return props
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
	})
	return &Configuration{Resource: r}
}
