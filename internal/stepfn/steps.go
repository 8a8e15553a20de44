package stepfn

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	"github.com/orgpatch/orgpatch/internal/run"
)

// The three steps of a run, with the JSON payloads a Step Functions state
// machine passes between them:
//
//	Discover(DiscoverInput) -> Discovery; writes the work items (accounts,
//	  each with its regions by mode and its ring) and the run's record to the Store
//	Distributed Map over the items, MaxItemsPerBatch at a time:
//	  Work(Batch{Items, BatchInput}) -> BatchResult
//	  ResultWriter: manifest.json and the result files, in the Store
//	Summarize(SummarizeInput{Discovery, Map}) -> report
//
// Run does the same in this process (local.go), with the same payloads.

// Store holds a run's objects: the work items, the run's record, and the
// map's results. Deployed, it is the stack's S3 bucket; in this process, a
// MemoryStore.
type Store interface {
	Put(ctx context.Context, key string, body []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
}

// Item is one account's work, one element of the items file the
// Distributed Map reads: the regions it is converged in, by mode, and its
// ring (omitted for none), whose configuration the worker gives every
// target under the run's configuration.
type Item struct {
	Account string                      `json:"account"`
	Ring    string                      `json:"ring,omitempty"`
	Regions map[reconcile.Mode][]string `json:"regions"`
}

// targets is the number of account x region targets of the item.
func (it Item) targets() int {
	n := 0
	for _, regions := range it.Regions {
		n += len(regions)
	}
	return n
}

// BatchInput is what every batch of a run shares: the ItemBatcher's
// BatchInput. Every field is always present (Previous is null when there is
// none): the state machine copies them one by one, and a JSONPath to a
// missing field fails the execution.
type BatchInput struct {
	Run    string         `json:"run"`
	Mode   reconcile.Mode `json:"mode"`
	DryRun bool           `json:"dryRun"`
	// Named: the request named its accounts (a new account's role is
	// waited for).
	Named bool `json:"named"`
	// Config and Previous are the configurations, as config.Config.JSON.
	Config   json.RawMessage `json:"config"`
	Previous json.RawMessage `json:"previous"`
	// Origin names what started the run for the worker's caller to verify
	// again (the handler: the key of the stored CloudFormation request);
	// "" for none.
	Origin string `json:"origin"`
}

// Batch is what a Distributed Map with an ItemBatcher gives each child
// execution, as AWS documents it: the items and the BatchInput.
type Batch struct {
	Items      []Item     `json:"Items"`
	BatchInput BatchInput `json:"BatchInput"`
}

// BatchResult is a worker's output: one record per target of the batch's
// accounts, account-wide outcomes included. The records carry no actions:
// each target's changes went to Env.OnTarget and the worker's log as it
// finished, so a batch's result stays small whatever changed.
type BatchResult struct {
	Targets []report.Target `json:"targets"`
}

// DiscoverInput asks for a run: env's Config and Previous, in Mode.
type DiscoverInput struct {
	// Run names the run's objects in the Store (the execution's name).
	Run     string      `json:"run"`
	Request run.Request `json:"request"`
	// Origin is BatchInput.Origin.
	Origin string `json:"origin"`
}

// Discovery is Discover's output: where the items are, how many go in a
// batch, and what every batch shares.
type Discovery struct {
	Run string `json:"run"`
	// ItemsKey is the items file (a JSON array of Item), RecordKey the
	// run's record (the report so far: regions, skipped accounts).
	ItemsKey  string `json:"itemsKey"`
	RecordKey string `json:"recordKey"`
	// ItemsSHA256 is the items file's digest, as Discover wrote it: the
	// discovery travels in the execution's own state, out of a bucket
	// writer's reach, and Summarize reads the items only if they still
	// match it.
	ItemsSHA256 string `json:"itemsSha256"`
	// Accounts and Targets count the items and their targets.
	Accounts int `json:"accounts"`
	Targets  int `json:"targets"`
	// MaxItemsPerBatch is the ItemBatcher's batch size (Sizing.BatchSize).
	MaxItemsPerBatch int        `json:"maxItemsPerBatch"`
	BatchInput       BatchInput `json:"batchInput"`
}

// MapOutput is a Distributed Map's output when its ResultWriter exports
// the results: where manifest.json is.
type MapOutput struct {
	MapRunArn           string `json:"MapRunArn"`
	ResultWriterDetails struct {
		Bucket string `json:"Bucket"`
		Key    string `json:"Key"`
	} `json:"ResultWriterDetails"`
}

// Manifest is the manifest.json a ResultWriter writes: the result files by
// the status of their child executions (SUCCEEDED, FAILED, PENDING).
type Manifest struct {
	DestinationBucket string                  `json:"DestinationBucket"`
	MapRunArn         string                  `json:"MapRunArn"`
	ResultFiles       map[string][]ResultFile `json:"ResultFiles"`
}

// ResultFile is one file of a manifest.
type ResultFile struct {
	Key  string `json:"Key"`
	Size int64  `json:"Size"`
}

// ChildResult is one child execution in a result file (a JSON array of
// them): its input and output as JSON strings, its status, and for a failed
// one the error and its cause.
type ChildResult struct {
	ExecutionArn string `json:"ExecutionArn,omitempty"`
	Name         string `json:"Name,omitempty"`
	Input        string `json:"Input"`
	Output       string `json:"Output,omitempty"`
	Status       string `json:"Status"`
	Error        string `json:"Error,omitempty"`
	Cause        string `json:"Cause,omitempty"`
}

// Child execution statuses of a manifest.
const (
	ChildSucceeded = "SUCCEEDED"
	ChildFailed    = "FAILED"
	ChildPending   = "PENDING"
)

// SummarizeInput is the last step's payload: the discovery and the map's
// output.
type SummarizeInput struct {
	Discovery Discovery `json:"discovery"`
	Map       MapOutput `json:"map"`
}

// record is the run's record in the Store: the report's header and the
// account-wide outcomes Discover decided.
type record struct {
	Report report.Report `json:"report"`
}

// Discover is the first step: it decides the run (run.Decide), writes
// the items and the run's record to store and returns where they are. An
// error means no target was decided (the organization or the regions could
// not be read).
func Discover(ctx context.Context, env Env, store Store, in DiscoverInput) (Discovery, error) {
	env = env.withDefaults()
	plan, err := run.Decide(ctx, env.Env, in.Request)
	if err != nil {
		return Discovery{}, err
	}
	rep := plan.Report
	d := Discovery{
		Run:       in.Run,
		ItemsKey:  "runs/" + in.Run + "/items.json",
		RecordKey: "runs/" + in.Run + "/record.json",
		BatchInput: BatchInput{
			Run: in.Run, Mode: reconcile.Mode(rep.Mode), DryRun: rep.DryRun, Named: len(in.Request.Accounts) > 0,
			Origin: in.Origin,
		},
	}
	if d.BatchInput.Config, err = env.Config.JSON(); err != nil {
		return Discovery{}, err
	}
	d.BatchInput.Previous = json.RawMessage("null")
	if env.Previous != nil {
		if d.BatchInput.Previous, err = env.Previous.JSON(); err != nil {
			return Discovery{}, err
		}
	}
	items := make([]Item, 0, len(plan.Accounts))
	widest := 0
	for _, a := range plan.Accounts {
		items = append(items, itemOf(a))
		d.Targets += len(a.Targets)
		widest = max(widest, len(a.Targets))
	}
	d.Accounts = len(items)
	d.MaxItemsPerBatch = env.Sizing.BatchSize(widest, env.Concurrency, env.Reserve)
	body, err := json.Marshal(items)
	if err != nil {
		return Discovery{}, fmt.Errorf("encode %s: %w", d.ItemsKey, err)
	}
	if err := store.Put(ctx, d.ItemsKey, body); err != nil {
		return Discovery{}, fmt.Errorf("write %s: %w", d.ItemsKey, err)
	}
	d.ItemsSHA256 = digest(body)
	if err := putJSON(ctx, store, d.RecordKey, record{Report: rep}); err != nil {
		return Discovery{}, err
	}
	env.Logger.Info("run discovered", "mode", rep.Mode, "run", in.Run, "accounts", d.Accounts, "targets", d.Targets,
		"skippedAccounts", len(rep.Targets), "maxItemsPerBatch", d.MaxItemsPerBatch)
	return d, nil
}

// itemOf is the work item of a decided account.
func itemOf(a run.Account) Item {
	it := Item{Account: a.ID, Ring: a.Ring, Regions: map[reconcile.Mode][]string{}}
	for _, t := range a.Targets {
		it.Regions[t.Mode] = append(it.Regions[t.Mode], t.Region)
	}
	return it
}

// Work is the worker step: it converges the targets of one batch and
// returns one record per target. A worker trusts nothing of the batch but
// its account ids (and how it was asked to run: mode, dry run): env's
// Config and Previous are the run's configurations, which the caller
// establishes itself (the handler: the stored configuration and the
// stack's own previous one), and each account's state, exclusion, ring
// and regions are derived again (run.Decide, Request.Only) from the
// organization and env, as Discover derived them. A batch that says
// anything else (another configuration, a ring, a region or a mode its
// account does not get, an account the run skips) is refused, naming the
// item's field and why, before any write: a batch is either Discover's
// own or nothing is done.
func Work(ctx context.Context, env run.Env, b Batch) (BatchResult, error) {
	req, err := batchRequest(env, b.BatchInput)
	if err != nil {
		return BatchResult{}, err
	}
	ids := make([]string, 0, len(b.Items))
	for i, it := range b.Items {
		if !accountID.MatchString(it.Account) {
			return BatchResult{}, fmt.Errorf("batch: Items[%d].account %.64q is not a 12-digit account id", i, it.Account)
		}
		if err := env.Config.CheckRing(it.Ring); err != nil {
			return BatchResult{}, fmt.Errorf("batch: Items[%d].ring: %w", i, err)
		}
		ids = append(ids, it.Account)
	}
	if env.Logger == nil {
		env.Logger = slog.Default()
	}
	plan, err := run.Decide(ctx, env, run.Request{Mode: req.Mode, DryRun: req.DryRun, Only: ids})
	if err != nil {
		return BatchResult{}, fmt.Errorf("batch: derive its accounts: %w", err)
	}
	accounts, err := matching(plan, b)
	if err != nil {
		return BatchResult{}, err
	}
	env.Logger.Info("batch started", "mode", string(req.Mode), "run", b.BatchInput.Run, "accounts", len(accounts))
	res := BatchResult{Targets: run.Converge(ctx, env, req, accounts)}
	for i := range res.Targets {
		if !FitRecord(&res.Targets[i], DefaultTargetResultBytes) {
			return BatchResult{}, fmt.Errorf("batch: the record of %s does not fit %d bytes", res.Targets[i].Name(), DefaultTargetResultBytes)
		}
	}
	return res, nil
}

// Superseded is the result of a batch whose run no longer carries the
// stack's configuration (a stack Update landed during the run): every
// target of its items skipped with reason, nothing read or written. The
// update's own run, which waits its turn behind this one, converges them.
func Superseded(b Batch, reason string) BatchResult {
	var res BatchResult
	for _, it := range b.Items {
		for _, mode := range slices.Sorted(maps.Keys(it.Regions)) {
			for _, region := range it.Regions[mode] {
				res.Targets = append(res.Targets, report.Target{Account: it.Account, Region: region, Mode: string(mode),
					Ring: it.Ring, Status: report.Skipped, Reason: reason})
			}
		}
	}
	return res
}

// matching is plan's accounts when every item of b is exactly what plan
// derived for its account, in the items' order; otherwise an error naming
// the first item that is not, and why.
func matching(plan run.Plan, b Batch) ([]run.Account, error) {
	derived := make(map[string]run.Account, len(plan.Accounts))
	for _, a := range plan.Accounts {
		derived[a.ID] = a
	}
	skipped := map[string]string{}
	for _, t := range plan.Report.Targets {
		skipped[t.Account] = t.Reason
	}
	out := make([]run.Account, 0, len(b.Items))
	for i, it := range b.Items {
		a, ok := derived[it.Account]
		switch want := itemOf(a); {
		case !ok:
			return nil, fmt.Errorf("batch refused: Items[%d]: account %s gets nothing in this run (%s)", i, it.Account, cmp.Or(skipped[it.Account], "not decided"))
		case it.Ring != want.Ring:
			return nil, fmt.Errorf("batch refused: Items[%d].ring %.64q is not account %s's ring (%s)", i, it.Ring, it.Account, cmp.Or(want.Ring, "none"))
		case !sameRegions(it.Regions, want.Regions):
			return nil, fmt.Errorf("batch refused: Items[%d].regions %v are not what account %s gets in this run (%v)", i, it.Regions, it.Account, want.Regions)
		}
		a.Named = b.BatchInput.Named
		out = append(out, a)
	}
	return out, nil
}

// sameRegions says whether a and b hold the same regions in each mode, in
// any order.
func sameRegions(a, b map[reconcile.Mode][]string) bool {
	norm := func(m map[reconcile.Mode][]string) map[reconcile.Mode][]string {
		out := map[reconcile.Mode][]string{}
		for mode, regions := range m {
			if len(regions) > 0 {
				out[mode] = slices.Sorted(slices.Values(regions))
			}
		}
		return out
	}
	return maps.EqualFunc(norm(a), norm(b), slices.Equal)
}

// batchRequest is the batch's request (mode, dry run), once its
// configurations are found to be env's. A field that does not decode, or
// a configuration that is not env's, is an error naming it.
func batchRequest(env run.Env, in BatchInput) (run.Request, error) {
	if !validMode(in.Mode) {
		return run.Request{}, fmt.Errorf("batch: BatchInput.mode %.64q is not one of %s", in.Mode, modes)
	}
	if !present(in.Config) {
		return run.Request{}, errors.New("batch: BatchInput.config is missing")
	}
	want, err := env.Config.JSON()
	if err != nil {
		return run.Request{}, err
	}
	if err := sameConfig("BatchInput.config", in.Config, want, "the run's configuration"); err != nil {
		return run.Request{}, err
	}
	wantPrev := json.RawMessage("null")
	if env.Previous != nil {
		if wantPrev, err = env.Previous.JSON(); err != nil {
			return run.Request{}, err
		}
	}
	if err := sameConfig("BatchInput.previous", in.Previous, wantPrev, "the stack's previous configuration"); err != nil {
		return run.Request{}, err
	}
	return run.Request{Mode: in.Mode, DryRun: in.DryRun}, nil
}

// sameConfig says whether raw (a configuration, or null) is want, as
// config.Config.JSON writes it; the error names field and what it should
// have been.
func sameConfig(field string, raw, want json.RawMessage, what string) error {
	got := json.RawMessage("null")
	if present(raw) {
		var cfg config.Config
		if err := decodeStrict(raw, &cfg); err != nil {
			return fmt.Errorf("batch: %s: %w", field, err)
		}
		var err error
		if got, err = cfg.JSON(); err != nil {
			return err
		}
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("batch refused: %s is not %s", field, what)
	}
	return nil
}

// modes are the modes a batch takes, as its errors name them.
var modes = strings.Join([]string{string(reconcile.Converge), string(reconcile.RemoveKeepSettings), string(reconcile.RemoveAndReset)}, ", ")

func validMode(m reconcile.Mode) bool {
	return m == reconcile.Converge || m == reconcile.RemoveKeepSettings || m == reconcile.RemoveAndReset
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// Summarize is the last step: it reads the run's record, the items and
// the map's results, and returns the report of the whole run. Every item's
// targets are in it: a target that no successful batch reported (its batch
// failed, or never ran) is not started, and a report with any target not
// started fails with a NotAttemptedError naming the accounts.
func Summarize(ctx context.Context, env run.Env, store Store, in SummarizeInput) (report.Report, error) {
	var rec record
	if err := getJSON(ctx, store, in.Discovery.RecordKey, &rec); err != nil {
		return report.Report{}, err
	}
	items, err := discovered(ctx, store, in.Discovery)
	if err != nil {
		return report.Report{}, err
	}
	var m Manifest
	if err := getJSON(ctx, store, in.Map.ResultWriterDetails.Key, &m); err != nil {
		return report.Report{}, err
	}
	rep := rec.Report
	discoveredAccount := make(map[string]bool, len(items))
	for _, it := range items {
		discoveredAccount[it.Account] = true
	}
	reported := map[string]bool{} // accounts some successful batch reported
	why := map[string]string{}    // why an account's batch did not succeed
	for _, status := range slices.Sorted(maps.Keys(m.ResultFiles)) {
		for _, f := range m.ResultFiles[status] {
			var children []ChildResult
			if err := getJSON(ctx, store, f.Key, &children); err != nil {
				return report.Report{}, err
			}
			for i, c := range children {
				if c.Status == ChildSucceeded {
					var res BatchResult
					if err := json.Unmarshal([]byte(c.Output), &res); err != nil {
						return report.Report{}, fmt.Errorf("result file %s: [%d].Output: %w", f.Key, i, err)
					}
					for _, t := range res.Targets {
						if !discoveredAccount[t.Account] {
							return report.Report{}, fmt.Errorf("result file %s: [%d] reports account %.64q, which the run did not discover", f.Key, i, t.Account)
						}
						reported[t.Account] = true
					}
					rep.Targets = append(rep.Targets, res.Targets...)
					continue
				}
				var b Batch
				if err := json.Unmarshal([]byte(c.Input), &b); err != nil {
					return report.Report{}, fmt.Errorf("result file %s: [%d].Input: %w", f.Key, i, err)
				}
				reason := "batch " + strings.ToLower(c.Status)
				if c.Error != "" {
					reason += ": " + c.Error
				}
				if c.Cause != "" {
					reason += ": " + oneLine(c.Cause, 200)
				}
				for _, it := range b.Items {
					why[it.Account] = reason
				}
			}
		}
	}
	for _, it := range items {
		if reported[it.Account] {
			continue
		}
		reason := cmp.Or(why[it.Account], "in no batch result")
		for mode, regions := range it.Regions {
			for _, region := range regions {
				rep.Targets = append(rep.Targets, report.Target{Account: it.Account, Region: region, Mode: string(mode),
					Status: report.NotStarted, Reason: reason})
			}
		}
	}
	run.Complete(env, &rep)
	return rep, nil
}

// discovered reads the items file of d, refusing one that is not what
// Discover wrote (its digest, in d, differs): the run's coverage is
// decided by Discover, not by whoever can write to the Store.
func discovered(ctx context.Context, store Store, d Discovery) ([]Item, error) {
	body, err := store.Get(ctx, d.ItemsKey)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", d.ItemsKey, err)
	}
	if got := digest(body); got != d.ItemsSHA256 {
		return nil, fmt.Errorf("%s is not the items Discover wrote (SHA-256 %s, want %s): it was changed after discovery; the run's report cannot be trusted", d.ItemsKey, got, cmp.Or(d.ItemsSHA256, "none given"))
	}
	var items []Item
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("decode %s: %w", d.ItemsKey, err)
	}
	return items, nil
}

// digest is the hex SHA-256 of b.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// present says whether raw holds a value (not nothing, not null).
func present(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// decodeStrict decodes one JSON value into v; a field v does not have is
// an error.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "..."
	}
	return s
}

func putJSON(ctx context.Context, store Store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := store.Put(ctx, key, b); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

func getJSON(ctx context.Context, store Store, key string, v any) error {
	b, err := store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}
