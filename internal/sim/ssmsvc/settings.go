package ssmsvc

import (
	"strings"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/apierr"
)

// DHMCSettingID is the service setting of Default Host Management
// Configuration: the name of the IAM role EC2 instances get for Systems
// Manager.
const DHMCSettingID = "/ssm/managed-instance/default-ec2-instance-management-role"

// Setting statuses as GetServiceSetting reports them.
const (
	StatusDefault    = "Default"
	StatusCustomized = "Customized"
)

// settingDefaults are the settings the simulator knows, with the value AWS
// defines for them.
var settingDefaults = map[string]string{DHMCSettingID: ""}

type setting struct {
	value    string
	modified time.Time
	user     string
}

type settingIDInput struct {
	SettingId    string `json:"SettingId"`
	SettingValue string `json:"SettingValue"`
}

type serviceSetting struct {
	SettingId        string `json:"SettingId"`
	SettingValue     string `json:"SettingValue"`
	LastModifiedDate *epoch `json:"LastModifiedDate,omitempty"`
	LastModifiedUser string `json:"LastModifiedUser"`
	ARN              string `json:"ARN"`
	Status           string `json:"Status"`
}

type serviceSettingOutput struct {
	ServiceSetting serviceSetting `json:"ServiceSetting"`
}

// settingID resolves a SettingId given as the id or as its ARN
// (arn:PARTITION:ssm:REGION:ACCOUNT:servicesetting/ID) of this account and
// region; unknown ids are ServiceSettingNotFound.
func settingID(ctx Context, given string) (string, error) {
	id := given
	if strings.HasPrefix(given, "arn:") {
		prefix := settingARN(ctx, "")
		if !strings.HasPrefix(given, prefix) {
			return "", apierr.BadRequest("ServiceSettingNotFound", "The service setting %s was not found in account %s region %s.", given, ctx.Account, ctx.Region)
		}
		id = given[len(prefix):]
	}
	if _, ok := settingDefaults[id]; !ok {
		return "", apierr.BadRequest("ServiceSettingNotFound", "The service setting %s was not found.", given)
	}
	return id, nil
}

func settingARN(ctx Context, id string) string {
	return "arn:" + ctx.partition() + ":ssm:" + ctx.Region + ":" + ctx.Account + ":servicesetting" + id
}

func (st *state) settingView(ctx Context, id string) serviceSetting {
	out := serviceSetting{SettingId: id, SettingValue: settingDefaults[id], LastModifiedUser: "System", ARN: settingARN(ctx, id), Status: StatusDefault}
	if v, ok := st.settings[id]; ok {
		out.SettingValue, out.LastModifiedDate, out.LastModifiedUser, out.Status = v.value, stamp(v.modified), v.user, StatusCustomized
	}
	return out
}

// inSetting runs f on the setting given as id or ARN, holding the lock of
// ctx's account x region; a setting the simulator does not know is
// ServiceSettingNotFound.
func (s *Service) inSetting(ctx Context, given string, f func(st *state, id string) (any, error)) (any, error) {
	id, err := settingID(ctx, given)
	if err != nil {
		return nil, err
	}
	st := s.state(ctx.Account, ctx.Region)
	st.mu.Lock()
	defer st.mu.Unlock()
	return f(st, id)
}

func (s *Service) getServiceSetting(ctx Context, in *settingIDInput) (any, error) {
	return s.inSetting(ctx, in.SettingId, func(st *state, id string) (any, error) {
		return serviceSettingOutput{ServiceSetting: st.settingView(ctx, id)}, nil
	})
}

// updateServiceSetting customizes a setting; its answer is empty, as AWS's.
func (s *Service) updateServiceSetting(ctx Context, in *settingIDInput) (any, error) {
	user := ctx.Principal
	if user == "" {
		user = "arn:" + ctx.partition() + ":iam::" + ctx.Account + ":root"
	}
	return s.inSetting(ctx, in.SettingId, func(st *state, id string) (any, error) {
		st.settings[id] = &setting{value: in.SettingValue, modified: ctx.now(), user: user}
		return struct{}{}, nil
	})
}

// resetServiceSetting returns a setting to AWS's default and answers with it.
func (s *Service) resetServiceSetting(ctx Context, in *settingIDInput) (any, error) {
	return s.inSetting(ctx, in.SettingId, func(st *state, id string) (any, error) {
		delete(st.settings, id)
		return serviceSettingOutput{ServiceSetting: st.settingView(ctx, id)}, nil
	})
}
