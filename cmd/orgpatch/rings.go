package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/names"
	"github.com/orgpatch/orgpatch/internal/promotion"
	runs "github.com/orgpatch/orgpatch/internal/run"
)

const (
	ringsSummary   = "show each ring's patch set, who gave it and why, its hold, its gate's figures now and what the next scheduled run will do"
	promoteSummary = "give a ring the earlier ring's set now (or, with --cutoff, what was released up to a date), recorded with who and why"
	holdSummary    = "hold a ring at its set until a person promotes it, recorded with who and why"
)

// promotionFlags are the flags of rings, promote and hold (and plan's and
// apply's runs bucket); the connection flags are converge's.
type promotionFlags struct {
	conn        convergeFlags
	runsBucket  string
	bucketOwner string
	topic       string
	json        bool
	reason      string
	cutoff      string
}

// registerState registers where the promotion state is: the runs bucket
// and its owner.
func (f *promotionFlags) registerState(fs *flagSet) {
	fs.StringVar(&f.runsBucket, "runs-bucket", os.Getenv(names.EnvRunsBucket), "`bucket` holding the promotion state ("+promotion.StateKey+"), the function's "+names.EnvRunsBucket+"; with --endpoint and none, "+simRunsBucket)
	fs.StringVar(&f.bucketOwner, "bucket-owner", "", "`account` expected to own the runs bucket; the caller's account when empty")
}

func (f *promotionFlags) register(fs *flagSet, verb string) {
	f.conn.registerConnection(fs, "configuration `file` (JSON or YAML) with the rings and their promotion; the default configuration (no rings) when empty", compliance.DefaultConcurrency)
	f.registerState(fs)
	switch verb {
	case "rings":
		fs.BoolVar(&f.json, "json", false, "print the rings as JSON instead of the table")
	default:
		fs.StringVar(&f.reason, "reason", "", "why, in `TEXT`, recorded with who (required)")
		fs.StringVar(&f.topic, "alarm-topic", os.Getenv(names.EnvAlarmTopicARN), "SNS topic `ARN` the event also goes to, as the function's alarm topic ("+names.EnvAlarmTopicARN+"); none when empty")
		if verb == "promote" {
			fs.StringVar(&f.cutoff, "cutoff", "", "promote to the patches released up to `DATE` (YYYY-MM-DD) instead of the earlier ring's set")
		}
	}
}

var topicARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// checkState checks the state flags, before any AWS call.
func (f *promotionFlags) checkState() error {
	switch {
	case f.runsBucket == "" && f.conn.endpoint == "":
		return fmt.Errorf("--runs-bucket: required: the stack's runs bucket, which holds %s (or set %s)", promotion.StateKey, names.EnvRunsBucket)
	case f.runsBucket != "" && !bucketName.MatchString(f.runsBucket):
		return fmt.Errorf("--runs-bucket %q: want an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-'", f.runsBucket)
	case f.bucketOwner != "" && !accountIDPattern.MatchString(f.bucketOwner):
		return fmt.Errorf("--bucket-owner %q: want a 12-digit account id", f.bucketOwner)
	case f.topic != "" && !topicARNPattern.MatchString(f.topic):
		return fmt.Errorf("--alarm-topic %q: want an SNS topic ARN such as arn:aws:sns:us-east-1:111111111111:orgpatch-alarms", f.topic)
	}
	return nil
}

// promotionEnv is what rings, promote, hold and plan use once the flags
// have been checked: the state's store and who the caller is.
type promotionEnv struct {
	settings
	store promotion.S3Store
	who   string
}

// open finds the caller (STS GetCallerIdentity: its ARN is who, its
// account the bucket's owner unless --bucket-owner says otherwise) and the
// state's bucket (with --endpoint and none named, the simulator's, made
// there as invoke makes it).
func (f *promotionFlags) open(ctx context.Context, s settings) (promotionEnv, error) {
	e := promotionEnv{settings: s}
	id, err := sts.NewFromConfig(s.mgmt).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return e, fmt.Errorf("who is calling (STS GetCallerIdentity): %w", err)
	}
	e.who = aws.ToString(id.Arn)
	owner := f.bucketOwner
	if owner == "" {
		owner = aws.ToString(id.Account)
	}
	bucket := f.runsBucket
	if bucket == "" {
		if bucket, err = simBucket(ctx, s.mgmt, "", simRunsBucket); err != nil {
			return e, err
		}
	}
	e.store = promotion.S3Store{API: compliance.NewS3Client(s.mgmt), Bucket: bucket, Owner: owner}
	return e, nil
}

// measure reads what the next scheduled run decides on: the earlier
// rings' nodes (one compliance collection) and the gates' alarms. The
// pairs it could not read are named on stderr: their nodes are missing
// from the figures.
func (e promotionEnv) measure(ctx context.Context, concurrency int, verbose bool, stderr io.Writer, now time.Time) (promotion.Inputs, bool, error) {
	logger := slog.New(slog.DiscardHandler)
	if verbose {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	m, err := promotion.ReadInputs(ctx, compliance.Env{Management: e.mgmt, Concurrency: concurrency, Logger: logger, Now: func() time.Time { return now }},
		cloudwatch.NewFromConfig(e.mgmt), e.cfg, e.who, now)
	if err != nil {
		return m.Inputs, false, fmt.Errorf("measure the earlier rings: %w", err)
	}
	for _, u := range m.Unread {
		fmt.Fprintf(stderr, "not read, its nodes are missing from the gate's figures: %s\n", u)
	}
	return m.Inputs, len(m.Unread) == 0, nil
}

// promotionCmd parses and checks a promotion command's flags and
// operands (RING for promote and hold), reporting bad input before any AWS
// call; it returns the checked flags, the settings and the ring, or the
// exit code.
func promotionCmd(ctx context.Context, verb, summary string, args []string, stdout, stderr io.Writer) (*promotionFlags, settings, string, int) {
	var f promotionFlags
	operands := " RING"
	if verb == "rings" {
		operands = ""
	}
	fs := newFlagSet(verb, operands, summary, stdout)
	f.register(fs, verb)
	// Flags may come before or after the ring.
	var ops []string
	for rest := args; ; {
		if code, ok := parse(fs, rest, stderr); !ok {
			return nil, settings{}, "", code
		}
		if fs.NArg() == 0 {
			break
		}
		ops, rest = append(ops, fs.Arg(0)), fs.Args()[1:]
	}
	fail := func(err error) (*promotionFlags, settings, string, int) {
		fmt.Fprintf(stderr, "orgpatch %s: %v\n", verb, err)
		return nil, settings{}, "", 2
	}
	switch {
	case verb == "rings" && len(ops) > 0:
		return fail(fmt.Errorf("unexpected argument %q (see orgpatch rings -h)", ops[0]))
	case verb != "rings" && len(ops) > 1:
		return fail(fmt.Errorf("want one RING, got %d: %s (usage: orgpatch %s RING --reason TEXT)", len(ops), strings.Join(ops, " "), verb))
	}
	if err := f.checkState(); err != nil {
		return fail(err)
	}
	f.conn.output = "text" // converge's check of its own --output
	s, err := f.conn.validate(ctx)
	if err != nil {
		return fail(err)
	}
	ring := ""
	if len(ops) == 1 {
		ring = ops[0]
	}
	switch verb {
	case "promote":
		err = promotion.CheckPromote(s.cfg, ring, f.cutoff, f.reason, time.Now())
	case "hold":
		err = promotion.CheckHold(s.cfg, ring, f.reason)
	}
	if err != nil {
		return fail(err)
	}
	return &f, s, ring, 0
}

func ringsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, s, _, code := promotionCmd(ctx, "rings", ringsSummary, args, stdout, stderr)
	if f == nil {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "orgpatch rings: %v\n", err)
		return 1
	}
	e, err := f.open(ctx, s)
	if err != nil {
		return fail(err)
	}
	st, _, err := e.store.Load(ctx)
	if err != nil {
		return fail(err)
	}
	now := time.Now()
	in, complete, err := e.measure(ctx, f.conn.concurrency, f.conn.verbose, stderr, now)
	if err != nil {
		return fail(err)
	}
	views := promotion.View(s.cfg, st, in)
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(views)
	} else {
		err = promotion.WriteText(stdout, s.cfg, views)
	}
	if err != nil {
		return fail(err)
	}
	if !complete {
		return 1
	}
	return 0
}

func promoteCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return overrideCmd(ctx, "promote", promoteSummary, args, stdout, stderr)
}

func holdCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return overrideCmd(ctx, "hold", holdSummary, args, stdout, stderr)
}

// overrideCmd is promote and hold: a person's decision, made on the state
// as stored (and again if the schedule saved in between), saved with a
// conditional write and published as the function's are.
func overrideCmd(ctx context.Context, verb, summary string, args []string, stdout, stderr io.Writer) int {
	f, s, ring, code := promotionCmd(ctx, verb, summary, args, stdout, stderr)
	if f == nil {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "orgpatch %s: %v\n", verb, err)
		return 1
	}
	e, err := f.open(ctx, s)
	if err != nil {
		return fail(err)
	}
	pub := promotion.Publisher{Events: eventbridge.NewFromConfig(s.mgmt), Topic: sns.NewFromConfig(s.mgmt), TopicARN: f.topic}
	var before promotion.State
	st, d, err := promotion.Override(ctx, e.store, pub, s.cfg, func(st promotion.State) (promotion.Decision, error) {
		before = st
		if verb == "hold" {
			return promotion.HoldRing(s.cfg, st, ring, f.reason, e.who, time.Now())
		}
		return promotion.PromoteRing(s.cfg, st, ring, f.cutoff, f.reason, e.who, time.Now())
	})
	if d.Ring == "" {
		return fail(err) // nothing was decided, nothing saved
	}
	switch d.Kind {
	case promotion.HoldKind:
		fmt.Fprintf(stdout, "%s held at %s\n", ring, d.From)
	default:
		fmt.Fprintf(stdout, "%s: %s -> %s\n", ring, d.From, d.To)
	}
	fmt.Fprintf(stdout, "  by:  %s\n  why: %s\n", d.By, d.Reason)
	was, werr := promotion.Pin(s.cfg, before)
	now, nerr := promotion.Pin(s.cfg, st)
	if werr == nil && nerr == nil {
		changes := pinChanges(was, now, ring)
		if len(changes) == 0 {
			changes = []string{"none"}
		}
		fmt.Fprintf(stdout, "  baselines at the next converge: %s\n", strings.Join(changes, "; "))
	}
	if err != nil {
		// Saved, but its event did not go out: the next scheduled run
		// sends it.
		return fail(err)
	}
	fmt.Fprintf(stdout, "  event: %s on the default event bus%s\n", map[promotion.Kind]string{promotion.Promote: promotion.DetailPromoted,
		promotion.StartCycle: promotion.DetailCycleStart, promotion.HoldKind: promotion.DetailHeld}[d.Kind], map[bool]string{true: " and " + f.topic}[f.topic != ""])
	return 0
}

// pinChanges lists how ring's baselines differ between the configuration
// before and after, in the words of the configuration file: "orgpatch-al2
// approveUntilDate 2026-11-02 -> 2026-11-16".
func pinChanges(before, after config.Config, ring string) []string {
	was, _ := before.ForRing(ring)
	now, _ := after.ForRing(ring)
	var out []string
	for _, b := range now.Baselines {
		i := slices.IndexFunc(was.Baselines, func(o config.Baseline) bool { return o.Name == b.Name })
		old := "(none)"
		if i >= 0 {
			old = approval(was.Baselines[i])
		}
		if n := approval(b); n != old {
			out = append(out, b.Name+" "+old+" -> "+n)
		}
	}
	return out
}

// approval is what a baseline approves: its rules' delay or cut-off, or
// its list.
func approval(b config.Baseline) string {
	var parts []string
	for _, r := range b.ApprovalRules {
		switch {
		case r.ApproveUntilDate != "":
			parts = append(parts, "approveUntilDate "+r.ApproveUntilDate)
		case r.ApproveAfterDays != nil:
			parts = append(parts, fmt.Sprintf("approveAfterDays %d", *r.ApproveAfterDays))
		}
	}
	if len(b.ApprovedPatches) > 0 || len(b.ApprovalRules) == 0 {
		parts = append(parts, fmt.Sprintf("approvedPatches %d ids", len(b.ApprovedPatches)))
	}
	return strings.Join(parts, ", ")
}

// pending is what the next scheduled run pins, per ring of a chain: the
// configuration it converges to (promotion.Next) and one line per ring,
// "prod: orgpatch-al2 approveUntilDate 2026-11-02 -> 2026-11-16 (promote:
// prod's gate held: ...)", against the baselines as pinned now.
func pending(cfg config.Config, st promotion.State, in promotion.Inputs) (config.Config, []string, error) {
	now, err := promotion.Pin(cfg, st)
	if err != nil {
		return config.Config{}, nil, err
	}
	next, err := promotion.Next(cfg, st, in)
	if err != nil {
		return config.Config{}, nil, err
	}
	var lines []string
	for _, v := range promotion.View(cfg, st, in) {
		if v.Follows == "" && cfg.Follower(v.Ring) == "" {
			continue
		}
		changes := strings.Join(pinChanges(now, next, v.Ring), "; ")
		if changes == "" {
			changes = "no change"
		}
		lines = append(lines, fmt.Sprintf("%s: %s (%s: %s)", v.Ring, changes, v.Next.Kind, v.Next.Reason))
	}
	return next, lines, nil
}

// planPromotion reads the promotion state and the gates' inputs, pins env
// to what the next scheduled run converges to and returns plan's lines
// per ring.
func planPromotion(ctx context.Context, f *promotionFlags, s settings, env *runs.Env, concurrency int, verbose bool, stderr io.Writer) ([]string, error) {
	e, err := f.open(ctx, s)
	if err != nil {
		return nil, err
	}
	st, _, err := e.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	in, _, err := e.measure(ctx, concurrency, verbose, stderr, time.Now())
	if err != nil {
		return nil, err
	}
	next, lines, err := pending(s.cfg, st, in)
	if err != nil {
		return nil, err
	}
	env.Pinned = &next
	return lines, nil
}
