package handler

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/orgpatch/orgpatch/internal/config"
)

// parameterAPI is the part of SSM the configuration store uses, in the
// management account.
type parameterAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

var _ parameterAPI = (*ssm.Client)(nil)

// configStore keeps the one configuration every trigger converges to.
type configStore struct {
	api  parameterAPI
	name string
}

// load returns the stored configuration. found is false, with no
// configuration, when the parameter does not exist: no stack has stored one
// yet, or the stack was deleted. A stored configuration that does not decode
// is an error, never a silent fallback: converging to the defaults would
// undo the administrator's choices, the disable flag included.
func (s configStore) load(ctx context.Context) (cfg config.Config, found bool, err error) {
	out, err := s.api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.name)})
	if err != nil {
		if isParameterNotFound(err) {
			return config.Config{}, false, nil
		}
		return config.Config{}, false, fmt.Errorf("read configuration parameter %s: %w", s.name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return config.Config{}, false, fmt.Errorf("read configuration parameter %s: the answer holds no value", s.name)
	}
	cfg, err = config.Decode([]byte(*out.Parameter.Value))
	if err != nil {
		return config.Config{}, true, fmt.Errorf("configuration parameter %s: %w", s.name, err)
	}
	return cfg, true, nil
}

// store writes cfg as canonical JSON, replacing what was there. Idempotent,
// and without a write when the parameter already holds these bytes, so a
// retried CloudFormation request changes nothing more. The tier is
// Intelligent-Tiering: a configuration with many windows outgrows the
// standard tier's 4 KB, and SSM then picks the advanced tier by itself.
func (s configStore) store(ctx context.Context, cfg config.Config) error {
	body, err := cfg.JSON()
	if err != nil {
		return err
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
