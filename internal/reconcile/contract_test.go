package reconcile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/sim"
	"github.com/orgpatch/orgpatch/internal/sim/simtest"
)

// The kind contract: every registered kind, from its fixture
// (testdata/kinds/RESOURCE.yaml, named by the kind's first Resource), in a
// simulated account x region reached through the SDK:
//
//   - a converge makes the kind's writes, and a second one makes none;
//   - a run stopped after each write in turn (the simulator's crash hook),
//     then run again, converges: a third run makes no write;
//   - RemoveAndReset takes the kind away, and a second one makes no write;
//   - a create of the kind whose answer is lost (it happened, the caller
//     got an error) is adopted by the next run, which converges.
//
// A new kind passes it by providing its fixture; a kind of another service
// also adds its client to contractClients.

const (
	contractAccount = "444444444444"
	contractRegion  = "us-east-1"
	contractRole    = "sra-patch-mgmt-configuration"
)

// contractEnv is one simulated account x region for the contract.
type contractEnv struct {
	t      *testing.T
	server *sim.Server
	cfg    aws.Config
}

func newContractEnv(t *testing.T) *contractEnv {
	t.Helper()
	org, err := sim.LoadOrg("../../testdata/orgs/small.json")
	if err != nil {
		t.Fatal(err)
	}
	env := simtest.Start(t, org)
	return &contractEnv{t: t, server: env.Server, cfg: env.AccountConfig(t, contractAccount, contractRole)}
}

// contractClients are the clients every registered kind calls, bound to
// the account x region, with the middleware in apiOptions.
func (e *contractEnv) contractClients(apiOptions ...func(*middleware.Stack) error) Clients {
	cfg := e.cfg.Copy()
	cfg.Region = contractRegion
	cfg.RetryMaxAttempts = 1 // faults must surface, not be retried away
	cfg.APIOptions = append(cfg.APIOptions, apiOptions...)
	return Clients{ssm.NewFromConfig(cfg)}
}

func (e *contractEnv) run(clients Clients, cfg config.Config, mode Mode) (Result, error) {
	return Reconcile(context.Background(), clients, Input{
		Account: contractAccount, Region: contractRegion, Partition: "aws", Config: cfg, Mode: mode,
	})
}

func (e *contractEnv) mustRun(cfg config.Config, mode Mode) Result {
	e.t.Helper()
	res, err := e.run(e.contractClients(), cfg, mode)
	if err != nil {
		e.t.Fatalf("Reconcile(%s): %v", mode, err)
	}
	return res
}

// mustBeConverged runs mode once more and fails unless it makes no write.
func (e *contractEnv) mustBeConverged(cfg config.Config, mode Mode, after string) {
	e.t.Helper()
	if res := e.mustRun(cfg, mode); res.Writes != 0 {
		e.t.Errorf("%s: the next %s run made %d writes, want 0: %v", after, mode, res.Writes, writeActions(res.Actions))
	}
}

// kindWrites are the actions of k that are writes.
func kindWrites(k resourceKind, actions []Action) []Action {
	var out []Action
	for _, a := range actions {
		if a.Op != OpUnchanged && slices.Contains(k.resources(), a.Resource) {
			out = append(out, a)
		}
	}
	return out
}

func writeActions(actions []Action) []string {
	var out []string
	for _, a := range actions {
		if a.Op != OpUnchanged {
			out = append(out, a.String())
		}
	}
	return out
}

func contractFixture(t *testing.T, k resourceKind) config.Config {
	t.Helper()
	path := filepath.Join("testdata", "kinds", string(k.resources()[0])+".yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the kind of %v has no contract fixture: %v", k.resources(), err)
	}
	cfg, err := config.Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

func TestKindContract(t *testing.T) {
	for _, k := range resourceKinds {
		t.Run(string(k.resources()[0]), func(t *testing.T) {
			cfg := contractFixture(t, k)

			t.Run("converge then no writes", func(t *testing.T) {
				e := newContractEnv(t)
				res := e.mustRun(cfg, Converge)
				if len(kindWrites(k, res.Actions)) == 0 {
					t.Fatalf("the fixture makes no write of the kind: %v", writeActions(res.Actions))
				}
				if res.Writes != e.server.Writes() {
					t.Errorf("Result.Writes = %d, the simulator saw %d writes", res.Writes, e.server.Writes())
				}
				e.mustBeConverged(cfg, Converge, "converged")
			})

			fresh := newContractEnv(t).mustRun(cfg, Converge).Writes
			t.Run("crash after each write then converge", func(t *testing.T) {
				// After the last write the run is done: nothing is left
				// to crash.
				for n := 1; n < fresh; n++ {
					e := newContractEnv(t)
					e.server.FailAfterWrites(n)
					if _, err := e.run(e.contractClients(), cfg, Converge); err == nil {
						t.Fatalf("crash after write %d: the run succeeded", n)
					}
					if got := e.server.Writes(); got != n {
						t.Errorf("crash after write %d: the simulator saw %d writes", n, got)
					}
					e.server.FailAfterWrites(-1)
					e.mustRun(cfg, Converge)
					e.mustBeConverged(cfg, Converge, "crashed then converged")
				}
			})

			t.Run("teardown", func(t *testing.T) {
				e := newContractEnv(t)
				e.mustRun(cfg, Converge)
				res := e.mustRun(cfg, RemoveAndReset)
				if len(kindWrites(k, res.Actions)) == 0 {
					t.Errorf("teardown made no write of the kind: %v", writeActions(res.Actions))
				}
				e.mustBeConverged(cfg, RemoveAndReset, "torn down")
			})

			t.Run("create whose answer was lost", func(t *testing.T) {
				// The plan of the fresh account x region finds the kind's
				// first create: the writes before it are the other kinds'.
				e := newContractEnv(t)
				res, err := Reconcile(context.Background(), e.contractClients(), Input{
					Account: contractAccount, Region: contractRegion, Partition: "aws", Config: cfg, Mode: Converge, DryRun: true,
				})
				if err != nil {
					t.Fatal(err)
				}
				before, found := 0, false
				for _, a := range res.Actions {
					if a.Op == OpUnchanged {
						continue
					}
					if a.Op == OpCreate && slices.Contains(k.resources(), a.Resource) {
						found = true
						break
					}
					before++
				}
				if !found {
					t.Skipf("the kind creates nothing (its writes: %v)", writeActions(kindWrites(k, res.Actions)))
				}
				lost := false
				loseAnswer := middleware.DeserializeMiddlewareFunc("loseAnswer", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
					writes := e.server.Writes()
					out, md, err := next.HandleDeserialize(ctx, in)
					if err == nil && !lost && writes == before && e.server.Writes() == before+1 {
						lost = true
						return out, md, &smithy.GenericAPIError{Code: "RequestTimeout", Message: "the answer was lost"}
					}
					return out, md, err
				})
				_, err = e.run(e.contractClients(func(s *middleware.Stack) error { return s.Deserialize.Add(loseAnswer, middleware.After) }), cfg, Converge)
				var apiErr smithy.APIError
				if !lost || !errors.As(err, &apiErr) || apiErr.ErrorCode() != "RequestTimeout" {
					t.Fatalf("the run whose create answer was lost: lost = %v, err = %v; want the lost answer's error", lost, err)
				}
				e.mustRun(cfg, Converge)
				e.mustBeConverged(cfg, Converge, "a lost create answer, then a converge")
			})
		})
	}
}
