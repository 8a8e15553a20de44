package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/orgpatch/orgpatch/internal/demo"
)

const demoSummary = "watch orgpatch deploy, onboard, repair, update, promote a ring and tear down a simulated organization"

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

// flagSet is a command's flags and its help text.
type flagSet struct {
	*flag.FlagSet
	help func() // prints the usage line, the summary and the flags
}

// newFlagSet returns the flags of "orgpatch name", whose help goes to
// stdout; operands names the positional arguments, for the usage line.
func newFlagSet(name, operands, summary string, stdout io.Writer) *flagSet {
	fs := flag.NewFlagSet("orgpatch "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse reports errors and help itself
	help := func() {
		fmt.Fprintf(stdout, "usage: orgpatch %s [flags]%s\n%s\nflags:\n", name, operands, summary)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return &flagSet{FlagSet: fs, help: help}
}

// parse parses args; on -h it prints the help and returns (0, false), on a
// bad flag one line naming it and (2, false).
func parse(fs *flagSet, args []string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.help()
			return 0, false
		}
		fmt.Fprintf(stderr, "%s: %v (see %s -h)\n", fs.Name(), err, fs.Name())
		return 2, false
	}
	return 0, true
}
