package stepfn

import (
	"bytes"
	"cmp"
	"context"
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
}

// Discovery is Discover's output: where the items are, how many go in a
// batch, and what every batch shares.
type Discovery struct {
	Run string `json:"run"`
	// ItemsKey is the items file (a JSON array of Item), RecordKey the
	// run's record (the report so far: regions, skipped accounts).
	ItemsKey  string `json:"itemsKey"`
	RecordKey string `json:"recordKey"`
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
		it := Item{Account: a.ID, Ring: a.Ring, Regions: map[reconcile.Mode][]string{}}
		for _, t := range a.Targets {
			it.Regions[t.Mode] = append(it.Regions[t.Mode], t.Region)
		}
		items = append(items, it)
		d.Targets += len(a.Targets)
		widest = max(widest, len(a.Targets))
	}
	d.Accounts = len(items)
	d.MaxItemsPerBatch = env.Sizing.BatchSize(widest, env.Concurrency, env.Reserve)
	if err := putJSON(ctx, store, d.ItemsKey, items); err != nil {
		return Discovery{}, err
	}
	if err := putJSON(ctx, store, d.RecordKey, record{Report: rep}); err != nil {
		return Discovery{}, err
	}
	env.Logger.Info("run discovered", "mode", rep.Mode, "run", in.Run, "accounts", d.Accounts, "targets", d.Targets,
		"skippedAccounts", len(rep.Targets), "maxItemsPerBatch", d.MaxItemsPerBatch)
	return d, nil
}

// Work is the worker step: it converges the targets of one batch and
// returns one record per target. The configurations come from the batch,
// as Discover wrote them (env's Config and Previous are not used), and
// each account gets its item's ring's; like Env.Config they are taken as
// validated: a caller decoding a batch from outside validates them first
// (the handler does). A batch that does not decode is an error naming the
// field, before any AWS call.
func Work(ctx context.Context, env run.Env, b Batch) (BatchResult, error) {
	env, req, err := batchEnv(env, b.BatchInput)
	if err != nil {
		return BatchResult{}, err
	}
	accounts := make([]run.Account, 0, len(b.Items))
	for i, it := range b.Items {
		a, err := account(env.Config, it, b.BatchInput.Named)
		if err != nil {
			return BatchResult{}, fmt.Errorf("batch: Items[%d].%w", i, err)
		}
		accounts = append(accounts, a)
	}
	if env.Logger == nil {
		env.Logger = slog.Default()
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

// batchEnv is env with a batch's configurations, and the batch's request.
// A field that does not decode is an error naming it.
func batchEnv(env run.Env, in BatchInput) (run.Env, run.Request, error) {
	if len(in.Config) == 0 {
		return env, run.Request{}, errors.New("batch: BatchInput.config is missing")
	}
	var cfg config.Config
	if err := decodeStrict(in.Config, &cfg); err != nil {
		return env, run.Request{}, fmt.Errorf("batch: BatchInput.config: %w", err)
	}
	env.Config, env.Previous = cfg, nil
	if present(in.Previous) {
		var prev config.Config
		if err := decodeStrict(in.Previous, &prev); err != nil {
			return env, run.Request{}, fmt.Errorf("batch: BatchInput.previous: %w", err)
		}
		env.Previous = &prev
	}
	if !validMode(in.Mode) {
		return env, run.Request{}, fmt.Errorf("batch: BatchInput.mode %q is not one of %s", in.Mode, modes)
	}
	return env, run.Request{Mode: in.Mode, DryRun: in.DryRun}, nil
}

// account is the account of one item, its targets by mode in the order of
// the modes' names; named says the request named it. An error names the
// item's field (the caller prefixes the item).
func account(cfg config.Config, it Item, named bool) (run.Account, error) {
	if !accountID.MatchString(it.Account) {
		return run.Account{}, fmt.Errorf("account %q is not a 12-digit account id", it.Account)
	}
	if err := cfg.CheckRing(it.Ring); err != nil {
		return run.Account{}, fmt.Errorf("ring: %w", err)
	}
	a := run.Account{ID: it.Account, Ring: it.Ring, Named: named}
	for _, mode := range slices.Sorted(maps.Keys(it.Regions)) {
		if !validMode(mode) {
			return run.Account{}, fmt.Errorf("regions: mode %q is not one of %s", mode, modes)
		}
		for _, region := range it.Regions[mode] {
			a.Targets = append(a.Targets, run.Target{Region: region, Mode: mode})
		}
	}
	return a, nil
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
	var items []Item
	if err := getJSON(ctx, store, in.Discovery.ItemsKey, &items); err != nil {
		return report.Report{}, err
	}
	var m Manifest
	if err := getJSON(ctx, store, in.Map.ResultWriterDetails.Key, &m); err != nil {
		return report.Report{}, err
	}
	rep := rec.Report
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
