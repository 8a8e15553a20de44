// Package reconcile makes one account x region hold exactly the desired
// patching setup: the configured maintenance windows, each with its one
// target and one task, the Default Host Management Configuration (DHMC)
// service setting, and the patch baselines with the default baseline of
// each operating system and the patch group registrations. No more and no
// less, however many times it runs and whatever fails part-way.
//
// It works in three steps. Observe reads what is there now: only windows
// and patch baselines carrying the ownership tag
// createdBy=SRA_Patch_Management count as ours (so windows left by the
// reference solution are adopted, not duplicated), and those without it are
// never touched: a baseline name or patch group they hold is reported as a
// clash. The plan is a pure function of the desired and observed state
// that decides, before any write, what to create, update, delete, reset or
// leave unchanged. Apply executes that plan
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
// Each kind of resource is one resourceKind (kind.go) that stands alone in
// its own files, by one convention: KIND.go (its desired and observed
// types, its Fields, its action payload, the narrow interface of the
// client it calls, its pure plan), KIND_observe.go and KIND_apply.go when
// they are long. Today: the windows (window.go, window_observe.go,
// window_apply.go: maintenance windows with their target and task), DHMC
// (dhmc.go: the DHMC service setting) and the patch baselines
// (baseline.go, baseline_observe.go, baseline_apply.go: baselines,
// default baselines, patch groups). A kind
//
//   - declares the client it calls as a small interface and takes it from
//     Clients (clientOf), so a kind may talk to any service: the caller
//     passes that service's client among Clients, and a missing one is an
//     error before any call;
//   - observe reads what it needs and returns a kindState, its own desired
//     and observed state (it runs side by side with the other kinds');
//   - the state's plan is pure: for Converge the writes that make observed
//     hold desired, for RemoveAndReset and RemoveKeepSettings those that
//     take the kind away (account-wide settings are reset only by
//     RemoveAndReset);
//   - apply makes the one idempotent write of each of its actions (and
//     sees its unchanged actions too, without a write, to note ids);
//   - resources lists the Resource values its actions carry, so apply
//     hands every action back to the kind that planned it.
//
// Reconcile, plan and apply only iterate resourceKinds, whose order is the
// order actions are applied. A new kind is its file(s) (with its Resource
// values), one entry in resourceKinds and its contract fixture
// (testdata/kinds/RESOURCE.yaml, which TestKindContract runs: converge
// then no writes, a crash after each write, teardown, a lost create
// answer); plus its operations in the simulator and, for a new service,
// its client among the callers' Clients.
//
// # Typed changes
//
// An update names each field it changes with a Field in Action.Changes
// (the type in fields.go, each kind's Fields beside the kind). Apply
// chooses what it sends by those Fields alone, in a switch per write that
// refuses a Field it cannot send; the text a plan prints is made from them
// (Change.String, Action.Describe), never the reverse.
//
// # Names
//
// An Action's Op is its verb (create, update, delete, reset, unchanged);
// its Resource what it acts on; a resourceKind is a kind of resource. The
// Modes say what they do: Converge, RemoveAndReset (everything orgpatch
// owns goes and its account-wide settings return to their defaults; wire
// name "teardown") and RemoveKeepSettings (everything orgpatch owns goes,
// the settings stay; wire name "remove").
package reconcile
