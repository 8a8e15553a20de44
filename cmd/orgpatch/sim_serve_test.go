package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// serve starts `orgpatch sim serve args...` in-process on a free loopback
// port and returns its endpoint URL, what it printed, and a stop function
// that returns the exit code.
func serve(t *testing.T, args ...string) (url string, printed *strings.Builder, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"sim", "serve", "--listen", "127.0.0.1:0"}, args...), pw, &stderr)
		pw.Close()
	}()
	printed = &strings.Builder{}
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		cancel()
		t.Fatalf("sim serve printed nothing; exit %d, stderr %q", <-code, stderr.String())
	}
	first := lines.Text()
	printed.WriteString(first + "\n")
	url = first[strings.LastIndex(first, " ")+1:]
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q does not end with the endpoint URL", first)
	}
	rest := make(chan struct{})
	go func() {
		for lines.Scan() {
			printed.WriteString(lines.Text() + "\n")
		}
		close(rest)
	}()
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case c := <-code:
			<-rest
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("sim serve did not stop on cancel")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return url, printed, stop
}

func TestSimServe(t *testing.T) {
	url, printed, stop := serve(t, "--org", "../../testdata/orgs/small.json")
	ctx := context.Background()
	cfg, err := awsconf.Load(ctx, awsconf.Options{Region: "us-east-1", Endpoint: url, AccessKeyID: sim.ManagementAccessKeyID, SecretAccessKey: sim.ManagementSecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(id.Account); got != "111111111111" {
		t.Errorf("caller account = %s, want small.json's management account 111111111111", got)
	}
	accounts, err := organizations.NewFromConfig(cfg).ListAccounts(ctx, &organizations.ListAccountsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts.Accounts) != 6 {
		t.Errorf("ListAccounts = %d accounts, want small.json's 6", len(accounts.Accounts))
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code after cancel = %d, want 0", code)
	}
	for _, want := range []string{"AWS_ACCESS_KEY_ID=" + sim.ManagementAccessKeyID, "AWS_ENDPOINT_URL=" + url, "o-small00001"} {
		if !strings.Contains(printed.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, printed)
		}
	}
	// Two calls one after the other: the second reuses the first's
	// connection unless it asks before net/http has put that connection
	// back in its idle pool, so one or two connections, never more.
	exit := regexp.MustCompile(`stopped after 2 calls; connections accepted: [12]; most calls at once: 1\n`)
	if !exit.MatchString(printed.String()) {
		t.Errorf("output lacks a line matching %q:\n%s", exit, printed)
	}
}

func TestSimServeDefaultOrg(t *testing.T) {
	url, _, _ := serve(t)
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{Region: "us-east-1", Endpoint: url, AccessKeyID: "any-key", SecretAccessKey: "any-secret"})
	if err != nil {
		t.Fatal(err)
	}
	org, err := organizations.NewFromConfig(cfg).DescribeOrganization(context.Background(), &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(org.Organization.Id), sim.DefaultOrg().ID; got != want {
		t.Errorf("organization = %s, want the built-in %s", got, want)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := map[string]struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		"no command":         {args: nil, wantCode: 2, wantErr: "usage: orgpatch COMMAND"},
		"unknown command":    {args: []string{"frobnicate"}, wantCode: 2, wantErr: `unknown command "frobnicate"`},
		"unknown flag":       {args: []string{"sim", "serve", "--port", "1"}, wantCode: 2, wantErr: "flag provided but not defined: -port"},
		"stray argument":     {args: []string{"sim", "serve", "extra"}, wantCode: 2, wantErr: `unexpected argument "extra"`},
		"missing org file":   {args: []string{"sim", "serve", "--org", "does-not-exist.json"}, wantCode: 1, wantErr: "does-not-exist.json"},
		"invalid org file":   {args: []string{"sim", "serve", "--org", "main.go"}, wantCode: 1, wantErr: "parse organization"},
		"bad listen address": {args: []string{"sim", "serve", "--listen", "not-an-address"}, wantCode: 1, wantErr: "not-an-address"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d", code, tc.wantCode)
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.wantErr)
			}
		})
	}
}

// With --clock the simulator's time moves only when POSTed to advance;
// without it the path refuses, and a bad duration is named.
func TestSimServeAdvancesItsClock(t *testing.T) {
	post := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Post(url, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	url, printed, stop := serve(t, "--clock", "2026-03-04T12:00:00Z")
	if code, body := post(url + advancePath + "?by=96h"); code != http.StatusOK || !strings.Contains(body, `"now":"2026-03-08T12:00:00Z"`) {
		t.Errorf("advance by 96h: %d %s; want 200 and the clock at 2026-03-08T12:00:00Z", code, body)
	}
	if code, body := post(url + advancePath + "?by=-1h"); code != http.StatusBadRequest || !strings.Contains(body, "by=") {
		t.Errorf("advance by -1h: %d %s; want 400 naming by", code, body)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit %d; printed:\n%s", code, printed)
	}
	if !strings.Contains(printed.String(), advancePath) {
		t.Errorf("sim serve --clock did not print how to advance:\n%s", printed)
	}
	url, _, stop = serve(t)
	defer stop()
	if code, body := post(url + advancePath + "?by=1h"); code != http.StatusConflict {
		t.Errorf("advance without --clock: %d %s; want 409", code, body)
	}
}
