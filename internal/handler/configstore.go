package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/names"
)

// parameterAPI is the part of SSM the configuration store uses, in the
// management account.
type parameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

var _ parameterAPI = (*ssm.Client)(nil)

// configStore keeps the custom resource's properties, from which every
// trigger builds the one configuration it converges to. The parameter is a
// copy for the triggers CloudFormation does not send: with a Stack, what is
// read from it counts only when it is exactly what the stack set (see
// Stack), so whoever may write the parameter without the stack's rights can
// stop the triggers (and raise the alarm) but change nothing accounts get.
type configStore struct {
	api   parameterAPI
	name  string
	stack *Stack
}

// errNoConfiguration is load's error when the parameter does not exist.
var errNoConfiguration = errors.New("no configuration stored")

// load returns the stored configuration. Every way it can fail is an error
// for the Lambda's retries and the dead-letter queue's alarm, never a
// silent no-op or a fallback to the defaults: the parameter missing
// (errNoConfiguration: the stack's custom resource writes it before any rule
// exists and deletes it after the rules are gone, so only someone else can
// have deleted it), unreadable, or not the stack's own.
func (s configStore) load(ctx context.Context) (config.Config, error) {
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.name)})
	if err != nil {
		if isParameterNotFound(err) {
			return config.Config{}, fmt.Errorf("configuration parameter %s: %w: the stack's custom resource writes it on Create and Update; update the stack to write it again", s.name, errNoConfiguration)
		}
		return config.Config{}, fmt.Errorf("read configuration parameter %s: %w", s.name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return config.Config{}, fmt.Errorf("read configuration parameter %s: the answer holds no value", s.name)
	}
	var props map[string]any
	if err := json.Unmarshal([]byte(*out.Parameter.Value), &props); err != nil || props == nil {
		return config.Config{}, fmt.Errorf("configuration parameter %s: not the custom resource's properties (a JSON object): %v", s.name, err)
	}
	if err := s.stack.checkProperties("configuration parameter "+s.name+": its properties", props); err != nil {
		return config.Config{}, err
	}
	cfg, err := config.FromProperties(props)
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration parameter %s: %w", s.name, err)
	}
	return cfg, nil
}

// properties returns the properties the parameter holds, unchecked (an
// Update reads the ones it replaces, which the stack set before its
// environment changed); nil when there are none or they are not a JSON
// object.
func (s configStore) properties(ctx context.Context) (map[string]any, error) {
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.name)})
	switch {
	case isParameterNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read configuration parameter %s: %w", s.name, err)
	}
	var props map[string]any
	if out.Parameter == nil || json.Unmarshal([]byte(aws.ToString(out.Parameter.Value)), &props) != nil {
		return nil, nil
	}
	return props, nil
}

// store writes the custom resource's properties (without ServiceToken and
// ServiceTimeout) as JSON, replacing what was there. Idempotent, and
// without a write when the parameter already holds these bytes, so a
// retried CloudFormation request changes nothing more. The tier is
// Intelligent-Tiering: a configuration with many windows outgrows the
// standard tier's 4 KB, and SSM then picks the advanced tier by itself.
func (s configStore) store(ctx context.Context, props map[string]any) error {
	body, err := json.Marshal(props)
	if err != nil {
		return fmt.Errorf("encode configuration properties: %w", err)
	}
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.name)})
	switch {
	case err == nil && out.Parameter != nil && aws.ToString(out.Parameter.Value) == string(body):
		return nil
	case err != nil && !isParameterNotFound(err):
		return fmt.Errorf("read configuration parameter %s: %w", s.name, err)
	}
	_, err = s.api.PutParameter(ctx, &ssm.PutParameterInput{
		Name:        aws.String(s.name),
		Value:       aws.String(string(body)),
		Type:        types.ParameterTypeString,
		Overwrite:   aws.Bool(true),
		Tier:        types.ParameterTierIntelligentTiering,
		Description: aws.String("orgpatch: the configuration every trigger converges to; written by the stack's custom resource"),
	})
	if err != nil {
		return fmt.Errorf("write configuration parameter %s: %w", s.name, err)
	}
	return nil
}

// remove deletes the stored configuration, so that a deleted stack leaves
// nothing behind and no later trigger finds a configuration to converge to.
// Idempotent: a parameter already gone is removed.
func (s configStore) remove(ctx context.Context) error {
	_, err := s.api.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(s.name)})
	if err != nil && !isParameterNotFound(err) {
		return fmt.Errorf("delete configuration parameter %s: %w", s.name, err)
	}
	return nil
}

func isParameterNotFound(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ParameterNotFound"
}

// DefaultConfigParameter is the SSM parameter holding the configuration when
// Deps.ConfigParameter is empty.
const DefaultConfigParameter = names.DefaultConfigParameter

// StoredConfig reads the configuration the stack's custom resource stored
// in the parameter name (DefaultConfigParameter when empty) of the
// management account mgmt: the one every trigger converges to, and the
// previous configuration of the next Update. found is false when none is
// stored.
func StoredConfig(ctx context.Context, mgmt aws.Config, name string) (cfg config.Config, found bool, err error) {
	if name == "" {
		name = DefaultConfigParameter
	}
	// No Stack: a workstation has no stack identity to hold the parameter
	// to; it reads what the stack stored.
	cfg, err = configStore{api: ssm.NewFromConfig(mgmt), name: name}.load(ctx)
	if errors.Is(err, errNoConfiguration) {
		return config.Config{}, false, nil
	}
	return cfg, err == nil, err
}
