package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/handler"
	"github.com/orgpatch/orgpatch/internal/promotion"
	"github.com/orgpatch/orgpatch/internal/reconcile"
	"github.com/orgpatch/orgpatch/internal/report"
	runs "github.com/orgpatch/orgpatch/internal/run"
)

const (
	planSummary     = "show what apply would change in each account x region; changes nothing"
	applySummary    = "converge the organization to the configuration and print the report"
	teardownSummary = "delete every window orgpatch owns and reset DHMC (asks first)"
)

// stdin is where teardown reads its confirmation, and stdinIsTerminal says
// whether a person can type it there; tests replace both.
var (
	stdin           io.Reader = os.Stdin
	stdinIsTerminal           = func() bool { return isTerminal(os.Stdin) }
)

// isTerminal reports whether f is a character device. /dev/null is one too,
// which is harmless here: a confirmation read from it is empty, not "yes".
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// convergeFlags are the flags plan, apply and teardown share.
type convergeFlags struct {
	endpoint, configFile, region, accounts, output, parameter string
	concurrency                                               int
	verbose, yes                                              bool
}

func (f *convergeFlags) register(fs *flagSet, teardown bool) {
	fs.StringVar(&f.endpoint, "endpoint", "", "`URL` of an AWS-compatible endpoint for every service (a simulator); AWS itself when empty")
	fs.StringVar(&f.configFile, "config", "", "configuration `file` (JSON or YAML); the default configuration (the SRA windows) when empty")
	fs.StringVar(&f.region, "region", "", "home `region` of the management account; AWS_REGION when empty")
	fs.StringVar(&f.accounts, "accounts", "", "comma list of account `ids` to work on; the whole organization when empty")
	fs.IntVar(&f.concurrency, "concurrency", runs.DefaultConcurrency, "account x region targets worked on at once, and API calls in flight (1..1000)")
	fs.StringVar(&f.output, "output", "text", "report `format`: text or json")
	fs.BoolVar(&f.verbose, "v", false, "log every target as JSON lines on stderr")
	if !teardown {
		fs.StringVar(&f.parameter, "config-parameter", handler.DefaultConfigParameter,
			"SSM `parameter` holding the deployed configuration: where it applied and --config no longer does (dropped regions, newly excluded accounts) is torn down, as a CloudFormation Update does; \"\" for none")
	}
	if teardown {
		fs.BoolVar(&f.yes, "yes", false, "tear down without asking (required when stdin is not a terminal)")
	}
}

// registerConnection registers the flags of a command that reads the
// organization without converging it (report, rings, promote, hold):
// where AWS is, the configuration file (configHelp), how many targets are
// read at once and the log.
func (f *convergeFlags) registerConnection(fs *flagSet, configHelp string, concurrency int) {
	fs.StringVar(&f.endpoint, "endpoint", "", "`URL` of an AWS-compatible endpoint for every service (a simulator); AWS itself when empty")
	fs.StringVar(&f.configFile, "config", "", configHelp)
	fs.StringVar(&f.region, "region", "", "home `region` of the management account; AWS_REGION when empty")
	fs.IntVar(&f.concurrency, "concurrency", concurrency, "account x region targets read at once, and API calls in flight (1..1000)")
	fs.BoolVar(&f.verbose, "v", false, "log every target as JSON lines on stderr")
}

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// settings is what a run needs once the flags and the configuration file
// have been checked.
type settings struct {
	cfg      config.Config
	previous *config.Config // the deployed configuration, nil when none
	accounts []string
	mgmt     aws.Config
}

// validate checks every flag and the configuration file before any AWS
// call, and loads the management account's configuration.
func (f *convergeFlags) validate(ctx context.Context) (settings, error) {
	var s settings
	switch f.output {
	case "text", "json":
	default:
		return s, fmt.Errorf("--output %q: want text or json", f.output)
	}
	if f.concurrency < 1 || f.concurrency > 1000 {
		return s, fmt.Errorf("--concurrency %d: want a whole number from 1 to 1000", f.concurrency)
	}
	if f.endpoint != "" {
		u, err := url.Parse(f.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("--endpoint %q: want an http:// or https:// URL with a host", f.endpoint)
		}
	}
	if f.region != "" && !regionPattern.MatchString(f.region) {
		return s, fmt.Errorf("--region %q: want a region name such as us-east-1", f.region)
	}
	if f.accounts != "" {
		for _, id := range strings.Split(f.accounts, ",") {
			id = strings.TrimSpace(id)
			if !accountIDPattern.MatchString(id) {
				return s, fmt.Errorf("--accounts: %q is not a 12-digit account id", id)
			}
			s.accounts = append(s.accounts, id)
		}
	}
	s.cfg = config.Default()
	if f.configFile != "" {
		data, err := os.ReadFile(f.configFile)
		if err != nil {
			return s, fmt.Errorf("--config: %w", err)
		}
		if s.cfg, err = config.Decode(data); err != nil {
			return s, fmt.Errorf("--config %s: %w", f.configFile, err)
		}
	}
	var err error
	s.mgmt, err = awsconf.Load(ctx, awsconf.Options{Region: f.region, Endpoint: f.endpoint, Concurrency: f.concurrency})
	if err != nil {
		return s, fmt.Errorf("%w (or pass --region)", err)
	}
	return s, nil
}

// deployed reads the deployed configuration (--config-parameter) into s,
// after every input has been checked: it is an AWS call.
func (f *convergeFlags) deployed(ctx context.Context, s *settings) error {
	if f.parameter == "" {
		return nil
	}
	prev, found, err := handler.StoredConfig(ctx, s.mgmt, f.parameter)
	if err != nil {
		return fmt.Errorf("--config-parameter: %w", err)
	}
	if found {
		s.previous = &prev
	}
	return nil
}

func planCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return convergeCmd(ctx, "plan", planSummary, reconcile.Converge, true, args, stdout, stderr)
}

func applyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return convergeCmd(ctx, "apply", applySummary, reconcile.Converge, false, args, stdout, stderr)
}

func teardownCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return convergeCmd(ctx, "teardown", teardownSummary, reconcile.RemoveAndReset, false, args, stdout, stderr)
}

// convergeCmd is plan, apply and teardown: exit 0 when every target
// converged (or was left alone on purpose), 1 when some failed, 2 for a
// bad flag or configuration file, reported before any AWS call.
func convergeCmd(ctx context.Context, name, summary string, mode reconcile.Mode, dryRun bool, args []string, stdout, stderr io.Writer) int {
	var f convergeFlags
	var pf promotionFlags // plan's and apply's: where the promotion state is
	fs := newFlagSet(name, "", summary, stdout)
	f.register(fs, mode == reconcile.RemoveAndReset)
	if mode == reconcile.Converge {
		pf.registerState(fs)
	}
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "orgpatch %s: unexpected argument %q (see orgpatch %s -h)\n", name, fs.Arg(0), name)
		return 2
	}
	s, err := f.validate(ctx)
	// Rings that follow others converge pinned to the promotion state.
	promoted := mode == reconcile.Converge && len(promotion.Earlier(s.cfg)) > 0
	if err == nil && promoted {
		pf.conn.endpoint = f.endpoint
		err = pf.checkState()
	}
	if err == nil {
		err = f.deployed(ctx, &s)
	}
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch %s: %v\n", name, err)
		return 2
	}
	if mode == reconcile.RemoveAndReset && !f.yes && !stdinIsTerminal() {
		fmt.Fprintf(stderr, "orgpatch teardown: refusing to tear down without --yes: stdin is not a terminal to confirm on\n")
		return 2
	}
	logger := slog.New(slog.DiscardHandler)
	if f.verbose {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	}
	env := runs.Env{Management: s.mgmt, Config: s.cfg, Previous: s.previous, Concurrency: f.concurrency, Logger: logger}
	if promoted && !dryRun {
		// apply converges the promoted rings to their sets, as the
		// function does.
		e, err := pf.open(ctx, s)
		if err == nil {
			env.Pinned, err = handler.PinnedConfig(ctx, e.store, s.cfg)
		}
		if err != nil {
			fmt.Fprintf(stderr, "orgpatch %s: %v\n", name, err)
			return 1
		}
	}
	if promoted && dryRun {
		// The plan converges to what the next scheduled run pins, and says
		// per ring what that changes and why.
		lines, err := planPromotion(ctx, &pf, s, &env, f.concurrency, f.verbose, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "orgpatch %s: %v\n", name, err)
			return 1
		}
		talk := stdout
		if f.output == "json" {
			talk = stderr
		}
		fmt.Fprintln(talk, "Promotion: what the next scheduled run pins, per ring")
		for _, l := range lines {
			fmt.Fprintln(talk, "  "+l)
		}
		fmt.Fprintln(talk)
	}
	req := runs.Request{Mode: mode, Accounts: s.accounts, DryRun: dryRun}

	if mode == reconcile.RemoveAndReset && !f.yes {
		// The conversation goes to the person; with --output json,
		// stdout is kept for the report alone.
		talk := stdout
		if f.output == "json" {
			talk = stderr
		}
		preview := progress(ctx, name+" (preview)", stderr, &env, func() report.Report {
			return runs.Run(ctx, env, runs.Request{Mode: mode, Accounts: s.accounts, DryRun: true})
		})
		if err := preview.WriteBriefTable(talk); err != nil {
			fmt.Fprintf(stderr, "orgpatch teardown: %v\n", err)
			return 1
		}
		n := changes(preview)
		if n == 0 {
			fmt.Fprintln(talk, "\nNothing to tear down.")
			return exitCode(preview)
		}
		fmt.Fprintf(talk, "\nThis makes the %d changes above. Type yes to tear down: ", n)
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if strings.TrimSpace(answer) != "yes" {
			fmt.Fprintln(stderr, "orgpatch teardown: not confirmed; nothing changed")
			return 1
		}
	}

	rep := progress(ctx, name, stderr, &env, func() report.Report { return runs.Run(ctx, env, req) })
	if f.output == "json" {
		err = rep.WriteJSON(stdout)
	} else {
		if dryRun {
			fmt.Fprintln(stdout, "Plan (dry run: nothing was changed)")
		}
		err = rep.WriteBriefTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch %s: %v\n", name, err)
		return 1
	}
	return exitCode(rep)
}

// changes counts the actions of rep that write (or, dry, would write).
func changes(rep report.Report) int {
	n := 0
	for _, t := range rep.Targets {
		n += t.Changes()
	}
	return n
}

// exitCode is 1 when the run or a target failed, else 0.
func exitCode(rep report.Report) int {
	if rep.Err() != nil {
		return 1
	}
	return 0
}

// progressEvery is how often a plain progress line is printed when the
// output is not a terminal; short runs print none.
var progressEvery = 10 * time.Second

// progress runs work, showing how many targets have started: a line kept
// up to date when w is a terminal, else a plain line every progressEvery.
func progress(ctx context.Context, name string, w io.Writer, env *runs.Env, work func() report.Report) report.Report {
	var started atomic.Int64
	before := env.BeforeTarget
	env.BeforeTarget = func(ctx context.Context, account, region string) {
		started.Add(1)
		if before != nil {
			before(ctx, account, region)
		}
	}
	defer func() { env.BeforeTarget = before }()

	live := false
	if f, ok := w.(*os.File); ok {
		live = isTerminal(f)
	}
	every := progressEvery
	if live {
		every = 250 * time.Millisecond
	}
	start := time.Now()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				line := fmt.Sprintf("orgpatch %s: %d targets started, %s", name, started.Load(), time.Since(start).Round(time.Second))
				if live {
					fmt.Fprintf(w, "\r\033[K%s", line)
					shown = true
				} else {
					fmt.Fprintln(w, line)
				}
			}
		}
	}()
	rep := work()
	close(done)
	<-finished
	return rep
}
