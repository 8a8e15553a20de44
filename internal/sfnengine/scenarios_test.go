package sfnengine

import (
	"testing"
	"time"

	"github.com/orgpatch/orgpatch/internal/config"
	"github.com/orgpatch/orgpatch/internal/sim"
)

// TestStateMachineInAnIndependentEngine runs the synthesized state machine,
// parameters at their defaults, in LocalStack's ASL interpreter (moto),
// every Lambda task answered by the real handler against the simulator.
func TestStateMachineInAnIndependentEngine(t *testing.T) {
	e := startEngine(t)
	t.Run("clean schedule run", func(t *testing.T) { cleanSchedule(t, e) })
}

func cleanSchedule(t *testing.T, e *engine) {
	org := sim.GenerateOrg(sim.GenerateOptions{Accounts: 20})
	cfg := config.Default()
	cfg.Regions = []string{"us-east-1", "eu-west-1"}
	cfg.ControlTowerRegionsOnly = false
	d := e.deploy(t, "clean", org, cfg)
	d.storeConfiguration(t)
	if err := d.deliver(t, d.schedule(t, "clean-1")); err != nil {
		t.Fatalf("the schedule's trigger: %v", err)
	}
	got := d.waitAll(t, 3*time.Minute)
	t.Logf("%+v\n%s", got, d.steps())
}
