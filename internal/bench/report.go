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

// ReportResult is what one report benchmark measured: two runs of the
// report against one simulator, the second with the first's records.
type ReportResult struct {
	Targets, Machines    int
	NonCompliant, Failed int
	First, Second        ReportRun
	// Calls is what the simulator answered over both runs.
	Calls  int
	SimRSS int64 // max resident set, bytes
}

// ReportRun is one report process's figures.
type ReportRun struct {
	Records     int
	RecordBytes int64 // gzip-compressed
	Wall        time.Duration
	Calls       int   // counted by the report
	RSS         int64 // max resident set, bytes
	Reused      int   // non-compliant nodes whose patch lists came from the previous run
	Looked      int   // those whose lists were read
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

	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+sim.ManagementAccessKeyID, "AWS_SECRET_ACCESS_KEY="+sim.ManagementSecretAccessKey,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
	first, second := filepath.Join(dir, "first.jsonl.gz"), filepath.Join(dir, "second.jsonl.gz")
	sum, runErr := reportRun(ctx, o, url, env, &r.First, "--records", first)
	if runErr == nil {
		_, runErr = reportRun(ctx, o, url, env, &r.Second, "--previous", first, "--records", second)
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
	r.Targets, r.Failed, r.NonCompliant, r.Machines = sum.Targets, sum.Failed, sum.Organization.NonCompliant, sum.Organization.Machines()
	if runErr != nil {
		return r, runErr
	}
	for _, run := range []struct {
		path string
		r    *ReportRun
	}{{first, &r.First}, {second, &r.Second}} {
		st, err := os.Stat(run.path)
		if err != nil {
			return r, err
		}
		run.r.RecordBytes = st.Size()
	}
	if sum.Failed > 0 {
		return r, fmt.Errorf("%d targets not readable; first: %+v", sum.Failed, sum.Failures[0])
	}
	return r, nil
}

// reportRun runs `orgpatch report` once with args and measures it: wall
// time, its calls, its maximum resident set (getrusage of the child).
func reportRun(ctx context.Context, o ReportOptions, url string, env []string, m *ReportRun, args ...string) (compliance.Summary, error) {
	var sum compliance.Summary
	rep := exec.CommandContext(ctx, o.Binary, append([]string{"report", "--endpoint", url, "--region", "us-east-1", "--output", "json",
		"--concurrency", strconv.Itoa(o.Concurrency)}, args...)...)
	rep.Env = env
	rep.Stderr = os.Stderr
	start := time.Now()
	out, runErr := rep.Output()
	m.Wall = time.Since(start)
	if ru, ok := rep.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.RSS = ru.Maxrss * 1024 // KiB on Linux
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		return sum, fmt.Errorf("report (%v): %w", runErr, err)
	}
	m.Calls, m.Reused, m.Looked = sum.Calls, sum.Reused, sum.Looked
	m.Records = sum.Organization.Machines()
	if sum.Failed > 0 {
		runErr = nil // the caller reports the failed targets
	}
	return sum, runErr
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
	fmt.Fprintf(tw, "machines\t%d (%d non-compliant)\t\n", r.Machines, r.NonCompliant)
	fmt.Fprintf(tw, "\tfirst run\tsecond run (--previous: the first's records)\t\n")
	row := func(label string, f func(ReportRun) string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", label, f(r.First), f(r.Second))
	}
	row("wall time", func(x ReportRun) string { return x.Wall.Round(100 * time.Millisecond).String() })
	row("API calls", func(x ReportRun) string { return strconv.Itoa(x.Calls) })
	row("calls per machine", func(x ReportRun) string { return fmt.Sprintf("%.2f", float64(x.Calls)/float64(max(r.Machines, 1))) })
	row("patch lists read / reused", func(x ReportRun) string { return fmt.Sprintf("%d / %d", x.Looked, x.Reused) })
	row("orgpatch report max RSS", func(x ReportRun) string { return fmt.Sprintf("%.0f MiB", float64(x.RSS)/(1<<20)) })
	row("records (gzip JSON Lines)", func(x ReportRun) string { return fmt.Sprintf("%.1f MiB", float64(x.RecordBytes)/(1<<20)) })
	fmt.Fprintf(tw, "second run's calls, of the first's\t%.0f%%\t\n", 100*float64(r.Second.Calls)/float64(max(r.First.Calls, 1)))
	fmt.Fprintf(tw, "calls answered by the simulator, both runs\t%d\t\n", r.Calls)
	fmt.Fprintf(tw, "simulator max RSS (its own process)\t%.0f MiB\t\n", float64(r.SimRSS)/(1<<20))
	fmt.Fprintf(tw, "concurrency\t%d\t\n", o.Concurrency)
	return tw.Flush()
}
