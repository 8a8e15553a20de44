// Package simtest starts the simulated AWS organization for a test and hands
// back SDK configurations that talk to it, so tests act through the real
// aws-sdk-go-v2 clients over real HTTP, as orgpatch does against AWS.
package simtest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/orgpatch/orgpatch/internal/awsconf"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// Region is the region of Env.Config.
const Region = "us-east-1"

// Env is a running simulator and the management account's configuration.
type Env struct {
	Server *sim.Server
	URL    string
	// Config acts as the management account (sim.ManagementAccessKeyID) in
	// us-east-1 against URL.
	Config aws.Config
}

// Start serves org (sim.DefaultOrg when nil) on a loopback httptest server
// closed when the test ends.
func Start(t testing.TB, org *sim.Org, opts ...sim.Option) *Env {
	t.Helper()
	if org == nil {
		org = sim.DefaultOrg()
	}
	srv, err := sim.New(org, opts...)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.ConnState = srv.ConnState
	hs.Start()
	t.Cleanup(hs.Close)
	cfg, err := awsconf.Load(context.Background(), awsconf.Options{
		Region:          Region,
		Endpoint:        hs.URL,
		AccessKeyID:     sim.ManagementAccessKeyID,
		SecretAccessKey: sim.ManagementSecretAccessKey,
	})
	if err != nil {
		t.Fatalf("simulator configuration: %v", err)
	}
	return &Env{Server: srv, URL: hs.URL, Config: cfg}
}

// AccountConfig assumes role in account through STS, as the management
// account, and returns a configuration acting as that account (same region
// and endpoint). The role is assumed at once, so a refusal fails the test.
func (e *Env) AccountConfig(t testing.TB, account, role string) aws.Config {
	t.Helper()
	cfg := e.Config.Copy()
	arn := "arn:aws:iam::" + account + ":role/" + role
	provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(e.Config), arn, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = "simtest"
	})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Fatalf("assume %s: %v", arn, err)
	}
	return cfg
}
