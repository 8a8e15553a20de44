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
	perTarget := fs.Int("nodes", 0, "generate `n` machines in every account x region the organization file gives none (0..1000)")
	clockStart := fs.String("clock", "", "run on a simulated clock starting at `time` (RFC 3339), advanced by POST "+advancePath+"?by=DURATION; the wall clock when empty")
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
		fmt.Fprintf(stderr, "orgpatch sim serve: unexpected argument %q (flags: --listen ADDR --org FILE --nodes N)\n", fs.Arg(0))
		return 2
	}
	if *perTarget < 0 || *perTarget > 1000 {
		fmt.Fprintf(stderr, "orgpatch sim serve: --nodes %d: want a whole number from 0 to 1000\n", *perTarget)
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
	opts := []sim.Option{sim.WithNodesPerTarget(*perTarget)}
	if *clockStart != "" {
		start, err := time.Parse(time.RFC3339, *clockStart)
		if err != nil {
			fmt.Fprintf(stderr, "orgpatch sim serve: --clock %q: want an RFC 3339 time such as 2026-03-04T12:00:00Z\n", *clockStart)
			return 2
		}
		opts = append(opts, sim.WithSimClock(sim.NewClock(start)))
	}
	srv, err := sim.New(org, opts...)
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

	if *clockStart != "" {
		fmt.Fprintf(stdout, "simulated clock at %s; advance it (running the windows due): curl -X POST '%s%s?by=24h'\n", *clockStart, url, advancePath)
	}

	hs := &http.Server{Handler: withAdvance(srv), ReadHeaderTimeout: 10 * time.Second, ConnState: srv.ConnState}
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

// advancePath is the simulator's one administrative path: POST with
// ?by=DURATION advances the simulated clock (sim serve --clock). No AWS
// operation uses it: an S3 bucket cannot be named "_orgpatch".
const advancePath = "/_orgpatch/advance"

// withAdvance answers advancePath and hands every other request to srv.
func withAdvance(srv *sim.Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != advancePath {
			srv.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			fmt.Fprintf(w, "{\"error\":%q}\n", "use POST "+advancePath+"?by=DURATION")
			return
		}
		d, err := time.ParseDuration(r.URL.Query().Get("by"))
		if err == nil && d < 0 {
			err = errors.New("must not be negative")
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "{\"error\":%q}\n", fmt.Sprintf("by=%q: want a Go duration such as 24h or 90m (%v)", r.URL.Query().Get("by"), err))
			return
		}
		ran, err := srv.Advance(d)
		if err != nil {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, "{\"error\":%q}\n", err.Error()+" (start sim serve with --clock)")
			return
		}
		fmt.Fprintf(w, "{\"now\":%q,\"windowsRun\":%d}\n", srv.Now().UTC().Format(time.RFC3339), ran)
	})
}
