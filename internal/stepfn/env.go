package stepfn

import (
	"log/slog"

	"github.com/orgpatch/orgpatch/internal/run"
)

// Env is a run's environment (run.Env) with what the Distributed Map adds.
type Env struct {
	run.Env
	// Sizing bounds the batches of accounts a whole-organization run is cut
	// into (DefaultSizing's zero fields filled in).
	Sizing Sizing
	// Batches bounds the batches worked on at once in this process (1); a
	// deployed run's bound is the Distributed Map's MaxConcurrency.
	Batches int
}

// withDefaults fills in what Discover and LocalMap read; run fills in the
// rest of run.Env itself.
func (env Env) withDefaults() Env {
	if env.Concurrency <= 0 {
		env.Concurrency = run.DefaultConcurrency
	}
	if env.Reserve <= 0 {
		env.Reserve = run.DefaultReserve
	}
	if env.Logger == nil {
		env.Logger = slog.Default()
	}
	if env.Batches <= 0 {
		env.Batches = 1
	}
	env.Sizing = env.Sizing.withDefaults()
	return env
}
