package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim"
)

// simServe runs the simulator until ctx ends (SIGINT or SIGTERM).
func simServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("orgpatch sim serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "127.0.0.1:4566", "`address` to listen on (host:port; port 0 picks a free one)")
	orgFile := fs.String("org", "", "organization `file` (JSON, as testdata/orgs/*.json); the built-in demo organization when empty")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "orgpatch sim serve: %v (usage: orgpatch sim serve [--listen ADDR] [--org FILE])\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "orgpatch sim serve: unexpected argument %q (flags: --listen ADDR --org FILE)\n", fs.Arg(0))
		return 2
	}
	org := sim.DefaultOrg()
	if *orgFile != "" {
		var err error
		if org, err = sim.LoadOrg(*orgFile); err != nil {
			fmt.Fprintf(stderr, "orgpatch sim serve: %v\n", err)
			return 1
		}
	}
	srv, err := sim.New(org)
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch sim serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "orgpatch sim serve: %v\n", err)
		return 1
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "orgpatch simulator listening on %s\n", url)
	fmt.Fprintf(stdout, "organization %s: management account %s, %d accounts\n", org.ID, org.ManagementAccount, len(org.Accounts))
	fmt.Fprintf(stdout, "management credentials (any key the simulator did not issue acts as the management account):\n")
	fmt.Fprintf(stdout, "  export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s\n", sim.ManagementAccessKeyID, sim.ManagementSecretAccessKey)
	fmt.Fprintf(stdout, "  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=%s\n", url)
	fmt.Fprintf(stdout, "  aws organizations list-accounts\n")

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ConnState: srv.ConnState}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		fmt.Fprintf(stderr, "orgpatch sim serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		fmt.Fprintf(stderr, "orgpatch sim serve: shutdown: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "orgpatch simulator stopped after %d calls; connections accepted: %d; most calls at once: %d\n",
		srv.CountCalls(nil), srv.Connections(), srv.PeakInFlight())
	return 0
}
