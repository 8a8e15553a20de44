package sfnengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/stepfn"
)

// payloadLimit is Step Functions' limit on a state's input or output
// (256 KiB), a Lambda task's result included.
const payloadLimit = 256 << 10

// TestStateMachineInAnIndependentEngine runs the synthesized state machine,
// parameters at their defaults, in LocalStack's ASL interpreter (moto),
// every Lambda task answered by the real handler against the simulator, and
// asserts what each step received and what the run reported.
func TestStateMachineInAnIndependentEngine(t *testing.T) {
	e := startEngine(t)
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *engine)
	}{
		{"clean schedule run of ten batches", cleanSchedule},
		{"CloudFormation Create, Update and Delete", createUpdateDelete},
		{"a batch of accounts all without the role", roleLessBatch},
		{"a crashed worker", crashedWorker},
		{"throttled until the retries are spent", throttledWorker},
		{"two runs queued", queuedRuns},
		{"a stack Update during a run", updateDuringRun},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, e) })
	}
}

// regionalConfig is the default configuration over regions.
func regionalConfig(regions []string) config.Config {
	cfg := config.Default()
	cfg.Regions = regions
	cfg.ControlTowerRegionsOnly = false
	return cfg
}

// memberID is the generated organization's nth member (from 1).
func memberID(n int) string { return fmt.Sprintf("%012d", 100000000000+n) }

// members are the ids of the generated organization's management account
// and its first n members.
func members(n int) []string {
	out := []string{memberID(0)}
	for i := 1; i <= n; i++ {
		out = append(out, memberID(i))
	}
	return out
}

// answerOf decodes a step's answer.
func answerOf[T any](t *testing.T, inv invocation) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(inv.Response, &v); err != nil {
		t.Fatalf("%s answered %.300s: %v", inv.Step, inv.Response, err)
	}
	return v
}

// only returns the one invocation of step, failing otherwise.
func only(t *testing.T, d *deployment, step string) invocation {
	t.Helper()
	got := d.fn.invocations(step)
	if len(got) != 1 {
		t.Fatalf("%d %s invocations, want 1:%s", len(got), step, d.steps())
	}
	return got[0]
}

// noFunctionErrors: the function answered every invocation without an
// error of its own (Lambda's Errors metric, the errors alarm).
func noFunctionErrors(t *testing.T, d *deployment) {
	t.Helper()
	for _, inv := range d.fn.invocations("") {
		if inv.FunctionError != "" && inv.Status == 200 && !strings.Contains(string(inv.Response), "Runtime.ExitError") {
			t.Errorf("the function failed a %s step (the errors alarm): %.300s", inv.Step, inv.Response)
		}
	}
}

// batchAccounts are the accounts of the batches, in the order received, and
// whether any account came twice.
func batchAccounts(batches []stepfn.Batch) (accounts []string, twice bool) {
	for _, b := range batches {
		for _, it := range b.Items {
			twice = twice || slices.Contains(accounts, it.Account)
			accounts = append(accounts, it.Account)
		}
	}
	slices.Sort(accounts)
	return accounts, twice
}

func cleanSchedule(t *testing.T, e *engine) {
	regions := sim.DefaultRegions()
	const n = 139 // with the management account, 140 accounts: 10 batches of 14 at 17 regions
	d := e.deploy(t, "clean", sim.GenerateOrg(sim.GenerateOptions{Accounts: n}), regionalConfig(regions))
	d.storeConfiguration(t)
	if err := d.deliver(t, d.schedule(t, "clean-1")); err != nil {
		t.Fatalf("the schedule's trigger: %v", err)
	}
	runs := d.waitAll(t, 5*time.Minute)
	if len(runs) != 1 || runs[0].Status != "SUCCEEDED" {
		t.Fatalf("executions %+v, want one SUCCEEDED", runs)
	}

	disc := answerOf[handler.DiscoverResult](t, only(t, d, "discover"))
	var discoverIn struct {
		Step, Run string
		Request   struct{ Source, Action string }
	}
	if err := json.Unmarshal(only(t, d, "discover").Payload, &discoverIn); err != nil {
		t.Fatal(err)
	}
	if discoverIn.Run != "schedule-clean-1" || discoverIn.Request.Source != "schedule" || discoverIn.Request.Action != "converge" {
		t.Errorf("discover received run %q, request %+v: want the schedule's run of schedule-clean-1", discoverIn.Run, discoverIn.Request)
	}
	if disc.Accounts != n+1 || disc.Targets != (n+1)*len(regions) || disc.MaxItemsPerBatch != 14 {
		t.Errorf("discovery: %d accounts, %d targets, %d per batch; want %d, %d, 14", disc.Accounts, disc.Targets, disc.MaxItemsPerBatch, n+1, (n+1)*len(regions))
	}

	batches := d.batches(t)
	if len(batches) != 10 {
		t.Errorf("%d batches, want 10 of at most %d accounts", len(batches), disc.MaxItemsPerBatch)
	}
	for i, b := range batches {
		if len(b.Items) > disc.MaxItemsPerBatch {
			t.Errorf("batch %d holds %d accounts, more than MaxItemsPerBatch %d", i, len(b.Items), disc.MaxItemsPerBatch)
		}
		if !sameConfig(t, b.BatchInput.Config, disc.BatchInput.Config) || b.BatchInput.Run != "schedule-clean-1" || b.BatchInput.Mode != "converge" {
			t.Errorf("batch %d's BatchInput (run %q, mode %q) is not the discovery's", i, b.BatchInput.Run, b.BatchInput.Mode)
		}
	}
	if got, twice := batchAccounts(batches); !slices.Equal(got, members(n)) || twice {
		t.Errorf("the batches held %d accounts (twice: %v), want each of the %d once", len(got), twice, n+1)
	}
	for _, w := range d.fn.invocations("work") {
		if len(w.Response) > payloadLimit {
			t.Errorf("a worker answered %d bytes, over Step Functions' %d", len(w.Response), payloadLimit)
		}
	}

	// Summarize got the map's ResultWriter output, whose manifest lists
	// every batch's result.
	var sumIn struct {
		Map stepfn.MapOutput `json:"map"`
	}
	sum := only(t, d, "summarize")
	if err := json.Unmarshal(sum.Payload, &sumIn); err != nil {
		t.Fatal(err)
	}
	key := sumIn.Map.ResultWriterDetails.Key
	if !strings.HasPrefix(key, "runs/results/") || !strings.HasSuffix(key, "/manifest.json") || sumIn.Map.ResultWriterDetails.Bucket != d.bucket {
		t.Errorf("summarize received the manifest s3://%s/%s, want runs/results/<map run>/manifest.json in %s", sumIn.Map.ResultWriterDetails.Bucket, key, d.bucket)
	}
	var manifest stepfn.Manifest
	d.getJSON(t, key, &manifest)
	var children []stepfn.ChildResult
	for _, f := range manifest.ResultFiles[stepfn.ChildSucceeded] {
		var part []stepfn.ChildResult
		d.getJSON(t, f.Key, &part)
		children = append(children, part...)
	}
	if len(children) != 10 || len(manifest.ResultFiles[stepfn.ChildFailed]) != 0 {
		t.Errorf("the manifest lists %d succeeded batches and %d failed files, want 10 and none", len(children), len(manifest.ResultFiles[stepfn.ChildFailed]))
	}
	want := fmt.Sprintf("%d targets: %d converged", (n+1)*len(regions), (n+1)*len(regions))
	if s := answerOf[handler.SummarizeResult](t, sum); s.Failed || !strings.HasPrefix(s.Summary, want) {
		t.Errorf("summary %+v, want not failed, %q", s, want)
	}
	noFunctionErrors(t, d)
}

func createUpdateDelete(t *testing.T, e *engine) {
	// The last member lacks the configuration role: a real organization
	// always has such an account.
	const n = 5
	lacking := memberID(n)
	d := e.deploy(t, "cfn", sim.GenerateOrg(sim.GenerateOptions{Accounts: n, MissingRole: 1}), regionalConfig([]string{"us-east-1", "eu-west-1"}))
	if err := d.deliver(t, d.cfnEvent(t, "cfn-create.json", "create-cfn", nil)); err != nil {
		t.Fatalf("Create's trigger: %v", err)
	}
	runs := d.waitAll(t, 2*time.Minute)
	answers := d.answers(t)
	if len(answers) != 1 || answers[0].Status != cfn.StatusSuccess || answers[0].RequestID != "create-cfn" {
		t.Fatalf("answers %+v, want Create's SUCCESS within the failure tolerance", answers)
	}
	create := answers[0]
	if !strings.Contains(create.Reason, "within the stack's failure tolerance") || !strings.Contains(create.Reason, lacking) ||
		create.Data["FailedAccounts"] != lacking || create.Data["Converged"] != float64(2*n) {
		t.Errorf("Create's answer %+v: want it to name %s within the tolerance and count %d converged", create, lacking, 2*n)
	}
	// The account's failure still raises the runs alarm.
	if runs[0].Status != "FAILED" || runs[0].Error != "RunFailed" || !strings.Contains(runs[0].Cause, lacking) {
		t.Errorf("Create's execution %+v: want FAILED naming %s (the runs alarm)", runs[0], lacking)
	}

	// The Update drops eu-west-1: its run removes the windows there.
	if err := d.deliver(t, d.update(t, regionalConfig([]string{"us-east-1"}))); err != nil {
		t.Fatalf("Update's trigger: %v", err)
	}
	d.waitAll(t, 2*time.Minute)
	discovers := d.fn.invocations("discover")
	// The execution's input names the stored request and holds neither
	// its ResponseURL nor a previous configuration: the function reads
	// the verified previous configuration back from the runs bucket (the
	// batch below tears down the region it had).
	var updateIn struct {
		Request map[string]json.RawMessage
	}
	if err := json.Unmarshal(discovers[len(discovers)-1].Payload, &updateIn); err != nil {
		t.Fatal(err)
	}
	if string(updateIn.Request["action"]) != `"converge"` || string(updateIn.Request["requestKey"]) != `"runs/requests/update-cfn.json"` {
		t.Errorf("the Update's discover received %v, want a converge naming its stored request", updateIn.Request)
	}
	for _, field := range []string{"previous", "cloudFormation"} {
		if _, ok := updateIn.Request[field]; ok {
			t.Errorf("the Update's execution input holds %s", field)
		}
	}
	answers = d.answers(t)
	if len(answers) != 2 || answers[1].Status != cfn.StatusSuccess || answers[1].RequestID != "update-cfn" {
		t.Fatalf("answers %+v, want the Update's SUCCESS", answers)
	}
	batch := d.batches(t)
	last := batch[len(batch)-1]
	for _, it := range last.Items {
		if !slices.Equal(it.Regions["teardown"], []string{"eu-west-1"}) || !slices.Equal(it.Regions["converge"], []string{"us-east-1"}) {
			t.Errorf("the Update's batch gives %s %v: want us-east-1 converged, eu-west-1 torn down", it.Account, it.Regions)
		}
	}

	// The account gets its role, and the stack is deleted: everything goes,
	// the configuration parameter last.
	if err := d.sv.Server.AddRole(lacking, sim.DefaultRoleName); err != nil {
		t.Fatal(err)
	}
	if err := d.deliver(t, d.cfnEvent(t, "cfn-delete.json", "delete-cfn", nil)); err != nil {
		t.Fatalf("Delete's trigger: %v", err)
	}
	d.waitAll(t, 2*time.Minute)
	answers = d.answers(t)
	if len(answers) != 3 || answers[2].Status != cfn.StatusSuccess || answers[2].RequestID != "delete-cfn" {
		t.Fatalf("answers %+v, want the Delete's SUCCESS", answers)
	}
	_, err := ssm.NewFromConfig(d.sv.Config).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(handler.DefaultConfigParameter)})
	if nf := (*ssmtypes.ParameterNotFound)(nil); !errors.As(err, &nf) {
		t.Errorf("after the Delete, reading the configuration parameter: %v, want ParameterNotFound", err)
	}
	noFunctionErrors(t, d)
}

func roleLessBatch(t *testing.T, e *engine) {
	// 28 accounts of 17 regions: two batches of 14 at the batch size Discover
	// computes; the 14 members of the second lack the role, so its worker's
	// every record is a failed one, with AWS's message and the advice.
	regions := sim.DefaultRegions()
	const n, lacking = 27, 14
	d := e.deploy(t, "roleless", sim.GenerateOrg(sim.GenerateOptions{Accounts: n, MissingRole: lacking}), regionalConfig(regions))
	d.storeConfiguration(t)
	if err := d.deliver(t, d.schedule(t, "roleless-1")); err != nil {
		t.Fatal(err)
	}
	runs := d.waitAll(t, 3*time.Minute)
	works := d.fn.invocations("work")
	if len(works) != 2 {
		t.Fatalf("%d worker invocations, want 2:%s", len(works), d.steps())
	}
	for _, w := range works {
		if len(w.Response) > payloadLimit || w.FunctionError != "" {
			t.Errorf("a worker answered %d bytes (%s), want at most %d", len(w.Response), w.FunctionError, payloadLimit)
		}
	}
	sum := answerOf[handler.SummarizeResult](t, only(t, d, "summarize"))
	ok := (n + 1 - lacking) * len(regions)
	want := fmt.Sprintf("%d targets: %d converged, %d failed", (n+1)*len(regions), ok, lacking*len(regions))
	if !sum.Failed || !strings.HasPrefix(sum.Summary, want) || strings.Contains(sum.Summary, "not attempted") {
		t.Errorf("summary %+v: want %q, nothing not attempted", sum, want)
	}
	if runs[0].Status != "FAILED" || strings.Contains(runs[0].Cause, "DataLimitExceeded") {
		t.Errorf("execution %+v, want FAILED by its summary, not by a payload over the limit", runs[0])
	}
	noFunctionErrors(t, d)
}

func crashedWorker(t *testing.T, e *engine) {
	// 31 accounts of 17 regions: three batches; the worker of the one
	// holding member 20 dies under the function (Runtime.ExitError).
	regions := sim.DefaultRegions()
	const n = 30
	d := e.deploy(t, "crash", sim.GenerateOrg(sim.GenerateOptions{Accounts: n}), regionalConfig(regions))
	victim := memberID(20)
	var lost []string
	var mu sync.Mutex
	d.fn.setFault(func(inv invocation) *lambdaFault {
		var b stepfn.Batch
		if inv.Step != "work" || json.Unmarshal(inv.Payload, &b) != nil || !slices.ContainsFunc(b.Items, func(it stepfn.Item) bool { return it.Account == victim }) {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		lost = nil
		for _, it := range b.Items {
			lost = append(lost, it.Account)
		}
		return crashed()
	})
	if err := d.deliver(t, d.cfnEvent(t, "cfn-create.json", "create-crash", nil)); err != nil {
		t.Fatal(err)
	}
	runs := d.waitAll(t, 3*time.Minute)
	if n := len(d.fn.invocations("abort")); n != 0 {
		t.Errorf("%d abort steps: a crashed batch is the summary's to report", n)
	}
	if len(d.fn.invocations("work")) != 3 {
		t.Errorf("%d worker invocations, want 3 (the map goes on past a crashed batch)", len(d.fn.invocations("work")))
	}
	answers := d.answers(t)
	if len(answers) != 1 || answers[0].Status != cfn.StatusFailed {
		t.Fatalf("answers %+v, want one FAILED: %d accounts are beyond the tolerance", answers, len(lost))
	}
	reason := answers[0].Reason
	wantNamed := fmt.Sprintf("%d targets in %d accounts not attempted: %s", len(lost)*len(regions), len(lost), strings.Join(lost, ", "))
	if !strings.Contains(reason, wantNamed) || !strings.Contains(reason, "Runtime.ExitError") && !strings.Contains(runs[0].Cause, "Runtime.ExitError") {
		t.Errorf("the answer's reason %q does not name the crashed batch's accounts (%s) and why", reason, wantNamed)
	}
	sum := answerOf[handler.SummarizeResult](t, only(t, d, "summarize"))
	converged := (n + 1 - len(lost)) * len(regions)
	if !sum.Failed || !strings.Contains(sum.Summary, fmt.Sprintf("%d converged", converged)) {
		t.Errorf("summary %+v, want failed with the other %d targets converged", sum, converged)
	}
	if runs[0].Status != "FAILED" || !strings.Contains(runs[0].Cause, victim) {
		t.Errorf("execution %+v, want FAILED naming %s", runs[0], victim)
	}
}

func throttledWorker(t *testing.T, e *engine) {
	const n = 5
	d := e.deploy(t, "throttle", sim.GenerateOrg(sim.GenerateOptions{Accounts: n}), regionalConfig([]string{"us-east-1", "eu-west-1"}))
	d.storeConfiguration(t)
	var discovers int
	var mu sync.Mutex
	d.fn.setFault(func(inv invocation) *lambdaFault {
		mu.Lock()
		defer mu.Unlock()
		switch inv.Step {
		case "discover":
			// Lambda throttles twice, then has room: the retry carries on.
			if discovers++; discovers <= 2 {
				return throttled()
			}
		case "work":
			return throttled()
		}
		return nil
	})
	if err := d.deliver(t, d.schedule(t, "throttle-1")); err != nil {
		t.Fatal(err)
	}
	runs := d.waitAll(t, 3*time.Minute)
	if got := len(d.fn.invocations("discover")); got != 3 {
		t.Errorf("%d discover invocations, want 3 (two throttled, then the retry's)", got)
	}
	// The Retry's six attempts after the first, all throttled.
	works := d.fn.invocations("work")
	if len(works) != 7 {
		t.Errorf("%d worker invocations, want 7 (1 + MaxAttempts 6), all throttled:%s", len(works), d.steps())
	}
	sum := answerOf[handler.SummarizeResult](t, only(t, d, "summarize"))
	want := fmt.Sprintf("%d targets in %d accounts not attempted: %s", (n+1)*2, n+1, strings.Join(members(n), ", "))
	if !sum.Failed || !strings.Contains(sum.Summary, want) || !strings.Contains(sum.Summary, "Lambda.TooManyRequestsException") {
		t.Errorf("summary %q, want it to name %q and Lambda.TooManyRequestsException", sum.Summary, want)
	}
	if runs[0].Status != "FAILED" || !strings.Contains(runs[0].Cause, "not attempted") {
		t.Errorf("execution %+v, want FAILED by its summary", runs[0])
	}
	if len(d.fn.invocations("abort")) != 0 {
		t.Error("the run aborted: a batch's throttling is the summary's to report")
	}
}

func queuedRuns(t *testing.T, e *engine) {
	const n = 30
	d := e.deploy(t, "queued", sim.GenerateOrg(sim.GenerateOptions{Accounts: n}), regionalConfig([]string{"us-east-1", "eu-west-1"}))
	d.storeConfiguration(t)
	for _, id := range []string{"queued-1", "queued-2"} {
		if err := d.deliver(t, d.schedule(t, id)); err != nil {
			t.Fatal(err)
		}
	}
	runs := d.waitAll(t, 3*time.Minute)
	if len(runs) != 2 || runs[0].Status != "SUCCEEDED" || runs[1].Status != "SUCCEEDED" {
		t.Fatalf("executions %+v, want both SUCCEEDED", runs)
	}
	first, second := "schedule-queued-1", "schedule-queued-2"
	var waited bool
	var secondWork, firstSummary time.Time
	for _, inv := range d.fn.invocations("") {
		var p struct {
			Run        string
			BatchInput struct{ Run string }
		}
		_ = json.Unmarshal(inv.Payload, &p)
		run := p.Run + p.BatchInput.Run
		switch {
		case inv.Step == "discover" && run == second:
			if dr := answerOf[handler.DiscoverResult](t, inv); dr.Wait && strings.HasSuffix(dr.Behind, ":"+first) {
				waited = true
			}
		case inv.Step == "work" && run == second && secondWork.IsZero():
			secondWork = inv.At
		case inv.Step == "summarize" && run == first:
			firstSummary = inv.At
		}
	}
	if !waited {
		t.Errorf("the second run never waited behind the first:%s", d.steps())
	}
	if secondWork.Before(firstSummary) {
		t.Errorf("the second run worked at %s, before the first summarized at %s: two runs at once", secondWork, firstSummary)
	}
	// The second run found everything converged.
	sums := d.fn.invocations("summarize")
	if s := answerOf[handler.SummarizeResult](t, sums[len(sums)-1]); s.Failed || !strings.Contains(s.Summary, fmt.Sprintf("%d unchanged", (n+1)*2)) {
		t.Errorf("the second run's summary %+v, want every target unchanged", s)
	}
	noFunctionErrors(t, d)
}

func updateDuringRun(t *testing.T, e *engine) {
	// A schedule run's batches are under way when a stack Update lands,
	// with a second schedule run queued behind it: neither fails, no
	// alarm, and the Update's own run converges the new configuration.
	regions := sim.DefaultRegions()[:3]
	const n = 30
	d := e.deploy(t, "update", sim.GenerateOrg(sim.GenerateOptions{Accounts: n}), regionalConfig(regions))
	d.storeConfiguration(t)
	release, arrived := make(chan struct{}), make(chan struct{}, 1)
	// The blocked worker is let go however the scenario ends, so that a
	// failure reports instead of holding the engine's server open.
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	d.fn.setFault(func(inv invocation) *lambdaFault {
		var b stepfn.Batch
		if inv.Step == "work" && json.Unmarshal(inv.Payload, &b) == nil && b.BatchInput.Run == "schedule-update-1" {
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-release
		}
		return nil
	})
	if err := d.deliver(t, d.schedule(t, "update-1")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(time.Minute):
		t.Fatalf("the first run's batch did not reach its worker within a minute:%s", d.steps())
	}
	if err := d.deliver(t, d.schedule(t, "update-2")); err != nil {
		t.Fatal(err)
	}
	d.waitFor(t, "discover", 2, time.Minute)
	changed := regionalConfig(regions)
	changed.Windows[2].Schedule = "cron(0 4 ? * SAT *)"
	if err := d.deliver(t, d.update(t, changed)); err != nil {
		t.Fatalf("Update's trigger: %v", err)
	}
	free()
	runs := d.waitAll(t, 3*time.Minute)
	if len(runs) != 3 {
		t.Fatalf("%d executions, want 3", len(runs))
	}
	for _, r := range runs {
		if r.Status != "SUCCEEDED" {
			t.Errorf("execution %s ended %s (%s: %s): a run superseded by the stack's Update must not page anyone", r.Name, r.Status, r.Error, r.Cause)
		}
	}
	noFunctionErrors(t, d)
	answers := d.answers(t)
	if len(answers) != 1 || answers[0].Status != cfn.StatusSuccess {
		t.Fatalf("answers %+v, want the Update's SUCCESS", answers)
	}
	// The Update's run changed the window in every target.
	targets := (n + 1) * len(regions)
	if c := answers[0].Data; c["Converged"] != float64(targets) || c["Writes"] == float64(0) {
		t.Errorf("the Update's answer %+v, want %d targets converged with writes", c, targets)
	}
	// The superseded run reported its blocked batch skipped.
	sums := d.fn.invocations("summarize")
	if s := answerOf[handler.SummarizeResult](t, sums[0]); s.Failed || !strings.Contains(s.Summary, "skipped") {
		t.Errorf("the superseded run's summary %+v, want its targets skipped, not failed", s)
	}
}

// sameConfig says whether two configurations' JSON say the same.
func sameConfig(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var ca, cb config.Config
	if err := json.Unmarshal(a, &ca); err != nil {
		t.Fatalf("configuration %.100s: %v", a, err)
	}
	if err := json.Unmarshal(b, &cb); err != nil {
		t.Fatalf("configuration %.100s: %v", b, err)
	}
	ja, _ := ca.JSON()
	jb, _ := cb.JSON()
	return string(ja) == string(jb)
}

// getJSON reads an object of the runs bucket.
func (d *deployment) getJSON(t *testing.T, key string, v any) {
	t.Helper()
	out, err := compliance.NewS3Client(d.e.motoConfig).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", d.bucket, key, err)
	}
	defer out.Body.Close()
	if err := json.NewDecoder(out.Body).Decode(v); err != nil {
		t.Fatalf("s3://%s/%s: %v", d.bucket, key, err)
	}
}
