package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/orgpatch/orgpatch/internal/compliance"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// ReportOptions shape the compliance report benchmark.
type ReportOptions struct {
	// Binary is the orgpatch executable both processes run.
	Binary      string
	Accounts    int
	Regions     []string
	Nodes       int // machines per account x region
	Concurrency int
}

// ReportResult is what one report benchmark measured.
type ReportResult struct {
	Targets, Records     int
	RecordBytes          int64
	Wall                 time.Duration
	Calls                int
	ReportRSS, SimRSS    int64 // max resident set, bytes
	NonCompliant, Failed int
}

// Report runs `orgpatch report` against `orgpatch sim serve`, each in its
// own process, over a generated organization, and measures the report
// process: wall time, the calls the simulator answered, and its maximum
// resident set (getrusage of the child). Records stream to a file.
func Report(ctx context.Context, o ReportOptions) (ReportResult, error) {
	var r ReportResult
	dir, err := os.MkdirTemp("", "orgpatch-bench-report-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: o.Accounts, OUs: 8, Regions: o.Regions})
	orgFile := filepath.Join(dir, "org.json")
	b, err := json.Marshal(org)
	if err != nil {
		return r, err
	}
	if err := os.WriteFile(orgFile, b, 0o600); err != nil {
		return r, err
	}

	simCmd := exec.CommandContext(ctx, o.Binary, "sim", "serve", "--listen", "127.0.0.1:0", "--org", orgFile, "--nodes", strconv.Itoa(o.Nodes))
	simOut, err := simCmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	simCmd.Stderr = os.Stderr
	if err := simCmd.Start(); err != nil {
		return r, fmt.Errorf("start simulator: %w", err)
	}
	lines := bufio.NewScanner(simOut)
	url := ""
	for url == "" && lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "orgpatch simulator listening on "); ok {
			url = u
		}
	}
	if url == "" {
		_ = simCmd.Process.Kill()
		return r, fmt.Errorf("the simulator printed no address")
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.MultiReader(strings.NewReader(""), readerOf(lines)))
		rest <- string(b)
	}()

	records := filepath.Join(dir, "records.jsonl")
	rep := exec.CommandContext(ctx, o.Binary, "report", "--endpoint", url, "--region", "us-east-1", "--output", "json",
		"--records", records, "--concurrency", strconv.Itoa(o.Concurrency))
	rep.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+sim.ManagementAccessKeyID, "AWS_SECRET_ACCESS_KEY="+sim.ManagementSecretAccessKey,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
	rep.Stderr = os.Stderr
	start := time.Now()
	out, runErr := rep.Output()
	r.Wall = time.Since(start)
	if ru, ok := rep.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.ReportRSS = ru.Maxrss * 1024 // KiB on Linux
	}
	_ = simCmd.Process.Signal(os.Interrupt)
	waitErr := simCmd.Wait()
	if ru, ok := simCmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.SimRSS = ru.Maxrss * 1024
	}
	tail := <-rest
	if m := regexp.MustCompile(`stopped after (\d+) calls`).FindStringSubmatch(tail); m != nil {
		r.Calls, _ = strconv.Atoi(m[1])
	} else {
		return r, fmt.Errorf("the simulator did not report its calls (%v): %q", waitErr, tail)
	}
	var sum compliance.Summary
	if err := json.Unmarshal(out, &sum); err != nil {
		return r, fmt.Errorf("report (%v): %w", runErr, err)
	}
	r.Targets, r.Failed, r.NonCompliant = sum.Targets, sum.Failed, sum.Organization.NonCompliant
	f, err := os.Open(records)
	if err != nil {
		return r, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		r.Records++
		r.RecordBytes += int64(len(sc.Bytes()) + 1)
	}
	if sum.Failed > 0 {
		return r, fmt.Errorf("%d targets not readable; first: %+v", sum.Failed, sum.Failures[0])
	}
	return r, runErr
}

// readerOf drains what the scanner has not read yet, line by line.
func readerOf(s *bufio.Scanner) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		for s.Scan() {
			fmt.Fprintln(pw, s.Text())
		}
		pw.Close()
	}()
	return pr
}

// WriteReportTable prints the benchmark's figures.
func WriteReportTable(w io.Writer, o ReportOptions, r ReportResult) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "organization\t%d accounts x %d regions x %d machines\t\n", o.Accounts+1, len(o.Regions), o.Nodes)
	fmt.Fprintf(tw, "targets read\t%d\t\n", r.Targets)
	fmt.Fprintf(tw, "records\t%d (%.1f MiB of JSON Lines, streamed to a file)\t\n", r.Records, float64(r.RecordBytes)/(1<<20))
	fmt.Fprintf(tw, "non-compliant nodes\t%d\t\n", r.NonCompliant)
	fmt.Fprintf(tw, "wall time\t%s\t\n", r.Wall.Round(100*time.Millisecond))
	fmt.Fprintf(tw, "calls answered by the simulator\t%d (%.1f per target)\t\n", r.Calls, float64(r.Calls)/float64(max(r.Targets, 1)))
	fmt.Fprintf(tw, "orgpatch report max RSS\t%.0f MiB\t\n", float64(r.ReportRSS)/(1<<20))
	fmt.Fprintf(tw, "simulator max RSS (its own process)\t%.0f MiB\t\n", float64(r.SimRSS)/(1<<20))
	fmt.Fprintf(tw, "concurrency\t%d\t\n", o.Concurrency)
	return tw.Flush()
}
