package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ResourceDHMC is the DHMC setting (Name is DHMCSettingID).
const ResourceDHMC Resource = "dhmc"

// The fields of the DHMC setting that a plan can change, as
// "resource.label": plans print the label (Field.String).
const (
	DHMCValue Field = "dhmc.value"
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

// dhmcAPI is the part of the Systems Manager client the DHMC kind calls.
type dhmcAPI interface {
	GetServiceSetting(context.Context, *ssm.GetServiceSettingInput, ...func(*ssm.Options)) (*ssm.GetServiceSettingOutput, error)
	UpdateServiceSetting(context.Context, *ssm.UpdateServiceSettingInput, ...func(*ssm.Options)) (*ssm.UpdateServiceSettingOutput, error)
	ResetServiceSetting(context.Context, *ssm.ResetServiceSettingInput, ...func(*ssm.Options)) (*ssm.ResetServiceSettingOutput, error)
}

var _ dhmcAPI = (*ssm.Client)(nil)

// dhmcKind is the Default Host Management Configuration service setting:
// set to the DHMC role on Converge, reset to its default on
// RemoveAndReset only where it holds the role orgpatch configured (else
// kept, OpKept, and reported so), left as it is on RemoveKeepSettings (another
// configuration still governs the account), and not touched at all unless
// Config.ManageDHMC.
type dhmcKind struct{}

// dhmcDesired is what the account x region should hold of the setting.
type dhmcDesired struct {
	Mode Mode
	// Manage says whether the setting is converged (or reset) at all;
	// Role is its desired value.
	Manage bool
	Role   string
}

// dhmcState is the setting, desired and observed (zero when not read).
type dhmcState struct {
	desired  dhmcDesired
	observed ServiceSetting
}

func dhmcDesiredFor(in Input) dhmcDesired {
	return dhmcDesired{Mode: in.mode(), Manage: in.Config.ManageDHMC, Role: in.Config.DHMCRoleName}
}

func (dhmcKind) resources() []Resource { return []Resource{ResourceDHMC} }

func (dhmcKind) checkClients(clients Clients) error {
	_, err := clientOf[dhmcAPI](clients)
	return err
}

// observe reads the setting: one GetServiceSetting, when the mode touches it.
func (dhmcKind) observe(ctx context.Context, clients Clients, in Input) (kindState, error) {
	st := dhmcState{desired: dhmcDesiredFor(in)}
	if !st.desired.Manage || st.desired.Mode == RemoveKeepSettings {
		return st, nil
	}
	client, err := clientOf[dhmcAPI](clients)
	if err != nil {
		return nil, err
	}
	st.observed, err = serviceSetting(ctx, client, DHMCSettingID)
	return st, err
}

func (s dhmcState) plan() []Action {
	if s.desired.Mode == Converge {
		return s.diff()
	}
	return s.teardown()
}

func (s dhmcState) diff() []Action {
	if !s.desired.Manage {
		return nil
	}
	a := Action{Op: OpUnchanged, Resource: ResourceDHMC, Name: DHMCSettingID, spec: dhmcValue(s.desired.Role)}
	if s.observed.Value != s.desired.Role {
		a.Op = OpUpdate
		a.Changes = []Change{{Field: DHMCValue, From: show(s.observed.Value), To: show(s.desired.Role)}}
	}
	return []Action{a}
}

func (s dhmcState) teardown() []Action {
	if !s.desired.Manage || s.desired.Mode != RemoveAndReset {
		return nil // RemoveKeepSettings keeps the setting as it is.
	}
	a := Action{Op: OpUnchanged, Resource: ResourceDHMC, Name: DHMCSettingID}
	switch {
	case s.observed.Status == StatusDefault:
	case s.observed.Value != s.desired.Role:
		// Someone else set the role since (or before) orgpatch did: a
		// reset would take away their choice, so it stays and the
		// report says why.
		a.Op = OpKept
		a.Detail = fmt.Sprintf("%s: holds %s, not the role orgpatch configured (%s)", KeptBySomeoneElse, show(s.observed.Value), show(s.desired.Role))
	default:
		a.Op = OpReset
		a.Changes = []Change{{Field: DHMCValue, From: show(s.observed.Value), To: "default"}}
	}
	return []Action{a}
}

// KeptBySomeoneElse begins the Detail of an OpKept DHMC action.
const KeptBySomeoneElse = "left as it was: set by someone else"

// dhmcValue is the payload of a DHMC update: the setting's desired value.
type dhmcValue string

func (dhmcKind) apply(ctx context.Context, a *applier, act Action) error {
	if act.Op == OpUnchanged || act.Op == OpKept {
		return nil
	}
	client, err := clientOf[dhmcAPI](a.clients)
	if err != nil {
		return err
	}
	switch act.Op {
	case OpUpdate:
		return a.updateSetting(ctx, client, act)
	case OpReset:
		return a.resetSetting(ctx, client, act)
	}
	return errNoSuchAction(act)
}

// updateSetting sets the DHMC role. Idempotent: it sets a value.
func (a *applier) updateSetting(ctx context.Context, client dhmcAPI, act Action) error {
	for _, c := range act.Changes {
		if c.Field != DHMCValue {
			return errCannotSend(act, c)
		}
	}
	value, ok := act.spec.(dhmcValue)
	if !ok {
		return errNoSuchAction(act)
	}
	_, err := send(ctx, a, false, client.UpdateServiceSetting, &ssm.UpdateServiceSettingInput{
		SettingId: aws.String(DHMCSettingID), SettingValue: aws.String(string(value)),
	})
	if err != nil {
		return fmt.Errorf("update service setting %s: %w", DHMCSettingID, err)
	}
	return nil
}

// resetSetting returns the DHMC setting to its default. Idempotent:
// resetting a default setting changes nothing.
func (a *applier) resetSetting(ctx context.Context, client dhmcAPI, _ Action) error {
	_, err := send(ctx, a, false, client.ResetServiceSetting, &ssm.ResetServiceSettingInput{SettingId: aws.String(DHMCSettingID)})
	if err != nil {
		return fmt.Errorf("reset service setting %s: %w", DHMCSettingID, err)
	}
	return nil
}

func serviceSetting(ctx context.Context, client dhmcAPI, id string) (ServiceSetting, error) {
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
