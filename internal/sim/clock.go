package sim

import (
	"fmt"
	"sync"
	"time"

	"github.com/orgpatch/orgpatch/internal/sim/nodes"
	"github.com/orgpatch/orgpatch/internal/sim/ssmsvc"
)

// Clock is simulated time that moves only when told to. Given to a server
// with WithSimClock, it stamps the server's answers, and advancing it runs
// the maintenance windows that fall due, in time order, before Advance
// returns: nothing happens between advances, so tests and the demo are
// deterministic. It is safe for concurrent use; advances are serialized.
type Clock struct {
	advance sync.Mutex // held through an advance and its runs
	mu      sync.RWMutex
	now     time.Time
	runners []func(after, until time.Time) int
}

// NewClock returns a clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.now
}

// Advance moves the clock d forward (d must not be negative) and runs every
// maintenance window occurrence in (old, new] of the servers using it; it
// returns how many window occurrences ran.
func (c *Clock) Advance(d time.Duration) (int, error) {
	if d < 0 {
		return 0, fmt.Errorf("clock: advance by %v: d must be 0 or more", d)
	}
	return c.AdvanceTo(c.Now().Add(d))
}

// AdvanceTo moves the clock to t (not before the clock's time) and runs
// what falls due, as Advance does.
func (c *Clock) AdvanceTo(t time.Time) (int, error) {
	c.advance.Lock()
	defer c.advance.Unlock()
	c.mu.Lock()
	old := c.now
	if t.Before(old) {
		c.mu.Unlock()
		return 0, fmt.Errorf("clock: advance to %s: before the clock's time %s", t.Format(time.RFC3339), old.Format(time.RFC3339))
	}
	c.now = t
	runners := c.runners
	c.mu.Unlock()
	ran := 0
	for _, run := range runners {
		ran += run(old, t)
	}
	return ran, nil
}

func (c *Clock) attach(run func(after, until time.Time) int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runners = append(c.runners, run)
}

// WithSimClock makes c the server's clock (as WithClock(c.Now) would) and
// lets c.Advance and (*Server).Advance run the server's maintenance
// windows.
func WithSimClock(c *Clock) Option {
	return func(o *options) { o.clock, o.simClock = c.Now, c }
}

// WithCatalog makes the server patch from c: SSM's DescribeAvailablePatches
// lists it and AWS-RunPatchBaseline evaluates the baselines over it.
// Without it the server has nodes.NewCatalog's: the patches the generated
// machines report, released before the server's start.
func WithCatalog(c *nodes.Catalog) Option { return func(o *options) { o.catalog = c } }

// WithInstallFailures makes AWS-RunPatchBaseline installs fail: rate gives
// the chance (0..1) that an install on a node fails, drawn deterministically
// from seed, the node and the run's time. A rate per account, per ring (a
// set of accounts) or per node is a function of the arguments.
func WithInstallFailures(seed uint64, rate func(account, region, nodeID string) float64) Option {
	return func(o *options) { o.failSeed, o.failRate = seed, rate }
}

// ssmOptions are the options of the server's Systems Manager.
func (o *options) ssmOptions(inv *nodes.Store) ([]ssmsvc.Option, error) {
	cat := o.catalog
	if cat == nil {
		var err error
		if cat, err = nodes.NewCatalog(o.clock()); err != nil {
			return nil, err
		}
	}
	opts := []ssmsvc.Option{ssmsvc.WithNodes(inv), ssmsvc.WithCatalog(cat)}
	if o.failRate != nil {
		opts = append(opts, ssmsvc.WithInstallFailures(o.failSeed, o.failRate))
	}
	return opts, nil
}

// Advance moves the server's clock d forward and runs what falls due (see
// Clock.Advance). The server must have been made WithSimClock.
func (s *Server) Advance(d time.Duration) (int, error) {
	if s.opts.simClock == nil {
		return 0, fmt.Errorf("sim: Advance: the server's clock is not a *sim.Clock; make the server WithSimClock(NewClock(start))")
	}
	return s.opts.simClock.Advance(d)
}

// Catalog is the patches the server's Systems Manager patches from, for
// tests and the demo to release more (Add, Generate).
func (s *Server) Catalog() *nodes.Catalog { return s.catalog }

// Now is the server's time (its clock's).
func (s *Server) Now() time.Time { return s.opts.clock() }
