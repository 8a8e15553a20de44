package crosstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/controltower"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// step is one call of a scenario, as data, so the AWS CLI, boto3 and the Go
// SDK make the very same calls. Params may name values captured from earlier
// steps as "${Name}".
type step struct {
	Name      string         `json:"name"`
	Service   string         `json:"service"`   // the CLI's and boto3's service name
	Operation string         `json:"operation"` // the API operation name
	Params    map[string]any `json:"params,omitempty"`
	As        string         `json:"as"`                  // "mgmt", or "member": the session AssumeRole opened
	PageSize  int            `json:"page_size,omitempty"` // paginate with pages this size, report the merged result
	Capture   []string       `json:"capture,omitempty"`   // top-level response members later steps name
	// WantError is the error code AWS answers the step with; empty for success.
	WantError string `json:"-"`
	// ReadOnly steps are repeated through the SDK against each client's
	// simulator after its run, to check it saw what the SDK sees.
	ReadOnly bool `json:"-"`
}

// outcome is what a client saw of one step.
type outcome struct {
	Name     string
	Response any // canonical form (canon_test.go)
	Error    *apiError
}

type apiError struct {
	Code    string
	Message string
}

// plan is the input of testdata/boto3_scenario.py.
type plan struct {
	Endpoint        string `json:"endpoint"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	Steps           []step `json:"steps"`
	// Names are the ids earlier phases captured.
	Names map[string]string `json:"names,omitempty"`
}

// sdkOp makes one call through the Go SDK with its input decoded from the
// step's parameters.
type sdkOp func(ctx context.Context, cfg aws.Config, params []byte) (any, error)

// sdkCall adapts an SDK client method to an sdkOp.
func sdkCall[C, In, Out, Opt any](newClient func(aws.Config, ...func(*Opt)) *C, method func(*C, context.Context, *In, ...func(*Opt)) (*Out, error)) sdkOp {
	return func(ctx context.Context, cfg aws.Config, params []byte) (any, error) {
		in := new(In)
		if err := json.Unmarshal(params, in); err != nil {
			return nil, fmt.Errorf("decode %T: %w", in, err)
		}
		out, err := method(newClient(cfg), ctx, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

var sdkOps = map[string]sdkOp{
	"sts.GetCallerIdentity":                          sdkCall(sts.NewFromConfig, (*sts.Client).GetCallerIdentity),
	"sts.AssumeRole":                                 sdkCall(sts.NewFromConfig, (*sts.Client).AssumeRole),
	"ec2.DescribeRegions":                            sdkCall(ec2.NewFromConfig, (*ec2.Client).DescribeRegions),
	"resourcegroupstaggingapi.GetResources":          sdkCall(resourcegroupstaggingapi.NewFromConfig, (*resourcegroupstaggingapi.Client).GetResources),
	"securityhub.BatchImportFindings":                sdkCall(securityhub.NewFromConfig, (*securityhub.Client).BatchImportFindings),
	"securityhub.GetFindings":                        sdkCall(securityhub.NewFromConfig, (*securityhub.Client).GetFindings),
	"controltower.ListLandingZones":                  sdkCall(controltower.NewFromConfig, (*controltower.Client).ListLandingZones),
	"organizations.DescribeOrganization":             sdkCall(organizations.NewFromConfig, (*organizations.Client).DescribeOrganization),
	"ssm.CreateMaintenanceWindow":                    sdkCall(ssm.NewFromConfig, (*ssm.Client).CreateMaintenanceWindow),
	"ssm.GetMaintenanceWindow":                       sdkCall(ssm.NewFromConfig, (*ssm.Client).GetMaintenanceWindow),
	"ssm.DescribeMaintenanceWindows":                 sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeMaintenanceWindows),
	"ssm.RegisterTargetWithMaintenanceWindow":        sdkCall(ssm.NewFromConfig, (*ssm.Client).RegisterTargetWithMaintenanceWindow),
	"ssm.DescribeMaintenanceWindowTargets":           sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeMaintenanceWindowTargets),
	"ssm.RegisterTaskWithMaintenanceWindow":          sdkCall(ssm.NewFromConfig, (*ssm.Client).RegisterTaskWithMaintenanceWindow),
	"ssm.DescribeMaintenanceWindowTasks":             sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeMaintenanceWindowTasks),
	"ssm.GetMaintenanceWindowTask":                   sdkCall(ssm.NewFromConfig, (*ssm.Client).GetMaintenanceWindowTask),
	"ssm.UpdateServiceSetting":                       sdkCall(ssm.NewFromConfig, (*ssm.Client).UpdateServiceSetting),
	"ssm.GetServiceSetting":                          sdkCall(ssm.NewFromConfig, (*ssm.Client).GetServiceSetting),
	"ssm.UpdateMaintenanceWindow":                    sdkCall(ssm.NewFromConfig, (*ssm.Client).UpdateMaintenanceWindow),
	"ssm.UpdateMaintenanceWindowTarget":              sdkCall(ssm.NewFromConfig, (*ssm.Client).UpdateMaintenanceWindowTarget),
	"ssm.UpdateMaintenanceWindowTask":                sdkCall(ssm.NewFromConfig, (*ssm.Client).UpdateMaintenanceWindowTask),
	"ssm.DeregisterTaskFromMaintenanceWindow":        sdkCall(ssm.NewFromConfig, (*ssm.Client).DeregisterTaskFromMaintenanceWindow),
	"ssm.DeregisterTargetFromMaintenanceWindow":      sdkCall(ssm.NewFromConfig, (*ssm.Client).DeregisterTargetFromMaintenanceWindow),
	"ssm.DeleteMaintenanceWindow":                    sdkCall(ssm.NewFromConfig, (*ssm.Client).DeleteMaintenanceWindow),
	"ssm.AddTagsToResource":                          sdkCall(ssm.NewFromConfig, (*ssm.Client).AddTagsToResource),
	"ssm.ListTagsForResource":                        sdkCall(ssm.NewFromConfig, (*ssm.Client).ListTagsForResource),
	"ssm.RemoveTagsFromResource":                     sdkCall(ssm.NewFromConfig, (*ssm.Client).RemoveTagsFromResource),
	"ssm.DescribeDocument":                           sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeDocument),
	"ssm.PutParameter":                               sdkCall(ssm.NewFromConfig, (*ssm.Client).PutParameter),
	"ssm.GetParameter":                               sdkCall(ssm.NewFromConfig, (*ssm.Client).GetParameter),
	"ssm.DeleteParameter":                            sdkCall(ssm.NewFromConfig, (*ssm.Client).DeleteParameter),
	"ssm.CreatePatchBaseline":                        sdkCall(ssm.NewFromConfig, (*ssm.Client).CreatePatchBaseline),
	"ssm.GetPatchBaseline":                           sdkCall(ssm.NewFromConfig, (*ssm.Client).GetPatchBaseline),
	"ssm.UpdatePatchBaseline":                        sdkCall(ssm.NewFromConfig, (*ssm.Client).UpdatePatchBaseline),
	"ssm.DeletePatchBaseline":                        sdkCall(ssm.NewFromConfig, (*ssm.Client).DeletePatchBaseline),
	"ssm.DescribePatchBaselines":                     sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribePatchBaselines),
	"ssm.RegisterDefaultPatchBaseline":               sdkCall(ssm.NewFromConfig, (*ssm.Client).RegisterDefaultPatchBaseline),
	"ssm.GetDefaultPatchBaseline":                    sdkCall(ssm.NewFromConfig, (*ssm.Client).GetDefaultPatchBaseline),
	"ssm.RegisterPatchBaselineForPatchGroup":         sdkCall(ssm.NewFromConfig, (*ssm.Client).RegisterPatchBaselineForPatchGroup),
	"ssm.DeregisterPatchBaselineForPatchGroup":       sdkCall(ssm.NewFromConfig, (*ssm.Client).DeregisterPatchBaselineForPatchGroup),
	"ssm.GetPatchBaselineForPatchGroup":              sdkCall(ssm.NewFromConfig, (*ssm.Client).GetPatchBaselineForPatchGroup),
	"ssm.DescribePatchGroups":                        sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribePatchGroups),
	"organizations.CreateOrganization":               sdkCall(organizations.NewFromConfig, (*organizations.Client).CreateOrganization),
	"organizations.CreateOrganizationalUnit":         sdkCall(organizations.NewFromConfig, (*organizations.Client).CreateOrganizationalUnit),
	"organizations.CreateAccount":                    sdkCall(organizations.NewFromConfig, (*organizations.Client).CreateAccount),
	"organizations.ListRoots":                        sdkCall(organizations.NewFromConfig, (*organizations.Client).ListRoots),
	"organizations.ListAccounts":                     sdkCall(organizations.NewFromConfig, (*organizations.Client).ListAccounts),
	"organizations.DescribeAccount":                  sdkCall(organizations.NewFromConfig, (*organizations.Client).DescribeAccount),
	"organizations.ListParents":                      sdkCall(organizations.NewFromConfig, (*organizations.Client).ListParents),
	"organizations.ListOrganizationalUnitsForParent": sdkCall(organizations.NewFromConfig, (*organizations.Client).ListOrganizationalUnitsForParent),
	"organizations.ListAccountsForParent":            sdkCall(organizations.NewFromConfig, (*organizations.Client).ListAccountsForParent),
	"organizations.ListTagsForResource":              sdkCall(organizations.NewFromConfig, (*organizations.Client).ListTagsForResource),
	"ssm.DescribeInstanceInformation":                sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeInstanceInformation),
	"ssm.DescribeInstancePatchStates":                sdkCall(ssm.NewFromConfig, (*ssm.Client).DescribeInstancePatchStates),
	"ssm.ListResourceComplianceSummaries":            sdkCall(ssm.NewFromConfig, (*ssm.Client).ListResourceComplianceSummaries),
	"ssm.ListComplianceItems":                        sdkCall(ssm.NewFromConfig, (*ssm.Client).ListComplianceItems),
	"ec2.DescribeInstances":                          sdkCall(ec2.NewFromConfig, (*ec2.Client).DescribeInstances),
	"cloudformation.DescribeStacks":                  sdkCall(cloudformation.NewFromConfig, (*cloudformation.Client).DescribeStacks),
	"s3.CreateBucket":                                sdkCall(pathStyleS3, (*s3.Client).CreateBucket),
	"s3.PutObject":                                   sdkCall(pathStyleS3, (*s3.Client).PutObject),
	"s3.CreateMultipartUpload":                       sdkCall(pathStyleS3, (*s3.Client).CreateMultipartUpload),
	"s3.UploadPart":                                  sdkCall(pathStyleS3, (*s3.Client).UploadPart),
	"s3.CompleteMultipartUpload":                     sdkCall(pathStyleS3, (*s3.Client).CompleteMultipartUpload),
	"s3.AbortMultipartUpload":                        sdkCall(pathStyleS3, (*s3.Client).AbortMultipartUpload),
	"events.PutEvents":                               sdkCall(eventbridge.NewFromConfig, (*eventbridge.Client).PutEvents),
	"sns.CreateTopic":                                sdkCall(sns.NewFromConfig, (*sns.Client).CreateTopic),
	"sns.ListTopics":                                 sdkCall(sns.NewFromConfig, (*sns.Client).ListTopics),
	"sns.Publish":                                    sdkCall(sns.NewFromConfig, (*sns.Client).Publish),
	"cloudwatch.PutMetricAlarm":                      sdkCall(cloudwatch.NewFromConfig, (*cloudwatch.Client).PutMetricAlarm),
	"cloudwatch.DescribeAlarms":                      sdkCall(cloudwatch.NewFromConfig, (*cloudwatch.Client).DescribeAlarms),
	"cloudwatch.SetAlarmState":                       sdkCall(cloudwatch.NewFromConfig, (*cloudwatch.Client).SetAlarmState),
}

// pathStyleS3 addresses buckets by path, as the CLI and boto3 do for an
// endpoint given by IP address, and as the simulator serves them.
func pathStyleS3(cfg aws.Config, opts ...func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(cfg, append(opts, func(o *s3.Options) { o.UsePathStyle = true })...)
}

// sdkPaged are the paginated steps: every page at pageSize, merged.
var sdkPaged = map[string]func(ctx context.Context, cfg aws.Config, params []byte, pageSize int32) (any, error){
	"organizations.ListAccounts": func(ctx context.Context, cfg aws.Config, params []byte, pageSize int32) (any, error) {
		var in organizations.ListAccountsInput
		if err := json.Unmarshal(params, &in); err != nil {
			return nil, fmt.Errorf("decode ListAccountsInput: %w", err)
		}
		p := organizations.NewListAccountsPaginator(organizations.NewFromConfig(cfg), &in, func(o *organizations.ListAccountsPaginatorOptions) {
			o.Limit = pageSize
		})
		var all organizations.ListAccountsOutput
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			all.Accounts = append(all.Accounts, page.Accounts...)
		}
		return &all, nil
	},
	"securityhub.GetFindings": func(ctx context.Context, cfg aws.Config, params []byte, pageSize int32) (any, error) {
		var in securityhub.GetFindingsInput
		if err := json.Unmarshal(params, &in); err != nil {
			return nil, fmt.Errorf("decode GetFindingsInput: %w", err)
		}
		p := securityhub.NewGetFindingsPaginator(securityhub.NewFromConfig(cfg), &in, func(o *securityhub.GetFindingsPaginatorOptions) {
			o.Limit = pageSize
		})
		var all securityhub.GetFindingsOutput
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			all.Findings = append(all.Findings, page.Findings...)
		}
		return &all, nil
	},
}

// substitute replaces "${Name}" in every string of v by names[Name].
func substitute(v any, names map[string]string) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var missing []string
	out := regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		val, ok := names[name]
		if !ok {
			missing = append(missing, name)
		}
		return []byte(val)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("no earlier step captured %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// capture records the step's Capture members of a decoded response.
func capture(s step, resp any, names map[string]string) {
	m, _ := resp.(map[string]any)
	for _, k := range s.Capture {
		if v, ok := m[strings.ToLower(k)].(string); ok {
			names[k] = v
		}
	}
}

// runSDK runs steps through aws-sdk-go-v2 with mgmt acting as the
// management account; member is the configuration AssumeRole's credentials
// act as (filled in by the AssumeRole step when nil).
func runSDK(ctx context.Context, t *testing.T, mgmt aws.Config, member *aws.Config, steps []step, names map[string]string) []outcome {
	t.Helper()
	var got []outcome
	for _, s := range steps {
		params, err := substitute(s.Params, names)
		if err != nil {
			t.Fatalf("step %s: %v", s.Name, err)
		}
		cfg := mgmt
		if s.As == "member" {
			if member == nil {
				t.Fatalf("step %s acts as the member before any AssumeRole", s.Name)
			}
			cfg = *member
		}
		key := s.Service + "." + s.Operation
		var out any
		if s.PageSize > 0 {
			paged, ok := sdkPaged[key]
			if !ok {
				t.Fatalf("step %s: no paginated SDK call for %s", s.Name, key)
			}
			out, err = paged(ctx, cfg, params, int32(s.PageSize))
		} else {
			op, ok := sdkOps[key]
			if !ok {
				t.Fatalf("step %s: no SDK call for %s", s.Name, key)
			}
			out, err = op(ctx, cfg, params)
		}
		o := outcome{Name: s.Name}
		var ae smithy.APIError
		switch {
		case errors.As(err, &ae):
			o.Error = &apiError{Code: ae.ErrorCode(), Message: ae.ErrorMessage()}
		case err != nil:
			t.Fatalf("step %s: %v", s.Name, err)
		default:
			o.Response = canonGo(out)
			capture(s, o.Response, names)
		}
		if ar, ok := out.(*sts.AssumeRoleOutput); ok && err == nil {
			c := mgmt.Copy()
			c.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
				aws.ToString(ar.Credentials.AccessKeyId), aws.ToString(ar.Credentials.SecretAccessKey), aws.ToString(ar.Credentials.SessionToken)))
			member = &c
		}
		got = append(got, o)
	}
	return got
}

// cliErrorRe is how AWS CLI v1 reports a service error on stderr.
var cliErrorRe = regexp.MustCompile(`An error occurred \(([^)]+)\) when calling the \w+ operation(?: \(reached max retries: \d+\))?: (.*)`)

// runCLI runs steps through `aws --endpoint-url`, one process a step.
func runCLI(ctx context.Context, t *testing.T, aws, endpoint, region, key, secret string, steps []step, names map[string]string) []outcome {
	t.Helper()
	envs := map[string][]string{"mgmt": toolEnv(key, secret, "", region)}
	var got []outcome
	for _, s := range steps {
		params, err := substitute(s.Params, names)
		if err != nil {
			t.Fatalf("step %s: %v", s.Name, err)
		}
		if s.Params == nil {
			params = []byte("{}")
		}
		service := s.Service
		if service == "s3" {
			service = "s3api" // the CLI's API-level S3 commands; "aws s3" is the file tool
		}
		args := []string{"--endpoint-url", endpoint, "--output", "json", service, kebab(s.Operation), "--cli-input-json", string(params)}
		if s.PageSize > 0 {
			args = append(args, "--page-size", fmt.Sprint(s.PageSize))
		}
		env, ok := envs[s.As]
		if !ok {
			t.Fatalf("step %s acts as %q before any AssumeRole", s.Name, s.As)
		}
		cmd := exec.CommandContext(ctx, aws, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		runErr := cmd.Run()
		o := outcome{Name: s.Name}
		if runErr != nil {
			m := cliErrorRe.FindStringSubmatch(stderr.String())
			if m == nil {
				t.Fatalf("step %s: aws %s: %v\n%s", s.Name, strings.Join(args[4:6], " "), runErr, stderr.String())
			}
			o.Error = &apiError{Code: m[1], Message: strings.TrimSpace(m[2])}
			got = append(got, o)
			continue
		}
		var resp any = map[string]any{}
		if len(bytes.TrimSpace(stdout.Bytes())) > 0 {
			if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
				t.Fatalf("step %s: decode the CLI's output: %v\n%s", s.Name, err, stdout.String())
			}
		}
		o.Response = canonJSON(resp)
		capture(s, o.Response, names)
		if s.Operation == "AssumeRole" {
			c, _ := resp.(map[string]any)["Credentials"].(map[string]any)
			k, _ := c["AccessKeyId"].(string)
			sk, _ := c["SecretAccessKey"].(string)
			tok, _ := c["SessionToken"].(string)
			envs["member"] = toolEnv(k, sk, tok, region)
		}
		got = append(got, o)
	}
	return got
}

// kebab turns an operation name into the CLI's command name.
func kebab(op string) string {
	var b strings.Builder
	for i, r := range op {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// runBoto3 runs steps through testdata/boto3_scenario.py.
func runBoto3(ctx context.Context, t *testing.T, python, endpoint, region, key, secret string, steps []step, names map[string]string) []outcome {
	t.Helper()
	in, err := json.Marshal(plan{Endpoint: endpoint, Region: region, AccessKeyID: key, SecretAccessKey: secret, Steps: steps, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, python, "testdata/boto3_scenario.py")
	cmd.Env = toolEnv("unused", "unused", "", region)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("boto3 scenario: %v\n%s", err, stderr.String())
	}
	var raw []struct {
		Name     string    `json:"name"`
		Response any       `json:"response"`
		Error    *apiError `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("decode the boto3 scenario's output: %v\n%s", err, stdout.String())
	}
	if len(raw) != len(steps) {
		t.Fatalf("boto3 scenario reported %d steps, want %d", len(raw), len(steps))
	}
	got := make([]outcome, len(raw))
	for i, r := range raw {
		got[i] = outcome{Name: r.Name, Error: r.Error}
		if r.Error == nil {
			got[i].Response = canonJSON(r.Response)
			capture(steps[i], got[i].Response, names)
		}
	}
	return got
}
