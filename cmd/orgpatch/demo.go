package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/orgpatch/orgpatch/internal/demo"
)

const demoSummary = "watch orgpatch deploy, onboard, repair, update and tear down a simulated organization"

// demoCmd runs the whole story on the embedded simulated organization.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", "", demoSummary, stdout)
	verbose := fs.Bool("v", false, "also print the Lambda handler's JSON log lines (to stderr)")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	opts := demo.Options{Out: stdout}
	if *verbose {
		opts.Log = stderr
	}
	if err := demo.Run(ctx, opts); err != nil {
		var step *demo.StepError
		if errors.As(err, &step) {
			fmt.Fprintf(stderr, "\norgpatch demo: FAILED: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "\norgpatch demo: %v\n", err)
		return 1
	}
	return 0
}

// newFlagSet returns a flag set for "orgpatch name" whose -h prints to
// stdout; operands describes the positional arguments, for the usage line.
func newFlagSet(name, operands, summary string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("orgpatch "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "usage: orgpatch %s [flags]%s\n", name, operands)
		fmt.Fprintf(stdout, "%s\n", summary)
		fmt.Fprintln(stdout, "flags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses args; on -h it prints the usage and returns (0, false), on a
// bad flag one line naming it and (2, false). With no operands expected, an
// argument left over is a usage error too.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return 0, false
		}
		fmt.Fprintf(stderr, "%s: %v (see %s -h)\n", fs.Name(), err, fs.Name())
		return 2, false
	}
	return 0, true
}
