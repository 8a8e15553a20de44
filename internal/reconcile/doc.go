// Package reconcile makes one account x region hold exactly the desired
// patching setup: the configured maintenance windows, each with its one
// target and one task, the Default Host Management Configuration (DHMC)
// service setting, and the patch baselines with the default baseline of
// each operating system and the patch group registrations. No more and no less, however many times it runs and
// whatever fails part-way.
//
// It works in three steps. Observe reads what is there now: only windows
// and patch baselines carrying the ownership tag
// createdBy=SRA_Patch_Management count as ours (so windows left by the
// reference solution are adopted, not duplicated), and those without it are
// never touched: a baseline name or patch group they hold is reported as a
// clash. Plan is a pure function of the
// desired and observed state that decides, before any write, what to
// create, update, delete, reset or leave unchanged. Apply executes that plan
// in a safe order and stops at the first failed write.
//
// Every write is idempotent, so re-running after any failure converges:
// a create whose answer was lost is found by the next observe (the
// ownership tag is given at create time, so there is never an untagged
// orphan); DoesNotExist on a delete or deregister means done; updates send
// only what differs. A run over a converged account x region makes no write.
//
// Whatever the plan says, no task is written that CheckTask refuses (another
// document, a parameter outside the allowlist, a role other than the task
// role): IAM cannot express those rules for the configuration role.
//
// # Kinds of resource
//
// Each kind of resource is one resourceKind (kind.go) in its own file(s):
// windowKind (window.go, window_observe.go, window_apply.go: maintenance
// windows with their target and task), dhmcKind (dhmc.go: the DHMC
// service setting) and baselineKind (baseline.go: patch baselines, default
// baselines, patch groups). A kind has the same four steps:
//
//   - observe reads, into its own fields of Observed, what it needs (it runs
//     side by side with the other kinds' observe);
//   - diff is the pure plan for Converge, teardown the pure plan for
//     RemoveAndReset and RemoveKeepSettings (Desired.Mode says which);
//   - apply makes the one idempotent write of each of its actions (and sees
//     its unchanged actions too, without a write, to note ids);
//   - resources lists the Resource values its actions carry, so apply hands
//     every action back to the kind that planned it.
//
// Reconcile, Plan and apply only iterate resourceKinds, whose order is the
// order actions are applied. A new kind is one new file holding its type
// and those four steps, its fields in Desired and Observed, its Resource
// values, its Fields (fields.go), and one entry in resourceKinds; plus its
// operations in the simulator.
//
// # Typed changes
//
// An update names each field it changes with a Field (fields.go) in
// Action.Changes. Apply chooses what it sends by those Fields alone, in a
// switch per write that refuses a Field it cannot send; the text a plan
// prints is made from them (Change.String, Action.Describe), never the
// reverse.
package reconcile
