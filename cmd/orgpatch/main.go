// Command orgpatch is the local CLI: a standalone simulator today, and the
// workstation side of orgpatch (demo, plan, apply, teardown, invoke, bench)
// as those commands join the table below.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. run gets the arguments after the command's
// name and returns the process exit code: 0 success, 1 failure, 2 usage.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands maps a subcommand's name (words separated by one space, e.g.
// "sim serve") to its implementation.
var commands = map[string]command{
	"sim serve": {summary: "serve a simulated AWS organization on one endpoint", run: simServe},
	"demo":      {summary: demoSummary, run: demoCmd},
	"plan":      {summary: planSummary, run: planCmd},
	"apply":     {summary: applySummary, run: applyCmd},
	"teardown":  {summary: teardownSummary, run: teardownCmd},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to the command with the longest matching name.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	for n := len(args); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c.run(ctx, args[n:], stdout, stderr)
		}
	}
	if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
		fmt.Fprintf(stderr, "orgpatch: unknown command %q\n", strings.Join(args, " "))
	}
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: orgpatch COMMAND [flags]; commands:")
	for _, name := range names {
		fmt.Fprintf(w, "  %-12s %s\n", name, commands[name].summary)
	}
}
