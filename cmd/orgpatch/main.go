// Command orgpatch is the local CLI: the workstation side of orgpatch.
//
//	orgpatch demo                       the whole story on an embedded simulated organization
//	orgpatch plan|apply|teardown [...]  reconcile the organization from a workstation
//	orgpatch invoke EVENT.json          run the Lambda handler on one event
//	orgpatch report [...]               the organization's patch compliance
//	orgpatch rings [...]                each ring's patch set, hold, gate figures and next step
//	orgpatch promote|hold RING --reason  a person's promotion or hold of a ring
//	orgpatch sim serve [...]            a standalone simulator endpoint
//	orgpatch bench [...]                the scale benchmark
//
// `orgpatch help` lists the commands, `orgpatch CMD -h` shows a command's
// flags. Exit codes: 0 success, 1 failure (a target, a check, a run), 2 bad
// usage or configuration, reported before any AWS call. With
// ORGPATCH_CPUPROFILE=PREFIX set, every command writes a CPU profile of its
// process to PREFIX.<pid>.
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
	"invoke":    {summary: invokeSummary, run: invokeCmd},
	"bench":     {summary: benchSummary, run: benchCmd},
	"report":    {summary: reportSummary, run: reportCmd},
	"rings":     {summary: ringsSummary, run: ringsCmd},
	"promote":   {summary: promoteSummary, run: promoteCmd},
	"hold":      {summary: holdSummary, run: holdCmd},

	"bench report": {summary: benchReportSummary, run: benchReportCmd},
}

func main() {
	stopProfile := startProfile()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}

// run dispatches args to the command with the longest matching name.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	for n := len(args); n > 0; n-- {
		if c, ok := commands[strings.Join(args[:n], " ")]; ok {
			return c.run(ctx, args[n:], stdout, stderr)
		}
	}
	switch {
	case len(args) == 0:
		usage(stderr)
		return 2
	case len(args) > 1 && args[0] == "help":
		return run(ctx, append(args[1:], "-h"), stdout, stderr)
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "orgpatch: unknown command %q\n", strings.Join(args, " "))
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: orgpatch COMMAND [flags]   (orgpatch COMMAND -h for its flags)")
	fmt.Fprintln(w, "commands:")
	for _, name := range names {
		fmt.Fprintf(w, "  %-12s %s\n", name, commands[name].summary)
	}
}
