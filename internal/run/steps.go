package run

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/fleet"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
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
// Run does the same in this process (local.go): no second implementation.

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
	Run     string  `json:"run"`
	Request Request `json:"request"`
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

// Discover is the first step: it reads the regions and the organization,
// decides what every account gets (converge here, remove there), writes the
// items and the run's record to store and returns where they are. An error
// means no target was decided (the organization or the regions could not be
// read).
func Discover(ctx context.Context, env Env, store Store, in DiscoverInput) (Discovery, error) {
	r := newRunner(env, in.Request)
	rep := report.Report{Mode: string(r.req.Mode), DryRun: r.req.DryRun, Started: r.env.Clock.Now()}
	accounts, err := r.discover(ctx, &rep)
	if err != nil {
		return Discovery{}, err
	}
	d := Discovery{
		Run:       in.Run,
		ItemsKey:  "runs/" + in.Run + "/items.json",
		RecordKey: "runs/" + in.Run + "/record.json",
		BatchInput: BatchInput{
			Run: in.Run, Mode: r.req.Mode, DryRun: r.req.DryRun, Named: len(r.req.Accounts) > 0,
		},
	}
	if d.BatchInput.Config, err = r.env.Config.JSON(); err != nil {
		return Discovery{}, err
	}
	d.BatchInput.Previous = json.RawMessage("null")
	if r.env.Previous != nil {
		if d.BatchInput.Previous, err = r.env.Previous.JSON(); err != nil {
			return Discovery{}, err
		}
	}
	items := make([]Item, 0, len(accounts))
	widest := 0
	for _, a := range accounts {
		rep.Targets = append(rep.Targets, a.outcomes...)
		if len(a.work) == 0 {
			continue
		}
		it := Item{Account: a.ID, Regions: map[reconcile.Mode][]string{}}
		for _, w := range a.work {
			it.Regions[w.mode] = append(it.Regions[w.mode], w.region)
			it.Ring = cmp.Or(it.Ring, w.ring)
		}
		items = append(items, it)
		d.Targets += len(a.work)
		widest = max(widest, len(a.work))
	}
	d.Accounts = len(items)
	d.MaxItemsPerBatch = r.env.Sizing.BatchSize(widest, r.env.Concurrency, r.env.Reserve)
	if err := putJSON(ctx, store, d.ItemsKey, items); err != nil {
		return Discovery{}, err
	}
	if err := putJSON(ctx, store, d.RecordKey, record{Report: rep}); err != nil {
		return Discovery{}, err
	}
	r.log.Info("run discovered", "run", in.Run, "accounts", d.Accounts, "targets", d.Targets,
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
func Work(ctx context.Context, env Env, b Batch) (BatchResult, error) {
	r, err := batchRunner(env, b.BatchInput)
	if err != nil {
		return BatchResult{}, err
	}
	accounts := make([]*account, 0, len(b.Items))
	for i, it := range b.Items {
		a, err := r.item(it, b.BatchInput.Named)
		if err != nil {
			return BatchResult{}, fmt.Errorf("batch: Items[%d].%w", i, err)
		}
		accounts = append(accounts, a)
	}
	r.log.Info("batch started", "run", b.BatchInput.Run, "accounts", len(accounts))
	res := BatchResult{Targets: r.work(ctx, accounts)}
	limit := r.env.Sizing.TargetResultBytes
	for i := range res.Targets {
		if !FitRecord(&res.Targets[i], limit) {
			return BatchResult{}, fmt.Errorf("batch: the record of %s does not fit %d bytes", res.Targets[i].Name(), limit)
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

// batchRunner is the runner of a batch's shared input: its configurations
// and request. A field that does not decode is an error naming it.
func batchRunner(env Env, in BatchInput) (*runner, error) {
	if len(in.Config) == 0 {
		return nil, errors.New("batch: BatchInput.config is missing")
	}
	var cfg config.Config
	if err := decodeStrict(in.Config, &cfg); err != nil {
		return nil, fmt.Errorf("batch: BatchInput.config: %w", err)
	}
	env.Config, env.Previous = cfg, nil
	if present(in.Previous) {
		var prev config.Config
		if err := decodeStrict(in.Previous, &prev); err != nil {
			return nil, fmt.Errorf("batch: BatchInput.previous: %w", err)
		}
		env.Previous = &prev
	}
	if !validMode(in.Mode) {
		return nil, fmt.Errorf("batch: BatchInput.mode %q is not one of %s", in.Mode, modes)
	}
	return newRunner(env, Request{Mode: in.Mode, DryRun: in.DryRun}), nil
}

// item is the account of one item with its targets, each to the
// configuration configFor gives it; named says the request named it. An
// error names the item's field (the caller prefixes the item).
func (r *runner) item(it Item, named bool) (*account, error) {
	if !accountID.MatchString(it.Account) {
		return nil, fmt.Errorf("account %q is not a 12-digit account id", it.Account)
	}
	if err := r.env.Config.CheckRing(it.Ring); err != nil {
		return nil, fmt.Errorf("ring: %w", err)
	}
	a := &account{Account: fleet.Account{ID: it.Account}, named: named}
	for _, mode := range slices.Sorted(maps.Keys(it.Regions)) {
		if !validMode(mode) {
			return nil, fmt.Errorf("regions: mode %q is not one of %s", mode, modes)
		}
		cfg, ring := r.configFor(mode, it.Ring)
		for _, region := range it.Regions[mode] {
			a.work = append(a.work, target{account: it.Account, region: region, mode: mode, cfg: cfg, ring: ring})
		}
	}
	return a, nil
}

// modes are the modes a batch takes, as its errors name them.
var modes = strings.Join([]string{string(reconcile.Converge), string(reconcile.Remove), string(reconcile.Teardown)}, ", ")

func validMode(m reconcile.Mode) bool {
	return m == reconcile.Converge || m == reconcile.Remove || m == reconcile.Teardown
}

var accountID = regexp.MustCompile(`^[0-9]{12}$`)

// NotAttemptedError is a run's failure to attempt every target: the
// accounts it names keep whatever they had, for the reasons Why names (a
// batch's error and its cause, at most maxWhy of them).
type NotAttemptedError struct {
	Accounts []string
	Targets  int
	Why      []string
}

// maxWhy bounds the distinct reasons a NotAttemptedError names.
const maxWhy = 3

// maxNamed bounds the accounts an error message names; the report names
// every target.
const maxNamed = 50

func (e *NotAttemptedError) Error() string {
	names := e.Accounts
	more := ""
	if len(names) > maxNamed {
		names, more = names[:maxNamed], fmt.Sprintf(" and %d more", len(e.Accounts)-maxNamed)
	}
	why := ""
	if len(e.Why) > 0 {
		why = " (" + strings.Join(e.Why, "; ") + ")"
	}
	return fmt.Sprintf("%d targets in %d accounts not attempted: %s%s%s", e.Targets, len(e.Accounts), strings.Join(names, ", "), more, why)
}

// Summarize is the last step: it reads the run's record, the items and
// the map's results, and returns the report of the whole run. Every item's
// targets are in it: a target that no successful batch reported (its batch
// failed, or never ran) is not started, and a report with any target not
// started fails with a NotAttemptedError naming the accounts.
func Summarize(ctx context.Context, env Env, store Store, in SummarizeInput) (report.Report, error) {
	env = env.withDefaults()
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
	slices.SortStableFunc(rep.Targets, func(a, b report.Target) int {
		return cmp.Or(strings.Compare(a.Account, b.Account), strings.Compare(a.Region, b.Region))
	})
	rep.Tally()
	if rep.Counts.NotStarted > 0 {
		na := &NotAttemptedError{Targets: rep.Counts.NotStarted}
		for _, t := range rep.Targets {
			if t.Status == report.NotStarted && !slices.Contains(na.Accounts, t.Account) {
				na.Accounts = append(na.Accounts, t.Account)
				if len(na.Why) < maxWhy && t.Reason != "" && !slices.Contains(na.Why, t.Reason) {
					na.Why = append(na.Why, t.Reason)
				}
			}
		}
		rep.Fail(na)
	}
	rep.Duration = env.Clock.Now().Sub(rep.Started)
	c := rep.Counts
	env.Logger.Info("run finished", "mode", rep.Mode, "targets", c.Targets, "willChange", c.WillChange, "noChange", c.NoChange, "converged", c.Converged,
		"unchanged", c.Unchanged, "failed", c.Failed, "skipped", c.Skipped, "pending", c.Pending,
		"notStarted", c.NotStarted, "writes", c.Writes, "duration", rep.Duration)
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
