package sim

import (
	"fmt"
	"slices"

	"github.com/orgpatch/orgpatch/internal/sim/nodes"
)

// WithNodesPerTarget gives every account x region whose machines the
// organization file does not list n generated machines (package nodes:
// a mix of platforms, agent versions, ping and patch states, and a few EC2
// instances no agent reports).
func WithNodesPerTarget(n int) Option { return func(o *options) { o.nodesPerTgt = n } }

// Nodes is the inventory of machines EC2 and Systems Manager describe, for
// tests that assert on it or change it.
func (s *Server) Nodes() *nodes.Store { return s.inventory }

func newInventory(org *Org, o options) (*nodes.Store, error) {
	if o.nodesPerTgt < 0 {
		return nil, fmt.Errorf("WithNodesPerTarget: %d: must be 0 or more", o.nodesPerTgt)
	}
	inv := nodes.New(o.nodesPerTgt, o.clock())
	for i, a := range org.Accounts {
		for _, region := range sortedKeys(a.Nodes) {
			if known, _ := regionKind(region); !known {
				return nil, fmt.Errorf("accounts[%d].nodes: %q is not a known region (one of %s)", i, region, allRegions())
			}
			if err := inv.Put(a.ID, region, slices.Clone(a.Nodes[region])...); err != nil {
				return nil, fmt.Errorf("accounts[%d].nodes: %w", i, err)
			}
		}
	}
	return inv, nil
}
