package stacks

import (
	"context"
	"debug/elf"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

func TestSettingsFromContext(t *testing.T) {
	for name, tc := range map[string]struct {
		context map[string]any
		env     string
		want    func(*Settings)
		errs    []string // substrings the error must name; nil: no error
	}{
		"defaults with the CLI's region": {
			env:  "eu-central-1",
			want: func(s *Settings) { s.HomeRegion = "eu-central-1" },
		},
		"cdk.json numbers and -c strings": {
			context: map[string]any{"homeRegion": "ap-southeast-2", "memorySize": 1024.0, "logRetentionDays": "30", "reservedConcurrency": "0", "functionName": "patcher"},
			env:     "eu-central-1",
			want: func(s *Settings) {
				s.HomeRegion, s.MemorySize, s.LogRetentionDays, s.ReservedConcurrency, s.FunctionName = "ap-southeast-2", 1024, 30, 0, "patcher"
			},
		},
		"empty strings keep defaults": {
			context: map[string]any{"homeRegion": "us-east-1", "functionName": "", "logKmsKeyArn": "", "configFile": ""},
			want:    func(s *Settings) { s.HomeRegion = "us-east-1" },
		},
		"no region anywhere": {
			errs: []string{"homeRegion", "CDK_DEFAULT_REGION"},
		},
		"every bad value at once": {
			context: map[string]any{
				"homeRegion": "Ireland", "functionName": "my function", "lambdaRoleName": "bad/role",
				"memorySize": 64.0, "logRetentionDays": 10.0, "reservedConcurrency": "-1",
				"logKmsKeyArn": "alias/mine", "configParameterName": "/aws/mine",
			},
			errs: []string{`homeRegion "Ireland"`, `functionName "my function"`, `lambdaRoleName "bad/role"`, `memorySize "64"`, `logRetentionDays "10": want one of 1, 3, 5`, `reservedConcurrency "-1"`, `logKmsKeyArn "alias/mine"`, `configParameterName "/aws/mine"`},
		},
		"ring tag guard": {
			context: map[string]any{"homeRegion": "eu-west-1", "ringTagGuardKey": "ring", "ringTagGuardPrincipals": "arn:aws:iam::111122223333:role/PlatformAdmin, arn:aws:iam::*:role/OrgAdmin*"},
			want: func(s *Settings) {
				s.HomeRegion, s.RingTagGuardKey = "eu-west-1", "ring"
				s.RingTagGuardPrincipals = []string{"arn:aws:iam::111122223333:role/PlatformAdmin", "arn:aws:iam::*:role/OrgAdmin*"}
			},
		},
		"ring tag guard without principals": {
			context: map[string]any{"homeRegion": "eu-west-1", "ringTagGuardKey": "ring"},
			errs:    []string{"ringTagGuardPrincipals", "IAM ARNs who may tag accounts with ring"},
		},
		"ring tag guard principal not an ARN": {
			context: map[string]any{"homeRegion": "eu-west-1", "ringTagGuardKey": "ring", "ringTagGuardPrincipals": "PlatformAdmin"},
			errs:    []string{`ringTagGuardPrincipals "PlatformAdmin"`},
		},
		"not a number": {
			context: map[string]any{"homeRegion": "eu-west-1", "memorySize": "lots"},
			errs:    []string{`memorySize "lots": want a whole number`},
		},
		"missing config file": {
			context: map[string]any{"homeRegion": "eu-west-1", "configFile": "/nonexistent/orgpatch.yaml"},
			errs:    []string{"configFile", "/nonexistent/orgpatch.yaml"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("CDK_DEFAULT_REGION", tc.env)
			ctx := tc.context
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
			got, err := SettingsFromContext(app)
			if tc.errs != nil {
				if err == nil {
					t.Fatalf("got %+v, want an error naming %v", got, tc.errs)
				}
				for _, e := range tc.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("error %q does not name %q", err, e)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultSettings()
			tc.want(&want)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("settings (-want +got):\n%s", d)
			}
		})
	}
}

func TestDHMCRoleSetting(t *testing.T) {
	if got, want := DefaultSettings().DHMCRoleSetting(), "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRoleCustom"; got != want {
		t.Errorf("DHMCRoleSetting = %q, want %q", got, want)
	}
}

func TestBuildBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the Lambda")
	}
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := BuildBootstrap(context.Background(), root, "./lambda", out); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(filepath.Join(out, "bootstrap"))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("bootstrap is %v/%v, want linux arm64", f.Machine, f.OSABI)
	}
	if interp := f.Section(".interp"); interp != nil {
		t.Error("bootstrap is dynamically linked; provided.al2023 needs CGO_ENABLED=0")
	}

	err = BuildBootstrap(context.Background(), root, "./no-such-package", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "./no-such-package") {
		t.Errorf("building a missing package: %v, want an error naming it", err)
	}
}

// cdk.json spells out every setting's default so admins see what they can
// change; it must say what the code does.
func TestCDKJSONMatchesDefaults(t *testing.T) {
	ctx := *cdkJSONContext(t)
	ctx["homeRegion"] = "eu-west-1"
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
	got, err := SettingsFromContext(app)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultSettings()
	want.HomeRegion = "eu-west-1"
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("cdk.json context vs DefaultSettings (-want +got):\n%s", d)
	}
	for _, key := range []string{"homeRegion", "functionName", "lambdaRoleName", "configurationRoleName", "taskRoleName", "dhmcRoleName", "stackSetName", "configParameterName", "memorySize", "logRetentionDays", "logKmsKeyArn", "reservedConcurrency", "configFile"} {
		if _, ok := (*cdkJSONContext(t))[key]; !ok {
			t.Errorf("cdk.json does not list the %s setting", key)
		}
	}
}
