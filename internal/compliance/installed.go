package compliance

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// InstalledAPI is the part of the Systems Manager client that reads the
// patches a node installed and the operating system they are for.
type InstalledAPI interface {
	DescribeInstancePatches(context.Context, *ssm.DescribeInstancePatchesInput, ...func(*ssm.Options)) (*ssm.DescribeInstancePatchesOutput, error)
	GetPatchBaseline(context.Context, *ssm.GetPatchBaselineInput, ...func(*ssm.Options)) (*ssm.GetPatchBaselineOutput, error)
}

var _ InstalledAPI = (*ssm.Client)(nil)

// installedStates are the values of DescribeInstancePatches' State filter
// (the API Reference's sample values; the simulator also takes the
// PatchComplianceDataState names) whose patches count as installed: the
// ones the node's patch baseline approved and Patch Manager reports on the
// node, INSTALLED, and INSTALLED_PENDING_REBOOT, installed with NoReboot
// and waiting for the node's next reboot (the gate counts such a node as
// installed too, so a ring patched with NoReboot still has a set).
// INSTALLED_OTHER (on the node but not approved by its baseline, e.g.
// installed by hand) and INSTALLED_REJECTED (in the baseline's rejected
// list) are not what the earlier ring's baselines chose, so they are left
// out: the list is bounded by the earlier ring's approvals at no extra
// call.
var installedStates = []string{"Installed", "InstalledPendingReboot"}

// installedPageSize is DescribeInstancePatches' largest page (the SSM
// model's PatchComplianceMaxResults: 10..100).
const installedPageSize = 100

// Installed are the patch ids the nodes of rings installed, per ring and
// operating system (the SSM OperatingSystem enum), each list sorted and
// without repeats: what promotion.Inputs.Installed takes. A ring read is
// present even when it installed nothing (an empty map); a ring absent
// was not read, or not all of it (a target that failed, a node past
// MaxPatchesPerNode).
type Installed map[string]map[string][]string

// installedOf is what one target's nodes installed, per operating system
// (a set of ids each), and how many nodes hit the bound.
type installedOf struct {
	byOS    map[string]map[string]bool
	bounded int
}

// readInstalled reads the installed patch ids of the managed nodes among
// records, one paginated DescribeInstancePatches per node with a patch
// state (a node never scanned or patched has none), and attributes each
// node's ids to the operating system of the patch baseline it was patched
// with (its PatchState.BaselineId -> GetPatchBaseline's OperatingSystem,
// one call per baseline of the target): that is the baseline a later ring
// pins by list, for that operating system. A node whose baseline
// GetPatchBaseline says does not exist is not counted: one of AWS's
// predefined baselines (patch states name it by its pb- id, and
// GetPatchBaseline takes only its ARN) or one deleted since the node's
// run; either way not a baseline orgpatch pins, so what it approved is not
// what the ring's baselines chose. Any other error reading a baseline
// fails the target, so a ring's list is never silently short. It reads at
// most max ids of a node; a node with more is counted in bounded.
func readInstalled(ctx context.Context, c InstalledAPI, records []Record, max int) (installedOf, error) {
	out := installedOf{byOS: map[string]map[string]bool{}}
	osOf := map[string]string{} // baseline id -> operating system
	for i := range records {
		r := &records[i]
		if r.NodeState == Unmanaged || r.PatchState == nil || r.PatchState.BaselineId == "" {
			continue
		}
		b := r.PatchState.BaselineId
		os, ok := osOf[b]
		if !ok {
			bl, err := c.GetPatchBaseline(ctx, &ssm.GetPatchBaselineInput{BaselineId: aws.String(b)})
			switch {
			case errorCode(err) == "DoesNotExistException":
				os = "" // not a baseline of the account's: see readInstalled
			case err != nil:
				return out, fmt.Errorf("get patch baseline %s of %s: %w", b, r.ResourceId, err)
			default:
				os = strings.Clone(string(bl.OperatingSystem))
			}
			osOf[b] = os
		}
		if os == "" {
			continue
		}
		ids, err := installedIDs(ctx, c, r.ResourceId, max)
		if err != nil {
			return out, err
		}
		if len(ids) > max {
			ids = ids[:max]
			out.bounded++
		}
		if out.byOS[os] == nil {
			out.byOS[os] = map[string]bool{}
		}
		for _, id := range ids {
			out.byOS[os][id] = true
		}
	}
	return out, nil
}

// installedIDs lists the ids of one node's installed patches (KBId: the
// KB of a Windows update, the package of a Linux one). It stops once it
// holds more than max, so more than max means the bound was hit.
func installedIDs(ctx context.Context, c InstalledAPI, id string, max int) ([]string, error) {
	var out []string
	p := ssm.NewDescribeInstancePatchesPaginator(c, &ssm.DescribeInstancePatchesInput{
		InstanceId: aws.String(id),
		Filters:    []types.PatchOrchestratorFilter{{Key: aws.String("State"), Values: installedStates}},
		MaxResults: aws.Int32(installedPageSize),
	})
	for p.HasMorePages() && len(out) <= max {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instance patches of %s: %w", id, err)
		}
		for _, patch := range page.Patches {
			out = append(out, str(patch.KBId))
		}
	}
	return out, nil
}

// installedTally gathers the targets' installed ids per ring as they
// finish; a ring with a node past the bound, or a target that could not be
// read, is left out of the result: a list pin never takes a short list.
type installedTally struct {
	sets       map[string]map[string]map[string]bool
	incomplete map[string]bool
}

func newInstalledTally(rings []string) *installedTally {
	if len(rings) == 0 {
		return nil
	}
	t := &installedTally{sets: map[string]map[string]map[string]bool{}, incomplete: map[string]bool{}}
	for _, r := range rings {
		t.sets[r] = map[string]map[string]bool{}
	}
	return t
}

func (t *installedTally) add(ring string, in installedOf) {
	if t == nil || t.sets[ring] == nil {
		return
	}
	if in.bounded > 0 {
		t.incomplete[ring] = true
	}
	for os, ids := range in.byOS {
		if t.sets[ring][os] == nil {
			t.sets[ring][os] = map[string]bool{}
		}
		maps.Copy(t.sets[ring][os], ids)
	}
}

// fail marks ring's list short: one of its targets could not be read.
func (t *installedTally) fail(ring string) {
	if t != nil && t.sets[ring] != nil {
		t.incomplete[ring] = true
	}
}

func (t *installedTally) result() Installed {
	if t == nil {
		return nil
	}
	out := Installed{}
	for ring, byOS := range t.sets {
		if t.incomplete[ring] {
			continue
		}
		out[ring] = map[string][]string{}
		for os, ids := range byOS {
			out[ring][os] = slices.Sorted(maps.Keys(ids))
		}
	}
	return out
}
