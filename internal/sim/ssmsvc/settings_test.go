package ssmsvc

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/google/go-cmp/cmp"
)

func TestDHMCServiceSetting(t *testing.T) {
	ts := newTestServer(t)
	c := ts.client(account, region)
	arn := "arn:aws:ssm:" + region + ":" + account + ":servicesetting" + DHMCSettingID
	get := func() *types.ServiceSetting {
		t.Helper()
		out, err := c.GetServiceSetting(bg, &ssm.GetServiceSettingInput{SettingId: aws.String(DHMCSettingID)})
		if err != nil {
			t.Fatal(err)
		}
		return out.ServiceSetting
	}
	want := &types.ServiceSetting{SettingId: aws.String(DHMCSettingID), SettingValue: aws.String(""), LastModifiedUser: aws.String("System"),
		ARN: aws.String(arn), Status: aws.String("Default")}
	if diff := cmp.Diff(want, get(), sdkOpts); diff != "" {
		t.Errorf("default setting (-want +got):\n%s", diff)
	}

	if _, err := c.UpdateServiceSetting(bg, &ssm.UpdateServiceSettingInput{SettingId: aws.String(arn),
		SettingValue: aws.String("service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole")}); err != nil {
		t.Fatalf("update by ARN: %v", err)
	}
	want = &types.ServiceSetting{SettingId: aws.String(DHMCSettingID), SettingValue: aws.String("service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole"),
		LastModifiedUser: aws.String("arn:aws:iam::" + account + ":root"), LastModifiedDate: aws.Time(testNow), ARN: aws.String(arn), Status: aws.String("Customized")}
	if diff := cmp.Diff(want, get(), sdkOpts); diff != "" {
		t.Errorf("customized setting (-want +got):\n%s", diff)
	}
	if v, st := ts.svc.ServiceSetting(account, "us-east-2", DHMCSettingID); v != "" || st != StatusDefault {
		t.Errorf("another region: (%q, %q), want the default", v, st)
	}

	reset, err := c.ResetServiceSetting(bg, &ssm.ResetServiceSettingInput{SettingId: aws.String(DHMCSettingID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(reset.ServiceSetting.Status) != "Default" || aws.ToString(reset.ServiceSetting.SettingValue) != "" {
		t.Errorf("reset answered %+v, want the default", reset.ServiceSetting)
	}
	if v, st := ts.svc.ServiceSetting(account, region, DHMCSettingID); v != "" || st != StatusDefault {
		t.Errorf("after reset: (%q, %q), want the default", v, st)
	}

	for name, id := range map[string]string{
		"unknown id":            "/ssm/unknown/setting",
		"another account's ARN": "arn:aws:ssm:" + region + ":222222222222:servicesetting" + DHMCSettingID,
		"another region's ARN":  "arn:aws:ssm:us-east-2:" + account + ":servicesetting" + DHMCSettingID,
		"ARN of an unknown id":  "arn:aws:ssm:" + region + ":" + account + ":servicesetting/ssm/unknown",
	} {
		if _, err := c.GetServiceSetting(bg, &ssm.GetServiceSettingInput{SettingId: aws.String(id)}); errorCode(err) != "ServiceSettingNotFound" {
			t.Errorf("get %s: %v, want ServiceSettingNotFound", name, err)
		}
		if _, err := c.UpdateServiceSetting(bg, &ssm.UpdateServiceSettingInput{SettingId: aws.String(id), SettingValue: aws.String("x")}); errorCode(err) != "ServiceSettingNotFound" {
			t.Errorf("update %s: %v, want ServiceSettingNotFound", name, err)
		}
		if _, err := c.ResetServiceSetting(bg, &ssm.ResetServiceSettingInput{SettingId: aws.String(id)}); errorCode(err) != "ServiceSettingNotFound" {
			t.Errorf("reset %s: %v, want ServiceSettingNotFound", name, err)
		}
	}
}
