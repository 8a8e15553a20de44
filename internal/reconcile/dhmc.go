package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// DHMCSettingID is the service setting that holds the Default Host
// Management Configuration role.
const DHMCSettingID = "/ssm/managed-instance/default-ec2-instance-management-role"

// ServiceSetting is an SSM service setting's value and status.
type ServiceSetting struct {
	Value string
	// Status is "Default", "Customized" or "PendingUpdate".
	Status string
}

// StatusDefault is the ServiceSetting.Status of a setting at its default.
const StatusDefault = "Default"

// dhmcKind is the Default Host Management Configuration service setting:
// set to the DHMC role on Converge, reset to its default on RemoveAndReset, left
// as it is on RemoveKeepSettings (another configuration still governs the account),
// and not touched at all unless Config.ManageDHMC.
type dhmcKind struct{}

func (dhmcKind) resources() []Resource { return []Resource{ResourceDHMC} }

// observe reads the setting: one GetServiceSetting, when the mode touches it.
func (dhmcKind) observe(ctx context.Context, client SSMAPI, _ Input, desired Desired, obs *Observed) error {
	if !desired.ManageDHMC || desired.Mode == RemoveKeepSettings {
		return nil
	}
	var err error
	obs.DHMC, err = serviceSetting(ctx, client, DHMCSettingID)
	return err
}

func (dhmcKind) diff(desired Desired, observed Observed) []Action {
	if !desired.ManageDHMC {
		return nil
	}
	a := Action{Op: OpUnchanged, Resource: ResourceDHMC, Name: DHMCSettingID, spec: &spec{value: desired.DHMCRole}}
	if observed.DHMC.Value != desired.DHMCRole {
		a.Op = OpUpdate
		a.Changes = []Change{{Field: DHMCValue, From: show(observed.DHMC.Value), To: show(desired.DHMCRole)}}
	}
	return []Action{a}
}

func (dhmcKind) teardown(desired Desired, observed Observed) []Action {
	if !desired.ManageDHMC || desired.Mode != RemoveAndReset {
		return nil // RemoveKeepSettings keeps the setting as it is.
	}
	a := Action{Op: OpUnchanged, Resource: ResourceDHMC, Name: DHMCSettingID}
	if observed.DHMC.Status != StatusDefault {
		a.Op = OpReset
		a.Changes = []Change{{Field: DHMCValue, From: show(observed.DHMC.Value), To: "default"}}
	}
	return []Action{a}
}

func (dhmcKind) apply(ctx context.Context, a *applier, act Action) error {
	switch act.Op {
	case OpUnchanged:
		return nil
	case OpUpdate:
		return a.updateSetting(ctx, act)
	case OpReset:
		return a.resetSetting(ctx, act)
	}
	return errNoSuchAction(act)
}

// updateSetting sets the DHMC role. Idempotent: it sets a value.
func (a *applier) updateSetting(ctx context.Context, act Action) error {
	for _, c := range act.Changes {
		if c.Field != DHMCValue {
			return errCannotSend(act, c)
		}
	}
	_, err := send(ctx, a, false, a.client.UpdateServiceSetting, &ssm.UpdateServiceSettingInput{
		SettingId: aws.String(DHMCSettingID), SettingValue: aws.String(act.spec.value),
	})
	if err != nil {
		return fmt.Errorf("update service setting %s: %w", DHMCSettingID, err)
	}
	return nil
}

// resetSetting returns the DHMC setting to its default. Idempotent:
// resetting a default setting changes nothing.
func (a *applier) resetSetting(ctx context.Context, _ Action) error {
	_, err := send(ctx, a, false, a.client.ResetServiceSetting, &ssm.ResetServiceSettingInput{SettingId: aws.String(DHMCSettingID)})
	if err != nil {
		return fmt.Errorf("reset service setting %s: %w", DHMCSettingID, err)
	}
	return nil
}

func serviceSetting(ctx context.Context, client SSMAPI, id string) (ServiceSetting, error) {
	out, err := client.GetServiceSetting(ctx, &ssm.GetServiceSettingInput{SettingId: aws.String(id)})
	var notFound *types.ServiceSettingNotFound
	if errors.As(err, &notFound) {
		return ServiceSetting{Status: StatusDefault}, nil
	}
	if err != nil {
		return ServiceSetting{}, fmt.Errorf("get service setting %s: %w", id, err)
	}
	if out.ServiceSetting == nil {
		return ServiceSetting{}, fmt.Errorf("get service setting %s: no setting in the answer", id)
	}
	return ServiceSetting{
		Value:  aws.ToString(out.ServiceSetting.SettingValue),
		Status: aws.ToString(out.ServiceSetting.Status),
	}, nil
}
