package reconcile

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/orgpatch/orgpatch/internal/config"
)

// TestReconcileRejectsBadInput: bad input is refused before any call,
// naming every bad field and what it allows.
func TestReconcileRejectsBadInput(t *testing.T) {
	_, err := Reconcile(context.Background(), nil, Input{Mode: "apply"})
	if err == nil {
		t.Fatal("Reconcile accepted an empty account, region, partition and mode \"apply\"")
	}
	for _, want := range []string{"account:", "region:", "partition:", `mode "apply": must be one of [converge teardown remove]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestReconcileRejectsMissingClients: clients that do not serve every kind
// are refused before any call, naming each kind's missing calls and what
// was given.
func TestReconcileRejectsMissingClients(t *testing.T) {
	in := Input{Account: "111111111111", Region: "us-east-1", Partition: "aws", Config: config.Default(), Mode: Converge}
	_, err := Reconcile(context.Background(), Clients{"not a client"}, in)
	if err == nil {
		t.Fatal("Reconcile accepted clients without an SSM client")
	}
	for _, want := range []string{"windowsAPI (", "dhmcAPI (", "GetServiceSetting", "baselinesAPI (", "got [string]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestActionString(t *testing.T) {
	tests := map[string]struct {
		action Action
		want   string
	}{
		"create window": {
			action: Action{Op: OpCreate, Resource: ResourceWindow, Name: "sra_linux_maintenance", Window: "sra_linux_maintenance", Detail: "cron(0 0 1 ? * FRI *) America/New_York, 6h, cutoff 1h"},
			want:   "create window sra_linux_maintenance: cron(0 0 1 ? * FRI *) America/New_York, 6h, cutoff 1h",
		},
		"update task": {
			action: Action{Op: OpUpdate, Resource: ResourceTask, Name: "Linux_Scan", Window: "sra_linux_maintenance", ID: "4f1c", Changes: []Change{{Field: TaskParameter, Key: "Operation", From: "Scan", To: "Install"}}},
			want:   "update task Linux_Scan in window sra_linux_maintenance (4f1c): Operation: Scan -> Install",
		},
		"unchanged DHMC": {
			action: Action{Op: OpUnchanged, Resource: ResourceDHMC, Name: DHMCSettingID},
			want:   "unchanged dhmc " + DHMCSettingID,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.action.String()); diff != "" {
				t.Errorf("String() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
