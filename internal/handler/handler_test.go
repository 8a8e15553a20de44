package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/run/runtest"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

const (
	eventsDir = "../../events"
	smallOrg  = "../../testdata/orgs/small.json"
	paramName = "/orgpatch/test/configuration"
	role      = sim.DefaultRoleName
)

// members are the ACTIVE accounts of the small organization, management
// included (666666666666 is SUSPENDED).
var members = []string{"111111111111", "222222222222", "333333333333", "444444444444", "555555555555"}

// syncBuffer is output the handler's goroutines may share.
type syncBuffer struct{ simtest.LockedBuffer }

// lines decodes every JSON line written so far.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// answer is one response CloudFormation received.
type answer struct {
	Path     string
	Response cfn.Response
	Size     int
	At       time.Time
}

// cloudFormation stands in for the presigned S3 URLs CloudFormation hands
// out: it records every PUT.
type cloudFormation struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []answer
}

func newCloudFormation(t *testing.T) *cloudFormation {
	c := &cloudFormation{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPut {
			t.Errorf("CloudFormation answered with %s, want PUT", r.Method)
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			t.Errorf("CloudFormation answer carries Content-Type %q; the presigned URL is signed without one", ct)
		}
		var resp cfn.Response
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Errorf("CloudFormation answer is not JSON: %v", err)
		}
		c.mu.Lock()
		c.got = append(c.got, answer{Path: r.URL.Path, Response: resp, Size: len(body), At: time.Now()})
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cloudFormation) answers() []answer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// harness is a handler against a simulated organization.
type harness struct {
	sv      *simtest.Env
	h       *handler.Handler
	cfn     *cloudFormation
	logs    *syncBuffer
	metrics *syncBuffer
	// noRole are the accounts without the configuration role.
	noRole map[string]bool
}

func newHarness(t *testing.T, org *sim.Org, deps func(*handler.Deps), opts ...sim.Option) *harness {
	t.Helper()
	if org == nil {
		var err error
		if org, err = sim.LoadOrg(smallOrg); err != nil {
			t.Fatal(err)
		}
	}
	x := &harness{sv: simtest.Start(t, org, opts...), cfn: newCloudFormation(t), logs: &syncBuffer{}, metrics: &syncBuffer{},
		noRole: map[string]bool{"555555555555": true}}
	d := handler.Deps{
		Management:      x.sv.Config,
		ConfigParameter: paramName,
		Concurrency:     8,
		Reserve:         time.Second,
		RoleWait:        time.Millisecond,
		Logger:          handler.NewLogger(x.logs, slog.LevelDebug),
		Metrics:         x.metrics,
		LoopbackAnswers: true,
	}
	if deps != nil {
		deps(&d)
	}
	x.h = handler.New(d)
	return x
}

// withAllRoles gives the small organization's role-less account its role,
// so a whole-organization run succeeds.
func (x *harness) withAllRoles(t *testing.T) *harness {
	t.Helper()
	if err := x.sv.Server.AddRole("555555555555", role); err != nil {
		t.Fatal(err)
	}
	delete(x.noRole, "555555555555")
	return x
}

// deployed stores cfg in the configuration parameter through the SDK, as
// the stack's custom resource stores it on Create (its properties: here the
// whole configuration as the Configuration property), so that the triggers
// which read it have a configuration (again: it replaces one stored before,
// as an Update does); the calls it took are forgotten.
func (x *harness) deployed(t *testing.T, cfg config.Config) *harness {
	t.Helper()
	conf, err := cfg.JSON()
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]string{config.PropConfiguration: string(conf)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ssm.NewFromConfig(x.sv.Config).PutParameter(context.Background(), &ssm.PutParameterInput{
		Name: aws.String(paramName), Type: ssmtypes.ParameterTypeString, Value: aws.String(string(body)), Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("store the configuration: %v", err)
	}
	x.sv.Server.ResetCalls()
	return x
}

// event reads an events file, pointing a CloudFormation ResponseURL at the
// recorder.
func (x *harness) event(t *testing.T, file string) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return x.rewrite(t, raw, nil)
}

// rewrite points raw's ResponseURL (if it has one, or its run's request
// has one) at the recorder and
// applies edit to the decoded event.
func (x *harness) rewrite(t *testing.T, raw []byte, edit func(map[string]any)) json.RawMessage {
	t.Helper()
	var ev map[string]any
	if json.Unmarshal(raw, &ev) != nil {
		return raw // malformed on purpose
	}
	if _, ok := ev["ResponseURL"]; ok {
		ev["ResponseURL"] = x.cfn.srv.URL + "/" + ev["RequestType"].(string)
	}
	// A step of a run CloudFormation started carries its request.
	if req, ok := ev["request"].(map[string]any); ok {
		if cf, ok := req["cloudFormation"].(map[string]any); ok {
			cf["ResponseURL"] = x.cfn.srv.URL + "/" + cf["RequestType"].(string)
		}
	}
	if edit != nil {
		edit(ev)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cfnEvent is an events file's CloudFormation request with properties
// replaced (ServiceToken kept).
func (x *harness) cfnEvent(t *testing.T, file string, props map[string]any) json.RawMessage {
	t.Helper()
	return x.rewrite(t, x.event(t, file), func(ev map[string]any) {
		p := map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:orgpatch"}
		for k, v := range props {
			p[k] = v
		}
		ev["ResourceProperties"] = p
	})
}

func (x *harness) invoke(t *testing.T, raw json.RawMessage) (handler.Result, error) {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-" + t.Name()})
	out, err := x.h.Invoke(ctx, raw)
	res, _ := out.(handler.Result)
	return res, err
}

// windowed lists the accounts holding at least one maintenance window in
// us-east-1, read through the SDK as each account.
func (x *harness) windowed(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, a := range members {
		if len(x.windows(t, a, "us-east-1")) > 0 {
			out = append(out, a)
		}
	}
	return out
}

func (x *harness) windows(t *testing.T, account, region string) []string {
	t.Helper()
	if x.noRole[account] {
		return nil // nothing can have been created where orgpatch cannot act
	}
	return runtest.WindowNamesAs(t, x.sv.AccountConfig(t, account, role), account, region)
}

// writers lists the accounts that made successful write calls.
func (x *harness) writers() []string {
	set := map[string]bool{}
	for _, c := range x.sv.Server.Calls() {
		if c.Write && c.ErrorCode == "" {
			set[c.Account] = true
		}
	}
	var out []string
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func (x *harness) storedConfig(t *testing.T) (config.Config, bool) {
	t.Helper()
	out, err := ssm.NewFromConfig(x.sv.Config).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(paramName)})
	if err != nil {
		return config.Config{}, false
	}
	var props map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Parameter.Value)), &props); err != nil {
		t.Fatalf("stored properties do not decode: %v", err)
	}
	cfg, err := config.FromProperties(props)
	if err != nil {
		t.Fatalf("stored configuration does not decode: %v", err)
	}
	return cfg, true
}

func defaultWindows() []string {
	var names []string
	for _, w := range config.Default().Windows {
		names = append(names, w.Name)
	}
	sort.Strings(names)
	return names
}
